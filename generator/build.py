"""The build, top to bottom: chapters (data → models → train → prune → flowgraph → export) → site.

    python -m generator.build                    # every chapter, full profile, the site in site/
    python -m generator.build --profile quick    # small runs, for the tests
    python -m generator.build --only mnist-cnn   # rebuild one chapter, keep the others as built

Chapters run in parallel (joblib; --jobs, default all cores; or a Dask cluster with --backend dask
--scheduler ADDRESS), each cached by its config and code. The site data and the mkdocs site are
written beside the old ones and swapped in whole, so `site/` is always a complete site, the old
or the new. Any failure is one `error:` line on stderr and exit status 1 (130 for Ctrl-C), with
the previous site left as it was; --debug adds the traceback.

The site folder is replaced whole, so it must be one this build wrote (it holds the marker file
.flowgraph-report-site), an empty one or a new one, outside the build folder and the source;
anything else is refused with one line before anything is touched.
"""
from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

# Only light imports here: main() imports the rest inside its error handling, so that even a
# Ctrl-C while torch loads is one line and exit status 130.
from generator.pipeline.errors import ConfigError, describe, keep_interrupts, report


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
    for note in check_site_dir(site_dir):      # before anything is written, a lock file included
        print(f"note: {note}", file=sys.stderr)
    # Torch in this process (checking cached results) computes on one thread, as the tasks do.
    torch.set_num_threads(1)
    chosen = select(only)
    kept = [c for c in CHAPTERS.values() if c not in chosen]
    with ExitStack() as stack:
        for lock in sorted({build_dir() / ".lock", site_dir.parent / f".{site_dir.name}.lock"}):
            stack.enter_context(build_lock(lock))
        tidy(site_dir)
        check_site_dir(site_dir)                # again, as the lock holder, after the tidying
        with timed("data", timings):
            verify_checksums(fetch_mnist())    # once, before the tasks fan out
        log: list[dict] = []
        record: dict[str, dict] = {}
        with timed("chapters", timings):
            outputs = run_chapters(chosen, profile, workers, keep=kept, log=log, record=record)
        with timed("site", timings):
            data = staging_dir_for(site_data_dir(), marked=True)
            try:
                write_site_data(data, list(CHAPTERS.values()), outputs, profile, build_info(profile, record))
                site = build_site(data, site_dir)
                check_site_dir(site_dir)            # nothing of a user's has appeared there meanwhile
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
    """Put back what an interrupted swap moved aside and remove what interrupted builds left:
    in the cache, everything of theirs; beside the site and the site data, only the folders
    this tool made for them (marked, or still empty), never a user's `.staging-photos/`."""
    from generator.pipeline.atomic import recover, remove_leftovers
    from generator.pipeline.paths import build_dir, site_data_dir
    for target in (site_data_dir(), site_dir):
        recover(target, only_ours=True)
    remove_leftovers(build_dir(), targets=[site_data_dir().name])
    remove_leftovers(site_dir.parent, targets=[site_dir.name], temporary_files=False)
    for folder in (build_dir() / "cache" / "tasks", build_dir() / "cache" / "chapters"):
        remove_leftovers(folder)


# The repository's own folders: a site folder there would replace (or be mistaken for) source.
SOURCE_FOLDERS = ("generator", "docs", "site_src", "tests", "benchmarks", ".git", ".github", ".venv")


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_site_dir(site_dir: Path) -> list[str]:
    """The site folder and the site data folder are replaced whole at the end of a build, so
    both must be folders this build wrote (marked), empty or new; the site folder must also lie
    outside the build folder and the repository's source. Raises ConfigError (one line, the
    folder named) before anything is touched; returns notes to print (an old unmarked build)."""
    from generator.pipeline.atomic import check_replaceable
    from generator.pipeline.paths import REPO, build_dir, site_data_dir
    build = build_dir()
    if _within(site_dir, build):
        where = "is the build folder" if site_dir == build else f"lies inside the build folder {build}"
        raise ConfigError(f"--site-dir {site_dir}: {where} (its cache and site data); expected a folder "
                          f"outside it; nothing was changed")
    if _within(REPO, site_dir):
        where = "is the repository" if site_dir == REPO else f"holds the repository {REPO}"
        raise ConfigError(f"--site-dir {site_dir}: {where}; expected a folder of its own (the default is "
                          f"{REPO / 'site'}); nothing was changed")
    if _within(build, site_dir):
        raise ConfigError(f"--site-dir {site_dir}: holds the build folder {build}, which the swap would "
                          f"delete; expected a folder of its own; nothing was changed")
    for name in SOURCE_FOLDERS:
        if _within(site_dir, REPO / name):
            raise ConfigError(f"--site-dir {site_dir}: lies in the repository's source ({REPO / name}); "
                              f"expected a folder of its own (the default is {REPO / 'site'}); nothing was changed")
    notes = [check_replaceable(site_dir, "--site-dir"),
             check_replaceable(site_data_dir(), "the site data folder (FLOWGRAPH_BUILD_DIR/site)")]
    return [note for note in notes if note]


