"""Model registry. Models are nn.Sequential of Linear and nn.ReLU modules (never a functional relu),
so the flowgraph converter sees every nonlinearity."""
from __future__ import annotations

import torch
from torch import nn

from .config import ConfigError, ModelConfig


def mlp(layer_sizes: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(layer_sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


MODELS = {"mlp": mlp}


def make_model(config: ModelConfig, seed: int) -> nn.Sequential:
    if config.name not in MODELS:
        raise ConfigError(f"config option model.name: unknown model {config.name!r}; known: {', '.join(MODELS)}")
    torch.manual_seed(seed)
    return MODELS[config.name](config.layer_sizes)


def linear_layers(model: nn.Sequential) -> list[nn.Linear]:
    return [m for m in model if isinstance(m, nn.Linear)]
