"""The build replaces only folders it wrote (README, "Reliability"): real builds and real folders.

A --site-dir that holds a user's files (a folder, a file, the repository, the build folder or its
cache) is one error line, exit 1, and is left exactly as it was; a user's `.staging-photos/` or
`.previous-x/` beside the site survives a build; a new, empty or tool-built folder is accepted, and
so is an unmarked site an earlier version built (with a note). Ctrl-C during mkdocs, or at the
very end, is the one interrupted line and 130, never a death by the signal."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ONE_CHAPTER, REPO, build_env, run_build, seed_cache
from tests.test_reliability import holds_lock, one_error_line, start, tree, wait_for

MARKER = ".flowgraph-report-site"


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under folder (hidden ones too) with the hash of its content, or a file's own hash."""
    if folder.is_file():
        return {"": hashlib.sha256(folder.read_bytes()).hexdigest()}
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
            for p in sorted(folder.rglob("*"))}


def user_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("my notes\n")
    (path / "drafts").mkdir()
    (path / "drafts" / "one.md").write_text("# draft\n")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory, quick_build):
    """A quick build into a site folder that does not exist yet (as the tests' served site)."""
    root = tmp_path_factory.mktemp("site-folder")
    seed_cache(quick_build, root / "build")
    result = run_build(root / "build", root / "served" / "site")
    assert result.returncode == 0, result.stderr
    assert (root / "served" / "site" / MARKER).is_file() and (root / "build" / "site" / MARKER).is_file()
    return {"root": root, "build": root / "build", "site": root / "served" / "site"}


def refused(build: Path, site: Path, *extra: str):
    result = run_build(build, site, *extra)
    assert result.returncode == 1, result.stderr
    return one_error_line(result)


def test_a_users_folder_or_file_is_refused_and_left_untouched(tmp_path):
    build = tmp_path / "build"
    notes = user_folder(tmp_path / "notes")
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a folder\n")
    for target in (notes, a_file):
        before = snapshot(target)
        line = refused(build, target)
        assert str(target) in line and "nothing was changed" in line
        assert snapshot(target) == before
    # Nothing written beside them either: no lock file, no staging folder, no build folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file.txt", "notes"]


def test_the_check_before_torch_loads_reads_the_options_as_the_build_does(tmp_path):
    """The site folder is checked before torch and the chapters load, from the options as the full
    parse reads them: an abbreviation names the same folder, an ambiguous one is the same error,
    and --help prints the help (with the chapters) whatever the site folder holds."""
    notes = user_folder(tmp_path / "notes")
    before = snapshot(notes)

    def build(*options):
        return subprocess.run([sys.executable, "-m", "generator.build", "--profile", "quick", *options], cwd=REPO,
                              env=build_env(tmp_path / "build"), capture_output=True, text=True, timeout=120)
    line = one_error_line(build("--site", str(notes)))
    assert line.startswith(f"error: --site-dir {notes}: ") and "nothing was changed" in line
    assert "ambiguous option: --s could match --scheduler, --site-dir" in one_error_line(build("--s", str(notes)))
    shown = build("--site-dir", str(notes), "--help")
    assert shown.returncode == 0 and "mnist-cnn" in shown.stdout and shown.stderr == ""
    assert snapshot(notes) == before and not (tmp_path / "build").exists()


def test_the_repository_the_build_folder_and_its_cache_are_refused(built):
    build = built["build"]
    listing = sorted(p.name for p in REPO.iterdir())
    for target, words in [(REPO, "is the repository"), (REPO / "docs", "repository's source"),
                          (REPO / "generator" / "site", "repository's source"), (REPO.parent, "holds the repository"),
                          (build, "is the build folder"), (build / "cache", "inside the build folder"),
                          (build / "site", "inside the build folder")]:
        before = snapshot(target) if target in (build, build / "cache") else None
        line = refused(build, target)
        assert str(target) in line and words in line, line
        if before is not None:
            assert snapshot(target) == before
    assert sorted(p.name for p in REPO.iterdir()) == listing


def test_a_users_folders_beside_the_site_survive_a_build(built):
    parent, site = built["site"].parent, built["site"]
    planted = {parent / ".staging-photos" / "cat.jpg": b"jpeg", parent / ".previous-x" / "a.txt": b"a",
               parent / f".staging-{site.name}-mine" / "keep.txt": b"mine",   # named like ours, not marked
               parent / ".draft.tmp": b"half a thought"}
    for path, data in planted.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    ours = parent / f".staging-{site.name}-killed"                           # what a killed build leaves
    ours.mkdir()
    (ours / MARKER).write_text((site / MARKER).read_text())
    result = run_build(built["build"], site, *ONE_CHAPTER)
    assert result.returncode == 0, result.stderr
    assert all(path.read_bytes() == data for path, data in planted.items())
    assert not ours.exists()