def claim_folder(path: str) -> int:
    """For `make deploy`: `mkdocs gh-deploy --site-dir FOLDER` empties FOLDER before it builds
    into it, so FOLDER must pass the site folder's check; then it is marked as a site is. One
    `error:` line and status 1 if not."""
    from generator.pipeline.atomic import check_replaceable, write_marker
    try:
        folder = Path(path).resolve()
        note = check_replaceable(folder, "the deploy folder")
        folder.mkdir(parents=True, exist_ok=True)
        write_marker(folder)
    except BaseException as e:
        return report(e, debug=False)
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0


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


def parser(chapter_ids: str, add_help: bool = True) -> _Parser:
    from generator.pipeline.parallel import default_jobs

    parser = _Parser(prog="python -m generator.build", description=__doc__.splitlines()[0], add_help=add_help)
    parser.add_argument("--profile", default="full", help="full (default: the report) or quick (small runs, tests)")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="parallel tasks (default: all cores)")
    parser.add_argument("--only", metavar="ID[,ID]", help=f"rebuild these chapters only ({chapter_ids})")
    parser.add_argument("--backend", default="loky", choices=["loky", "dask"], help="where tasks run")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, with --backend dask")
    parser.add_argument("--site-dir", type=Path, help="where the site goes (default: site/)")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    return parser


def parse_args(argv: list[str] | None):
    from generator.chapters import CHAPTERS
    return parser(", ".join(CHAPTERS)).parse_args(argv)


def refuse_site_dir_early(argv: list[str]) -> None:
    """Check the site folder before torch and the chapters load (3 s), so that a folder the
    build would refuse is refused at once. The options are parsed as parse_args parses them
    (abbreviations alike), but for --help, whose list of chapters is what takes the 3 s: it is
    left to the full parse. The notes are printed by build()."""
    from generator.pipeline.paths import default_site_dir
    early = parser("", add_help=False)
    early.add_argument("-h", "--help", action="store_true")
    known, _ = early.parse_known_args(argv)
    if not known.help:
        check_site_dir((known.site_dir or default_site_dir()).resolve())


@contextmanager
def deferred_interrupts():
    """A Ctrl-C inside torch's C++ start-up code aborts the process ("terminate called after
    throwing ... KeyboardInterrupt", status -6): hold it until the import is done, then raise it."""
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


class Interrupts:
    """Ctrl-C while the build runs is a KeyboardInterrupt (its one line, 130). Once the build has
    ended and said how, leaving the interpreter still takes a moment (joblib stops and joins its
    workers), and a Ctrl-C then was dropped as "unraisable", or raised past main's handler, and
    killed the process by the signal with no line. One handler, installed before anything runs,
    reads which of the two it is, so there is no moment between them left to chance."""

    def __init__(self) -> None:
        self.ended: int | None = None

    def __call__(self, *_) -> None:
        if self.ended is None:
            raise KeyboardInterrupt
        if self.ended == 0:
            print("error: interrupted as the build ended; the new site is in place, whole", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130 if self.ended == 0 else self.ended)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # When a build is interrupted, multiprocessing's resource tracker (a process of its own) frees
    # the semaphores the workers held and says so on stderr after our one error line; the words
    # add nothing, so its children are told not to.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
    keep_interrupts()
    interrupts = Interrupts()
    signal.signal(signal.SIGINT, interrupts)
    # Registered first, so it runs last: Python's own shutdown then resets a Ctrl-C handler to the
    # default (death by the signal, no line); ignored, it stays ignored to the end.
    atexit.register(signal.signal, signal.SIGINT, signal.SIG_IGN)
    status = 0
    try:
        refuse_site_dir_early(argv)
        with deferred_interrupts():
            import torch  # noqa: F401  (loaded here, once, where a Ctrl-C cannot abort it)
        from generator.networks.config import check_profile
        from generator.pipeline.parallel import Workers

        args = parse_args(argv)
        check_profile(args.profile)
        workers = Workers(jobs=args.jobs, backend=args.backend, scheduler=args.scheduler)
        timings: dict[str, float] = {}
        build(args.profile, workers, only=args.only, site_dir=args.site_dir, timings=timings)
        interrupts.ended = 0
        if sys.stderr.isatty():
            print("built: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()), file=sys.stderr)
    except BaseException as e:
        if isinstance(e, SystemExit):
            raise
        interrupts.ended = status = describe(e)[1]     # first: a Ctrl-C from here on exits with it
        report(e, debug="--debug" in argv)
    return status


if __name__ == "__main__":
    sys.exit(main())
