"""What every importer hands on: an nn.Sequential of the layers the flowgraph reads (Linear,
Conv2d, ReLU, Flatten, Unflatten), with batch normalisation folded into the layer before it
and the layers that do nothing at inference (Dropout, Identity) left out."""
from __future__ import annotations

import copy

import torch
from torch import nn

from generator.pipeline.errors import ConfigError

KEPT = (nn.Linear, nn.Conv2d, nn.ReLU, nn.Flatten, nn.Unflatten)
DROPPED = (nn.Dropout, nn.Identity)
FOLDED = (nn.BatchNorm1d, nn.BatchNorm2d)
SUPPORTED = "Linear, Conv2d (stride 1, no padding), ReLU, Flatten, Unflatten, Dropout, Identity, BatchNorm1d/2d after a Linear or Conv2d"


def fold_batch_norm(layer: nn.Module, scale: torch.Tensor, shift: torch.Tensor) -> nn.Module:
    """layer followed by y ↦ scale·y + shift (per output unit or channel), as one layer."""
    weight = layer.weight.detach().double()
    bias = layer.bias.detach().double() if layer.bias is not None else torch.zeros(weight.shape[0], dtype=torch.float64)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    folded = copy.deepcopy(layer)
    folded.weight = nn.Parameter((weight * scale.view(shape)).float())
    folded.bias = nn.Parameter((bias * scale + shift).float())
    return folded


def batch_norm_affine(norm: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Inference-time batch normalisation as y ↦ scale·y + shift."""
    var, mean = norm.running_var.double(), norm.running_mean.double()
    gamma = norm.weight.detach().double() if norm.weight is not None else torch.ones_like(var)
    beta = norm.bias.detach().double() if norm.bias is not None else torch.zeros_like(var)
    scale = gamma / torch.sqrt(var + norm.eps)
    return scale, beta - mean * scale


def normalise(model: nn.Module, where: str) -> nn.Sequential:
    """The model as the flowgraph reads it. where: how to name the model in an error line."""
    if not isinstance(model, nn.Sequential):
        raise ConfigError(f"{where}: expected a torch nn.Sequential, got {type(model).__name__} (a state dict "
                          f"has no architecture: save the model itself with torch.save(model, path))")
    layers: list[nn.Module] = []
    for k, module in enumerate(model):
        if isinstance(module, nn.Sequential):
            layers.extend(normalise(module, where))
        elif isinstance(module, DROPPED):
            continue
        elif isinstance(module, FOLDED):
            if not layers or not isinstance(layers[-1], (nn.Linear, nn.Conv2d)):
                raise ConfigError(f"{where}: module {k} ({type(module).__name__}) must follow a Linear or Conv2d "
                                  f"layer, into which it is folded")
            layers[-1] = fold_batch_norm(layers[-1], *batch_norm_affine(module))
        elif isinstance(module, KEPT):
            layers.append(module)
        else:
            raise ConfigError(f"{where}: module {k} ({type(module).__name__}) is not supported; supported: {SUPPORTED}")
    return nn.Sequential(*layers).eval()