def test_an_empty_folder_and_an_old_unmarked_site_are_accepted(built, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_build(built["build"], empty, *ONE_CHAPTER)     # the others as built: the same site
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (empty / MARKER).is_file() and tree(empty) == tree(built["site"])
    # A site from before sites were marked: replaced, with a note saying so.
    (empty / MARKER).unlink()
    result = run_build(built["build"], empty, *ONE_CHAPTER)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [f"note: {empty} has no {MARKER} file but holds only what an "
                                                  f"earlier version of this build wrote there; it is replaced and marked"]
    assert (empty / MARKER).is_file()
    # The same with a file of the user's in it: refused, untouched.
    (empty / MARKER).unlink()
    (empty / "todo.txt").write_text("keep me\n")
    before = snapshot(empty)
    assert "holds files this build did not write" in refused(built["build"], empty)
    assert snapshot(empty) == before


def test_an_unmarked_site_data_folder_with_a_users_files_is_refused(built, tmp_path):
    build = tmp_path / "build"
    user_folder(build / "site")
    before = snapshot(build)
    line = refused(build, tmp_path / "site")
    assert str(build / "site") in line and "holds files this build did not write" in line
    assert snapshot(build) == before


def test_the_deploy_folder_is_checked_like_the_site(tmp_path):
    command = [sys.executable, "-c", "import sys; from generator.build import claim_folder; "
                                     "sys.exit(claim_folder(sys.argv[1]))"]
    notes = user_folder(tmp_path / "notes")
    before = snapshot(notes)
    result = subprocess.run([*command, str(notes)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and str(notes) in one_error_line(result)
    assert snapshot(notes) == before
    fresh = tmp_path / "gh-deploy"
    result = subprocess.run([*command, str(fresh)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "" and (fresh / MARKER).is_file()
    assert "claim_folder" in (REPO / "Makefile").read_text()      # make deploy runs this check first


def test_scheduler_without_the_dask_backend_is_one_line(tmp_path):
    result = run_build(tmp_path / "build", tmp_path / "site", "--scheduler", "tcp://127.0.0.1:8786")
    assert result.returncode == 1
    assert one_error_line(result).startswith("error: --scheduler tcp://127.0.0.1:8786: a Dask scheduler is used "
                                             "only with --backend dask")
    assert not (tmp_path / "build").exists() and not (tmp_path / "site").exists()


def _interrupt(built, delay: float):
    """Ctrl-C `delay` seconds after this build's mkdocs staging folder appears."""
    build, site = built["build"], built["site"]
    existing = {p.name for p in site.parent.iterdir()}
    process = start(build, site, *ONE_CHAPTER)
    wait_for(lambda: holds_lock(build, process) and any(
        p.name.startswith(f".staging-{site.name}-") and p.name not in existing for p in site.parent.iterdir()),
        what="mkdocs", process=process)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def test_ctrl_c_during_mkdocs_is_one_line_and_130(built):
    before = tree(built["site"])
    status, stderr = _interrupt(built, 0.0)
    assert status == 130, stderr
    assert stderr.strip().splitlines() == ["error: interrupted; the previous site and cache are left as they were"]
    assert tree(built["site"]) == before


@pytest.mark.parametrize("delay", [0.5, 1.5, 2.5, 4.0])
def test_ctrl_c_late_in_the_build_is_never_a_death_by_the_signal(built, delay):
    # From mkdocs to the interpreter's exit (the swap, joblib stopping its workers): the one line
    # and 130, or the build had already ended (0); never a silent death by SIGINT.
    status, stderr = _interrupt(built, delay)
    lines = stderr.strip().splitlines()
    assert status in (0, 130), (status, stderr)
    if status == 130:
        assert len(lines) == 1 and lines[0].startswith("error: interrupted"), stderr
    else:
        assert lines == [], stderr
    assert (built["site"] / MARKER).is_file() and (built["site"] / "index.html").is_file()


def test_the_marker_is_not_a_stray_in_the_cache(built):
    # Only the site and the site data are marked; cache entries stay as the cache writes them.
    assert not any(p.name == MARKER for p in (built["build"] / "cache").rglob("*"))
