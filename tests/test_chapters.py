"""Every chapter's graph IS its network (quick profile, from the JSON files alone), the CartPole
graph is a working policy on its own, and each new figure works in the browser."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from generator.networks.cartpole import episodes, greedy, returns_vectorised, step
from generator.flowgraph.graph import evaluate, output_logits
from tests.conftest import REPO, cached_task, chapter_config

READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"


def load(quick_build, chapter, name):
    return json.loads((quick_build["data"] / chapter / name).read_text())


@pytest.mark.parametrize("chapter", ["mnist-mlp-lth-dense-first", "mnist-cnn"])
def test_mnist_chapter_graphs_reproduce_their_networks_on_every_test_image(quick_build, manifest, mnist_quick, chapter):
    from generator.networks.prune import lottery_model
    graph = load(quick_build, chapter, "flowgraph.json")
    entry = manifest["experiments"][chapter]
    config = chapter_config(chapter)
    model = lottery_model(config, cached_task(chapter, f"seed-{entry['selected_seed']}"), entry["selected_round"])
    test = mnist_quick.test
    with torch.no_grad():
        expected = torch.cat([model(test.inputs[i:i + 2000]) for i in range(0, 10_000, 2000)]).double().numpy()
    logits = np.concatenate([output_logits(graph, evaluate(graph, test.pixels[i:i + 1000] / 255.0))
                             for i in range(0, 10_000, 1000)])
    assert np.abs(logits - expected).max() < 1e-4
    assert (logits.argmax(1) == expected.argmax(1)).all()


def test_the_cnn_graph_unrolls_convolutions_and_reports_subgraph_sizes(quick_build, manifest):
    from generator.flowgraph.graph import subgraph_size
    graph = load(quick_build, "mnist-cnn", "flowgraph.json")
    entry = manifest["experiments"]["mnist-cnn"]
    conv = [n for n in graph["nodes"] if "channel" in n]
    assert conv and all(0 <= n["row"] < 26 and 0 <= n["col"] < 26 and 0 <= n["channel"] < 6 for n in conv)
    for c, size in entry["subgraph_sizes"].items():
        assert [size["vertices"], size["edges"]] == list(subgraph_size(graph, f"y{c}"))
    assert entry["unrolled"]["edges"] > entry["edges"] > sum(entry["rounds"][-1]["weights_per_layer"])


def test_the_cartpole_graph_is_the_policy_from_the_json_alone(quick_build, manifest):
    graph = load(quick_build, "cartpole-dqn", "flowgraph.json")
    episode = load(quick_build, "cartpole-dqn", "episode.json")
    entry = manifest["experiments"]["cartpole-dqn"]
    config = chapter_config("cartpole-dqn")

    def policy(observations):          # nothing but the exported graph and numpy
        return output_logits(graph, evaluate(graph, np.asarray(observations, dtype=np.float64))).argmax(1)

    observations = np.array(episode["observations"][:-1], dtype=np.float32)
    assert (policy(observations) == np.array(episode["actions"])).all()
    replayed = episodes(policy, [episode["seed"]])[0]
    assert replayed.ret == episode["return"] and (replayed.actions == np.array(episode["actions"])).all()
    returns = [e.ret for e in episodes(policy, config.seed_range("evaluation_seeds"))]
    assert np.mean(returns) == entry["evaluation"]["mean_return"]
    names = {n["name"] for n in graph["nodes"] if n["kind"] == "input"}
    assert names == set(entry["input_names"]) - set(entry["ignored_inputs"])


def test_vectorised_episodes_match_gymnasium(quick_build):
    from generator.chapters.cartpole_dqn import network
    config = chapter_config("cartpole-dqn")
    policy = greedy(network(config, cached_task("cartpole-dqn", "seed-0"), "student"))
    seeds = list(range(3000, 3012))
    recorded = episodes(policy, seeds)
    returns, _ = returns_vectorised(policy, seeds)
    assert returns.tolist() == [e.ret for e in recorded]
    # One step of the vectorised dynamics is gymnasium's step, to the last bit.
    states = np.concatenate([e.states[:-1] for e in recorded])
    actions = np.concatenate([e.actions for e in recorded])
    nexts = np.concatenate([e.states[1:] for e in recorded])
    assert np.array_equal(step(states, actions), nexts)


def test_the_schema_page_snippet_runs_against_the_site(site_url):
    text = (REPO / "docs" / "schema.md").read_text()
    code = re.search(r"## Load a graph and evaluate it.*?```python\n(.*?)```", text, re.S).group(1)
    code = code.replace('SITE = "http://127.0.0.1:8000/"', f'SITE = "{site_url}"')
    namespace: dict = {}
    exec(compile(code, "docs/schema.md", "exec"), namespace)   # its own asserts check the values
    assert namespace["prediction"] == namespace["sample"]["prediction"]


@pytest.mark.browser
def test_the_episode_figure_steps_through_the_recorded_episode(page, site_url, quick_build):
    graph = load(quick_build, "cartpole-dqn", "flowgraph.json")
    episode = load(quick_build, "cartpole-dqn", "episode.json")
    problems = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(site_url + "figures/cartpole-dqn/episode/")
    page.wait_for_function(READY)
    for step_number in (0, 7, len(episode["actions"]) // 2):
        page.locator("#fig-episode input.fg-step").fill(str(step_number))
        page.wait_for_function(f"location.hash.includes('step={step_number}')")
        state = page.evaluate("window.flowgraphReport.figures.get('episode').figure.inspect()")
        expected = evaluate(graph, np.array([episode["observations"][step_number]], dtype=np.float64))[0]
        assert np.abs(np.array(state["values"]) - expected).max() <= 1e-9
        readout = page.locator("#fig-episode .fg-readout").inner_text()
        assert ("push right" if episode["actions"][step_number] else "push left") in readout
        assert "(as recorded)" in readout
        transform = page.locator("#fig-episode .fg-cart").get_attribute("transform")
        assert transform == f"translate({episode['states'][step_number][0]},0)"
    page.locator("#fig-episode .fg-play").click()
    page.wait_for_timeout(400)
    assert page.evaluate("window.flowgraphReport.figures.get('episode').figure.inspect().step") > len(episode["actions"]) // 2
    assert problems == []


@pytest.mark.browser
def test_the_cnn_figure_draws_every_node_and_hovers(page, site_url, quick_build):
    graph = load(quick_build, "mnist-cnn", "flowgraph.json")
    page.goto(site_url + "figures/mnist-cnn/flowgraph/")
    page.wait_for_function(READY)
    state = page.evaluate("window.flowgraphReport.figures.get('flowgraph').figure.inspect()")
    assert len(state["visible"]) == len(graph["nodes"]) and state["edges"] == len(graph["edges"])
    output = next(n["id"] for n in graph["nodes"] if n["kind"] == "output")
    x, y = page.evaluate("(id) => window.flowgraphReport.figures.get('flowgraph').figure.screenPosition(id)", output)
    box = page.locator("#fig-flowgraph .fg-stage").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    lit = page.evaluate("window.flowgraphReport.figures.get('flowgraph').figure.inspect().lit")
    from generator.flowgraph.graph import ancestors
    assert set(lit) == ancestors(graph, output)


def log_scale_values(spec: dict):
    """(field, value) for every value a chart puts on a log scale, layer by layer."""
    layers = spec.get("layer", [spec])
    for layer in layers:
        values = (layer.get("data") or spec.get("data") or {}).get("values", [])
        for channel in layer.get("encoding", {}).values():
            if isinstance(channel, dict) and channel.get("scale", {}).get("type") == "log":
                yield from ((channel["field"], row.get(channel["field"])) for row in values)


def test_no_chart_puts_zero_on_a_log_axis(quick_build):
    # Vega draws a log axis with one value <= 0 as an empty frame (its domain becomes NaN).
    specs = sorted(quick_build["data"].glob("*/*.vl.json"))
    assert specs
    for path in specs:
        for field, value in log_scale_values(json.loads(path.read_text())):
            assert isinstance(value, (int, float)) and value > 0, (path.name, field, value)


def test_the_return_chart_leaves_out_empty_candidates_and_says_so():
    from generator.site import charts
    from generator.chapters.cartpole_dqn import off_axis_text
    rounds = [{"round": 0, "weights": 1216, "share": 0.0, "validation_mean_return": 500.0, "accepted": True},
              {"round": 1, "weights": 0, "share": 0.2, "validation_mean_return": 9.24, "accepted": False},
              {"round": 1, "weights": 900, "share": 0.1, "validation_mean_return": 500.0, "accepted": True}]
    spec = charts.return_vs_weights(rounds, 500)
    assert sorted(v for _, v in log_scale_values(spec)) == [900, 900, 1216, 1216]  # the line and the points
    assert "1 candidate whose distillation left no weight" in off_axis_text(rounds)
    assert off_axis_text(rounds[:1]) == ""
