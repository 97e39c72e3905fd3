"""What a set of chapters adds to a cold build: the looking-inside chapters (t-SNE, strongest
stimuli, attributions, SPADE, the backdoor; issue 19) or the structure chapters (Deep
Compression, DSD, sparse training, convergent learning, clusterability, the closing comparison;
issue 20), each at most 4 minutes at --jobs 2. The report is first built (or brought up to date)
in a copy of a build folder, so every network they study is cached; then the set's own cache
entries are removed and the build is timed (those chapters cold, everything else warm), and then
timed once more with nothing changed (all warm). The difference of the two is their cost; per
task and assembly seconds come from the build's last-build.json. Both builds run in this one
run, on this machine.

    .venv/bin/python benchmarks/chapter_cost.py --set structure [--profile full] [--jobs 2] [--from build]

Writes benchmarks/results/<set>_cost.json (looking_inside_cost.json, structure_cost.json, exact_cost.json).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# set -> (its chapters, the prefixes of the tasks only they run: cache entries are named by function)
SETS = {
    "looking-inside": (("tsne", "stimuli", "attributions", "spade", "spade-backdoor"),
                       ("map-layer-", "train-backdoored-", "score-seed-")),
    "structure": (("deep-compression", "dsd", "sparse-training", "convergent-learning", "clusterability", "tradeoff"),
                  ("compress-", "run-dsd-", "train-sparse-", "train-paired-")),
    # issue 21: the MLP chapters' assemblies (their exact bounds and witnesses) and the robustness
    # chapter (its radius searches); the chapters downstream of them stay warm (same keys).
    "exact": (("mnist-mlp-lth", "mnist-mlp-lth-dense-first", "robustness"), ("search-radii-",)),
}


def build(folder: Path, profile: str, jobs: int) -> tuple[float, dict]:
    env = {**os.environ, "FLOWGRAPH_BUILD_DIR": str(folder / "build"), "NO_MKDOCS_2_WARNING": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "generator.build", "--profile", profile, "--jobs", str(jobs),
                    "--site-dir", str(folder / "site")], cwd=REPO, env=env, check=True)
    return time.perf_counter() - start, json.loads((folder / "build" / "last-build.json").read_text())


def forget(cache: Path, chapters: tuple[str, ...], task_prefixes: tuple[str, ...]) -> list[str]:
    """Remove the cache entries of a set of chapters: their outputs and their tasks."""
    removed = []
    for entry in sorted((cache / "chapters").iterdir()):
        if any(entry.name.startswith(f"{chapter}-") for chapter in chapters):
            shutil.rmtree(entry)
            removed.append(entry.name)
    for entry in sorted((cache / "tasks").iterdir()):
        if entry.name.startswith(task_prefixes):
            shutil.rmtree(entry)
            removed.append(entry.name)
    return removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="chapter_set", choices=list(SETS), default="looking-inside")
    parser.add_argument("--profile", default="full")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--from", dest="source", default=str(REPO / "build"),
                        help="a build folder whose cache holds the networks (copied, never changed)")
    args = parser.parse_args()
    chapters, task_prefixes = SETS[args.chapter_set]
    with tempfile.TemporaryDirectory(prefix="chapter-cost-") as tmp:
        folder = Path(tmp)
        shutil.copytree(Path(args.source) / "cache", folder / "build" / "cache")
        up_to_date, _ = build(folder, args.profile, args.jobs)     # anything stale is rebuilt here, untimed
        removed = forget(folder / "build" / "cache", chapters, task_prefixes)
        cold, record = build(folder, args.profile, args.jobs)
        warm, _ = build(folder, args.profile, args.jobs)
    runs = [run for run in record["runs"] if run["chapter"] in chapters]
    result = {"profile": args.profile, "jobs": args.jobs, "removed_entries": len(removed),
              "cold_seconds": round(cold, 1), "warm_seconds": round(warm, 1), "added_seconds": round(cold - warm, 1),
              "first_build_seconds": round(up_to_date, 1),
              "cpu_seconds": {chapter: round(sum(r["seconds"] for r in runs if r["chapter"] == chapter), 1)
                              for chapter in chapters},
              "runs": [{"chapter": r["chapter"], "task": r["task"], "seconds": r["seconds"]} for r in runs]}
    out = REPO / "benchmarks" / "results" / f"{args.chapter_set.replace('-', '_')}_cost.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.chapter_set} chapters cold, the rest warm: {cold:.1f} s; all warm: {warm:.1f} s; "
          f"added: {cold - warm:.1f} s at --jobs {args.jobs} ({args.profile})")
    for chapter, seconds in result["cpu_seconds"].items():
        print(f"  {chapter}: {seconds} CPU s in tasks and assembly")


if __name__ == "__main__":
    main()
