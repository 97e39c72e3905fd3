"""Lottery-ticket iterative magnitude pruning (Frankle & Carbin), masks by torch.nn.utils.prune.

Round 0 trains the dense network. Each later round removes a per-layer fraction of the surviving
kernel weights with the smallest magnitude, resets the survivors (and all biases) to their initial
values, and retrains from a fresh optimizer. Biases are never pruned.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import prune
from tqdm import tqdm

from .config import Experiment
from .data import MNIST
from .models import linear_layers, make_model
from .train import accuracy, train_epochs


def kernel(layer: nn.Linear) -> torch.Tensor:
    """The weight the layer computes with: weight_orig × mask once pruned (fresh, not the
    attribute the forward hook last wrote)."""
    if prune.is_pruned(layer):
        return layer.weight_orig * layer.weight_mask
    return layer.weight


def weights_per_layer(model: nn.Sequential) -> list[int]:
    return [int(torch.count_nonzero(kernel(layer))) for layer in linear_layers(model)]


def prune_lottery_round(model: nn.Sequential, rates: tuple[float, ...]) -> None:
    """Remove round(rate × alive) of each layer's surviving kernel weights, smallest |w| first.
    On an already pruned layer torch's PruningContainer ranks only the surviving weights."""
    for layer, rate in zip(linear_layers(model), rates):
        alive = int(layer.weight_mask.sum()) if prune.is_pruned(layer) else layer.weight.numel()
        prune.l1_unstructured(layer, name="weight", amount=int(round(rate * alive)))


@torch.no_grad()
def reset_to_init(model: nn.Sequential, init: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    for layer, (w0, b0) in zip(linear_layers(model), init):
        (layer.weight_orig if prune.is_pruned(layer) else layer.weight).copy_(w0)
        layer.bias.copy_(b0)


def baked(model: nn.Sequential) -> nn.Sequential:
    """A plain copy with the masks multiplied in: ordinary Linear weights with exact zeros."""
    plain = copy.deepcopy(model)
    for layer in linear_layers(plain):
        if prune.is_pruned(layer):
            prune.remove(layer, "weight")
    return plain


@dataclass
class LotteryResult:
    rounds: list[dict]          # one record per round (see docs/schema.md, manifest rounds)
    model: nn.Sequential        # the last round's network, masks baked in
    masks: list[torch.Tensor]   # its kernel masks, one per Linear layer


def run_lottery(experiment: Experiment, mnist: MNIST) -> LotteryResult:
    model = make_model(experiment.model, experiment.seed)
    init = [(layer.weight.detach().clone(), layer.bias.detach().clone()) for layer in linear_layers(model)]
    train_x, train_y = mnist.train.inputs, mnist.train.targets
    val_x, val_y = mnist.validation.inputs, mnist.validation.targets
    test_x, test_y = mnist.test.inputs, mnist.test.targets
    total_rounds = experiment.prune.rounds
    rounds = []
    for r in tqdm(range(total_rounds + 1), desc="lottery rounds", disable=None):
        if r > 0:
            prune_lottery_round(model, experiment.prune.rates)
            reset_to_init(model, init)
        # The last round's mask is the ticket the report shows: train it longer.
        epochs = experiment.train.final_epochs if r == total_rounds else experiment.train.epochs_per_round
        train_epochs(model, train_x, train_y, experiment.train, epochs,
                     seed=experiment.seed * 1000 + r, desc=f"round {r}")
        per_layer = weights_per_layer(model)
        rounds.append({
            "round": r,
            "weights": sum(per_layer),
            "weights_per_layer": per_layer,
            "epochs": epochs,
            "validation_accuracy": round(accuracy(model, val_x, val_y), 6),
            "test_accuracy": round(accuracy(model, test_x, test_y), 6),
        })
    masks = [(layer.weight_mask.clone() if prune.is_pruned(layer) else torch.ones_like(layer.weight))
             for layer in linear_layers(model)]
    return LotteryResult(rounds=rounds, model=baked(model), masks=masks)
