"""How soon each page's figures are interactive in headless Debian chromium.

    .venv/bin/python benchmarks/page_interactive.py [SITE_DIR]     (default: site/, from `make site`)

Serves the built site on 127.0.0.1, opens every figure page and the report five times each, and
reports, per figure, the median milliseconds from navigation start until it has drawn and
answers input (`data-ready="true"`, seen by a MutationObserver). Goal: under 1000 ms.
"""
from __future__ import annotations

import functools
import statistics
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.test_site import FIGURES  # noqa: E402
from generator.chapters import CHAPTERS  # noqa: E402

READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"
WATCH = """window.__ready = {};
new MutationObserver(() => document.querySelectorAll('.fg-mount[data-ready=true]').forEach(m => {
  if (!(m.dataset.figureId in window.__ready)) window.__ready[m.dataset.figureId] = performance.now();
})).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-ready']});"""


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main() -> None:
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "site"
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    pages = [""] + [f"{c}/" for c in CHAPTERS] + [f"figures/{fid}/" for fid in FIGURES]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script(WATCH)
        for path in pages:
            times: dict[str, list[float]] = {}
            for _ in range(5):
                page.goto(base + path)
                page.wait_for_function(READY, timeout=15_000)
                for figure_id, ms in page.evaluate("window.__ready").items():
                    times.setdefault(figure_id, []).append(ms)
            for figure_id, ms in times.items():
                print(f"{path or 'report':34s} {figure_id:22s} median {statistics.median(ms):5.0f} ms  "
                      f"(min {min(ms):.0f}, max {max(ms):.0f})")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
