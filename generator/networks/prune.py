"""Lottery-ticket iterative magnitude pruning (Frankle & Carbin), masks by torch.nn.utils.prune.

Round 0 is the dense network, trained by `train_dense` in a task of its own that every chapter
with the same settings shares (`DenseTraining`). Each later round removes a per-layer fraction of the surviving
kernel weights with the smallest magnitude, resets the survivors (and all biases) to their values
at the rewind point (the initial values by default), and retrains from a fresh optimizer. Biases
are never pruned. Every round's weights are kept, so the report can show any round's graph.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from generator.networks.config import DenseTraining, LotteryExperiment, PruneConfig, TrainConfig
from generator.pipeline.progress import bar
from generator.networks.data import load_mnist
from generator.pipeline.errors import BuildError
from generator.networks.models import make_model, prunable_layers
from generator.pipeline.chapter import TaskResult
from generator.networks.train import train_epochs


def kernel(layer: nn.Module) -> torch.Tensor:
    """The weight the layer computes with: weight_orig × mask once pruned (fresh, not the
    attribute the forward hook last wrote)."""
    if prune.is_pruned(layer):
        return layer.weight_orig * layer.weight_mask
    return layer.weight


def weights_per_layer(model: nn.Sequential) -> list[int]:
    return [int(torch.count_nonzero(kernel(layer))) for layer in prunable_layers(model)]


def kept_after_round(config: PruneConfig, layer: int, alive: int, size: int, r: int) -> int:
    """How many kernel weights layer `layer` keeps after round r (of size `size`, `alive` now)."""
    if config.targets:
        target = config.targets[layer]
        return int(round(target + (size - target) * (1 - r / config.rounds) ** 3))
    return alive - int(round(config.rates[layer] * alive))


def prune_lottery_round(model: nn.Sequential, config: PruneConfig, r: int) -> None:
    """Keep the largest |w| of each layer's surviving kernel weights (how many: kept_after_round).
    Magnitudes come from weight_orig × mask, never from `weight`, which the forward hook only
    refreshes at the next forward pass."""
    for k, layer in enumerate(prunable_layers(model)):
        weight = kernel(layer).detach()
        alive = int(torch.count_nonzero(weight)) if prune.is_pruned(layer) else weight.numel()
        keep = kept_after_round(config, k, alive, weight.numel(), r)
        if keep >= alive:
            continue
        magnitude = weight.abs()
        if prune.is_pruned(layer):
            magnitude = magnitude.masked_fill(layer.weight_mask == 0, -1.0)   # pruned ones never return
        mask = torch.zeros_like(weight)
        if k in config.balanced:
            rows = magnitude.reshape(weight.shape[0], -1)
            base, extra = divmod(keep, rows.shape[0])
            ranked = rows.sort(dim=1, descending=True).values
            per_row = torch.full((rows.shape[0],), base)
            if extra:
                per_row[torch.argsort(ranked[:, base], descending=True, stable=True)[:extra]] += 1
            flat = mask.reshape(weight.shape[0], -1)
            for row, n in enumerate(per_row.tolist()):
                flat[row, torch.topk(rows[row], n).indices] = 1.0
        else:
            mask.view(-1)[torch.topk(magnitude.flatten(), keep).indices] = 1.0
        prune.custom_from_mask(layer, name="weight", mask=mask)


def snapshot(model: nn.Sequential) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(kernel(layer).detach().clone(), layer.bias.detach().clone()) for layer in prunable_layers(model)]


@torch.no_grad()
def reset_to(model: nn.Sequential, weights: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    for layer, (w0, b0) in zip(prunable_layers(model), weights):
        (layer.weight_orig if prune.is_pruned(layer) else layer.weight).copy_(w0)
        layer.bias.copy_(b0)


def baked(model: nn.Sequential) -> nn.Sequential:
    """A plain copy with the masks multiplied in: ordinary weights with exact zeros."""
    plain = copy.deepcopy(model)
    for layer in prunable_layers(plain):
        if prune.is_pruned(layer):
            prune.remove(layer, "weight")
    return plain


def masks_of(model: nn.Sequential) -> list[torch.Tensor]:
    return [(layer.weight_mask.clone() if prune.is_pruned(layer) else torch.ones_like(layer.weight))
            for layer in prunable_layers(model)]


def _layer_arrays(model: nn.Sequential, prefix: str, masks: bool = True) -> dict[str, np.ndarray]:
    arrays = {}
    for k, (layer, mask) in enumerate(zip(prunable_layers(model), masks_of(model))):
        arrays[f"{prefix}.{k}.weight"] = kernel(layer).detach().numpy().copy()
        arrays[f"{prefix}.{k}.bias"] = layer.bias.detach().numpy().copy()
        if masks:
            arrays[f"{prefix}.{k}.mask"] = mask.numpy().astype(np.uint8)
    return arrays


@torch.inference_mode()
def scores(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch: int = 100) -> tuple[float, float]:
    """(accuracy rounded to 6 places, mean cross-entropy): the loss is a fingerprint of the
    weights that accuracy alone is not (one weight ×3 rarely flips a prediction). Batches of 100:
    on one thread the CNN's convolutions run 2.8 times faster than in batches of 2,000 (cache)
    and no slower than at 250 (benchmarks/eval_batch.py); every cached network is scored again
    at every build."""
    model.eval()
    logits = torch.cat([model(inputs[i:i + batch]) for i in range(0, inputs.shape[0], batch)])
    accuracy = float((logits.argmax(dim=1) == targets).float().mean())
    loss = float(nn.functional.cross_entropy(logits.double(), targets))
    return round(accuracy, 6), loss


def train_dense(run: DenseTraining) -> TaskResult:
    """The dense network of one seed, trained `run.epochs` epochs: the weights at the start and
    after every epoch (`e<epoch>.<layer>.weight|bias`; rewinding may go back to any of them) and
    the final network's scores. Every lottery chapter with these settings starts from it."""
    mnist = load_mnist(run.data)
    model = make_model(run.model, run.seed)
    arrays = _layer_arrays(model, "e0", masks=False)

    def keep(epoch: int) -> None:
        arrays.update(_layer_arrays(model, f"e{epoch}", masks=False))

    train = TrainConfig(epochs_per_round=run.epochs, batch_size=run.batch_size, learning_rate=run.learning_rate)
    train_epochs(model, mnist.train.inputs, mnist.train.targets, train, run.epochs, seed=run.seed * 1000,
                 desc=f"dense seed {run.seed}", after_epoch=keep)
    validation_accuracy, _ = scores(model, mnist.validation.inputs, mnist.validation.targets)
    test_accuracy, test_loss = scores(model, mnist.test.inputs, mnist.test.targets)
    return TaskResult(record={"seed": run.seed, "epochs": run.epochs, "weights_per_layer": weights_per_layer(model),
                              "validation_accuracy": validation_accuracy, "test_accuracy": test_accuracy,
                              "test_loss": test_loss}, arrays=arrays)


