"""What scoring a network on the validation and test images (15,000) costs at several batch sizes.

    .venv/bin/python benchmarks/eval_batch.py [--batches 50,100,250,1000] [--repeat 3]

Every build scores every cached network again (all rounds of every seed, issue 22), so the batch
size of `prune.scores` and `graph.check_exact` sets most of a warm rebuild's cost: the CNN's
convolutions (6 channels) are bound by memory traffic, not arithmetic. Times the full profile's
MLP and CNN, forward only under inference mode, on one thread as the build runs them; the best
of --repeat runs per size. Writes benchmarks/results/eval_batch.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from generator.chapters import CHAPTERS  # noqa: E402
from generator.networks.models import make_model  # noqa: E402

IMAGES = 15_000


@torch.inference_mode()
def seconds(model: torch.nn.Module, inputs: torch.Tensor, batch: int) -> float:
    start = time.perf_counter()
    torch.cat([model(inputs[i:i + batch]) for i in range(0, len(inputs), batch)])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", default="50,100,250,1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    batches = [int(b) for b in args.batches.split(",")]
    results = {"images": IMAGES, "threads": 1, "seconds": {}}
    for chapter_id in ("mnist-mlp-lth", "mnist-cnn"):
        config = CHAPTERS[chapter_id].configs["full"].model
        model = make_model(config, 0).eval()
        inputs = torch.rand((IMAGES, 784), generator=torch.Generator().manual_seed(0))   # both take flat images
        results["seconds"][chapter_id] = {}
        for batch in batches:
            best = min(seconds(model, inputs, batch) for _ in range(args.repeat))
            results["seconds"][chapter_id][batch] = round(best, 3)
            print(f"{chapter_id:14s} batch {batch:5d}: {best:.3f} s for {IMAGES} images", flush=True)
    out = REPO / "benchmarks" / "results" / "eval_batch.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
