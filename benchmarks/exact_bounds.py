"""What exact bounds and exact robustness cost, on the networks the report draws (issue 21).

For each MLP lottery chapter's drawn network (rebuilt from a build folder's cache, never trained):
the interval-simplified graph, then exact bounds by MILP (time, programs, how many nodes exact,
the outputs' widest range both ways, ReLUs before and after); then the exact robustness radius of
the first N test images on it (seconds per image, median radius in grey levels). Both timed in
this one run, interval arithmetic beside MILP.

    .venv/bin/python benchmarks/exact_bounds.py [--profile full] [--images 10] [--from build]

Writes benchmarks/results/exact_bounds.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="full")
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--from", dest="source", default=str(REPO / "build"))
    args = parser.parse_args()
    os.environ["FLOWGRAPH_BUILD_DIR"] = str(Path(args.source).resolve())

    import torch
    torch.set_num_threads(1)
    from generator.chapters import CHAPTERS
    from generator.chapters.mnist_lottery import EXACT, INPUT_RANGE, studied_model
    from generator.flowgraph.exact import exact_bounds, tighten, tightening_stats
    from generator.flowgraph.graph import flowgraph_from_sequential, simplify
    from generator.flowgraph.robustness import robustness_radius
    from generator.networks.data import load_mnist
    from generator.pipeline import cache
    from generator.pipeline.chapter import TaskResult
    from generator.pipeline.runner import plan_chapters, task_folder, with_upstream

    results = {"profile": args.profile, "images": args.images, "networks": {}}
    for chapter_id in ("mnist-mlp-lth", "mnist-mlp-lth-dense-first"):
        chapter = CHAPTERS[chapter_id]
        config = chapter.configs[args.profile]
        plan = plan_chapters(with_upstream(CHAPTERS, [chapter]), args.profile)
        tasks = {t.name: t for t in plan.chapter_tasks[chapter_id]}
        seeds = {f"seed-{s}": TaskResult.from_files(cache.read_entry(task_folder(tasks[f"seed-{s}"])))
                 for s in config.seeds}
        model = studied_model(config, seeds, "shown")
        start = time.perf_counter()
        interval = simplify(flowgraph_from_sequential(model, [INPUT_RANGE] * 784))
        interval_seconds = time.perf_counter() - start
        start = time.perf_counter()
        bounds = exact_bounds(interval, np.zeros(784), EXACT[args.profile])
        exact_seconds = time.perf_counter() - start
        graph = tighten(interval, bounds)
        stats = tightening_stats(interval, graph, bounds)
        test = load_mnist(config.data).test
        radii, per_image = [], []
        for index in range(args.images):
            start = time.perf_counter()
            found = robustness_radius(graph, test.pixels[index] / 255.0)
            per_image.append(time.perf_counter() - start)
            radii.append(found.radius)
        results["networks"][chapter_id] = {
            "interval_seconds": round(interval_seconds, 3), "exact_seconds": round(exact_seconds, 2),
            "programs": stats["programs"], "exact_nodes": stats["exact_nodes"], "interval_nodes": stats["interval_nodes"],
            "relus": stats["relus"], "vertices": stats["vertices"],
            "outputs_interval": [min(o["interval"][0] for o in stats["outputs"].values()),
                                 max(o["interval"][1] for o in stats["outputs"].values())],
            "outputs_exact": [min(o["exact"][0] for o in stats["outputs"].values()),
                              max(o["exact"][1] for o in stats["outputs"].values())],
            "robustness_seconds_per_image": {"median": round(statistics.median(per_image), 2),
                                             "max": round(max(per_image), 2)},
            "median_radius_grey_levels": round(255 * statistics.median(r for r in radii if r is not None), 2)}
        print(chapter_id, json.dumps(results["networks"][chapter_id]))
    out = REPO / "benchmarks" / "results" / "exact_bounds.json"
    out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
