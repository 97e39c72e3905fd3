"""What the looking-inside chapters (t-SNE, strongest stimuli, attributions, SPADE, the backdoor) add to a cold
build: the report is first built (or brought up to date) in a copy of a build folder, so every
network they study is cached; then their own cache entries are removed and the build is timed
(those chapters cold, everything else warm), and then timed once more with nothing changed (all
warm). The difference of the two is their cost; per task and assembly seconds come from the
build's last-build.json. Both builds run in this one run, on this machine (issue 19: at most 4
minutes at --jobs 2).

    .venv/bin/python benchmarks/looking_inside_cost.py [--profile full] [--jobs 2] [--from build]

Writes benchmarks/results/looking_inside_cost.json.
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
CHAPTERS = ("tsne", "stimuli", "attributions", "spade", "spade-backdoor")
# the tasks those chapters run: t-SNE's maps, the backdoored networks and their scoring
TASK_PREFIXES = ("map-layer-", "train-backdoored-", "score-seed-")


def build(folder: Path, profile: str, jobs: int) -> tuple[float, dict]:
    env = {**os.environ, "FLOWGRAPH_BUILD_DIR": str(folder / "build"), "NO_MKDOCS_2_WARNING": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "generator.build", "--profile", profile, "--jobs", str(jobs),
                    "--site-dir", str(folder / "site")], cwd=REPO, env=env, check=True)
    return time.perf_counter() - start, json.loads((folder / "build" / "last-build.json").read_text())


def forget(cache: Path) -> list[str]:
    """Remove the cache entries of the looking-inside chapters: their outputs and their tasks."""
    removed = []
    for entry in sorted((cache / "chapters").iterdir()):
        if any(entry.name.startswith(f"{chapter}-") for chapter in CHAPTERS):
            shutil.rmtree(entry)
            removed.append(entry.name)
    for entry in sorted((cache / "tasks").iterdir()):
        if entry.name.startswith(TASK_PREFIXES):
            shutil.rmtree(entry)
            removed.append(entry.name)
    return removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="full")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--from", dest="source", default=str(REPO / "build"),
                        help="a build folder whose cache holds the networks (copied, never changed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inside-cost-") as tmp:
        folder = Path(tmp)
        shutil.copytree(Path(args.source) / "cache", folder / "build" / "cache")
        up_to_date, _ = build(folder, args.profile, args.jobs)     # anything stale is rebuilt here, untimed
        removed = forget(folder / "build" / "cache")
        cold, record = build(folder, args.profile, args.jobs)
        warm, _ = build(folder, args.profile, args.jobs)
    runs = [run for run in record["runs"] if run["chapter"] in CHAPTERS]
    result = {"profile": args.profile, "jobs": args.jobs, "removed_entries": len(removed),
              "cold_seconds": round(cold, 1), "warm_seconds": round(warm, 1), "added_seconds": round(cold - warm, 1),
              "first_build_seconds": round(up_to_date, 1),
              "cpu_seconds": {chapter: round(sum(r["seconds"] for r in runs if r["chapter"] == chapter), 1)
                              for chapter in CHAPTERS},
              "runs": [{"chapter": r["chapter"], "task": r["task"], "seconds": r["seconds"]} for r in runs]}
    out = REPO / "benchmarks" / "results" / "looking_inside_cost.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"looking-inside chapters cold, the rest warm: {cold:.1f} s; all warm: {warm:.1f} s; "
          f"added: {cold - warm:.1f} s at --jobs {args.jobs} ({args.profile})")
    for chapter, seconds in result["cpu_seconds"].items():
        print(f"  {chapter}: {seconds} CPU s in tasks and assembly")


if __name__ == "__main__":
    main()
