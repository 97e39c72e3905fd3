"""Publishing: the site under /<repo>/ only, a snapshot and a preview for every figure, link
previews, downloads of the current view, how each chapter was made, the Pages workflow."""
from __future__ import annotations

import html
import json
import re
import struct
import urllib.request
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from collections import deque
from urllib.parse import urljoin, urlsplit

import numpy as np
import pytest
import yaml

from generator.flowgraph.graph import ancestors
from tests.conftest import REPO, SITE_URL

READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"


def decode_png(data: bytes) -> np.ndarray:
    """The pixels of an 8-bit RGB or RGBA PNG (no interlacing), as (H, W, channels)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for row in range(height):
        kind, line = raw[row * (stride + 1)], np.frombuffer(raw, np.uint8, stride, row * (stride + 1) + 1).astype(np.int32)
        current = np.zeros(stride, dtype=np.int32)
        for i in range(stride):
            left = current[i - channels] if i >= channels else 0
            up = previous[i]
            upleft = previous[i - channels] if i >= channels else 0
            predictor = {0: 0, 1: left, 2: up, 3: (left + up) // 2}.get(kind)
            if kind == 4:
                p = left + up - upleft
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upleft
            current[i] = (line[i] + predictor) & 0xFF
        out[row] = previous = current
    return out.reshape(height, width, channels)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_every_figure_has_a_valid_snapshot_and_preview(quick_build, manifest):
    site = quick_build["site"]
    facts = json.loads((quick_build["data"] / "facts.json").read_text())
    for figure in manifest["figures"]:
        svg = (site / figure["snapshot"]).read_text()
        root = ET.fromstring(svg)                                     # well-formed SVG
        assert root.tag.endswith("svg")
        preview = (site / figure["preview"]).read_bytes()
        assert png_size(preview) == (1200, 630)
        entry = facts["figures"][figure["id"]]
        if entry["kind"] == "flowgraph":
            graph = json.loads((site / entry["data"]["flowgraph"]).read_text())
            output = entry["options"].get("output", "all")
            shown = ancestors(graph, f"y{output}") if output != "all" else {n["id"] for n in graph["nodes"]}
            if entry["options"].get("inputs") == "filters":
                shown = {i for i in shown if not i.startswith("x")}
            assert svg.count('class="fg-node"') == len(shown), figure["id"]


@pytest.mark.parametrize("index", [0, 3, -1])
def test_previews_are_pictures_not_blank(quick_build, manifest, index):
    figure = manifest["figures"][index]
    pixels = decode_png((quick_build["site"] / figure["preview"]).read_bytes())[::7, ::7, :3]
    colours = {tuple(p) for p in pixels.reshape(-1, 3)}
    assert len(colours) > 5, figure["id"]                              # not a single colour


def test_figure_pages_carry_link_previews(quick_build, manifest):
    for figure in manifest["figures"]:
        page = (quick_build["site"] / figure["interactive"] / "index.html").read_text()
        tags = {k: html.unescape(v) for k, v in
                re.findall(r'<meta (?:property|name)="((?:og|twitter):[a-z:]+)" content="([^"]*)"', page)}
        assert tags["og:title"] == figure["title"]
        assert tags["og:description"] and tags["twitter:card"] == "summary_large_image"
        assert tags["og:image"] == SITE_URL + figure["preview"] == tags["twitter:image"]
        assert tags["og:url"] == SITE_URL + figure["interactive"]


def test_every_chapter_page_says_how_it_was_made(quick_build, manifest):
    build = json.loads((quick_build["data"] / "build.json").read_text())
    for chapter in manifest["chapters"]:
        page = (quick_build["site"] / chapter["page"] / "index.html").read_text()
        block = page.split('id="how-this-was-made"', 1)[1]
        assert "<code>quick</code> profile" in block and build["commit"][:8] in block
        assert f"torch {build['packages']['torch']}" in block
        link = re.search(r'href="([^"]*config\.json)"', block).group(1)
        config = json.loads((quick_build["site"] / chapter["page"] / link).resolve().read_text())
        assert config["type"] and config == json.loads((quick_build["data"] / chapter["id"] / "config.json").read_text())
        settings = block.split('<details class="fg-provenance"', 1)[1].split("</details>", 1)[0]
        assert "<table>" in settings and "|---|" not in settings           # a table, not Markdown text
        assert "<td></td>" not in settings
        after = block.split("</details>", 1)[1]
        assert re.search(r"<td>assembling the figures and documents</td>", after) and "<td></td>" not in after
        runs = build["chapters"][chapter["id"]]
        assert runs["assembly"]["seconds"] >= 0 and all(t["seconds"] >= 0 for t in runs["tasks"])
    landing = (quick_build["site"] / "index.html").read_text()
    assert "@misc{flowgraph_report_" in landing and SITE_URL in landing
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["title"]


def test_the_pages_workflow_runs_the_readme_commands():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "pages.yml").read_text())
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build = workflow["jobs"]["build"]["steps"]
    runs = [step["run"] for step in build if "run" in step]
    assert runs == ["make site"]
    readme = (REPO / "README.md").read_text()
    assert "make site" in readme and "make deploy" in readme
    uses = {step["uses"].split("@")[0]: step for step in build if "uses" in step}
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "site"
    caches = [step["with"] for step in build if step.get("uses", "").startswith("actions/cache@")]
    cached = "\n".join(c["path"] for c in caches)
    assert "~/.cache/pip" in cached and "~/.cache/flowgraph-report" in cached
    # The build cache comes back between runs, keyed by code and configs, falling back to the last one.
    build_cache = next(c for c in caches if c["path"] == "build/cache")
    assert "hashFiles('generator/**'" in build_cache["key"] and build_cache["key"].startswith(build_cache["restore-keys"])
    named = [f.strip().strip("'") for c in caches for args in re.findall(r"hashFiles\(([^)]*)\)", c["key"])
             for f in args.split(",")]
    assert named and all(Path(REPO, f).exists() for f in named if "*" not in f)
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    site_step = next(step for step in build if step.get("run") == "make site")
    assert "FLOWGRAPH_SITE_URL" in site_step["env"]
    makefile = (REPO / "Makefile").read_text()
    # make deploy claims its folder (a build's own, empty or new) before mkdocs empties it.
    assert re.search(r"^deploy: site\n\t\$\(PY\) -c .*claim_folder\(\"\$\(DEPLOY_DIR\)\"\).*\n"
                     r"\t\$\(PY\) -m mkdocs gh-deploy --force --site-dir \$\(DEPLOY_DIR\)$", makefile, re.M)


@pytest.mark.browser
def test_the_site_works_under_a_subpath_only(page, site_url, manifest):
    """Crawl every page reachable from the landing page, as the site is served under /<repo>/:
    every request stays under it and succeeds, and every link between pages resolves."""
    bad, links, seen, queue = [], set(), set(), deque([site_url])
    page.on("response", lambda r: r.status >= 400 and bad.append(f"{r.status} {r.url}"))
    page.on("request", lambda r: not r.url.startswith((site_url, "data:", "blob:")) and bad.append(f"outside: {r.url}"))
    page.on("pageerror", lambda e: bad.append(f"page error: {e}"))
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        page.goto(url)
        page.wait_for_function(READY, timeout=30_000)
        page.wait_for_load_state("networkidle")
        for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)"):
            target = href.split("#")[0]
            if target.startswith("http://127.0.0.1") and not target.endswith((".json", ".svg", ".png", ".xml")):
                links.add(target)
                if target.startswith(site_url) and target.endswith("/"):
                    queue.append(target)
            elif target.startswith("http://127.0.0.1"):
                links.add(target)
    pages = {site_url + p for p in ["", "schema/", "figures/"] + [c["page"] for c in manifest["chapters"]]
             + [f["interactive"] for f in manifest["figures"]]}
    assert pages <= seen and bad == []
    for link in sorted(links):
        assert link.startswith(site_url), link
        with urllib.request.urlopen(link) as response:
            assert response.status == 200, link


@pytest.mark.browser
def test_downloads_give_the_current_view(page, site_url, traces_json, tmp_path, flowgraph_json, manifest):
    sample = traces_json["samples"][2]
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(site_url + f"figures/mnist-mlp-lth/flowgraph/#output={sample['label']}&sample={sample['id']}")
    page.wait_for_function(READY)
    page.locator("#fig-flowgraph .fg-zoom-button[aria-label^='Zoom in']").click()
    page.wait_for_timeout(400)
    page.locator("#fig-flowgraph .fg-downloads summary").click()

    def download(kind):
        with page.expect_download() as info:
            page.locator(f"#fig-flowgraph .fg-download-{kind}").click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        return path

    svg_path = download("svg")
    assert svg_path.name == "mnist-mlp-lth-flowgraph.svg"
    root = ET.parse(svg_path).getroot()
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any(t and t.startswith(f"y{sample['label']} ") and "◀ predicted" in t for t in texts)   # text as text
    assert not any(t and t.startswith("y") and not t.startswith(f"y{sample['label']} ") for t in texts)  # one output shown
    png = download("png").read_bytes()
    width, height = page.evaluate("(() => { const s = document.querySelector('#fig-flowgraph .fg-stage');"
                                  " return [s.clientWidth, s.clientHeight]; })()")
    assert png_size(png) == (2 * width, 2 * height)                    # the view as on screen, at 2x
    pixels = decode_png(png)[::9, ::9, :3]
    assert len({tuple(p) for p in pixels.reshape(-1, 3)}) > 5
    data = json.loads(download("json").read_text())
    assert data["view"]["output"] == str(sample["label"]) and data["view"]["sample"] == sample["id"]
    assert abs(data["values"][f"y{sample['label']}"] - dict(zip([n["id"] for n in flowgraph_json["nodes"]], sample["values"]))[f"y{sample['label']}"]) < 1e-9
    # A chart: SVG from vega, and its rows as CSV.
    page.goto(site_url + "figures/mnist-mlp-lth/accuracy-vs-weights/")
    page.wait_for_function(READY)
    page.locator("#fig-accuracy-vs-weights .fg-downloads summary").click()
    with page.expect_download() as info:
        page.locator("#fig-accuracy-vs-weights .fg-download-csv").click()
    csv = (tmp_path / "chart.csv")
    info.value.save_as(csv)
    lines = csv.read_text().splitlines()
    assert {"round", "weights", "split", "median", "min", "max"} <= set(lines[0].split(","))
    assert len(lines) - 1 == 2 * len(manifest["experiments"]["mnist-mlp-lth"]["rounds"])   # a row per round and split
