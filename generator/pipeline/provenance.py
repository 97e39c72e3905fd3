"""How the numbers were made: the code version, the packages, the date, and how long each
chapter's runs took (and whether they came from the cache). Written to data/build.json, the one
site file that changes from build to build; every page of a chapter ends with it."""
from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from datetime import datetime, timezone

from generator.pipeline.paths import REPO

PACKAGES = ("torch", "numpy", "scipy", "gymnasium", "stable-baselines3", "joblib", "altair", "vl-convert-python",
            "mkdocs", "mkdocs-material")


def code_version() -> dict:
    """The git commit the build ran from, and whether the working tree had uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=20,
                              check=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "--short=12", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def packages() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build_info(profile: str, chapters: dict) -> dict:
    return {"profile": profile, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), **code_version(),
            "python": platform.python_version(), "packages": packages(), "chapters": chapters}
