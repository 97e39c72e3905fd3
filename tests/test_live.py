"""The live network in the browser: a drawing evaluated exactly, pruning scored on all 10,000 test
images exactly as numpy scores it, lottery rounds, search, pins, links that reopen the view, and
CartPole simulated as gymnasium does."""
from __future__ import annotations

import json

import numpy as np
import pytest

from generator.flowgraph.graph import ancestors, evaluate, output_logits

pytestmark = pytest.mark.browser

READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"
LIVE = "figures/mnist-mlp-lth/live/"


def live(page):
    return page.evaluate("window.flowgraphReport.figures.get('live').figure.inspect()")


def open_live(page, url):
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_function("window.flowgraphReport.figures.get('live').figure.inspect().score !== null", timeout=30_000)


def selected_round_graph(quick_build, manifest, chapter="mnist-mlp-lth"):
    entry = manifest["experiments"][chapter]
    path = entry["round_flowgraphs"][[r["round"] for r in entry["rounds"]].index(entry["selected_round"])]
    return json.loads((quick_build["site"] / path).read_text())


def draw_stroke(page):
    pad = page.locator("#fig-live canvas.fg-pad").bounding_box()
    page.mouse.move(pad["x"] + 70, pad["y"] + 40)
    page.mouse.down()
    for i in range(25):
        page.mouse.move(pad["x"] + 70 + 2 * i, pad["y"] + 40 + 5 * i)
    page.mouse.up()
    page.wait_for_timeout(300)


def test_a_drawn_stroke_is_evaluated_exactly(page, site_url, quick_build, manifest, artifacts):
    graph = selected_round_graph(quick_build, manifest)
    open_live(page, site_url + LIVE)
    draw_stroke(page)
    state = live(page)
    pixels = np.array(state["input"], dtype=np.float64)
    assert pixels.shape == (784,) and 20 < np.count_nonzero(pixels) < 400
    # MNIST's preprocessing: the digit within a 20x20 box, its centre of mass near the middle.
    rows, cols = np.nonzero(pixels.reshape(28, 28))
    assert rows.max() - rows.min() < 20 and cols.max() - cols.min() < 20
    mass = pixels.reshape(28, 28)
    centre = (np.arange(28) @ mass.sum(1) / mass.sum(), np.arange(28) @ mass.sum(0) / mass.sum())
    assert abs(centre[0] - 13.5) <= 1.5 and abs(centre[1] - 13.5) <= 1.5
    values = evaluate(graph, (pixels / 255.0)[None])[0]
    page_values = state["graph"]["values"]
    assert max(abs(page_values[n["id"]] - v) for n, v in zip(graph["nodes"], values)) <= 1e-9
    prediction = int(output_logits(graph, values[None]).argmax())
    labels = {label["id"]: label["text"] for label in state["graph"]["labels"]}
    assert "◀ predicted" in labels[f"y{prediction}"]
    page.wait_for_function("location.hash.includes('drawing=')")   # once the pen rests
    page.locator("#fig-live").screenshot(path=str(artifacts / "live-drawn.png"))


@pytest.mark.parametrize("threshold", [0.05, 0.2])
def test_pruned_accuracy_equals_numpy_on_the_same_pruned_graph(page, site_url, quick_build, manifest, mnist_quick, threshold):
    graph = selected_round_graph(quick_build, manifest)
    open_live(page, site_url + LIVE)
    score = page.evaluate(f"window.flowgraphReport.figures.get('live').figure.setThreshold({threshold})")
    pruned = {**graph, "edges": [{**e, "weight": 0.0 if abs(e["weight"]) < threshold else e["weight"]}
                                 for e in graph["edges"]]}
    test = mnist_quick.test
    logits = np.concatenate([output_logits(pruned, evaluate(pruned, test.pixels[i:i + 2000] / 255.0))
                             for i in range(0, 10_000, 2000)])
    assert score["correct"] == int((logits.argmax(1) == test.labels).sum())
    assert score["predictions"] == logits.argmax(1).tolist()
    text = page.locator("#fig-live .fg-accuracy").inner_text()
    assert f"{100 * score['correct'] / 10_000:.2f}%" in text
    assert f"threshold={threshold}" in page.evaluate("location.hash")


