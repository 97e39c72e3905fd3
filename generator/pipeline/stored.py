"""Cache entries handed to a worker by name instead of by value.

The checks, trainings and assemblies read task results and chapter outputs that the cache
already holds. Pickled into every call that reads them (a dense network goes to every check and
chapter built on it), they cost more than the work: 770 MB per warm full build. A local worker
reads a named entry from the cache itself, once per process, and checks that it is the entry
the build read (the digest of its checksums), so an entry discarded and rebuilt meanwhile is
never mistaken for the old one. A Dask worker may not see the build folder: it is sent values.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

from generator.pipeline import cache
from generator.pipeline.chapter import ChapterOutput, TaskResult, Upstream
from generator.pipeline.errors import BuildError

READ_LIMIT = 48      # entries a worker keeps after reading them (a few MB each)


@dataclass(frozen=True)
class Stored:
    folder: str
    kind: str          # "task" or "output"
    digest: str        # of the entry's checksums.json when the build read or wrote it


_HELD: dict[tuple[str, str], object] = {}        # the build's own process: what it read or made
_READ: OrderedDict[tuple[str, str], object] = OrderedDict()   # a worker: what it read, newest last


def entry_digest(folder: Path) -> str:
    return hashlib.sha256((folder / cache.CHECKSUMS).read_bytes()).hexdigest()[:16]


class Names:
    """What the build read or wrote, to be named (local workers) or sent (Dask) to a call."""

    def __init__(self, by_name: bool):
        self.by_name = by_name
        self.digests: dict[str, str] = {}

    def hold(self, folder: Path, value) -> None:
        """`value` is what the entry at `folder` holds (just read, or just written)."""
        digest = entry_digest(folder)
        self.digests[str(folder)] = digest
        _HELD[(str(folder), digest)] = value

    def named(self, folder: Path, kind: str, value):
        return Stored(str(folder), kind, self.digests[str(folder)]) if self.by_name else value


def _read(ref: Stored):
    key = (ref.folder, ref.digest)
    if key in _HELD:
        return _HELD[key]
    if key in _READ:
        _READ.move_to_end(key)
        return _READ[key]
    folder = Path(ref.folder)
    files = cache.read_entry(folder)
    if files is None or entry_digest(folder) != ref.digest:
        raise BuildError(f"cache entry {folder} changed while the build was using it")
    value = TaskResult.from_files(files) if ref.kind == "task" else ChapterOutput.from_files(files)
    _READ[key] = value
    while len(_READ) > READ_LIMIT:
        _READ.popitem(last=False)
    return value


def resolve(value):
    """`value` with every Stored in it (in tuples, lists, dicts and Upstreams) read."""
    if isinstance(value, Stored):
        return _read(value)
    if isinstance(value, Upstream):
        return replace(value, results=resolve(value.results), output=resolve(value.output))
    if isinstance(value, (tuple, list)):
        return type(value)(resolve(v) for v in value)
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    return value


def call(function, *args):
    """A worker's call: function(*args), with the named entries read."""
    return function(*resolve(args))
