"""Writes that a kill can never leave half done.

Files are written to a temporary name and renamed. Folders (a cache entry, the site data, the
built site) are written beside their target under a name starting with STAGING and put in place
with one rename: Linux's renameat2(RENAME_EXCHANGE) swaps a whole folder for another atomically,
so the target is always either the old folder or the new one. Where the kernel or file system
cannot exchange, two renames are used, and `recover` undoes a kill between them.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

STAGING = ".staging-"      # prefix of every folder being written; leftovers are removed
PREVIOUS = ".previous-"    # prefix of a target moved aside by the two-rename fallback


def dumps_json(obj) -> str:
    # sort_keys + fixed separators: one seed gives byte-identical files.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def write_bytes(path: Path, data: bytes) -> None:
    """Write a file; an error names it (a failed write() alone does not say which file)."""
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        if e.filename is None:
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write_bytes(Path(tmp), data)
        os.chmod(tmp, 0o644)   # mkstemp makes 0600; the site is served to others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, obj) -> None:
    write_text_atomic(path, dumps_json(obj))


def staging_dir_for(target: Path) -> Path:
    """A fresh empty folder beside `target` (same file system, so the final rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=target.parent, prefix=f"{STAGING}{target.name}-"))
    os.chmod(path, 0o755)
    return path


_libc = ctypes.CDLL(None, use_errno=True)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step; False where the system cannot."""
    renameat2 = getattr(_libc, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def publish_dir(staging: Path, target: Path) -> None:
    """Put the fully written `staging` folder in `target`'s place; the old one is deleted after."""
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)   # now holds the old target
        return
    previous = target.with_name(f"{PREVIOUS}{target.name}")
    shutil.rmtree(previous, ignore_errors=True)
    os.rename(target, previous)
    os.rename(staging, target)     # a kill between the two renames: `recover` puts `previous` back
    shutil.rmtree(previous, ignore_errors=True)


def recover(target: Path) -> None:
    """Undo a publish_dir fallback killed between its two renames."""
    previous = target.with_name(f"{PREVIOUS}{target.name}")
    if previous.exists() and not target.exists():
        os.rename(previous, target)


def remove_leftovers(folder: Path) -> list[Path]:
    """Staging folders and temporary files of interrupted builds, directly inside `folder`.
    Only called while holding the build lock, so no running build owns them."""
    removed = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.startswith(STAGING) or (name.startswith(PREVIOUS) and path.with_name(name[len(PREVIOUS):]).exists()):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path)
        elif name.startswith(".") and name.endswith(".tmp") and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
