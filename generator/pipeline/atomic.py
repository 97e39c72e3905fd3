"""Writes that a kill can never leave half done.

Files are written to a temporary name and renamed. Folders (a cache entry, the site data, the
built site) are written beside their target under a name starting with STAGING and put in place
with one rename: Linux's renameat2(RENAME_EXCHANGE) swaps a whole folder for another atomically,
so the target is always either the old folder or the new one. Where the kernel or file system
cannot exchange, two renames are used, and `recover` undoes a kill between them.

A swap deletes the old folder, so the two folders a user names (the site, and the site data in
the build folder) are only ever replaced when this tool wrote them: each carries a MARKER file
from the moment its staging folder is made, and `check_replaceable` refuses anything else but an
empty folder. Leftovers beside them are removed only when they carry the marker too (or are empty
and named as this tool names them).
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from generator.pipeline.errors import BuildError

STAGING = ".staging-"      # prefix of every folder being written; leftovers are removed
PREVIOUS = ".previous-"    # prefix of a target moved aside by the two-rename fallback
MARKER = ".flowgraph-report-site"   # in every site and site data folder this tool writes
TOOL = "flowgraph-report"
# What the marker says (the same bytes every build: two builds of a site stay file-for-file equal).
MARKER_TEXT = json.dumps({"tool": TOOL, "written_by": "python -m generator.build",
                          "note": "this folder is replaced whole by the next build; keep nothing else in it"},
                         sort_keys=True) + "\n"


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


def staging_dir_for(target: Path, marked: bool = False) -> Path:
    """A fresh empty folder beside `target` (same file system, so the final rename is atomic);
    `marked`: with the MARKER file in it first, so that it (and the target it becomes) is
    recognisably this tool's."""
    target.parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=target.parent, prefix=f"{STAGING}{target.name}-"))
    os.chmod(path, 0o755)
    if marked:
        write_marker(path)
    return path


# ---- whose folder is it?

def write_marker(folder: Path) -> None:
    write_text_atomic(folder / MARKER, MARKER_TEXT)


def remove_tree(folder: Path) -> None:
    """shutil.rmtree, but the marker goes last: a kill halfway leaves a folder that is still
    recognisably this tool's (or an empty one), which the next build's clean-up removes."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name == MARKER)
    except FileNotFoundError:
        return
    except OSError:
        entries = []
    for path in entries:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                path.unlink()
            except OSError:
                pass
    shutil.rmtree(folder, ignore_errors=True)


def _ours_or_debris(folder: Path) -> bool:
    """Marked, or holding nothing but a marker being written (a build killed as it made the folder)."""
    return has_marker(folder) or all(p.name.startswith((MARKER, f".{MARKER}.")) for p in folder.iterdir())


def has_marker(folder: Path) -> bool:
    """`folder` holds this tool's marker file (a regular file naming this tool)."""
    marker = folder / MARKER
    try:
        if marker.is_symlink() or not marker.is_file() or marker.stat().st_size > 4096:
            return False
        return json.loads(marker.read_text(encoding="utf-8")).get("tool") == TOOL
    except (OSError, ValueError, AttributeError):
        return False


# Every name at the top of a site that this tool wrote before sites carried the marker (besides
# one folder per chapter, named in its data/manifest.json), and of the site data folder.
_OLD_SITE = {"404.html", "assets", "css", "data", "figures", "index.html", "js", "schema", "search",
             "sitemap.xml", "sitemap.xml.gz", "vendor"}
_OLD_SITE_DATA = {"data", "figures"}


