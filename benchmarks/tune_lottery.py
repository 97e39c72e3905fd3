"""Choose the full profile's free settings on the validation split (test accuracy is only reported).

    .venv/bin/python benchmarks/tune_lottery.py

Runs the full lottery schedule for a few seeds and final-round lengths and prints validation and
test accuracy of the last round. Writes benchmarks/results/tune_lottery.json.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from generator.chapters import CHAPTERS  # noqa: E402
from generator.networks.prune import run_lottery, train_dense  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    base = CHAPTERS["mnist-mlp-lth"].configs["full"]
    rows = []
    for seed, final_epochs in itertools.product([0, 1, 2], [15, 30]):
        experiment = dataclasses.replace(base, train=dataclasses.replace(base.train, final_epochs=final_epochs))
        start = time.perf_counter()
        last = run_lottery(experiment, seed, train_dense(experiment.dense(seed))).record["rounds"][-1]
        rows.append({"seed": seed, "final_epochs": final_epochs, **last, "seconds": round(time.perf_counter() - start, 1)})
        print(json.dumps(rows[-1]), flush=True)
    out = REPO / "benchmarks" / "results" / "tune_lottery.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
