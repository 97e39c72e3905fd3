"""Training and evaluation on in-memory tensors: one permutation per epoch, no per-sample loop.

The loop does little per step besides the arithmetic: batches are gathered a chunk at a time,
and a pruned layer (torch.nn.utils.prune) trains its kernel as an ordinary parameter instead of
through prune's forward pre-hook, which recomputes weight_orig × mask with autograd at every
forward. The arithmetic is the hook's, so the trained weights are the same to the bit. Measured
(benchmarks/profile_tasks.py): the MNIST networks at batch 64 are bound by the first layer's (or
the convolutions') arithmetic, so this saves them little; the batch size is what moves them.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
from torch import nn
from torch.nn.utils import prune

from generator.pipeline.progress import bar
from generator.networks.config import TrainConfig

CHUNK_ROWS = 8192      # rows gathered at once (a few MB): one index_select per chunk, not per batch


class PlainKernels:
    """While entered, every pruned `weight` of the model is an ordinary parameter holding
    weight_orig × mask (the value prune's hook would compute), the hook set aside; on exit the
    kept entries go back into weight_orig and the layer is pruned as before, with `weight`
    refreshed. The same parameter objects come back at each entry, so an optimizer built inside
    keeps its state across entries.

    Exact: the forward sees the hook's tensor; `mask_gradients` multiplies the gradient by the
    mask, as autograd through weight_orig × mask does, so Adam moves the kept entries exactly
    as it moves weight_orig's and leaves the pruned ones at ±0 (their weight_orig untouched)."""

    def __init__(self, model: nn.Module):
        self.layers = [(layer, key) for layer in model.modules() for key, hook in layer._forward_pre_hooks.items()
                       if isinstance(hook, prune.BasePruningMethod) and hook._tensor_name == "weight"]
        self.kernels = {id(layer): nn.Parameter(torch.empty(0)) for layer, _ in self.layers}
        self.masks: dict[int, torch.Tensor] = {}      # id(layer) -> its mask, while entered
        self.saved: list = []

    def __enter__(self) -> "PlainKernels":
        with torch.no_grad():
            for layer, _ in self.layers:
                orig, mask = layer._parameters.pop("weight_orig"), layer.weight_mask
                hooks, layer._forward_pre_hooks = layer._forward_pre_hooks, OrderedDict()
                kernel = self.kernels[id(layer)]
                kernel.data = orig * mask
                layer.__dict__.pop("weight", None)
                layer._parameters["weight"] = kernel
                self.saved.append((layer, orig, mask, hooks))
                self.masks[id(layer)] = mask
        return self

    def mask_gradients(self) -> None:
        for layer, _, mask, _ in self.saved:
            layer._parameters["weight"].grad.mul_(mask)

    def __exit__(self, *exc) -> None:
        with torch.no_grad():
            self.masks.clear()
            while self.saved:
                layer, orig, mask, hooks = self.saved.pop()
                kernel = layer._parameters.pop("weight")
                orig.copy_(torch.where(mask.bool(), kernel, orig))
                layer._parameters["weight_orig"] = orig
                layer._forward_pre_hooks = hooks
                setattr(layer, "weight", orig * mask)     # what the hook leaves, without a graph


def train_epochs(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, config: TrainConfig,
                 epochs: int, seed: int, desc: str = "train",
                 after_epoch: Callable[[int], None] | None = None, final: bool = False) -> None:
    """Adam from a fresh state (as in the lottery-ticket procedure); shuffling seeded by `seed`.
    `after_epoch(k)` is called after the k-th epoch (1-based), with the model pruned as on entry.
    `final`: the last round's learning rate and schedule."""
    lr = config.final_learning_rate if final and config.final_learning_rate else config.learning_rate
    plain = PlainKernels(model)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    n, size = inputs.shape[0], config.batch_size
    chunk = max(1, CHUNK_ROWS // size) * size
    steps = epochs * ((n + size - 1) // size)
    # One buffer for every chunk: a fresh 25 MB tensor per chunk is fresh pages from the kernel,
    # and faulting them in cost more than the copy (a fifth of an MLP epoch).
    xs_buffer = inputs.new_empty((chunk, *inputs.shape[1:]))
    ys_buffer = targets.new_empty((chunk, *targets.shape[1:]))
    optimizer = scheduler = None
    model.train()
    # disable=None: a progress bar on a terminal, silence in CI, under pytest and in workers.
    for epoch in bar(range(1, epochs + 1), desc=desc, leave=False):
        order = torch.randperm(n, generator=generator)
        with plain:
            if optimizer is None:    # on the plain kernels: the same objects at every entry
                optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
                scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
                             if final and config.final_schedule == "cosine" else None)
            for first in range(0, n, chunk):
                rows = order[first:first + chunk]
                xs = torch.index_select(inputs, 0, rows, out=xs_buffer[:rows.shape[0]])
                ys = torch.index_select(targets, 0, rows, out=ys_buffer[:rows.shape[0]])
                for start in range(0, rows.shape[0], size):
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(model(xs[start:start + size]), ys[start:start + size])
                    loss.backward()
                    if plain.layers:
                        plain.mask_gradients()
                    optimizer.step()
                    if scheduler is not None:
                        scheduler.step()
        if after_epoch is not None:
            after_epoch(epoch)
    model.eval()


@torch.inference_mode()
def predictions(model: nn.Module, inputs: torch.Tensor, batch: int = 100) -> torch.Tensor:
    model.eval()
    return torch.cat([model(inputs[i:i + batch]).argmax(dim=1) for i in range(0, inputs.shape[0], batch)])


def accuracy(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float((predictions(model, inputs) == targets).float().mean())