def looks_like_old_build(folder: Path) -> bool:
    """A site (or site data) folder an earlier version of this tool wrote, without the marker:
    its manifest is ours and every name in it is one that build writes (a page folder holds only
    its index.html). A folder that also holds anything else is not taken for one."""
    try:
        manifest = json.loads((folder / "data" / "manifest.json").read_text(encoding="utf-8"))
        names = {p.name for p in folder.iterdir()}
        chapters = set(manifest["experiments"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if (folder / "index.html").is_file():
        if not {"404.html", "data"} <= names:
            return False
        known = _OLD_SITE | chapters
        extra = [folder / n for n in names - known]
        return all(p.is_dir() and not p.is_symlink() and [c.name for c in p.iterdir()] == ["index.html"]
                   for p in extra)
    return names <= _OLD_SITE_DATA


def check_replaceable(folder: Path, what: str) -> str | None:
    """Raise a one-line BuildError (naming `what` and the folder) unless a build may replace
    `folder` whole: nothing there, an empty folder, or a folder this tool wrote (marked, or an old
    build). Returns a note to print for an old build without the marker, else None."""
    if not os.path.lexists(folder):
        return None
    if folder.is_symlink():
        raise BuildError(f"{what} {folder}: a symbolic link is there; expected a folder this build wrote, "
                         f"an empty folder or nothing; nothing was changed")
    if not folder.is_dir():
        raise BuildError(f"{what} {folder}: a file is there; expected a folder this build wrote, an empty "
                         f"folder or nothing; nothing was changed")
    try:
        if has_marker(folder) or not any(folder.iterdir()):
            return None
    except OSError as e:
        raise BuildError(f"{what} {folder}: cannot read it ({e.strerror}); nothing was changed") from None
    if looks_like_old_build(folder):
        return (f"{folder} has no {MARKER} file but holds only what an earlier version of this build "
                f"wrote there; it is replaced and marked")
    raise BuildError(f"{what} {folder}: the folder holds files this build did not write (it has no "
                     f"{MARKER} file), and the build replaces the whole folder; nothing was changed: "
                     f"choose a new or empty folder")


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
        remove_tree(staging)   # now holds the old target
        return
    previous = target.with_name(f"{PREVIOUS}{target.name}")
    remove_tree(previous)
    os.rename(target, previous)
    os.rename(staging, target)     # a kill between the two renames: `recover` puts `previous` back
    remove_tree(previous)


def recover(target: Path, only_ours: bool = False) -> None:
    """Undo a publish_dir fallback killed between its two renames. `only_ours`: only when the
    folder moved aside is recognisably this tool's (marked, or an old build), never a user's
    folder that happens to be named `.previous-<target>`."""
    previous = target.with_name(f"{PREVIOUS}{target.name}")
    if previous.is_dir() and not previous.is_symlink() and not os.path.lexists(target):
        if not only_ours or has_marker(previous) or looks_like_old_build(previous):
            os.rename(previous, target)


def remove_leftovers(folder: Path, targets: list[str] | None = None, temporary_files: bool = True) -> list[Path]:
    """Staging folders and temporary files of interrupted builds, directly inside `folder`.
    Only called while holding the build lock, so no running build owns them.

    targets=None: `folder` is wholly this tool's (a cache folder): every staging folder in it
    goes. Otherwise `folder` may hold a user's files too (it is where the site or the site data
    lives), and only what this tool made for those targets goes: `.staging-<target>-*` folders
    that carry the marker (or are empty but for a marker being written), and a
    `.previous-<target>` that carries it (or is an old build) once `<target>` is back.
    `temporary_files`: `.*.tmp` files too."""
    removed = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.iterdir()):
        if _is_leftover(path, targets) or (temporary_files and path.name.startswith(".")
                                           and path.name.endswith(".tmp") and path.is_file()):
            remove_tree(path) if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _is_leftover(path: Path, targets: list[str] | None) -> bool:
    name = path.name
    target_back = name.startswith(PREVIOUS) and path.with_name(name[len(PREVIOUS):]).exists()
    if targets is None:
        return name.startswith(STAGING) or target_back
    if not path.is_dir() or path.is_symlink():
        return False
    if any(name.startswith(f"{STAGING}{t}-") for t in targets):
        return _ours_or_debris(path)
    if any(name == f"{PREVIOUS}{t}" for t in targets) and target_back:
        return has_marker(path) or looks_like_old_build(path)
    return False
