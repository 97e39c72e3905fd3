"""SPADE (sample-specific pruning): a circuit for one input. The input is augmented (small
rotations, scalings, shifts and noise), and the trained dense network is pruned layer by layer so
that each layer's outputs on those augmentations are kept: in each layer the weights with the
largest |w| · ‖input‖ (the input's norm over the augmentations, as the pruned network before it
computes it) survive, and the surviving weights and biases of every neuron are refitted by least
squares to the dense layer's values. The pruned network is a network of its own, and its
flowgraph is exact for it.

The augmentations are written out here rather than taken from scipy: the page computes the same
circuit for a reader's drawing, so every step uses only arithmetic both sides round alike (a
32-bit generator, rotations from a rational parametrisation instead of sin and cos, nearest-pixel
sampling).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

SIDE = 28
CENTRE = (SIDE - 1) / 2


def mulberry32(seed: int):
    """A 32-bit generator (Tommy Ettinger's mulberry32) giving floats in [0, 1): the page has the
    same one, so both draw the same augmentations."""
    state = seed & 0xFFFFFFFF

    def next_float() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296.0
    return next_float


def augment(pixels: np.ndarray, count: int, seed: int, turn: float, scale: float, shift: float,
            noise: float) -> np.ndarray:
    """(count, 784) inputs in [0, 1]: the image itself, then count − 1 variants, each rotated by
    up to about `turn` radians, scaled by 1 ± `scale`, shifted by up to ± `shift` pixels, with
    uniform noise of ± `noise` added, clipped to [0, 1]."""
    image = pixels.reshape(SIDE, SIDE).astype(np.float64) / 255.0
    rows, cols = np.meshgrid(np.arange(SIDE, dtype=np.float64), np.arange(SIDE, dtype=np.float64), indexing="ij")
    out = np.empty((count, SIDE * SIDE))
    out[0] = image.ravel()
    rand = mulberry32(seed)
    for k in range(1, count):
        t = (rand() - 0.5) * turn           # tan of half the angle: cos and sin without trigonometry
        c, s = (1 - t * t) / (1 + t * t), 2 * t / (1 + t * t)
        zoom = 1 + (rand() - 0.5) * 2 * scale
        dx, dy = (rand() - 0.5) * 2 * shift, (rand() - 0.5) * 2 * shift
        x, y = cols - CENTRE - dx, rows - CENTRE - dy
        sx = np.floor((c * x + s * y) / zoom + CENTRE + 0.5).astype(int)
        sy = np.floor((c * y - s * x) / zoom + CENTRE + 0.5).astype(int)
        inside = (sx >= 0) & (sx < SIDE) & (sy >= 0) & (sy < SIDE)
        moved = np.where(inside, image[np.clip(sy, 0, SIDE - 1), np.clip(sx, 0, SIDE - 1)], 0.0).ravel()
        jitter = np.array([(rand() - 0.5) * 2 * noise for _ in range(SIDE * SIDE)])
        out[k] = np.clip(moved + jitter, 0.0, 1.0)
    return out


def prune_for_sample(layers: list[tuple[np.ndarray, np.ndarray, bool]], inputs: np.ndarray,
                     densities: tuple[float, ...], ridge: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pruned layers [(weight, bias)] of a dense MLP `layers` [(weight (out, in), bias, relu)]
    for one sample's augmentations `inputs` (N, in): in each layer keep round(density × size)
    weights by |w| · ‖x‖, then refit each neuron's kept weights and bias by ridge least squares
    to the dense layer's values on the augmentations (ties in the scores go to the earlier weight)."""
    x, x_dense = inputs, inputs
    pruned = []
    for (weight, bias, relu), density in zip(layers, densities):
        target = affine(x_dense, weight, bias)
        norms = np.sqrt(ordered_sum(x * x))
        score = (np.abs(weight) * norms[None, :]).ravel()
        keep = max(1, round(density * weight.size))      # half to even, as the page rounds too
        kept = np.zeros(weight.size, dtype=bool)
        kept[np.argsort(-score, kind="stable")[:keep]] = True
        kept = kept.reshape(weight.shape)
        new_weight, new_bias = np.zeros_like(weight), np.zeros_like(bias)
        for j in range(weight.shape[0]):
            columns = np.flatnonzero(kept[j])
            new_weight[j, columns], new_bias[j] = refit(x[:, columns], target[:, j], ridge)
        pruned.append((new_weight, new_bias))
        activate = (lambda v: np.maximum(v, 0.0)) if relu else (lambda v: v)
        x = activate(affine(x, new_weight, new_bias))
        x_dense = activate(target)
    return pruned


# Sums in a fixed order (term by term, first to last), never BLAS's or numpy's pairwise order:
# the page adds the same terms in the same order, so both get the same circuit to the last bit.

def ordered_sum(rows: np.ndarray) -> np.ndarray:
    """Σ over the first axis, first row first."""
    total = np.zeros(rows.shape[1:])
    for row in rows:
        total = total + row
    return total


def affine(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x Wᵀ + b for x (N, in), W (out, in): each value Σᵢ x[:, i] W[:, i] in input order, then b."""
    total = np.zeros((x.shape[0], weight.shape[0]))
    for i in range(weight.shape[1]):
        total = total + x[:, i, None] * weight[None, :, i]
    return total + bias[None, :]


def refit(x: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, float]:
    """Weights w and bias b minimising ‖x w + b − y‖² + ridge ‖w‖², by the normal equations
    (Gaussian elimination with partial pivoting, as the page solves them)."""
    n, k = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    a = ordered_sum(design[:, :, None] * design[:, None, :])
    a[np.arange(k), np.arange(k)] += ridge
    solution = solve(a, ordered_sum(design * y[:, None]))
    return solution[:k], float(solution[k])


def solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x = b by Gaussian elimination with partial pivoting (the page runs the same steps)."""
    a, b = a.astype(np.float64).copy(), b.astype(np.float64).copy()
    n = len(b)
    for i in range(n):
        p = i + int(np.argmax(np.abs(a[i:, i])))
        if p != i:
            a[[i, p]], b[[i, p]] = a[[p, i]], b[[p, i]]
        if a[i, i] == 0:
            continue
        for r in range(i + 1, n):
            f = a[r, i] / a[i, i]
            if f != 0:
                a[r, i:] -= f * a[i, i:]
                b[r] -= f * b[i]
    x = np.zeros(n)
    for i in range(n - 1, -1, -1):
        done = np.cumsum(a[i, i + 1:] * x[i + 1:])       # cumsum: a running sum, in order
        x[i] = 0.0 if a[i, i] == 0 else (b[i] - (done[-1] if len(done) else 0.0)) / a[i, i]
    return x


def dense_layers(model: nn.Sequential) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """(weight, bias, followed by a ReLU) of each Linear layer, in float64."""
    modules = list(model)
    return [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy(),
             k + 1 < len(modules) and isinstance(modules[k + 1], nn.ReLU))
            for k, m in enumerate(modules) if isinstance(m, nn.Linear)]


def as_model(layers: list[tuple[np.ndarray, np.ndarray]], relu: list[bool]) -> nn.Sequential:
    """The network of these layers, in float64 with float32 parameters: the flowgraph stores
    parameters as float32, so the graph is then exactly this network."""
    modules = []
    for (weight, bias), on in zip(layers, relu):
        linear = nn.Linear(weight.shape[1], weight.shape[0]).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight.astype(np.float32).astype(np.float64)))
            linear.bias.copy_(torch.from_numpy(bias.astype(np.float32).astype(np.float64)))
        modules += [linear, nn.ReLU()] if on else [linear]
    return nn.Sequential(*modules).eval()


def circuit_model(dense: nn.Sequential, pixels: np.ndarray, seed: int, settings) -> tuple[nn.Sequential, np.ndarray, int]:
    """One image's circuit: (its network, the augmentations it was fitted on, the weights it
    keeps). `settings` has augmentations, turn, scale, shift, noise, densities and ridge."""
    layers = dense_layers(dense)
    inputs = augment(pixels, settings.augmentations, seed, settings.turn, settings.scale, settings.shift, settings.noise)
    pruned = prune_for_sample(layers, inputs, settings.densities, settings.ridge)
    kept = int(sum(np.count_nonzero(w) for w, _ in pruned))
    return as_model(pruned, [relu for _, _, relu in layers]), inputs, kept
