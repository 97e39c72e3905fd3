"""Model registry. Models are nn.Sequential of Linear, Conv2d, Flatten and nn.ReLU modules (never a
functional relu), so the flowgraph converter sees every operation."""
from __future__ import annotations

import torch
from torch import nn

from generator.networks.config import CNNConfig, MLPConfig
from generator.pipeline.errors import ConfigError


def mlp(config: MLPConfig) -> nn.Sequential:
    sizes = config.layer_sizes
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cnn(config: CNNConfig) -> nn.Sequential:
    """Input (N, 784) pixels in [0, 1], reshaped to one 28x28 channel, as the flowgraph reads it."""
    layers: list[nn.Module] = [nn.Unflatten(1, (1, config.input_side, config.input_side))]
    channels_in = 1
    for channels in config.channels:
        layers += [nn.Conv2d(channels_in, channels, config.kernel_size), nn.ReLU()]
        channels_in = channels
    side = config.feature_side
    layers += [nn.Flatten(), nn.Linear(channels_in * side * side, config.classes)]
    return nn.Sequential(*layers)


MODELS = {"mlp": mlp, "cnn": cnn}


def make_model(config: MLPConfig | CNNConfig, seed: int) -> nn.Sequential:
    if config.name not in MODELS:
        raise ConfigError(f"config option model.name: unknown model {config.name!r}; known: {', '.join(MODELS)}")
    torch.manual_seed(seed)
    return MODELS[config.name](config)


def prunable_layers(model: nn.Sequential) -> list[nn.Module]:
    """The layers whose kernels are pruned, in order: every Linear and Conv2d."""
    return [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))]