def dense_model(run: DenseTraining, result: TaskResult, epoch: int) -> nn.Sequential:
    model = make_model(run.model, 0)
    load_layers(model, result, f"e{epoch}")
    return model.eval()


def verify_dense(run: DenseTraining, result: TaskResult) -> None:
    """A cached dense run is trusted if every epoch's weights are there, finite and of the right
    shape, and the final network scores what the record says."""
    mnist = load_mnist(run.data)
    if result.record.get("seed") != run.seed or result.record.get("epochs") != run.epochs:
        raise BuildError(f"the record is of seed {result.record.get('seed')} and {result.record.get('epochs')} "
                         f"epochs, expected {run.seed} and {run.epochs}")
    shapes = [tuple(layer.weight.shape) for layer in prunable_layers(make_model(run.model, 0))]
    for epoch in range(run.epochs + 1):
        _check_layers(result, f"e{epoch}", shapes, f"epoch {epoch}", masks=False)
    model = dense_model(run, result, run.epochs)
    _check_scores(model, mnist.validation, mnist.test, result.record, "the dense network")


def run_lottery(experiment: LotteryExperiment, seed: int, dense: TaskResult) -> TaskResult:
    """One seed of the schedule, from its dense network (round 0, trained by `train_dense`, never
    again here): a record per round, and every round's weights and masks as arrays
    `r<round>.<layer>.weight|bias|mask` (round 0's copied from the dense run)."""
    mnist = load_mnist(experiment.data)
    trained = dense.record["epochs"]
    if experiment.prune.rewind_epochs > trained:
        raise BuildError(f"prune.rewind_epochs is {experiment.prune.rewind_epochs}, but the dense network "
                         f"trained only {trained} epochs")
    model = make_model(experiment.model, seed)
    load_layers(model, dense, f"e{trained}")
    rewind_model = make_model(experiment.model, seed)
    load_layers(rewind_model, dense, f"e{experiment.prune.rewind_epochs}")
    rewind = snapshot(rewind_model)
    train_x, train_y = mnist.train.inputs, mnist.train.targets
    val_x, val_y = mnist.validation.inputs, mnist.validation.targets
    test_x, test_y = mnist.test.inputs, mnist.test.targets
    total_rounds = experiment.prune.rounds
    rounds = [{"round": 0, "weights": sum(dense.record["weights_per_layer"]),
               "weights_per_layer": dense.record["weights_per_layer"], "epochs": trained,
               **{k: dense.record[k] for k in ("validation_accuracy", "test_accuracy", "test_loss")}}]
    arrays = _layer_arrays(model, "r0")
    for r in bar(range(1, total_rounds + 1), desc=f"lottery seed {seed}"):
        prune_lottery_round(model, experiment.prune, r)
        reset_to(model, rewind)
        # The last round's mask is the ticket the report shows: train it longer.
        epochs = experiment.train.final_epochs if r == total_rounds else experiment.train.epochs_per_round
        train_epochs(model, train_x, train_y, experiment.train, epochs, seed=seed * 1000 + r, final=r == total_rounds)
        per_layer = weights_per_layer(model)
        validation_accuracy, _ = scores(model, val_x, val_y)
        test_accuracy, test_loss = scores(model, test_x, test_y)
        rounds.append({"round": r, "weights": sum(per_layer), "weights_per_layer": per_layer, "epochs": epochs,
                       "validation_accuracy": validation_accuracy, "test_accuracy": test_accuracy,
                       "test_loss": test_loss})
        arrays.update(_layer_arrays(model, f"r{r}"))
    return TaskResult(record={"seed": seed, "rounds": rounds}, arrays=arrays)


