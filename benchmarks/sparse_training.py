"""Schedules for training sparse from the start at the ticket's counts (the full profile's data and
model, one seed): how the kept count falls (geometric, as the chapter does) over which share of
how many epochs. Validation accuracy decides; test accuracy is reported beside it.

    .venv/bin/python benchmarks/sparse_training.py [--seed 1]

Writes benchmarks/results/sparse_training.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    from generator.chapters import CHAPTERS
    from generator.chapters.sparse_training import sparse_run
    from generator.compress.sparse_training import train_sparse
    chapter = CHAPTERS["sparse-training"].configs["full"]
    lottery = CHAPTERS["mnist-mlp-lth"].configs["full"]
    rows = []
    for epochs, anneal in ((20, 0.3), (20, 0.5), (20, 0.8), (30, 0.5), (30, 0.7)):
        config = dataclasses.replace(chapter, epochs=epochs, anneal=anneal)
        start = time.perf_counter()
        record = train_sparse(sparse_run(config, lottery, args.seed)).record
        rows.append({"epochs": epochs, "anneal": anneal, "seed": args.seed,
                     "validation_accuracy": record["validation_accuracy"], "test_accuracy": record["test_accuracy"],
                     "seconds": round(time.perf_counter() - start, 1)})
        print(rows[-1])
    out = REPO / "benchmarks" / "results" / "sparse_training.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
