"""Figures in a reader's hands (the conventions every figure follows), in Debian chromium on the
quick site served under /<repo>/ as GitHub Pages serves it. Screenshots at desktop and phone
width, with and without JavaScript, and printed, go to test-artifacts/reader-*.png."""
from __future__ import annotations

import json

import pytest

from generator.flowgraph.graph import ancestors
from tests.conftest import SUBPATH

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
CHAPTER = "mnist-mlp-lth/"
READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"


def inspect(page, figure):
    return page.evaluate("(id) => window.flowgraphReport.figures.get(id).figure.inspect()", figure)


def open_ready(page, url):
    response = page.goto(url)
    page.wait_for_function(READY, timeout=20_000)
    return response


def test_the_wheel_scrolls_the_page_and_only_ctrl_wheel_zooms(page, site_url):
    page.set_viewport_size(DESKTOP)
    open_ready(page, site_url + CHAPTER)
    stage = page.locator("#fig-flowgraph .fg-stage")
    stage.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -200)")
    box = stage.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    before, k = page.evaluate("window.scrollY"), inspect(page, "flowgraph")["transform"]["k"]
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(300)
    assert page.evaluate("window.scrollY") > before                       # the page scrolled
    assert inspect(page, "flowgraph")["transform"]["k"] == k              # the figure did not zoom
    assert page.locator("#fig-flowgraph .fg-hint.fg-hint-on").count() == 1  # and said how to zoom
    box = stage.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    page.wait_for_timeout(300)
    assert inspect(page, "flowgraph")["transform"]["k"] > k               # Ctrl + wheel zooms in
    page.locator("#fig-flowgraph .fg-zoom-button[aria-label^='Fit']").click()
    page.wait_for_timeout(500)
    assert abs(inspect(page, "flowgraph")["transform"]["k"] - k) < 1e-6   # fit goes back


def test_the_404_page_under_a_subpath_loads_nothing_outside_it(page, site_url):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(site_url + "no/such/page/")
    assert response.status == 404
    page.wait_for_load_state("networkidle")
    assert requests and all(url.startswith(site_url) or url.startswith("data:") for url in requests), requests
    # Styled (the theme's stylesheet applied), and its links lead into the site.
    assert page.evaluate("getComputedStyle(document.querySelector('.md-header')).position") in ("sticky", "fixed")
    hrefs = page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)")
    local = [h for h in hrefs if h.startswith("http://127.0.0.1")]
    assert local and all(h.startswith(site_url) for h in local), local


def test_the_sitemap_lists_every_page(quick_build, manifest):
    text = (quick_build["site"] / "sitemap.xml").read_text()
    for chapter in manifest["chapters"]:
        assert f"https://example.org/{SUBPATH}/{chapter['page']}" in text
    assert text.count("<loc>") >= len(manifest["chapters"]) + len(manifest["figures"])


def test_a_shared_link_opens_on_its_figure_with_its_view(page, site_url, traces_json):
    wrong = next(s for s in traces_json["samples"] if s["label"] != s["prediction"])
    page.set_viewport_size(DESKTOP)
    open_ready(page, site_url + CHAPTER + f"#fig-sample-trace&sample-trace.sample={wrong['id']}")
    page.wait_for_timeout(300)
    box = page.locator("#fig-sample-trace").bounding_box()
    header = page.locator(".md-header").bounding_box()["height"]
    assert header <= box["y"] < DESKTOP["height"] - 100                  # scrolled to the figure, below the header
    assert page.locator("#fig-sample-trace select.fg-sample").input_value() == wrong["id"]


def test_a_table_of_contents_click_keeps_the_view_state(page, site_url):
    page.set_viewport_size(DESKTOP)
    open_ready(page, site_url + CHAPTER)
    page.select_option("#fig-output-subgraph select.fg-output", "3")
    page.wait_for_function("location.hash.includes('output-subgraph.output=3')")
    toc = page.locator(".md-sidebar--secondary a.md-nav__link").nth(2)
    target = toc.get_attribute("href").lstrip("#")
    toc.click()
    page.wait_for_timeout(300)
    hash_ = page.evaluate("decodeURIComponent(location.hash)")
    assert hash_.startswith(f"#{target}") and "output-subgraph.output=3" in hash_
    # Reloading that link shows the same view.
    open_ready(page, page.url)
    assert page.locator("#fig-output-subgraph select.fg-output").input_value() == "3"


