"""Choose the first-layer-unpruned chapter's free settings on the validation split.

    .venv/bin/python benchmarks/tune_dense_first.py

Prunes only layers 2 and 3 (rates 0/0.30/0.20 per round, as in the reference runs that reached
94.6% at 113 weights with late resetting), for a few round counts, rewind points and final-round
lengths, two seeds each; prints validation and test accuracy of the last round.
Writes benchmarks/results/tune_dense_first.json.
"""
from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from generator.networks.config import LotteryExperiment, PruneConfig, TrainConfig  # noqa: E402
from generator.networks.prune import run_lottery, train_dense  # noqa: E402


ROUNDS, REWIND = [8, 9, 10], [0, 1]


def main() -> None:
    torch.set_num_threads(1)
    out = REPO / "benchmarks" / "results" / "tune_dense_first.json"
    rows = json.loads(out.read_text()) if out.exists() else []
    done = {(r["rounds"], r["rewind_epochs"], r["final_epochs"], r["seed"]) for r in rows}
    for rounds, rewind, final_epochs, seed in itertools.product(ROUNDS, REWIND, [15], [0, 1]):
        if (rounds, rewind, final_epochs, seed) in done:
            continue
        config = LotteryExperiment(train=TrainConfig(epochs_per_round=3, final_epochs=final_epochs),
                                   prune=PruneConfig(rounds=rounds, rates=(0.0, 0.30, 0.20), rewind_epochs=rewind))
        start = time.perf_counter()
        last = run_lottery(config, seed, train_dense(config.dense(seed))).record["rounds"][-1]
        rows.append({"rounds": rounds, "rewind_epochs": rewind, "final_epochs": final_epochs, "seed": seed,
                     "weights_2_3": sum(last["weights_per_layer"][1:]), "validation": last["validation_accuracy"],
                     "test": last["test_accuracy"], "seconds": round(time.perf_counter() - start, 1)})
        print(json.dumps(rows[-1]), flush=True)
        out.write_text(json.dumps(rows, indent=2) + "\n")   # resumable: finished runs are kept


if __name__ == "__main__":
    main()
