"""Cold and warm builds of the whole report, per chapter, with --jobs 1 and 2.

    .venv/bin/python benchmarks/build_times.py [--profile full] [--jobs 1 2]

Each cold build uses a fresh build folder under /tmp (the project's build/ and site/ are left
alone); the warm rebuild runs again on the last one with nothing changed. Reads what ran where
and for how long from build/last-build.json. Prints a table and writes
benchmarks/results/build_times.json. Goals (issue 11): cold full build <= 6 min, warm <= 15 s.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def build(build_dir: Path, profile: str, jobs: int) -> dict:
    env = {**os.environ, "FLOWGRAPH_BUILD_DIR": str(build_dir), "NO_MKDOCS_2_WARNING": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "generator.build", "--profile", profile, "--jobs", str(jobs),
                    "--site-dir", str(build_dir / "site-out")], cwd=REPO, env=env, check=True)
    wall = time.perf_counter() - start
    record = json.loads((build_dir / "last-build.json").read_text())
    per_chapter: dict[str, float] = {}
    for run in record["runs"]:
        per_chapter[run["chapter"]] = per_chapter.get(run["chapter"], 0.0) + run["seconds"]
    return {"wall_seconds": round(wall, 1), "stages": record["stages"],
            "chapter_cpu_seconds": {k: round(v, 1) for k, v in per_chapter.items()}, "runs": record["runs"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="full")
    parser.add_argument("--jobs", type=int, nargs="+", default=[2, 1])
    args = parser.parse_args()
    results = {"profile": args.profile, "cpus": os.cpu_count()}
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory(prefix=f"bench-{args.profile}-j{jobs}-") as tmp:
            cold = build(Path(tmp), args.profile, jobs)
            warm = build(Path(tmp), args.profile, jobs)
            results[f"jobs {jobs}"] = {"cold": cold, "warm": warm}
            print(f"--jobs {jobs}: cold {cold['wall_seconds']} s, warm {warm['wall_seconds']} s", flush=True)
            for chapter, seconds in cold["chapter_cpu_seconds"].items():
                print(f"    {chapter:28s} {seconds:7.1f} s of work (tasks + assembly)", flush=True)
    out = REPO / "benchmarks" / "results" / "build_times.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
