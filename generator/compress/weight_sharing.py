"""Weight sharing (Deep Compression's second stage): each layer's kept weights replaced by the
nearest of 2^bits shared values, found by k-means with linear initialisation (Han et al.: evenly
spaced between the smallest and largest weight, which keeps the rare large weights that
density-based initialisation loses); then the shared values are retrained with each weight's
code fixed, the gradient of a centroid being the sum of its weights' gradients."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from generator.networks.models import prunable_layers
from generator.networks.config import TrainConfig
from generator.pipeline.progress import bar


def share(weights: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means of a layer's nonzero weights: (centroids float32 (2^bits,), codes (nonzero,) in
    row-major order of the nonzero entries). Fewer distinct weights than centroids: the extra
    centroids stay where linear initialisation put them, unused."""
    from sklearn.cluster import KMeans      # here, not at the top: a slow import (see clusterability.py)
    kept = weights[weights != 0].astype(np.float64)
    k = 2 ** bits
    init = np.linspace(kept.min(), kept.max(), k)
    distinct = np.unique(kept).size
    if distinct <= k:
        centroids = init.copy()
        centroids[:distinct] = np.unique(kept)
        codes = np.searchsorted(centroids[:distinct], kept)
        return centroids.astype(np.float32), codes.astype(np.int64)
    km = KMeans(n_clusters=k, init=init.reshape(-1, 1), n_init=1, algorithm="lloyd", max_iter=300, tol=0.0)
    codes = km.fit_predict(kept.reshape(-1, 1))
    return km.cluster_centers_.ravel().astype(np.float32), codes.astype(np.int64)


def shared_weights(shape: tuple[int, ...], positions: np.ndarray, centroids: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The layer's kernel: centroids[codes] at the kept (flat, row-major) positions, 0 elsewhere."""
    out = np.zeros(int(np.prod(shape)), dtype=np.float32)
    out[positions] = centroids[codes]
    return out.reshape(shape)


def retrain_centroids(model: nn.Sequential, layers: list[dict], inputs: torch.Tensor, targets: torch.Tensor,
                      train: TrainConfig, epochs: int, seed: int) -> None:
    """Adam on the centroids and biases, the codes fixed. layers: per prunable layer
    {"positions", "codes", "centroids"} (centroids updated in place, float32)."""
    modules = prunable_layers(model)
    names = [name for name, m in model.named_children() if m in modules]
    centroids = [nn.Parameter(torch.from_numpy(layer["centroids"].copy())) for layer in layers]
    biases = [nn.Parameter(m.bias.detach().clone()) for m in modules]
    index = [torch.from_numpy(layer["positions"]) for layer in layers]
    codes = [torch.from_numpy(layer["codes"]) for layer in layers]
    shapes = [m.weight.shape for m in modules]
    optimizer = torch.optim.Adam(centroids + biases, lr=train.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    n, size = inputs.shape[0], train.batch_size

    def parameters():
        out = {}
        for name, c, i, k, b, shape in zip(names, centroids, index, codes, biases, shapes):
            out[f"{name}.weight"] = torch.zeros(shape.numel()).index_put((i,), c[k]).reshape(shape)
            out[f"{name}.bias"] = b
        return out

    model.train()
    for _ in bar(range(epochs), desc="centroids", leave=False):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, size):
            rows = order[start:start + size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(torch.func.functional_call(model, parameters(), (inputs[rows],)), targets[rows])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        for layer, c, b, m in zip(layers, centroids, biases, modules):
            layer["centroids"] = c.detach().numpy().astype(np.float32)
            m.bias.copy_(b)
