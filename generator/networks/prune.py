"""Lottery-ticket iterative magnitude pruning (Frankle & Carbin), masks by torch.nn.utils.prune.

Round 0 trains the dense network. Each later round removes a per-layer fraction of the surviving
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

from generator.networks.config import LotteryExperiment, PruneConfig
from generator.pipeline.progress import bar
from generator.networks.data import load_mnist
from generator.pipeline.errors import BuildError
from generator.networks.models import make_model, prunable_layers
from generator.pipeline.chapter import TaskResult
from generator.networks.train import accuracy, train_epochs


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


def run_lottery(experiment: LotteryExperiment, seed: int) -> TaskResult:
    """One seed of the schedule: a record per round, and every round's weights and masks
    as arrays `r<round>.<layer>.weight|bias|mask`."""
    mnist = load_mnist(experiment.data)
    model = make_model(experiment.model, seed)
    rewind = snapshot(model)
    train_x, train_y = mnist.train.inputs, mnist.train.targets
    val_x, val_y = mnist.validation.inputs, mnist.validation.targets
    test_x, test_y = mnist.test.inputs, mnist.test.targets
    total_rounds = experiment.prune.rounds
    rounds, arrays = [], {}
    for r in bar(range(total_rounds + 1), desc=f"lottery seed {seed}"):
        if r > 0:
            prune_lottery_round(model, experiment.prune, r)
            reset_to(model, rewind)
        # The last round's mask is the ticket the report shows: train it longer.
        epochs = experiment.train.final_epochs if r == total_rounds else experiment.train.epochs_per_round
        # Late resetting: remember the dense weights a few epochs into round 0.
        keep_rewind = None
        if r == 0 and experiment.prune.rewind_epochs:
            def keep_rewind(epoch: int) -> None:
                nonlocal rewind
                if epoch == experiment.prune.rewind_epochs:
                    rewind = snapshot(model)
        train_epochs(model, train_x, train_y, experiment.train, epochs, seed=seed * 1000 + r,
                     after_epoch=keep_rewind, final=r == total_rounds)
        per_layer = weights_per_layer(model)
        rounds.append({
            "round": r,
            "weights": sum(per_layer),
            "weights_per_layer": per_layer,
            "epochs": epochs,
            "validation_accuracy": round(accuracy(model, val_x, val_y), 6),
            "test_accuracy": round(accuracy(model, test_x, test_y), 6),
        })
        for k, (layer, mask) in enumerate(zip(prunable_layers(model), masks_of(model))):
            arrays[f"r{r}.{k}.weight"] = kernel(layer).detach().numpy().copy()
            arrays[f"r{r}.{k}.bias"] = layer.bias.detach().numpy().copy()
            arrays[f"r{r}.{k}.mask"] = mask.numpy().astype(np.uint8)
    return TaskResult(record={"seed": seed, "rounds": rounds}, arrays=arrays)


def lottery_model(experiment: LotteryExperiment, result: TaskResult, round_number: int) -> nn.Sequential:
    """The network of one round, masks baked in, rebuilt from a task result's arrays."""
    model = make_model(experiment.model, 0)
    with torch.no_grad():
        for k, layer in enumerate(prunable_layers(model)):
            layer.weight.copy_(torch.from_numpy(result.arrays[f"r{round_number}.{k}.weight"]))
            layer.bias.copy_(torch.from_numpy(result.arrays[f"r{round_number}.{k}.bias"]))
    model.eval()
    return model


def verify_lottery(experiment: LotteryExperiment, seed: int, result: TaskResult) -> None:
    """What a cached result of run_lottery(experiment, seed) must satisfy before it is trusted:
    every round's weights exist, are finite, are zero where the mask is, count as recorded, and
    score the recorded accuracies."""
    mnist = load_mnist(experiment.data)
    if result.record.get("seed") != seed:
        raise BuildError(f"the record is of seed {result.record.get('seed')}, expected {seed}")
    rounds = result.record.get("rounds")
    if not isinstance(rounds, list) or len(rounds) != experiment.prune.rounds + 1:
        raise BuildError(f"expected {experiment.prune.rounds + 1} rounds in the record")
    shapes = [tuple(layer.weight.shape) for layer in prunable_layers(make_model(experiment.model, 0))]
    for r, record in enumerate(rounds):
        counts = []
        for k, shape in enumerate(shapes):
            weight = result.arrays.get(f"r{r}.{k}.weight")
            mask = result.arrays.get(f"r{r}.{k}.mask")
            bias = result.arrays.get(f"r{r}.{k}.bias")
            if weight is None or mask is None or bias is None or weight.shape != shape or mask.shape != shape:
                raise BuildError(f"round {r} layer {k}: weights missing or of the wrong shape")
            if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
                raise BuildError(f"round {r} layer {k}: weights are not all finite")
            if np.any(weight[mask == 0] != 0):
                raise BuildError(f"round {r} layer {k}: a pruned weight is nonzero")
            counts.append(int(np.count_nonzero(weight)))
        if counts != record.get("weights_per_layer"):
            raise BuildError(f"round {r}: {sum(counts)} nonzero weights {counts}, but the record says "
                             f"{record.get('weights_per_layer')}")
        model = lottery_model(experiment, result, r)
        for split, key in ((mnist.test, "test_accuracy"), (mnist.validation, "validation_accuracy")):
            recomputed = round(accuracy(model, split.inputs, split.targets), 6)
            if recomputed != record.get(key):
                raise BuildError(f"round {r}: {key.replace('_', ' ')} recomputes to {recomputed}, "
                                 f"but the record says {record.get(key)}")