def test_rounds_are_loaded_when_chosen_and_small(page, site_url, quick_build, manifest):
    entry = manifest["experiments"]["mnist-mlp-lth"]
    for path in entry["round_flowgraphs"]:
        assert (quick_build["site"] / path).stat().st_size <= 2_000_000
    open_live(page, site_url + LIVE)
    first = entry["rounds"][0]["round"]
    page.select_option("#fig-live select.fg-round-select", str(first))
    # Drawn and scored: the round's graph has loaded (after state.round changed) and its own
    # baseline accuracy is in.
    page.wait_for_function(f"(s => s.shownRound === {first} && s.imagesLoaded)(window.flowgraphReport.figures.get('live').figure.inspect())")
    round_graph = json.loads((quick_build["site"] / entry["round_flowgraphs"][0]).read_text())
    state = live(page)
    assert sorted(state["graph"]["visible"]) == sorted(n["id"] for n in round_graph["nodes"])
    assert f"round={first}" in page.evaluate("location.hash")
    accuracy = float(page.locator("#fig-live .fg-accuracy").inner_text().split("accuracy ")[1].split("%")[0])
    assert abs(accuracy / 100 - entry["rounds"][0]["test_accuracy"]) < 1e-4   # the build's own figure


def test_clicking_a_round_in_the_chart_opens_it_in_the_live_figure(page, site_url, manifest):
    entry = manifest["experiments"]["mnist-mlp-lth"]
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(site_url + "mnist-mlp-lth/")
    page.wait_for_function(READY, timeout=20_000)
    target = entry["rounds"][1]["round"]
    # The chart's point for that round (vega labels each point with its fields).
    point = page.locator(f"#fig-accuracy-vs-weights .mark-symbol path[aria-label*='split: test; round: {target};']").first
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(f"location.hash.includes('live.round={target}')", timeout=10_000)
    assert page.evaluate("window.flowgraphReport.figures.get('live').figure.inspect().state.round") == target


def test_find_a_node_by_name_and_pin_two_to_see_the_paths_between(page, site_url, quick_build, manifest):
    graph = selected_round_graph(quick_build, manifest)
    open_live(page, site_url + LIVE)
    page.fill("#fig-live .fg-find-input", "y7")
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert live(page)["graph"]["selected"] == "y7"
    x, y = page.evaluate("window.flowgraphReport.figures.get('live').figure.screenPosition('y7')")
    box = page.locator("#fig-live .fg-live-graph .fg-stage").bounding_box()
    assert abs(x - box["width"] / 2) < 2 and abs(y - box["height"] / 2) < 2    # centred on it
    missing = next(f"x[{i // 28},{i % 28}]" for i in range(784) if f"x{i}" not in {n["id"] for n in graph["nodes"]})
    page.fill("#fig-live .fg-find-input", missing)
    page.keyboard.press("Enter")
    assert "does not read that pixel" in page.locator("#fig-live .fg-find-note").inner_text()
    # Pin an output and a first-layer neuron that feeds it: the paths between them appear.
    neuron = next(e["source"] for e in graph["edges"] if e["target"] == "y7" and e["source"].startswith("h2_"))
    source = next(e["source"] for e in graph["edges"] if e["target"] == neuron)
    for node_id in ("y7", source):
        page.fill("#fig-live .fg-find-input", node_id)
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)
        page.locator("#fig-live .fg-live-graph .fg-panel-pin").click()
    state = live(page)
    expected = (ancestors(graph, "y7") & _descendants(graph, source)) | {"y7", source}
    assert set(state["pinned"]) == expected
    assert "pins=" in page.evaluate("location.hash")