def test_the_back_link_carries_the_state_from_the_figure_page(page, site_url, traces_json):
    sample = traces_json["samples"][3]["id"]
    open_ready(page, site_url + f"figures/mnist-mlp-lth/flowgraph/#sample={sample}&output=2")
    back = page.locator("a.fg-back")
    assert "flowgraph.sample=" + sample in back.get_attribute("href")
    back.click()
    page.wait_for_url(f"**/{CHAPTER}**")
    page.wait_for_function(READY)
    assert page.locator("#fig-flowgraph select.fg-sample").input_value() == sample
    assert page.locator("#fig-flowgraph select.fg-output").input_value() == "2"


def test_captions_follow_the_view(page, site_url, flowgraph_json, traces_json):
    open_ready(page, site_url + CHAPTER)
    caption = page.locator("#fig-flowgraph .fg-view")
    n, m = len(flowgraph_json["nodes"]), len(flowgraph_json["edges"])
    assert caption.inner_text() == f"Shown: all {n} vertices and {m} edges. No input: edges show weights."
    page.select_option("#fig-flowgraph select.fg-output", "6")
    keep = ancestors(flowgraph_json, "y6")
    edges = sum(1 for e in flowgraph_json["edges"] if e["target"] in keep)
    page.wait_for_function("document.querySelector('#fig-flowgraph .fg-view').textContent.includes('output 6')")
    assert f"{len(keep)} of {n} vertices and {edges} of {m} edges" in caption.inner_text()
    wrong = next(s for s in traces_json["samples"] if s["label"] != s["prediction"])
    page.select_option("#fig-flowgraph select.fg-sample", wrong["id"])
    text = caption.inner_text()
    assert f"test image #{wrong['test_index']}, a {wrong['label']}, predicted {wrong['prediction']} (wrong)" in text
    page.select_option("#fig-flowgraph select.fg-output", "all")
    page.wait_for_timeout(500)
    labels = {label["id"]: label["text"] for label in inspect(page, "flowgraph")["labels"]}
    assert "◀ true label" in labels[f"y{wrong['label']}"]                # the true class is marked
    assert "◀ predicted" in labels[f"y{wrong['prediction']}"]


def test_labels_are_readable_at_the_default_desktop_view(page, site_url, flowgraph_json, artifacts):
    page.set_viewport_size(DESKTOP)
    for path, figure in [(CHAPTER, "flowgraph"), (CHAPTER, "output-subgraph")]:
        open_ready(page, site_url + path)
        state = inspect(page, figure)
        sizes = [label["px"] for label in state["labels"]]
        assert sizes and min(sizes) >= 11, figure
        labelled = {label["id"] for label in state["labels"]}
        outputs = {n["id"] for n in flowgraph_json["nodes"] if n["kind"] == "output" and n["id"] in state["visible"]}
        assert outputs <= labelled, figure                               # every output is named
        hidden = [i for i in state["visible"] if i.startswith("h")]
        assert len(labelled & set(hidden)) >= len(hidden) // 2, figure   # and most neurons
    page.set_viewport_size(PHONE)
    open_ready(page, site_url + CHAPTER)
    state = inspect(page, "flowgraph")
    assert all(label["px"] >= 11 for label in state["labels"])          # hidden rather than shrunk
    page.locator("#fig-flowgraph").screenshot(path=str(artifacts / "reader-phone-flowgraph.png"))


