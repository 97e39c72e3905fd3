"""Shared fixtures: one real quick-profile build (the generator CLI, mkdocs included) per test
session, served on 127.0.0.1 under a subpath, and Debian chromium for Playwright."""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
SUBPATH = "flowgraph-report"   # served as GitHub Pages would: /<repo>/
SITE_URL = f"https://example.org/{SUBPATH}/"   # the published address the test site is built for

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# For tests of what a build does with folders, locks and signals, not of what it checks: rebuild
# one chapter that builds on none (the others kept as cached), so the build reaches its site stage
# after checking that chapter's entries alone, in half the time of checking them all.
ONE_CHAPTER = ("--only", "spade-backdoor")


def build_command(site_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "generator.build", "--profile", "quick", "--site-dir", str(site_dir), *extra]


def build_env(build_dir: Path, **extra: str) -> dict:
    return {**os.environ, "FLOWGRAPH_BUILD_DIR": str(build_dir), "NO_MKDOCS_2_WARNING": "1",
            "FLOWGRAPH_SITE_URL": SITE_URL, **extra}


def run_build(build_dir: Path, site_dir: Path | None = None, *extra: str, env_extra: dict | None = None,
              timeout: float = 900):
    site_dir = site_dir or build_dir.parent / f"{build_dir.name}-site"
    return subprocess.run(build_command(site_dir, *extra), cwd=REPO, env=build_env(build_dir, **(env_extra or {})),
                          capture_output=True, text=True, timeout=timeout)


def json_files(folder: Path) -> dict[str, bytes]:
    """Every file the build writes for the site (JSON, and the SVG and PNG pictures), by path,
    but build.json: the one file meant to change from build to build (date, times, cache hits)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.suffix in (".json", ".svg", ".png", ".gz") and p.name != "build.json"}


@pytest.fixture(scope="session")
def quick_build(tmp_path_factory):
    """The real quick build: its build folder (cache + site data) and the site, under /<repo>/."""
    build_dir = tmp_path_factory.mktemp("quick-build")
    served = tmp_path_factory.mktemp("served")
    site = served / SUBPATH
    result = run_build(build_dir, site)
    assert result.returncode == 0, result.stderr
    os.environ["FLOWGRAPH_BUILD_DIR"] = str(build_dir)   # generator.paths reads it at call time
    return {"build": build_dir, "data": build_dir / "site" / "data", "site": site, "served": served,
            "runs": json.loads((build_dir / "last-build.json").read_text())["runs"]}


def seed_cache(quick_build, build_dir: Path) -> None:
    """Start `build_dir` with a copy of the quick build's cache: a test that needs a complete
    build folder of its own then builds warm (about 10 s) instead of training again (about 50)."""
    shutil.copytree(quick_build["build"] / "cache", build_dir / "cache")


@pytest.fixture(scope="session")
def manifest(quick_build):
    return json.loads((quick_build["data"] / "manifest.json").read_text())


@pytest.fixture(scope="session")
def facts(quick_build):
    return json.loads((quick_build["data"] / "facts.json").read_text())


@pytest.fixture(scope="session")
def flowgraph_json(quick_build):
    return json.loads((quick_build["data"] / "mnist-mlp-lth" / "flowgraph.json").read_text())


@pytest.fixture(scope="session")
def traces_json(quick_build):
    return json.loads((quick_build["data"] / "mnist-mlp-lth" / "traces.json").read_text())


def chapter_config(chapter_id: str):
    from generator.chapters import CHAPTERS
    return CHAPTERS[chapter_id].configs["quick"]


def chapter_tasks(chapter_id: str, profile: str = "quick") -> dict:
    """A chapter's tasks by name, and the tasks they need (e.g. `dense-0` of the chapter it builds on)."""
    from generator.chapters import CHAPTERS
    from generator.pipeline.runner import plan_chapters, with_upstream
    plan = plan_chapters(with_upstream(CHAPTERS, [CHAPTERS[chapter_id]]), profile)
    tasks = {}
    for task in plan.chapter_tasks[chapter_id]:
        tasks.update({need.name: need for need in task.needs})
        tasks[task.name] = task
    return tasks


def task_entry(chapter_id: str, task_name: str) -> Path:
    """The cache folder of a chapter's task in the current build folder (FLOWGRAPH_BUILD_DIR)."""
    from generator.pipeline.runner import task_folder
    return task_folder(chapter_tasks(chapter_id)[task_name])


def cached_task(chapter_id: str, task_name: str):
    """A task result of the quick build, as the build cached it (checked like the build does)."""
    from generator.pipeline import cache
    from generator.pipeline.chapter import TaskResult
    return TaskResult.from_files(cache.read_entry(task_entry(chapter_id, task_name)))


@pytest.fixture(scope="session")
def quick_experiment():
    return chapter_config("mnist-mlp-lth")


@pytest.fixture(scope="session")
def mnist_quick(quick_experiment):
    from generator.networks.data import load_mnist
    return load_mnist(quick_experiment.data)


@pytest.fixture(scope="session")
def quick_model(quick_build, manifest, quick_experiment):
    """The network the quick build's flowgraph shows, rebuilt from the build's cache."""
    from generator.networks.prune import lottery_model
    entry = manifest["experiments"]["mnist-mlp-lth"]
    result = cached_task("mnist-mlp-lth", f"seed-{entry['selected_seed']}")
    return lottery_model(quick_experiment, result, entry["selected_round"])


class PagesHandler(SimpleHTTPRequestHandler):
    """Serves files as GitHub Pages does: a missing path under /<repo>/ gets the site's 404.html
    (with status 404), wherever it is."""

    def log_message(self, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / SUBPATH / "404.html"
        if code != 404 or not self.path.startswith(f"/{SUBPATH}/") or not page.exists():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def serve(folder: Path):
    handler = functools.partial(PagesHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def site_url(quick_build):
    server = serve(quick_build["served"])
    yield f"http://127.0.0.1:{server.server_address[1]}/{SUBPATH}/"
    server.shutdown()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
