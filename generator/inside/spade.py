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
        target = x_dense @ weight.T + bias
        norms = np.sqrt((x * x).sum(axis=0))
        score = (np.abs(weight) * norms[None, :]).ravel()
        keep = max(1, int(round(density * weight.size)))
        kept = np.zeros(weight.size, dtype=bool)
        kept[np.argsort(-score, kind="stable")[:keep]] = True
        kept = kept.reshape(weight.shape)
        new_weight, new_bias = np.zeros_like(weight), np.zeros_like(bias)
        for j in range(weight.shape[0]):
            columns = np.flatnonzero(kept[j])
            new_weight[j, columns], new_bias[j] = refit(x[:, columns], target[:, j], ridge)
        pruned.append((new_weight, new_bias))
        activate = (lambda v: np.maximum(v, 0.0)) if relu else (lambda v: v)
        x = activate(x @ new_weight.T + new_bias)
        x_dense = activate(x_dense @ weight.T + bias)
    return pruned


def refit(x: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, float]:
    """Weights w and bias b minimising ‖x w + b − y‖² + ridge ‖w‖², by the normal equations
    (Gaussian elimination with partial pivoting, as the page solves them)."""
    n, k = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    a = design.T @ design
    a[np.arange(k), np.arange(k)] += ridge
    solution = solve(a, design.T @ y)
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
        x[i] = 0.0 if a[i, i] == 0 else (b[i] - a[i, i + 1:] @ x[i + 1:]) / a[i, i]
    return x
