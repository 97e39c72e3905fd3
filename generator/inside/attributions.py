"""Attributions: which pixels a network's answer rests on.

Four methods through Captum, all called the same way (one registry line per method), and what
only an exact graph gives: on an image, a ReLU network is one affine function (the neurons that
are on stay on, the others stay off), so a logit is exactly Σ contribution(pixel) + constant,
where contribution(pixel) = pixel × (sum over the pixel's paths through the active neurons of
the product of their weights), and the constant is what the same affine function gives on a
black image. Both parts are computed on the flowgraph; the page computes them the same way.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from generator.flowgraph.graph import Evaluator


@dataclass(frozen=True)
class Method:
    name: str
    # attribute(model taking (N, 784), inputs (N, 784), targets (N,), settings) -> (N, 784)
    attribute: Callable[[nn.Module, torch.Tensor, torch.Tensor, object], torch.Tensor]
    signed: bool = True


def _saliency(model, x, target, settings):
    from captum.attr import Saliency
    return Saliency(model).attribute(x, target=target, abs=True)


def _guided_backprop(model, x, target, settings):
    from captum.attr import GuidedBackprop
    return GuidedBackprop(model).attribute(x, target=target)


def _occlusion(model, x, target, settings):
    from captum.attr import Occlusion
    side = int(round(x.shape[1] ** 0.5))
    images = nn.Sequential(nn.Flatten(), model)          # Occlusion slides a patch over the 2-D image
    patch, stride = settings.occlusion_patch, settings.occlusion_stride
    found = Occlusion(images).attribute(x.reshape(-1, 1, side, side), target=target, baselines=0.0,
                                        sliding_window_shapes=(1, patch, patch), strides=(1, stride, stride))
    return found.reshape(x.shape)


def _integrated_gradients(model, x, target, settings):
    from captum.attr import IntegratedGradients
    return IntegratedGradients(model).attribute(x, target=target, baselines=torch.zeros_like(x),
                                                n_steps=settings.integrated_gradients_steps)


# The methods, in the order the report shows them. A new method is one line here.
METHODS: dict[str, Method] = {
    "saliency": Method("saliency", _saliency, signed=False),
    "guided-backprop": Method("guided backprop", _guided_backprop),
    "occlusion": Method("occlusion", _occlusion),
    "integrated-gradients": Method("integrated gradients", _integrated_gradients),
}


def attribute(method: str, model: nn.Module, pixels: np.ndarray, targets: np.ndarray, settings) -> np.ndarray:
    """(N, 784) attributions of the target logits to the pixels (uint8 images, read as pixel / 255)."""
    model = model.double().eval()
    x = torch.from_numpy(pixels.astype(np.float64) / 255.0).requires_grad_()
    with warnings.catch_warnings():
        # Captum says that it hooks the ReLUs (guided backpropagation): what it is asked to do.
        warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations")
        found = METHODS[method].attribute(model, x, torch.from_numpy(np.asarray(targets, dtype=np.int64)), settings)
    return found.detach().numpy().astype(np.float64)


def exact_contributions(graph: dict, pixels: np.ndarray, target: int,
                        evaluator: Evaluator | None = None) -> tuple[np.ndarray, float, float]:
    """On one image (784 uint8 pixels): (contribution of each pixel to logit `target`, the
    constant of the image's affine region, the logit). contributions.sum() + constant == logit
    up to rounding: the constant comes from its own pass (the region's function on a black image),
    so the identity is a check, not a definition. `evaluator`: Evaluator(graph), built once by a
    caller with many images."""
    evaluator = evaluator or Evaluator(graph)
    x = pixels[None, :].astype(np.float64) / 255.0
    values = evaluator.values(x)[0]
    on = _active(graph, values)
    # Backward through the active neurons: how much a unit more at each node moves the logit.
    grad = np.zeros(evaluator.n)
    grad[evaluator.output_columns[target]] = 1.0
    for rows, matrix, _, relu in reversed(evaluator.layers):
        through = grad[rows] * on[rows]
        grad += np.asarray(matrix.T @ through).ravel()
    contributions = np.zeros(pixels.shape[0])
    contributions[evaluator.input_index] = grad[evaluator.input_columns] * x[0, evaluator.input_index]
    # The same affine function on a black image: every neuron keeps its on/off state.
    zero = np.zeros(evaluator.n)
    for rows, matrix, bias, relu in evaluator.layers:
        zero[rows] = (np.asarray(matrix @ zero).ravel() + bias) * on[rows]
    logit = float(values[evaluator.output_columns[target]])
    return contributions, float(zero[evaluator.output_columns[target]]), logit


def _active(graph: dict, values: np.ndarray) -> np.ndarray:
    """1 where a node passes its input on (an identity node, or a ReLU that is positive), else 0."""
    relu = np.array([n.get("activation") == "relu" for n in graph["nodes"]])
    return np.where(relu, values > 0, True).astype(np.float64)
