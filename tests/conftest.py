"""Shared fixtures: one real quick-profile build (generator CLI + mkdocs --strict) per test session,
served on 127.0.0.1 under a subpath, and Debian chromium for Playwright."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
SUBPATH = "flowgraph-report"   # served as GitHub Pages would: /<repo>/

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def run_build(build_dir: Path, profile: str = "quick", env_extra: dict | None = None):
    env = {**os.environ, "FLOWGRAPH_BUILD_DIR": str(build_dir), "NO_MKDOCS_2_WARNING": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "generator.build", "--profile", profile],
                          cwd=REPO, env=env, capture_output=True, text=True)


def run_mkdocs(build_dir: Path, site_dir: Path):
    env = {**os.environ, "FLOWGRAPH_BUILD_DIR": str(build_dir), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site_dir)],
                          cwd=REPO, env=env, capture_output=True, text=True)


@pytest.fixture(scope="session")
def quick_build(tmp_path_factory):
    """The real quick build: its build folder (cache + site data) and the mkdocs site."""
    build_dir = tmp_path_factory.mktemp("quick-build")
    result = run_build(build_dir)
    assert result.returncode == 0, result.stderr
    served = tmp_path_factory.mktemp("served")
    site = served / SUBPATH
    result = run_mkdocs(build_dir, site)
    assert result.returncode == 0, result.stderr
    os.environ["FLOWGRAPH_BUILD_DIR"] = str(build_dir)   # generator.paths reads it at call time
    return {"build": build_dir, "data": build_dir / "site" / "data", "site": site, "served": served}


@pytest.fixture(scope="session")
def manifest(quick_build):
    return json.loads((quick_build["data"] / "manifest.json").read_text())


@pytest.fixture(scope="session")
def flowgraph_json(quick_build):
    return json.loads((quick_build["data"] / "mnist-mlp-lth" / "flowgraph.json").read_text())


@pytest.fixture(scope="session")
def traces_json(quick_build):
    return json.loads((quick_build["data"] / "mnist-mlp-lth" / "traces.json").read_text())


@pytest.fixture(scope="session")
def quick_experiment():
    from generator.config import PROFILES
    return PROFILES["quick"]


@pytest.fixture(scope="session")
def mnist_quick(quick_experiment):
    from generator.data import load_mnist
    return load_mnist(quick_experiment.data)


@pytest.fixture(scope="session")
def quick_lottery(quick_build, quick_experiment, mnist_quick):
    """The quick build's pruned model, loaded from its cache (the build trained it)."""
    from generator.cache import cached_lottery, experiment_cache_dir
    assert (experiment_cache_dir(quick_experiment) / "model.pt").exists()
    return cached_lottery(quick_experiment, mnist_quick)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site_url(quick_build):
    handler = functools.partial(_QuietHandler, directory=str(quick_build["served"]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{SUBPATH}/"
    server.shutdown()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