def load_layers(model: nn.Sequential, result: TaskResult, prefix: str) -> None:
    """Copy `<prefix>.<layer>.weight|bias` from a task result into a plain model."""
    with torch.no_grad():
        for k, layer in enumerate(prunable_layers(model)):
            layer.weight.copy_(torch.from_numpy(result.arrays[f"{prefix}.{k}.weight"]))
            layer.bias.copy_(torch.from_numpy(result.arrays[f"{prefix}.{k}.bias"]))


def lottery_model(experiment: LotteryExperiment, result: TaskResult, round_number: int) -> nn.Sequential:
    """The network of one round, masks baked in, rebuilt from a task result's arrays."""
    model = make_model(experiment.model, 0)
    load_layers(model, result, f"r{round_number}")
    model.eval()
    return model


def _check_layers(result: TaskResult, prefix: str, shapes: list[tuple], where: str, masks: bool = True) -> list[int]:
    """Every layer's arrays present, of the right shape, finite, zero where masked: the counts."""
    counts = []
    for k, shape in enumerate(shapes):
        weight = result.arrays.get(f"{prefix}.{k}.weight")
        bias = result.arrays.get(f"{prefix}.{k}.bias")
        mask = result.arrays.get(f"{prefix}.{k}.mask") if masks else np.ones(shape, np.uint8)
        if weight is None or mask is None or bias is None or weight.shape != shape or mask.shape != shape:
            raise BuildError(f"{where} layer {k}: weights missing or of the wrong shape")
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise BuildError(f"{where} layer {k}: weights are not all finite")
        if np.any(weight[mask == 0] != 0):
            raise BuildError(f"{where} layer {k}: a pruned weight is nonzero")
        counts.append(int(np.count_nonzero(weight)))
    return counts


def _check_scores(model: nn.Module, validation, test, record: dict, where: str) -> None:
    """The recorded accuracies recompute exactly; the test loss to a millionth (relative: another
    machine's kernels may round the last bits differently)."""
    validation_accuracy, _ = scores(model, validation.inputs, validation.targets)
    test_accuracy, test_loss = scores(model, test.inputs, test.targets)
    for key, recomputed in (("validation_accuracy", validation_accuracy), ("test_accuracy", test_accuracy)):
        if recomputed != record.get(key):
            raise BuildError(f"{where}: {key.replace('_', ' ')} recomputes to {recomputed}, "
                             f"but the record says {record.get(key)}")
    recorded = record.get("test_loss")
    if not isinstance(recorded, float) or abs(test_loss - recorded) > 1e-6 * max(1.0, abs(recorded)):
        raise BuildError(f"{where}: test loss recomputes to {test_loss!r}, but the record says {recorded!r}")


def verify_lottery(experiment: LotteryExperiment, seed: int, dense: TaskResult, result: TaskResult) -> None:
    """What a cached result of run_lottery(experiment, seed, dense) must satisfy before it is
    trusted: round 0 is the dense network; every round's weights exist, are finite, are zero where
    the mask is, count as recorded, and score the recorded accuracies and loss."""
    mnist = load_mnist(experiment.data)
    if result.record.get("seed") != seed:
        raise BuildError(f"the record is of seed {result.record.get('seed')}, expected {seed}")
    rounds = result.record.get("rounds")
    if not isinstance(rounds, list) or len(rounds) != experiment.prune.rounds + 1:
        raise BuildError(f"expected {experiment.prune.rounds + 1} rounds in the record")
    shapes = [tuple(layer.weight.shape) for layer in prunable_layers(make_model(experiment.model, 0))]
    trained = dense.record.get("epochs")
    for k in range(len(shapes)):
        for name in ("weight", "bias"):
            if not np.array_equal(result.arrays.get(f"r0.{k}.{name}"), dense.arrays.get(f"e{trained}.{k}.{name}")):
                raise BuildError(f"round 0 layer {k}: not the dense network it was pruned from")
    for r, record in enumerate(rounds):
        counts = _check_layers(result, f"r{r}", shapes, f"round {r}")
        if counts != record.get("weights_per_layer"):
            raise BuildError(f"round {r}: {sum(counts)} nonzero weights {counts}, but the record says "
                             f"{record.get('weights_per_layer')}")
        _check_scores(lottery_model(experiment, result, r), mnist.validation, mnist.test, record, f"round {r}")
