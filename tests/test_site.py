"""The built quick site in Debian chromium, served on 127.0.0.1 under /<repo>/ as on GitHub Pages.
Screenshots of every page go to test-artifacts/ for a person to look at."""
import importlib

import pytest

from generator.chapters import CHAPTERS

pytestmark = pytest.mark.browser

FIGURES = [f"{c.id}/{figure_id}" for c in CHAPTERS.values()
           for figure_id in importlib.import_module(c.assemble.__module__).FIGURES]
PAGES = ["", "schema/", "figures/"] + [f"{c}/" for c in CHAPTERS] + [f"figures/{f}/" for f in FIGURES]
FLOWGRAPH_PAGE = "figures/mnist-mlp-lth/flowgraph/"


def open_page(page, url, problems):
    """Go to url, recording console errors/warnings, page errors and any request leaving 127.0.0.1."""
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: r.url.startswith(("http://127.0.0.1:", "data:", "blob:"))
            or problems.append(f"request leaves localhost: {r.url}"))
    page.goto(url)
    page.wait_for_function("[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')",
                           timeout=15_000)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_offline_without_console_errors(page, site_url, artifacts, path):
    problems = []
    open_page(page, site_url + path, problems)
    page.wait_for_timeout(300)
    name = path.strip("/").replace("/", "_") or "landing"
    page.screenshot(path=str(artifacts / f"page-{name}.png"), full_page=True)
    assert problems == []


def inspect(page, figure):
    """What the figure shows now (flowgraph.js inspect()): visible nodes, values, labels, state."""
    return page.evaluate("(id) => window.flowgraphReport.figures.get(id).figure.inspect()", figure)


def test_figure_shows_one_node_per_json_node(page, site_url, flowgraph_json):
    open_page(page, site_url + FLOWGRAPH_PAGE, [])
    state = inspect(page, "flowgraph")
    assert sorted(state["visible"]) == sorted(n["id"] for n in flowgraph_json["nodes"])
    assert state["edges"] == len(flowgraph_json["edges"])


def test_choosing_a_sample_changes_edge_widths_and_js_values_match_the_export(page, site_url, traces_json, flowgraph_json):
    open_page(page, site_url + FLOWGRAPH_PAGE, [])
    before = inspect(page, "flowgraph")["edgeWidths"]
    order = [n["id"] for n in flowgraph_json["nodes"]]
    for sample in traces_json["samples"][:3] + [s for s in traces_json["samples"] if s["label"] != s["prediction"]][:1]:
        page.select_option("#fig-flowgraph select.fg-sample", sample["id"])
        page.wait_for_function(f"location.hash.includes('sample={sample['id']}')")
        state = inspect(page, "flowgraph")
        assert state["edgeWidths"] != before
        for node_id, expected in zip(order, sample["values"]):
            assert abs(state["values"][node_id] - expected) <= 1e-9, (sample["id"], node_id)


def test_browser_evaluator_matches_every_exported_trace(page, site_url, flowgraph_json, traces_json):
    open_page(page, site_url + FLOWGRAPH_PAGE, [])
    worst = page.evaluate("""([graph, traces]) => {
        const compiled = window.flowgraphReport.compile(graph);
        let worst = 0;
        for (const s of traces.samples) {
            const v = window.flowgraphReport.evaluatePixels(compiled, Uint8Array.from(s.pixels));
            s.values.forEach((x, i) => { worst = Math.max(worst, Math.abs(v[i] - x)); });
        }
        return worst;
    }""", [flowgraph_json, traces_json])
    assert worst <= 1e-9


def test_report_links_each_figure_to_its_own_page(page, site_url, manifest):
    for chapter in manifest["chapters"]:
        open_page(page, site_url + chapter["page"], [])
        for figure in manifest["figures"]:
            if figure["chapter"] == chapter["id"]:
                link = page.locator(f"#{figure['page'].split('#')[1]} a.fg-open")
                assert link.count() == 1, figure["id"]
    open_page(page, site_url + "mnist-mlp-lth/", [])
    page.locator("#fig-flowgraph a.fg-open").click()
    page.wait_for_url("**/figures/mnist-mlp-lth/flowgraph/**")
    page.wait_for_selector("#fig-flowgraph .fg-mount[data-ready='true']")
    assert len(inspect(page, "flowgraph")["visible"]) > 0


def test_view_state_round_trips_through_the_url(page, site_url, traces_json, artifacts):
    sample = traces_json["samples"][1]["id"]
    open_page(page, site_url + FLOWGRAPH_PAGE + f"#output=3&sample={sample}", [])
    assert page.locator("#fig-flowgraph select.fg-output").input_value() == "3"
    assert page.locator("#fig-flowgraph select.fg-sample").input_value() == sample
    page.screenshot(path=str(artifacts / "flowgraph-output3-sample.png"), full_page=True)
    page.select_option("#fig-flowgraph select.fg-output", "all")
    page.wait_for_function("location.hash.includes('output=all')")


def test_hover_lights_up_exactly_the_ancestors(page, site_url, flowgraph_json):
    from generator.flowgraph.graph import ancestors
    fed = {e["target"] for e in flowgraph_json["edges"]}
    output = next(n["id"] for n in flowgraph_json["nodes"] if n["kind"] == "output" and n["id"] in fed)
    open_page(page, site_url + FLOWGRAPH_PAGE, [])
    x, y = page.evaluate("(id) => window.flowgraphReport.figures.get('flowgraph').figure.screenPosition(id)", output)
    box = page.locator("#fig-flowgraph .fg-stage").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    state = inspect(page, "flowgraph")
    assert state["hovered"] == output
    assert set(state["lit"]) == ancestors(flowgraph_json, output)     # an output has no descendants
    page.mouse.move(0, 0)
    assert inspect(page, "flowgraph")["lit"] == []
