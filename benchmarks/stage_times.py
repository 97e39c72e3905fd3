"""Time each build stage for the quick and full profiles, cold (empty cache) and warm (cached).

    .venv/bin/python benchmarks/stage_times.py [--profiles quick full]

Each run uses a fresh build folder under /tmp, so the project's own build/ is untouched.
Prints a table and writes benchmarks/results/stage_times.json.
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
sys.path.insert(0, str(REPO))


def mkdocs_build(build_dir: Path, site_dir: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site_dir)],
                   cwd=REPO, check=True, env={**os.environ, "FLOWGRAPH_BUILD_DIR": str(build_dir),
                                              "NO_MKDOCS_2_WARNING": "1"})
    return time.perf_counter() - start


def run(profile: str) -> dict:
    from generator.build import build
    from generator.config import get_profile

    results = {}
    with tempfile.TemporaryDirectory(prefix=f"bench-{profile}-") as tmp:
        os.environ["FLOWGRAPH_BUILD_DIR"] = tmp
        for phase in ("cold", "warm"):
            timings: dict[str, float] = {}
            start = time.perf_counter()
            build(get_profile(profile), timings)
            timings["total before mkdocs"] = time.perf_counter() - start
            timings["mkdocs"] = mkdocs_build(Path(tmp), Path(tmp) / "site-out")
            results[phase] = timings
        rounds = json.loads((Path(tmp) / "site/data/manifest.json").read_text())["experiments"]
        results["selected"] = next(iter(rounds.values()))["rounds"][-1]
        results["graph"] = {k: v for k, v in next(iter(rounds.values())).items() if k in ("vertices", "edges", "constant_outputs")}
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", nargs="+", default=["quick", "full"])
    args = parser.parse_args()
    report = {}
    for profile in args.profiles:
        report[profile] = run(profile)
        for phase in ("cold", "warm"):
            row = report[profile][phase]
            print(f"{profile:5s} {phase}: " + "  ".join(f"{k} {v:.1f}s" for k, v in row.items()))
        print(f"{profile:5s} selected round: {report[profile]['selected']}  graph: {report[profile]['graph']}")
    out = REPO / "benchmarks" / "results" / "stage_times.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
