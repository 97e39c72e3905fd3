"""Strongest stimuli: the images that drive each hidden neuron hardest, on the graphs the report
publishes, ordered strongest first (ties in test-set order); shown per layer and in any
flowgraph's node panel."""
from __future__ import annotations

import json

import numpy as np
import pytest

from generator.flowgraph.graph import evaluate
from generator.inside.stimuli import strongest_stimuli

READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"


def test_strongest_first_and_ties_in_test_set_order():
    # One input pixel, one ReLU neuron h = relu(x - 0.5): images 0..5 with pixel values chosen so
    # that two images tie and two are below the ReLU's cut.
    graph = {"nodes": [{"id": "x0", "kind": "input", "index": 0, "layer": 0},
                       {"id": "h1_0", "kind": "neuron", "layer": 1, "bias": -0.5, "activation": "relu"},
                       {"id": "y0", "kind": "output", "class": 0, "layer": 2, "bias": 0.0, "activation": "identity"}],
             "edges": [{"source": "x0", "target": "h1_0", "weight": 1.0}, {"source": "h1_0", "target": "y0", "weight": 1.0}]}
    pixels = np.array([[51], [255], [204], [255], [0], [153]], dtype=np.uint8)
    found = strongest_stimuli(graph, pixels, 4)["h1_0"]
    assert found["test_index"] == [1, 3, 2, 5]
    assert found["values"] == pytest.approx([0.5, 0.5, 0.3, 0.1])


@pytest.fixture(scope="module")
def stimuli(quick_build):
    return json.loads((quick_build["data"] / "stimuli" / "stimuli.json").read_text())


def test_every_hidden_neuron_of_each_published_graph_has_its_strongest_images(quick_build, stimuli, mnist_quick):
    for network in stimuli["networks"]:
        graph = json.loads((quick_build["site"] / network["flowgraph"]).read_text())
        hidden = [n["id"] for n in graph["nodes"] if n["kind"] == "neuron"]
        assert [n["id"] for n in network["neurons"]] == hidden
        values = evaluate(graph, mnist_quick.test.pixels / 255.0)
        column = {n["id"]: k for k, n in enumerate(graph["nodes"])}
        for neuron in network["neurons"][:6]:
            v = values[:, column[neuron["id"]]]
            assert neuron["values"][0] == pytest.approx(v.max(), abs=1e-6)
            assert all(a >= b for a, b in zip(neuron["values"], neuron["values"][1:]))
            assert neuron["labels"] == [int(mnist_quick.test.labels[i]) for i in neuron["test_index"]]
            assert v[neuron["test_index"]] == pytest.approx(neuron["values"], abs=1e-6)


@pytest.mark.browser
def test_a_neurons_panel_in_the_flowgraph_shows_its_strongest_images(page, site_url, stimuli):
    ticket = next(n for n in stimuli["networks"] if n["id"] == "ticket")
    neuron = next(n for n in ticket["neurons"] if n["values"][0] > 0)
    page.goto(site_url + f"figures/mnist-mlp-lth/flowgraph/#node={neuron['id']}")
    page.wait_for_function(READY, timeout=20_000)
    shown = page.locator(".fg-panel .fg-panel-stimuli .fg-stimuli-item")
    shown.first.wait_for(timeout=20_000)
    titles = [shown.nth(k).get_attribute("title") for k in range(shown.count())]
    assert [t.split(":")[0] for t in titles] == [f"test image #{i}" for i in neuron["test_index"]]


@pytest.mark.browser
def test_the_grid_shows_a_layer_of_the_dense_network_beside_the_chosen_ticket(page, site_url, stimuli):
    page.goto(site_url + "figures/stimuli/grid/#layer=2&network=dense-first")
    page.wait_for_function(READY, timeout=20_000)
    cards = page.evaluate("window.flowgraphReport.figures.get('grid').figure.inspect().cards")
    expected = [f"{n['id']}:{x['id']}" for n in stimuli["networks"] if n["id"] in ("dense", "dense-first")
                for x in n["neurons"] if x["layer"] == 2]
    assert cards == expected
    page.locator(".fg-stimuli-card").first.click()
    assert "node=dense%3A" in page.evaluate("location.hash")
    assert page.locator(".fg-stimuli-panel a").get_attribute("href").endswith("#fig-live&live.round=0&live.node="
                                                                               + expected[0].split(":")[1])
