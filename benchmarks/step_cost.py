"""What one training step of the MNIST networks costs, split into a fixed part and a part per image.

    .venv/bin/python benchmarks/step_cost.py [--steps N] [--batches 8,64,128,256]

Times `train_epochs`' own step (forward, loss, backward, mask, fused Adam) on one thread for each
model of the full profile at several batch sizes, and fits seconds = fixed + per_image × batch by
least squares. A large fixed part says a step is bound by Python and dispatch (bigger batches,
or several seeds in one step, would pay); a large per-image part says it is bound by arithmetic.
Writes benchmarks/results/step_cost.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from generator.chapters import CHAPTERS  # noqa: E402
from generator.networks.models import make_model, prunable_layers  # noqa: E402
from generator.networks.train import PlainKernels  # noqa: E402


def step_seconds(model: nn.Module, batch: int, steps: int) -> float:
    torch.manual_seed(0)
    xs, ys = torch.rand(batch, 784), torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()
    with PlainKernels(model) as plain:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(xs), ys).backward()
            plain.mask_gradients()
            optimizer.step()
        for _ in range(20):
            step()
        best = float("inf")
        for _ in range(3):      # the best of three runs: the machine is shared
            start = time.perf_counter()
            for _ in range(steps):
                step()
            best = min(best, (time.perf_counter() - start) / steps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batches", default="8,64,128,256")
    args = parser.parse_args()
    torch.set_num_threads(1)
    batches = [int(b) for b in args.batches.split(",")]
    results = {"torch": torch.__version__, "threads": 1, "models": {}}
    for chapter_id in ("mnist-mlp-lth", "mnist-cnn"):
        config = CHAPTERS[chapter_id].configs["full"]
        model = make_model(config.model, 0)
        for layer in prunable_layers(model):
            prune.identity(layer, "weight")      # trained as the lottery trains it: a pruned kernel
        seconds = [step_seconds(model, b, args.steps if b <= 128 else args.steps // 2) for b in batches]
        fixed, per_image = np.polyfit(batches, seconds, 1)[::-1]
        results["models"][chapter_id] = {
            "step_ms": {b: round(s * 1e3, 3) for b, s in zip(batches, seconds)},
            "fixed_ms": round(fixed * 1e3, 3), "per_image_us": round(per_image * 1e6, 3)}
        print(chapter_id, json.dumps(results["models"][chapter_id]))
    out = REPO / "benchmarks" / "results" / "step_cost.json"
    out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
