"""Training and evaluation on in-memory tensors: one permutation per epoch, no per-sample loop."""
from __future__ import annotations

import torch
from torch import nn
from tqdm import tqdm

from .config import TrainConfig


def train_epochs(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                 config: TrainConfig, epochs: int, seed: int, desc: str = "train") -> None:
    """Adam from a fresh state (as in the lottery-ticket procedure); shuffling seeded by `seed`."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    n = inputs.shape[0]
    model.train()
    # disable=None: a progress bar on a terminal, silence in CI and under pytest.
    for _ in tqdm(range(epochs), desc=desc, leave=False, disable=None):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, config.batch_size):
            batch = order[start:start + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
    model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    model.eval()
    return float((model(inputs).argmax(dim=1) == targets).float().mean())
