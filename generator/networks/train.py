"""Training and evaluation on in-memory tensors: one permutation per epoch, no per-sample loop."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from generator.pipeline.progress import bar
from generator.networks.config import TrainConfig


def train_epochs(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, config: TrainConfig,
                 epochs: int, seed: int, desc: str = "train",
                 after_epoch: Callable[[int], None] | None = None, final: bool = False) -> None:
    """Adam from a fresh state (as in the lottery-ticket procedure); shuffling seeded by `seed`.
    `after_epoch(k)` is called after the k-th epoch (1-based). `final`: the last round's
    learning rate and schedule."""
    lr = config.final_learning_rate if final and config.final_learning_rate else config.learning_rate
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    n = inputs.shape[0]
    steps = epochs * ((n + config.batch_size - 1) // config.batch_size)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
                 if final and config.final_schedule == "cosine" else None)
    model.train()
    # disable=None: a progress bar on a terminal, silence in CI, under pytest and in workers.
    for epoch in bar(range(1, epochs + 1), desc=desc, leave=False):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, config.batch_size):
            batch = order[start:start + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        if after_epoch is not None:
            after_epoch(epoch)
    model.eval()


@torch.no_grad()
def predictions(model: nn.Module, inputs: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    model.eval()
    return torch.cat([model(inputs[i:i + batch]).argmax(dim=1) for i in range(0, inputs.shape[0], batch)])


def accuracy(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float((predictions(model, inputs) == targets).float().mean())