def test_a_node_is_reachable_and_its_panel_opens_with_the_keyboard_alone(page, site_url):
    page.set_viewport_size(DESKTOP)
    open_ready(page, site_url + "figures/mnist-mlp-lth/flowgraph/")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('fg-stage')"):
            break
    else:
        pytest.fail("Tab never reached the figure")
    state = inspect(page, "flowgraph")
    assert state["focused"] and state["focused"].startswith("y")         # it starts at an output
    page.keyboard.press("ArrowLeft")                                      # along its strongest input edge
    focused = inspect(page, "flowgraph")["focused"]
    assert focused.startswith("h2_")
    page.keyboard.press("Enter")
    panel = page.locator("#fig-flowgraph .fg-panel")
    text = panel.inner_text()
    assert panel.is_visible() and focused in text and ("ReLU" in text or "identity" in text)
    assert "node=" + focused in page.evaluate("location.hash")
    page.keyboard.press("Escape")
    assert not panel.is_visible()


def test_the_node_panel_gives_each_term_its_contribution(page, site_url, flowgraph_json, traces_json):
    sample = traces_json["samples"][0]
    output = f"y{sample['prediction']}"
    open_ready(page, site_url + f"figures/mnist-mlp-lth/flowgraph/#sample={sample['id']}&node={output}")
    rows = page.locator("#fig-flowgraph .fg-panel-terms tbody tr")
    assert rows.count() >= 2
    total = page.locator("#fig-flowgraph .fg-panel-terms tfoot td").last.inner_text()
    value = dict(zip([n["id"] for n in flowgraph_json["nodes"]], sample["values"]))[output]
    assert total == f"{value:.2f}".replace("-0.00", "0.00")


def test_no_figure_is_blank_without_javascript(browser, site_url, manifest, artifacts):
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    for chapter in manifest["chapters"]:
        page.goto(site_url + chapter["page"])
        page.wait_for_load_state("networkidle")
        mounts = page.locator(".fg-mount")
        assert mounts.count() > 0
        for k in range(mounts.count()):
            image = mounts.nth(k).locator("img.fg-static")
            image.scroll_into_view_if_needed()
            page.wait_for_function("(img) => img.complete", arg=image.element_handle())
            assert image.evaluate("img => img.naturalWidth") > 100, chapter["id"]
        page.screenshot(path=str(artifacts / f"reader-nojs-{chapter['id']}.png"), full_page=True)
    context.close()


def test_printing_never_cuts_a_figure(page, site_url, artifacts):
    page.set_viewport_size(DESKTOP)
    open_ready(page, site_url + CHAPTER)
    page.emulate_media(media="print")
    for grid in page.locator(".fg-filter-grid").all():
        assert grid.evaluate("g => g.scrollHeight <= g.clientHeight + 1")   # no inner scrolling
    width = page.evaluate("document.querySelector('.md-content').getBoundingClientRect().width")
    for figure in page.locator("figure.fg-figure").all():
        assert figure.bounding_box()["width"] <= width + 1
    assert page.locator(".fg-zoom-buttons").first.is_hidden()
    page.pdf(path=str(artifacts / "reader-print.pdf"))


def test_every_chart_tooltip_names_fields_its_rows_have(quick_build):
    for spec_file in quick_build["data"].rglob("*.vl.json"):
        spec = json.loads(spec_file.read_text())
        datasets = spec.get("datasets", {})
        rows = spec["data"]["values"] if "values" in spec.get("data", {}) else next(iter(datasets.values()), [])
        layers = spec.get("layer", [spec])
        for layer in layers:
            # a layer may draw a dataset of its own (a chart of nodes over one of edges)
            rows = datasets.get(layer.get("data", {}).get("name"), rows)
            computed = {t.get("as") for t in layer.get("transform", []) if "as" in t}
            for tip in layer.get("encoding", {}).get("tooltip", []) or []:
                field = tip["field"]
                assert field in computed or all(field in row for row in rows), (spec_file.name, field)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshots_of_every_chapter_for_a_person_to_look_at(page, site_url, manifest, artifacts, size):
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONE)
    for chapter in [{"page": "", "id": "landing"}] + manifest["chapters"]:
        problems = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        open_ready(page, site_url + chapter["page"])
        page.wait_for_timeout(200)
        page.screenshot(path=str(artifacts / f"reader-{size}-{chapter['id']}.png"), full_page=True)
        assert problems == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), chapter["id"]  # no sideways scroll
