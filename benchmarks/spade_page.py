"""How long the page takes to make a SPADE circuit (issue 19: within 300 ms), in headless Debian
chromium, beside Python making the same circuits in the same run.

    .venv/bin/python benchmarks/spade_page.py [SITE_DIR]     (default: site/, from `make site`)

Serves the built site, opens the spade chapter's live figure, steps through the first 30 test
images (the ▶ button) and records, per image, the worker's own time and the time from the click to
the circuit drawn (flowgraph included). Then makes the same 30 circuits in Python
(generator/inside/spade.py) on this machine. Prints medians and maxima and writes
benchmarks/results/spade_page.json.
"""
from __future__ import annotations

import functools
import json
import statistics
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.conftest import CHROMIUM_ARGS  # noqa: E402
from generator.chapters.spade import graph_layers  # noqa: E402
from generator.inside.spade import augment, prune_for_sample  # noqa: E402
from generator.networks.config import DataConfig  # noqa: E402
from generator.networks.data import load_mnist  # noqa: E402

IMAGES = 30
FIGURE = "window.flowgraphReport.figures.get('live').figure"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def page_times(site: Path) -> list[dict]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/figures/spade/live/#sample=t0")
            page.wait_for_function("window.flowgraphReport?.figures.get('live')?.figure.inspect().circuit?.label"
                                   ".startsWith('test image #0 ')", timeout=60_000)
            for i in range(1, IMAGES):
                start = page.evaluate("performance.now()")
                page.get_by_role("button", name="next test image").click()
                page.wait_for_function(f"{FIGURE}.inspect().circuit?.label.startsWith('test image #{i} ')", timeout=10_000)
                shown = page.evaluate(f"[{FIGURE}.inspect().circuit.ms, performance.now()]")
                rows.append({"test_index": i, "worker_ms": shown[0], "click_to_drawn_ms": shown[1] - start})
            browser.close()
    finally:
        server.shutdown()
    return rows


def python_times(site: Path) -> list[float]:
    circuits = json.loads((site / "data" / "spade" / "circuits.json").read_text())
    c = circuits["config"]
    graph = json.loads((site / circuits["dense_flowgraph"]).read_text())
    stored = graph_layers(graph)
    layers = [(np.array(w, dtype=np.float64), np.array(b, dtype=np.float64), k + 1 < len(stored))   # ReLU but the last
              for k, (w, b) in enumerate(stored)]
    test = load_mnist(DataConfig()).test
    times = []
    for i in range(1, IMAGES):
        start = time.perf_counter()
        inputs = augment(test.pixels[i], c["augmentations"], c["seed"] + i, c["turn"], c["scale"], c["shift"], c["noise"])
        prune_for_sample(layers, inputs, tuple(c["densities"]), c["ridge"])
        times.append(1000 * (time.perf_counter() - start))
    return times


def main() -> None:
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "site"
    rows = page_times(site)
    python = python_times(site)
    summary = {
        "images": len(rows),
        "worker_ms": {"median": statistics.median(r["worker_ms"] for r in rows), "max": max(r["worker_ms"] for r in rows)},
        "click_to_drawn_ms": {"median": statistics.median(r["click_to_drawn_ms"] for r in rows),
                              "max": max(r["click_to_drawn_ms"] for r in rows)},
        "python_ms": {"median": statistics.median(python), "max": max(python)},
        "goal_ms": 300,
    }
    print(json.dumps(summary, indent=1))
    out = REPO / "benchmarks" / "results" / "spade_page.json"
    out.write_text(json.dumps({"summary": summary, "rows": rows, "python_ms": python}, indent=1) + "\n")


if __name__ == "__main__":
    main()
