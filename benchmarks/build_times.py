"""Cold and warm builds of the whole report: per chapter and per task, CPU seconds and the
critical path, at --jobs 1 and 2; and, with --compare REV, the same cold builds of another commit
side by side, in one run on one machine (machines here differ by about 2x: only a ratio measured
in the same run means anything).

    .venv/bin/python benchmarks/build_times.py [--profile full] [--jobs 2 1] [--compare fb4c42c]
        [--only ID,ID] [--compare-warm] [--warm-on BUILD_DIR [--repeat N]]

--only builds those chapters (and what they need) in this tree: the four chapters fb4c42c had.
--compare-warm also rebuilds the other commit warm. --warm-on times N warm rebuilds of a build
folder that is already up to date (e.g. the project's build/ after `make site`), nothing cold;
with --compare, alternating with the other commit's (the folder must hold its entries too).

Each cold build uses a fresh build folder under /tmp (the project's build/ and site/ are left
alone); the warm rebuild runs again on the last one with nothing changed. The other commit is
checked out in a temporary git worktree and built with this venv. What ran, where and for how
long comes from each build's last-build.json. Prints a table and writes
benchmarks/results/build_times.json. Goals (issue 18): cold at --jobs 2 in at most half the time
of commit fb4c42c, warm <= 15 s.
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


def build(source: Path, folder: Path, profile: str, jobs: int, only: str | None = None,
          build_dir: Path | None = None) -> dict:
    """Build into folder/build (cache, site data) and folder/site (the site: outside the build
    folder, which the build requires)."""
    build_dir = build_dir or folder / "build"
    env = {**os.environ, "FLOWGRAPH_BUILD_DIR": str(build_dir), "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": str(source)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "generator.build", "--profile", profile, "--jobs", str(jobs),
                    "--site-dir", str(folder / "site"), *(["--only", only] if only else [])],
                   cwd=source, env=env, check=True)
    wall = time.perf_counter() - start
    record = json.loads((build_dir / "last-build.json").read_text())
    return {"wall_seconds": round(wall, 1), "stages": record["stages"], **summarise(record["runs"]),
            "runs": record["runs"]}


def summarise(runs: list[dict]) -> dict:
    """CPU seconds per chapter and per task, and the critical path: the longest chain of runs
    each of which needs the one before (a chapter's assembly needs its tasks; a task the tasks in
    its `needs`). Builds from before chapter links logged no `needs`: there an assembly needs
    every task of its chapter."""
    per_chapter: dict[str, float] = {}
    per_task: dict[str, float] = {}
    for run in runs:
        per_chapter[run["chapter"]] = per_chapter.get(run["chapter"], 0.0) + run["seconds"]
        per_task[f"{run['chapter']}/{run['task']}"] = run["seconds"]
    by_key = {run.get("key", f"{run['chapter']}/{run['task']}"): run for run in runs}

    def needs(run: dict) -> list[str]:
        if "needs" in run:
            return [k for k in run["needs"] if k in by_key]
        if run["task"] == "assemble":
            return [f"{r['chapter']}/{r['task']}" for r in runs if r["chapter"] == run["chapter"] and r["task"] != "assemble"]
        return []

    longest: dict[str, tuple[float, list[str]]] = {}

    def chain(key: str) -> tuple[float, list[str]]:
        if key not in longest:
            run = by_key[key]
            before = max((chain(k) for k in needs(run)), default=(0.0, []))
            longest[key] = (before[0] + run["seconds"], before[1] + [f"{run['chapter']}/{run['task']}"])
        return longest[key]

    seconds, path = max((chain(k) for k in by_key), default=(0.0, []))
    return {"cpu_seconds": round(sum(per_task.values()), 1),
            "chapter_cpu_seconds": {k: round(v, 1) for k, v in per_chapter.items()},
            "task_cpu_seconds": {k: round(v, 1) for k, v in sorted(per_task.items())},
            "critical_path": {"seconds": round(seconds, 1), "runs": path}}


def measure(source: Path, label: str, profile: str, jobs_list: list[int], warm: bool,
            only: str | None = None) -> dict:
    results = {}
    for jobs in jobs_list:
        with tempfile.TemporaryDirectory(prefix=f"bench-{label}-{profile}-j{jobs}-") as tmp:
            cold = build(source, Path(tmp), profile, jobs, only)
            entry = {"cold": cold}
            line = f"{label} --jobs {jobs}: cold {cold['wall_seconds']} s"
            if warm:
                entry["warm"] = build(source, Path(tmp), profile, jobs, only)
                line += f", warm {entry['warm']['wall_seconds']} s"
            results[f"jobs {jobs}"] = entry
        print(line + f" (work {cold['cpu_seconds']} s, critical path {cold['critical_path']['seconds']} s)", flush=True)
        for chapter, seconds in cold["chapter_cpu_seconds"].items():
            print(f"    {chapter:28s} {seconds:7.1f} s of work (tasks + assembly)", flush=True)
        for task, seconds in cold["task_cpu_seconds"].items():
            print(f"        {task:44s} {seconds:7.1f} s", flush=True)
    return results


def warm_rebuilds(build_dir: Path, profile: str, jobs_list: list[int], repeat: int,
                  sources: dict[str, Path]) -> dict:
    """Rebuilds of an up-to-date build folder: every cached entry is read and checked again
    (issue 22), nothing is trained or assembled; the site goes to a temporary folder. With
    several sources (this tree, another commit whose entries the folder also holds), their
    rebuilds alternate, so that both see the same machine."""
    results = {}
    for jobs in jobs_list:
        runs: dict[str, list[dict]] = {label: [] for label in sources}
        with tempfile.TemporaryDirectory(prefix=f"bench-warm-j{jobs}-") as tmp:
            for _ in range(repeat):
                for label, source in sources.items():
                    runs[label].append(build(source, Path(tmp) / label, profile, jobs, build_dir=build_dir))
        for label, done in runs.items():
            if any(run["runs"] for run in done):
                raise SystemExit(f"{build_dir} was not up to date for {label}: a warm rebuild trained or assembled")
            walls = sorted(run["wall_seconds"] for run in done)
            results.setdefault(label, {})[f"jobs {jobs}"] = {
                "wall_seconds": walls, "median": walls[len(walls) // 2], "stages": [run["stages"] for run in done]}
            print(f"{label}: warm rebuild of {build_dir}, --jobs {jobs}: {walls} s (median {walls[len(walls) // 2]} s)",
                  flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="full")
    parser.add_argument("--jobs", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--compare", metavar="REV", help="also build this commit cold, side by side")
    parser.add_argument("--only", metavar="ID,ID", help="this tree builds these chapters (and what they need)")
    parser.add_argument("--compare-warm", action="store_true", help="also rebuild the other commit warm")
    parser.add_argument("--warm-on", type=Path, metavar="BUILD_DIR", help="only time warm rebuilds of this folder")
    parser.add_argument("--repeat", type=int, default=3, help="warm rebuilds with --warm-on")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "build_times.json")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    if args.warm_on:
        with tempfile.TemporaryDirectory(prefix="bench-worktree-") as tmp:
            sources = {commit: REPO}
            if args.compare:     # the folder must hold that commit's entries too (built with it before)
                sources[args.compare] = Path(tmp) / "tree"
                subprocess.run(["git", "worktree", "add", "--detach", "-q", str(sources[args.compare]), args.compare],
                               cwd=REPO, check=True)
            try:
                warm = warm_rebuilds(args.warm_on.resolve(), args.profile, args.jobs, args.repeat, sources)
            finally:
                if args.compare:
                    subprocess.run(["git", "worktree", "remove", "--force", str(sources[args.compare])], cwd=REPO, check=False)
        results = {"profile": args.profile, "cpus": os.cpu_count(), "commit": commit, "build_dir": str(args.warm_on),
                   "warm": warm}
        if args.compare:
            for jobs in args.jobs:
                new, old = warm[commit][f"jobs {jobs}"]["median"], warm[args.compare][f"jobs {jobs}"]["median"]
                results[f"warm ratio jobs {jobs}"] = round(new / old, 3)
                print(f"--jobs {jobs}: {commit} warm {new} s, {args.compare} warm {old} s: ratio {new / old:.2f}", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        return
    results = {"profile": args.profile, "cpus": os.cpu_count(), "commit": commit, "only": args.only,
               "this": measure(REPO, commit, args.profile, args.jobs, warm=True, only=args.only)}
    if args.compare:
        with tempfile.TemporaryDirectory(prefix="bench-worktree-") as tmp:
            tree = Path(tmp) / "tree"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), args.compare], cwd=REPO, check=True)
            try:
                results["compare"] = {"rev": args.compare,
                                      **measure(tree, args.compare, args.profile, args.jobs, warm=args.compare_warm)}
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)
        for jobs in args.jobs:
            new = results["this"][f"jobs {jobs}"]["cold"]["wall_seconds"]
            old = results["compare"][f"jobs {jobs}"]["cold"]["wall_seconds"]
            results[f"ratio jobs {jobs}"] = round(new / old, 3)
            print(f"--jobs {jobs}: {commit} cold {new} s, {args.compare} cold {old} s: ratio {new / old:.2f}", flush=True)
            if args.compare_warm:
                new = results["this"][f"jobs {jobs}"]["warm"]["wall_seconds"]
                old = results["compare"][f"jobs {jobs}"]["warm"]["wall_seconds"]
                results[f"warm ratio jobs {jobs}"] = round(new / old, 3)
                print(f"--jobs {jobs}: {commit} warm {new} s, {args.compare} warm {old} s: ratio {new / old:.2f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
