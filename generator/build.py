"""The build, top to bottom: chapters (data → models → train → prune → flowgraph → export) → site.

    python -m generator.build                    # every chapter, full profile, the site in site/
    python -m generator.build --profile quick    # small runs, for the tests
    python -m generator.build --only mnist-cnn   # rebuild one chapter, keep the others as built

Chapters run in parallel (joblib; --jobs, default all cores; or a Dask cluster with --backend dask
--scheduler ADDRESS), each cached by its config and code. The site data and the mkdocs site are
written beside the old ones and swapped in whole, so `site/` is always a complete site, the old
or the new. Any failure is one `error:` line on stderr and exit status 1 (130 for Ctrl-C), with
the previous site left as it was; --debug adds the traceback.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from contextlib import ExitStack
from pathlib import Path

# Only light imports here: main() imports the rest inside its error handling, so that even a
# Ctrl-C while torch loads is one line and exit status 130.
from generator.pipeline.errors import ConfigError, keep_interrupts, report


def build(profile: str, workers, only: str | None = None, site_dir: Path | None = None,
          timings: dict | None = None) -> None:
    import torch

    from generator.pipeline.atomic import publish_dir, staging_dir_for, write_json_atomic
    from generator.chapters import CHAPTERS, select
    from generator.networks.data import fetch_mnist, verify_checksums
    from generator.pipeline.lock import build_lock
    from generator.pipeline.paths import build_dir, default_site_dir, site_data_dir
    from generator.pipeline.runner import run_chapters
    from generator.pipeline.provenance import build_info
    from generator.site.data import write_site_data
    from generator.site.render import build_site

    timings = {} if timings is None else timings
    site_dir = (site_dir or default_site_dir()).resolve()
    # Torch in this process (checking cached results) computes on one thread, as the tasks do.
    torch.set_num_threads(1)
    chosen = select(only)
    kept = [c for c in CHAPTERS.values() if c not in chosen]
    with ExitStack() as stack:
        for lock in sorted({build_dir() / ".lock", site_dir.parent / f".{site_dir.name}.lock"}):
            stack.enter_context(build_lock(lock))
        tidy(site_dir)
        with timed("data", timings):
            verify_checksums(fetch_mnist())    # once, before the tasks fan out
        log: list[dict] = []
        record: dict[str, dict] = {}
        with timed("chapters", timings):
            outputs = run_chapters(chosen, profile, workers, keep=kept, log=log, record=record)
        with timed("site", timings):
            data = staging_dir_for(site_data_dir())
            try:
                write_site_data(data, list(CHAPTERS.values()), outputs, profile, build_info(profile, record))
                site = build_site(data, site_dir)
            except BaseException:
                shutil.rmtree(data, ignore_errors=True)
                raise
            publish_dir(data, site_data_dir())
            publish_dir(site, site_dir)
        # What ran where and how long, for benchmarks/ (not part of the site).
        write_json_atomic(build_dir() / "last-build.json",
                          {"profile": profile, "jobs": workers.jobs, "backend": workers.backend, "pid": os.getpid(),
                           "stages": {k: round(v, 3) for k, v in timings.items()}, "runs": log})


def tidy(site_dir: Path) -> None:
    """Put back what an interrupted swap moved aside and remove what interrupted builds left."""
    from generator.pipeline.atomic import recover, remove_leftovers
    from generator.pipeline.paths import build_dir, site_data_dir
    for target in (site_data_dir(), site_dir):
        recover(target)
    for folder in (build_dir(), site_dir.parent, build_dir() / "cache" / "tasks", build_dir() / "cache" / "chapters"):
        remove_leftovers(folder)


class timed:
    def __init__(self, stage: str, timings: dict):
        self.stage, self.timings = stage, timings

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.stage] = time.perf_counter() - self.start


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):   # one line and exit 1, like every other error
        raise ConfigError(f"{message} (see --help)")


def parse_args(argv: list[str] | None):
    from generator.chapters import CHAPTERS
    from generator.pipeline.parallel import default_jobs

    parser = _Parser(prog="python -m generator.build", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", help="full (default: the report) or quick (small runs, tests)")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="parallel tasks (default: all cores)")
    parser.add_argument("--only", metavar="ID[,ID]", help=f"rebuild these chapters only ({', '.join(CHAPTERS)})")
    parser.add_argument("--backend", default="loky", choices=["loky", "dask"], help="where tasks run")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, with --backend dask")
    parser.add_argument("--site-dir", type=Path, help="where the site goes (default: site/)")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # When a build is interrupted, multiprocessing's resource tracker (a process of its own) frees
    # the semaphores the workers held and says so on stderr after our one error line; the words
    # add nothing, so its children are told not to.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
    keep_interrupts()
    try:
        from generator.networks.config import check_profile
        from generator.pipeline.parallel import Workers

        args = parse_args(argv)
        check_profile(args.profile)
        workers = Workers(jobs=args.jobs, backend=args.backend, scheduler=args.scheduler)
        timings: dict[str, float] = {}
        build(args.profile, workers, only=args.only, site_dir=args.site_dir, timings=timings)
    except BaseException as e:
        if isinstance(e, SystemExit):
            raise
        return report(e, debug="--debug" in argv)
    if sys.stderr.isatty():
        print("built: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
