"""Calls get cached entries by name: a worker reads them itself, and never an entry that changed
since the build read it; a warm build's calls pickle to names and settings, not networks."""
from __future__ import annotations

import pickle

import cloudpickle
import numpy as np
import pytest

from generator.chapters import CHAPTERS
from generator.pipeline import cache, stored
from generator.pipeline.chapter import TaskResult, Upstream
from generator.pipeline.errors import BuildError
from generator.pipeline.parallel import Workers
from generator.pipeline.runner import run_chapters


def _entry(tmp_path, value: float):
    result = TaskResult(record={"value": value}, arrays={"w": np.full((3, 2), value)})
    cache.write_entry(tmp_path / "entry", result.to_files())
    return tmp_path / "entry", result


def test_a_named_entry_is_the_one_held_here_and_read_alike_elsewhere(tmp_path, monkeypatch):
    folder, result = _entry(tmp_path, 1.5)
    names = stored.Names(by_name=True)
    names.hold(folder, result)
    ref = names.named(folder, "task", result)
    assert isinstance(ref, stored.Stored) and len(pickle.dumps(ref)) < 300
    upstream = Upstream(config=None, tasks={}, results={"seed-0": ref})
    assert stored.resolve((ref, [ref], {"a": upstream}))[2]["a"].results["seed-0"] is result   # this process
    monkeypatch.setattr(stored, "_HELD", {})                                                    # a worker
    monkeypatch.setattr(stored, "_READ", stored.OrderedDict())
    read = stored.resolve(ref)
    assert read.record == result.record and np.array_equal(read.arrays["w"], result.arrays["w"])
    assert stored.Names(by_name=False).named(folder, "task", result) is result                 # Dask: the value


def test_an_entry_rewritten_since_the_build_read_it_is_refused(tmp_path, monkeypatch):
    folder, result = _entry(tmp_path, 1.5)
    names = stored.Names(by_name=True)
    names.hold(folder, result)
    ref = names.named(folder, "task", result)
    monkeypatch.setattr(stored, "_HELD", {})
    monkeypatch.setattr(stored, "_READ", stored.OrderedDict())
    _entry(tmp_path, 2.5)          # discarded and built again meanwhile: a different entry
    with pytest.raises(BuildError, match="changed while the build was using it"):
        stored.resolve(ref)


class _Recording(Workers):
    """Runs the calls here, after pickling each as loky would, and keeps the sizes."""
    sizes: list

    def start(self):
        return lambda: None

    def map(self, calls, desc, log=None, costs=None):
        self.sizes.extend(len(cloudpickle.dumps(call)) for call in calls)
        return [function(*args) for function, args in calls]


def test_a_warm_builds_checks_send_names_not_networks(quick_build):
    workers = _Recording(jobs=2)
    object.__setattr__(workers, "sizes", [])
    run_chapters(list(CHAPTERS.values()), "quick", workers)
    assert len(workers.sizes) > len(CHAPTERS)           # every task verified, every output checked
    assert max(workers.sizes) < 200_000, max(workers.sizes)
