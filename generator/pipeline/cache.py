"""Cache entries that are checked before they are trusted.

An entry is a folder of files plus `checksums.json` (sha256 and size of every file), written
into a staging folder and renamed into place whole, so a folder under cache/ is complete or
absent. Reading one re-hashes every file; any mismatch, missing or extra file makes the entry
damaged: the build says so in one line, deletes it and computes it again (the caller also
checks what the entry claims against the model, see `Task.verify`).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from generator.pipeline.atomic import dumps_json, publish_dir, staging_dir_for, write_bytes
from generator.pipeline.errors import BuildError

CHECKSUMS = "checksums.json"


class CacheDamaged(BuildError):
    pass


def code_version(paths: list[Path]) -> str:
    """Hash of the source files whose edits can change an entry."""
    h = hashlib.sha256()
    for path in sorted(set(paths)):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_entry(folder: Path, files: dict[str, bytes]) -> None:
    staging = staging_dir_for(folder)
    try:
        for name, data in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(path, data)
        # Written last: the list of what a complete entry holds.
        sums = {name: {"sha256": _digest(data), "bytes": len(data)} for name, data in files.items()}
        write_bytes(staging / CHECKSUMS, dumps_json(sums).encode())
        publish_dir(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_entry(folder: Path) -> dict[str, bytes] | None:
    """The entry's files, or None if there is no entry; CacheDamaged if it does not check out."""
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise CacheDamaged("not a folder")
    try:
        sums = json.loads((folder / CHECKSUMS).read_text())
        if not isinstance(sums, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        raise CacheDamaged(f"{CHECKSUMS} is missing") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise CacheDamaged(f"{CHECKSUMS} is unreadable ({e})") from None
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {CHECKSUMS}
    if present != set(sums):
        extra, missing = sorted(present - set(sums)), sorted(set(sums) - present)
        raise CacheDamaged(f"files differ from {CHECKSUMS} (missing {missing}, unexpected {extra})")
    files = {}
    for name, expected in sums.items():
        data = (folder / name).read_bytes()
        if not isinstance(expected, dict) or _digest(data) != expected.get("sha256"):
            raise CacheDamaged(f"{name} does not match its checksum")
        files[name] = data
    return files


def discard(folder: Path, reason: str) -> None:
    print(f"warning: cache entry {folder} is damaged ({reason}); discarding it and building it again",
          file=sys.stderr, flush=True)
    if folder.is_dir():
        shutil.rmtree(folder)
    else:
        folder.unlink(missing_ok=True)
