"""How many weights Deep Compression can keep at 40x: the full profile's dense MNIST MLPs (taken
from a build folder's cache, never trained here) compressed with layer-1 counts from 900 to 1300
(layers 2 and 3 at 250 and 110), everything else as the chapter's full config. Per seed and count:
the ratio and the test accuracy lost against the dense network.

    .venv/bin/python benchmarks/deep_compression.py [--from build] [--seeds 0,1,2]

Writes benchmarks/results/deep_compression.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", default=str(REPO / "build"))
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    os.environ["FLOWGRAPH_BUILD_DIR"] = args.source
    import torch
    torch.set_num_threads(1)
    from generator.chapters import CHAPTERS
    from generator.chapters.deep_compression import compression_run
    from generator.compress.deep_compression import compress
    from generator.pipeline import cache
    from generator.pipeline.chapter import TaskResult
    from generator.pipeline.runner import plan_chapters, task_folder, with_upstream
    plan = plan_chapters(with_upstream(CHAPTERS, [CHAPTERS["deep-compression"]]), "full")
    dense = {t.name: t for t in plan.chapter_tasks["mnist-mlp-lth"]}
    chapter = CHAPTERS["deep-compression"].configs["full"]
    lottery = CHAPTERS["mnist-mlp-lth"].configs["full"]
    rows = []
    for first in (900, 1000, 1100, 1200, 1300):
        config = dataclasses.replace(chapter, compression=dataclasses.replace(chapter.compression, targets=(first, 250, 110)))
        for seed in (int(s) for s in args.seeds.split(",")):
            entry = cache.read_entry(task_folder(dense[f"dense-{seed}"]))
            if entry is None:
                raise SystemExit(f"no cached dense network of seed {seed} in {args.source}: build the full profile first")
            start = time.perf_counter()
            record = compress(compression_run(config, lottery, seed), TaskResult.from_files(entry)).record
            stages = record["stages"]
            rows.append({"layer_1": first, "seed": seed, "ratio": round(record["dense_bytes"] / record["compressed_bytes"], 2),
                         "dense_accuracy": stages[0]["test_accuracy"], "accuracy": stages[-1]["test_accuracy"],
                         "lost_points": round(100 * (stages[-1]["test_accuracy"] - stages[0]["test_accuracy"]), 2),
                         "seconds": round(time.perf_counter() - start, 1)})
            print(rows[-1])
    out = REPO / "benchmarks" / "results" / "deep_compression.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
