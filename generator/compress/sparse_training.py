"""Training sparse from the start (Gao et al. 2025, "Weight-sparse transformers have
interpretable circuits"): after every optimiser step each layer keeps only its largest-magnitude
kernel weights, the number kept annealed from all of them down to the target over the first
part of training, then held; the learning rate decays to 0 on a cosine. No dense network is trained first and nothing is rewound.

The loop is written out here (not generator.networks.train's) because the top-k projection runs
after every step, which that loop has no place for; the data order and Adam are the same."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from generator.networks.config import DataConfig, MLPConfig, TrainConfig, require
from generator.networks.data import load_mnist
from generator.networks.models import make_model, prunable_layers
from generator.networks.prune import load_layers, scores, weights_per_layer
from generator.pipeline.chapter import TaskResult
from generator.pipeline.errors import BuildError
from generator.pipeline.progress import bar
from generator.pipeline.threads import one_thread


@dataclass(frozen=True)
class SparseTrainingConfig:
    targets: tuple[int, ...] = (340, 120, 75)      # kernel weights per layer at the end (the ticket's)
    epochs: int = 20
    anneal: float = 0.5                           # share of the steps over which the count falls
    train: TrainConfig = TrainConfig(batch_size=128, learning_rate=1.5e-3)

    def __post_init__(self):
        require(isinstance(self.targets, tuple) and all(isinstance(t, int) and t >= 1 for t in self.targets),
                "sparse.targets", "a tuple of positive integers (one per layer)", self.targets)
        require(isinstance(self.epochs, int) and self.epochs >= 1, "sparse.epochs", "an integer >= 1", self.epochs)
        require(isinstance(self.anneal, float) and 0 < self.anneal <= 1, "sparse.anneal", "a float in (0, 1]", self.anneal)


@dataclass(frozen=True)
class SparseRun:
    data: DataConfig
    model: MLPConfig
    sparse: SparseTrainingConfig
    seed: int


def kept_at(step: int, total: int, size: int, target: int, anneal: float) -> int:
    """How many weights a layer of `size` keeps after step `step` (1-based) of `total`: falling
    geometrically (the same share removed at every step, as pruning rounds do) to `target` at
    step anneal × total."""
    done = min(1.0, step / max(1, anneal * total))
    return int(round(size * (target / size) ** done))


@torch.no_grad()
def keep_largest(layer: nn.Module, k: int) -> None:
    """Zero all but the k largest |w| of the layer's kernel (exactly k kept; ties by index)."""
    flat = layer.weight.view(-1)
    if k >= flat.numel():
        return
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask[torch.topk(flat.abs(), k, sorted=False).indices] = True
    flat.masked_fill_(~mask, 0.0)


@one_thread
def train_sparse(run: SparseRun, record_curve: bool = True) -> TaskResult:
    config = run.sparse
    mnist = load_mnist(run.data)
    model = make_model(run.model, run.seed)
    layers = prunable_layers(model)
    if len(config.targets) != len(layers):
        raise BuildError(f"sparse.targets has {len(config.targets)} entries, the model {len(layers)} layers")
    x, y = mnist.train.inputs, mnist.train.targets
    n, size = x.shape[0], config.train.batch_size
    total = config.epochs * ((n + size - 1) // size)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(run.seed * 1000)
    step, curve = 0, []
    for epoch in bar(range(1, config.epochs + 1), desc=f"sparse seed {run.seed}", leave=False):
        model.train()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, size):
            rows = order[start:start + size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x[rows]), y[rows]).backward()
            optimizer.step()
            schedule.step()
            step += 1
            for layer, target in zip(layers, config.targets):
                keep_largest(layer, kept_at(step, total, layer.weight.numel(), target, config.anneal))
        validation, _ = scores(model, mnist.validation.inputs, mnist.validation.targets)
        curve.append({"epoch": epoch, "weights": sum(weights_per_layer(model)), "validation_accuracy": validation})
    validation, _ = scores(model, mnist.validation.inputs, mnist.validation.targets)
    test, loss = scores(model, mnist.test.inputs, mnist.test.targets)
    arrays = {}
    for k, layer in enumerate(layers):
        arrays[f"w.{k}.weight"] = layer.weight.detach().numpy().copy()
        arrays[f"w.{k}.bias"] = layer.bias.detach().numpy().copy()
    return TaskResult(record={"seed": run.seed, "weights_per_layer": weights_per_layer(model), "validation_accuracy": validation,
                              "test_accuracy": test, "test_loss": loss, "curve": curve}, arrays=arrays)


def sparse_model(run: SparseRun, result: TaskResult):
    model = make_model(run.model, 0)
    load_layers(model, result, "w")
    return model.eval()


@one_thread
def verify_sparse(run: SparseRun, result: TaskResult) -> None:
    mnist = load_mnist(run.data)
    shapes = [tuple(m.weight.shape) for m in prunable_layers(make_model(run.model, 0))]
    for k, shape in enumerate(shapes):
        w = result.arrays.get(f"w.{k}.weight")
        if w is None or w.shape != shape or not np.isfinite(w).all():
            raise BuildError(f"layer {k}: weights missing, misshapen or not finite")
    model = sparse_model(run, result)
    if weights_per_layer(model) != list(run.sparse.targets) or result.record.get("weights_per_layer") != list(run.sparse.targets):
        raise BuildError(f"the network keeps {weights_per_layer(model)} weights, the config asks {list(run.sparse.targets)}")
    test, loss = scores(model, mnist.test.inputs, mnist.test.targets)
    if test != result.record.get("test_accuracy") or abs(loss - result.record.get("test_loss", -1)) > 1e-6 * max(1.0, loss):
        raise BuildError(f"the network scores {test}, its record says {result.record.get('test_accuracy')}")
