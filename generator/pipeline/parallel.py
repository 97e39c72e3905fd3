"""Running independent calls in parallel with joblib: local processes (loky) or a Dask cluster
(joblib's dask backend). Results come back in the order of the calls, whatever order they finish
in, so the build's output does not depend on --jobs or the backend."""
from __future__ import annotations

import os
import tempfile
import threading
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

import joblib
from tqdm import tqdm

from generator.pipeline import progress
from generator.pipeline.errors import ConfigError

# loky replaces a worker whose memory grew by 300 MB since its first call (MNIST's arrays and
# torch's allocator do, over many calls) and, when calls were still queued for it, says so with
# this warning. The queued calls run on the replacement: nothing is lost, so nothing to say.
warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given to the executor")


@dataclass(frozen=True)
class Workers:
    jobs: int = 1
    backend: str = "loky"           # or "dask"
    scheduler: str | None = None    # the Dask scheduler's address, with backend="dask"

    def __post_init__(self):
        if self.backend not in ("loky", "dask"):
            raise ConfigError(f"--backend: expected loky or dask, got {self.backend!r}")
        if self.backend == "dask" and not self.scheduler:
            raise ConfigError("--scheduler: expected the address of a Dask scheduler with --backend dask")
        if self.backend != "dask" and self.scheduler:
            raise ConfigError(f"--scheduler {self.scheduler}: a Dask scheduler is used only with --backend dask "
                              f"(the backend is {self.backend}); add --backend dask, or leave out --scheduler")
        if self.jobs < 1:
            raise ConfigError(f"--jobs: expected an integer >= 1, got {self.jobs}")

    def map(self, calls: list[tuple[Callable, tuple]], desc: str, log: list | None = None,
            costs: list[float] | None = None) -> list:
        """[function(*args) for function, args in calls], computed in parallel. If `log` is given,
        one {"seconds", "pid"} per call is appended to it, in the order of the calls. `costs`,
        a guess at each call's time: the dearest start first, so no long call starts last."""
        if not calls:
            return []
        quiet = self.jobs > 1 or self.backend == "dask"   # one bar for the whole map, not one per worker
        try:
            return self._map(calls, desc, log, quiet, costs)
        except BaseException:
            if self.backend == "loky" and self.jobs > 1:
                # Stop the other workers now, rather than leave them (and their semaphores) to
                # the interpreter's exit, which would print warnings after the error line.
                from joblib.externals.loky import get_reusable_executor
                get_reusable_executor().shutdown(wait=True, kill_workers=True)
            raise

    def start(self) -> Callable[[], None]:
        """Start the local workers now, each importing the chapters (torch, scikit-learn: seconds),
        while this process plans and reads the cache; returns a function that waits for them."""
        if self.backend != "loky" or self.jobs < 2:
            return lambda: None

        def run():
            try:
                self._map([(_import_chapters, ())] * self.jobs, None, None, False)
            except BaseException:
                pass            # a worker that cannot start says so at the first real call

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread.join

    def _map(self, calls, desc, log, quiet, costs=None) -> list:
        order = sorted(range(len(calls)), key=lambda i: -costs[i]) if costs else range(len(calls))
        with self._backend() as n_jobs:
            # One call per dispatch: calls take from milliseconds to minutes, and joblib's automatic
            # batching, tuned on the quick ones, queues a long one behind them on a busy worker.
            # No memmapping (max_nbytes=None): calls name cache entries and carry no big arrays.
            # And a temp_folder, which joblib then only names: left to choose, it makes a folder
            # in /dev/shm for every map at once, which a killed build leaves behind and which,
            # after Ctrl-C, its exit clean-up raced to delete ("Failed to delete temporary folder").
            parallel = joblib.Parallel(n_jobs=min(n_jobs, len(calls)) if n_jobs > 0 else n_jobs,
                                       return_as="generator_unordered", batch_size=1,
                                       max_nbytes=None, temp_folder=tempfile.gettempdir())
            done = parallel(joblib.delayed(_call)(i, *calls[i], quiet) for i in order)
            results, where = [None] * len(calls), [None] * len(calls)
            shown = None if quiet and desc else True
            for i, result, seconds, pid in tqdm(done, total=len(calls), desc=desc, disable=shown):
                results[i], where[i] = result, {"seconds": round(seconds, 3), "pid": pid}
        if log is not None:
            log.extend(where)
        return results

    def _backend(self):
        if self.backend == "loky":
            return nullcontext(self.jobs)
        return _dask(self.scheduler)


class _dask:
    def __init__(self, address: str):
        self.address = address

    def __enter__(self):
        try:
            from dask.distributed import Client
        except ImportError:
            raise ConfigError("--backend dask: dask is not installed (pip install '.[dask]')") from None
        try:
            # How long to wait for the scheduler (s): FLOWGRAPH_DASK_CONNECT_TIMEOUT, else 20.
            self.client = Client(self.address, timeout=float(os.environ.get("FLOWGRAPH_DASK_CONNECT_TIMEOUT", "20")))
        except (OSError, TimeoutError, ValueError) as e:
            raise ConfigError(f"--scheduler {self.address}: cannot reach a Dask scheduler ({e})") from None
        self.config = joblib.parallel_config(backend="dask")
        self.config.__enter__()
        return -1

    def __exit__(self, *exc):
        self.config.__exit__(*exc)
        self.client.close()


def _call(i: int, function: Callable, args: tuple, quiet: bool):
    # Every task computes on one thread: float sums split differently with the thread count, and
    # one thread per task keeps results identical on any machine, for any --jobs or backend.
    import torch
    torch.set_num_threads(1)
    progress.QUIET = quiet
    _keep_worker()
    start = time.perf_counter()
    result = function(*args)
    return i, result, time.perf_counter() - start, os.getpid()


def _import_chapters() -> None:
    import generator.chapters  # noqa: F401


def _keep_worker() -> None:
    """loky replaces a worker whose memory grew 300 MB past its size after its first call (a
    guard against leaks). A check that reads a chapter's documents grows that much and is done
    with it; the replacement costs seconds of imports, a third of a warm build's checks. The
    machine's memory is the limit that matters here, so the guard is raised to 4 GB (a setting
    loky reads at each check; if a later loky drops it, this does nothing)."""
    from joblib.externals.loky import process_executor
    if hasattr(process_executor, "_MAX_MEMORY_LEAK_SIZE"):
        process_executor._MAX_MEMORY_LEAK_SIZE = 4 * 1024 ** 3


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


