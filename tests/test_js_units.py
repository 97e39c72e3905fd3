"""The figures' plain JavaScript functions (hit testing, the keyboard walk, label placement, the
colour palettes, ...) tested by node's own runner: tests/js/*.test.mjs. Skipped where node is
not installed; the browser tests cover the same modules in use."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_units():
    # The modules are ES modules without a package.json: node must detect that from their syntax
    # (the default from node 22; a flag before).
    files = sorted(str(p) for p in (REPO / "tests" / "js").glob("*.test.mjs"))
    result = subprocess.run(["node", "--experimental-detect-module", "--test", *files], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
