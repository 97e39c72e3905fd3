"""Filan et al.'s test of where clusterability comes from: an MLP that reads two MNIST digits
side by side and names both (its two tasks need no communication, so a clusterable network
could solve them in two parts), against the control that sees the same digit twice. Both are
trained, pruned by magnitude with retraining (as the paper's pruned MLPs), and clustered.

The two answers are one output layer of 20 units read as (10 classes × 2 sides): unit 2c + s is
class c of side s, so torch's cross-entropy over dimension 1 scores both sides at once and the
pruning and training code of generator.networks runs unchanged. For an MLP the order of its
inputs does not matter: the left image's 784 pixels come first, then the right's."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from generator.compress.clusterability import clustered_n_cut, relative, shuffled
from generator.networks.config import DataConfig, MLPConfig, PruneConfig, TrainConfig, require
from generator.networks.data import load_mnist
from generator.networks.models import make_model, prunable_layers
from generator.networks.prune import baked, load_layers, prune_lottery_round, scores
from generator.networks.train import train_epochs
from generator.pipeline.chapter import TaskResult
from generator.pipeline.errors import BuildError
from generator.pipeline.threads import one_thread


@dataclass(frozen=True)
class PairedConfig:
    data: DataConfig = DataConfig()
    hidden: tuple[int, ...] = (64, 64)
    dense_epochs: int = 3
    prune_rounds: int = 3
    density: float = 0.1              # kernel weights kept per layer at the end
    train: TrainConfig = TrainConfig(batch_size=128, learning_rate=1.5e-3)
    ks: tuple[int, ...] = (4, 12)
    shuffles: int = 20

    def __post_init__(self):
        require(isinstance(self.density, float) and 0 < self.density <= 1, "paired.density", "a float in (0, 1]", self.density)
        require(isinstance(self.shuffles, int) and self.shuffles >= 2, "paired.shuffles", "an integer >= 2", self.shuffles)

    @property
    def model(self) -> MLPConfig:
        return MLPConfig(layer_sizes=(1568, *self.hidden, 20))


def pairs(pixels: np.ndarray, labels: np.ndarray, same: bool, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (N, 1568) in [0, 1] and targets (N, 2): image i beside image π(i) (π drawn by seed),
    or beside itself."""
    other = np.arange(len(labels)) if same else np.random.default_rng(seed).permutation(len(labels))
    inputs = np.concatenate([pixels, pixels[other]], axis=1).astype(np.float32) / np.float32(255.0)
    return torch.from_numpy(inputs), torch.from_numpy(np.stack([labels, labels[other]], axis=1).astype(np.int64))


def paired_model(config: PairedConfig, seed: int) -> nn.Sequential:
    model = make_model(config.model, seed)
    return nn.Sequential(*model, nn.Unflatten(1, (10, 2)))


@one_thread
def train_paired(config: PairedConfig, same: bool, seed: int) -> TaskResult:
    """Train dense, prune to `density` per layer over `prune_rounds` rounds of one epoch each
    (no rewinding), then cluster it and its shuffles for each k."""
    mnist = load_mnist(config.data)
    x, y = pairs(mnist.train.pixels, mnist.train.labels, same, seed)
    test_x, test_y = pairs(mnist.test.pixels, mnist.test.labels, same, seed + 1)
    model = paired_model(config, seed)
    train_epochs(model, x, y, config.train, config.dense_epochs, seed=seed * 1000, desc="paired, dense")
    dense_accuracy, _ = scores(model, test_x, test_y)
    sizes = [m.weight.numel() for m in prunable_layers(model)]
    schedule = PruneConfig(rounds=config.prune_rounds, targets=tuple(max(1, int(round(config.density * s))) for s in sizes))
    for r in range(1, config.prune_rounds + 1):
        prune_lottery_round(model, schedule, r)
        train_epochs(model, x, y, config.train, 1, seed=seed * 1000 + r, desc=f"paired, round {r}")
    model = baked(model)
    accuracy, loss = scores(model, test_x, test_y)
    kernels = [m.weight.detach().numpy().copy() for m in prunable_layers(model)]
    arrays = {}
    for k, m in enumerate(prunable_layers(model)):
        arrays[f"w.{k}.weight"], arrays[f"w.{k}.bias"] = kernels[k], m.bias.detach().numpy().copy()
    return TaskResult(record={"same": same, "seed": seed, "dense_accuracy": dense_accuracy, "test_accuracy": accuracy,
                              "test_loss": loss, "clusterability": cluster_report(kernels, config.ks, config.shuffles, seed)},
                      arrays=arrays)


def cluster_report(kernels: list[np.ndarray], ks, shuffles: int, seed: int) -> dict:
    """Per k: the real n-cut against `shuffles` shuffles on the same wiring and, for a network
    with zeros, on random wiring too."""
    out = {}
    pruned = any((w == 0).any() for w in kernels)
    for k in ks:
        real = clustered_n_cut(kernels, k)[0]
        rng = np.random.default_rng(seed * 7919 + k)
        entry = {"same_wiring": relative(real, [clustered_n_cut(shuffled(kernels, rng), k)[0] for _ in range(shuffles)])}
        if pruned:
            entry["random_wiring"] = relative(real, [clustered_n_cut(shuffled(kernels, rng, wiring=True), k)[0]
                                                     for _ in range(shuffles)])
        out[str(k)] = entry
    return out


@one_thread
def verify_paired(config: PairedConfig, same: bool, seed: int, result: TaskResult) -> None:
    mnist = load_mnist(config.data)
    model = paired_model(config, 0)
    try:
        load_layers(model, result, "w")
    except (KeyError, RuntimeError) as e:
        raise BuildError(f"the paired network's weights do not load ({e})") from None
    test_x, test_y = pairs(mnist.test.pixels, mnist.test.labels, same, seed + 1)
    accuracy, loss = scores(model, test_x, test_y)
    if accuracy != result.record.get("test_accuracy") or abs(loss - result.record.get("test_loss", -1)) > 1e-6 * max(1.0, loss):
        raise BuildError(f"the paired network scores {accuracy}, its record says {result.record.get('test_accuracy')}")
