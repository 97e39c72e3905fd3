"""How fast the live figures answer, in headless Debian chromium (issue 13's goals in brackets).

    .venv/bin/python benchmarks/live_speed.py [SITE_DIR]     (default: site/, from `make site`)

- a stroke on the drawing pad: preprocessing, evaluating the graph, redrawing it and the
  logits (median <= 16 ms);
- the pruning threshold: re-evaluating all 10,000 test images and redrawing (median <= 200 ms);
- a CartPole step: simulating, evaluating the graph, redrawing (median <= 16 ms);
- the longest main-thread task while the test images load (<= 100 ms), and, for the record, the
  longest one before (parsing the page's scripts and the figure's first drawing);
- the CNN figure: time to interactive (<= 1.5 s) and a hover's redraw (within a 16 ms frame).
Writes benchmarks/results/live_speed.json.
"""
from __future__ import annotations

import functools
import json
import statistics
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.conftest import CHROMIUM_ARGS, PagesHandler  # noqa: E402

READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"
LONG_TASKS = """window.__long = []; new PerformanceObserver((list) => list.getEntries().forEach(
  (e) => window.__long.push([e.startTime, e.duration]))).observe({type: 'longtask', buffered: true});"""


def stroke_times(page, figure_path: str) -> dict:
    page.goto(figure_path)
    page.wait_for_function(READY, timeout=30_000)
    page.wait_for_function("window.flowgraphReport.figures.get('live').figure.inspect().imagesLoaded", timeout=60_000)
    since = page.evaluate("window.flowgraphReport.figures.get('live').figure.inspect().timings.loadStartedAt")
    tasks = page.evaluate("window.__long")
    longest_load_task = max((d for start, d in tasks if start >= since), default=0.0)
    longest_mount_task = max((d for start, d in tasks if start < since), default=0.0)
    pad = page.locator("#fig-live canvas.fg-pad").bounding_box()
    times = []
    page.mouse.move(pad["x"] + 60, pad["y"] + 30)
    page.mouse.down()
    for i in range(40):
        page.mouse.move(pad["x"] + 60 + 2 * i, pad["y"] + 30 + 3.5 * i)
        page.wait_for_timeout(20)
        timings = page.evaluate("window.flowgraphReport.figures.get('live').figure.inspect().timings")
        times.append(timings["input"] + (timings["preprocess"] or 0))
    page.mouse.up()
    prune = []
    for threshold in [0.01, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.02, 0.06]:
        page.evaluate(f"window.flowgraphReport.figures.get('live').figure.setThreshold({threshold})")
        prune.append(page.evaluate("window.flowgraphReport.figures.get('live').figure.inspect().timings.prune"))
    return {"stroke_ms_median": round(statistics.median(times), 2), "stroke_ms_max": round(max(times), 2),
            "prune_ms_median": round(statistics.median(prune), 1), "prune_ms_max": round(max(prune), 1),
            "longest_task_while_images_load_ms": round(longest_load_task, 1),
            "longest_task_before_images_load_ms": round(longest_mount_task, 1)}


def cartpole_times(page, url: str) -> dict:
    page.goto(url)
    page.wait_for_function(READY, timeout=30_000)
    times = page.evaluate("""() => { const f = window.flowgraphReport.figures.get('balance').figure; const out = [];
        for (let i = 0; i < 200 && f.inspect().status !== 'fell'; i++) {
          const t0 = performance.now(); f.tick(); out.push(performance.now() - t0); }
        return out; }""")
    return {"step_ms_median": round(statistics.median(times), 2), "step_ms_max": round(max(times), 2), "steps": len(times)}


def cnn_times(page, url: str) -> dict:
    ready = []
    for _ in range(5):
        page.goto(url)
        page.wait_for_function(READY, timeout=30_000)
        ready.append(page.evaluate("performance.now()"))
    stage = page.locator("#fig-flowgraph .fg-stage").bounding_box()
    hover = page.evaluate("""([w, h]) => { const stage = document.querySelector('#fig-flowgraph .fg-stage');
        const box = stage.getBoundingClientRect(); const out = [];
        for (let i = 0; i < 60; i++) {
          const event = new PointerEvent('pointermove', {clientX: box.left + (i * 37) % w, clientY: box.top + (i * 53) % h, bubbles: true});
          const t0 = performance.now(); stage.dispatchEvent(event); out.push(performance.now() - t0); }
        return out; }""", [stage["width"], stage["height"]])
    return {"interactive_ms_median": round(statistics.median(ready)), "hover_ms_median": round(statistics.median(hover), 2),
            "hover_ms_max": round(max(hover), 2)}


def main() -> None:
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "site"
    root = site.parent
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(PagesHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/{site.name}/"
    results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.add_init_script(LONG_TASKS)
        for chapter in ("mnist-mlp-lth", "mnist-mlp-lth-dense-first"):
            results[chapter] = stroke_times(page, base + f"figures/{chapter}/live/")
            print(chapter, results[chapter], flush=True)
        results["cartpole-dqn"] = cartpole_times(page, base + "figures/cartpole-dqn/balance/")
        print("cartpole-dqn", results["cartpole-dqn"], flush=True)
        results["mnist-cnn"] = cnn_times(page, base + "figures/mnist-cnn/flowgraph/")
        print("mnist-cnn", results["mnist-cnn"], flush=True)
        browser.close()
    server.shutdown()
    out = REPO / "benchmarks" / "results" / "live_speed.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