def _descendants(graph, node_id):
    out, stack = {node_id}, [node_id]
    while stack:
        current = stack.pop()
        for e in graph["edges"]:
            if e["source"] == current and e["target"] not in out:
                out.add(e["target"])
                stack.append(e["target"])
    return out


def test_a_copied_link_reopens_the_same_view(page, site_url, quick_build, manifest):
    open_live(page, site_url + LIVE)
    draw_stroke(page)
    page.evaluate("window.flowgraphReport.figures.get('live').figure.setThreshold(0.1)")
    page.wait_for_function("location.hash.includes('drawing=') && location.hash.includes('threshold=')")
    before = live(page)
    url = page.url
    page.goto("about:blank")
    open_live(page, url)
    after = live(page)
    assert after["input"] == before["input"]
    assert after["state"]["threshold"] == pytest.approx(before["state"]["threshold"], rel=1e-3)
    assert after["score"]["correct"] == before["score"]["correct"]


@pytest.mark.filterwarnings("ignore:.*calling 'step\\(\\)' even though:UserWarning")   # past the end, on purpose
def test_cartpole_in_the_page_is_gymnasium_for_200_steps(page, site_url, quick_build):
    import gymnasium as gym
    graph = json.loads((quick_build["data"] / "cartpole-dqn" / "flowgraph.json").read_text())
    page.goto(site_url + "figures/cartpole-dqn/balance/")
    page.wait_for_function(READY, timeout=20_000)
    rng = np.random.default_rng(0)
    for seed in (0, 3):
        env = gym.make("CartPole-v1")
        env.reset(seed=seed)
        start = np.array(env.unwrapped.state, dtype=np.float64)
        actions = rng.integers(0, 2, size=200).tolist()
        expected = [start.copy()]
        for action in actions:
            env.unwrapped.step(action)           # past the end too: the equations, not the episode
            expected.append(np.array(env.unwrapped.state, dtype=np.float64))
        states = page.evaluate("([start, actions]) => window.flowgraphReport.figures.get('balance').figure"
                               ".simulate(start, actions)", [start.tolist(), actions])
        assert np.abs(np.array(states) - np.array(expected)).max() <= 1e-9
        # The page's agent is the graph's argmax, as numpy computes it, on what the agent sees.
        observations = np.array(expected[:60], dtype=np.float32)
        page_actions = [page.evaluate("(o) => window.flowgraphReport.figures.get('balance').figure.policy(o)",
                                      o.astype(np.float64).tolist()) for o in observations]
        numpy_actions = output_logits(graph, evaluate(graph, observations.astype(np.float64))).argmax(1)
        assert page_actions == numpy_actions.tolist()


def test_cartpole_runs_live_and_a_nudge_pushes_the_cart(page, site_url):
    page.goto(site_url + "figures/cartpole-dqn/balance/")
    page.wait_for_function(READY, timeout=20_000)
    page.locator("#fig-balance .fg-run").click()
    page.wait_for_timeout(500)
    running = page.evaluate("window.flowgraphReport.figures.get('balance').figure.inspect()")
    assert running["steps"] >= 10 or running["status"] in ("fell", "balanced")
    page.locator("#fig-balance .fg-reset").click()
    before = page.evaluate("window.flowgraphReport.figures.get('balance').figure.inspect().state")
    page.locator("#fig-balance .fg-nudge-right").click()
    page.evaluate("window.flowgraphReport.figures.get('balance').figure.tick()")
    nudged = page.evaluate("window.flowgraphReport.figures.get('balance').figure.inspect().state")
    plain = page.evaluate("([s]) => { const f = window.flowgraphReport.figures.get('balance').figure;"
                          " return f.simulate(s, [f.policy(f.observe(s))])[1]; }", [before])
    assert nudged[1] > plain[1]                                   # the push added velocity to the right
