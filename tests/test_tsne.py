"""The t-SNE chapter: maps of the networks mnist-mlp-lth trained (never trained again), k-NN
accuracies that mean what they say, and the figure in the browser: a click traces that image
through the network's exact graph, a drawing lands among its nearest neighbours in the layer's
space as Python places it, and a brushed group is the points in its box."""
from __future__ import annotations

import json

import numpy as np
import pytest

from generator.flowgraph.export import validate
from generator.flowgraph.graph import evaluate
from generator.inside.tsne import knn_accuracy, layer_values
from tests.conftest import chapter_config

READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"
FIGURE = "window.flowgraphReport.figures.get('map').figure"


def test_knn_accuracy_is_one_on_separated_classes_and_chance_on_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 50)
    separated = rng.normal(size=(150, 5)) * 0.1 + labels[:, None] * 10.0
    assert knn_accuracy(separated, labels, 5) == 1.0
    noise = rng.normal(size=(3000, 2))
    assert abs(knn_accuracy(noise, rng.integers(0, 2, 3000), 9) - 0.5) < 0.05
    # Leave-one-out: a point never votes for itself, so two lone points of different labels are both wrong.
    assert knn_accuracy(np.array([[0.0], [1.0]]), np.array([0, 1]), 1) == 0.0


@pytest.fixture(scope="module")
def embedding(quick_build):
    return json.loads((quick_build["data"] / "tsne" / "embedding.json").read_text())


def test_maps_are_of_mnist_mlp_lths_networks_and_train_nothing(quick_build, embedding, manifest):
    validate(embedding, "embedding")
    lottery = manifest["experiments"]["mnist-mlp-lth"]
    dense, pruned = embedding["networks"]
    assert (dense["seed"], dense["round"]) == (lottery["selected_seed"], 0)
    assert (pruned["seed"], pruned["round"]) == (lottery["selected_seed"], lottery["selected_round"])
    assert pruned["flowgraph"] == lottery["flowgraph"] and dense["flowgraph"] == lottery["round_flowgraphs"][0]
    # The tsne tasks ran in this build, and no training task ran for them.
    tsne_runs = [run for run in quick_build["runs"] if run["key"].startswith("map-layer-")]
    assert len(tsne_runs) == 2 * len(embedding["layers"])
    assert manifest["experiments"]["tsne"]["knn_accuracy"]["pruned"]["logits"]["space"] == \
        embedding["maps"]["pruned"]["logits"]["knn_space"]


def test_each_maps_layer_space_is_its_published_graphs_values(quick_build, embedding):
    config = chapter_config("tsne")
    from generator.networks.data import load_mnist
    test = load_mnist(chapter_config("mnist-mlp-lth").data).test
    pixels = test.pixels[:config.points]
    for network in embedding["networks"]:
        graph = json.loads((quick_build["site"] / network["flowgraph"]).read_text())
        layers = layer_values(graph, pixels)
        assert [name for name, _, _ in layers] == [layer["name"] for layer in embedding["layers"]]
        for (name, ids, values), layer in zip(layers, embedding["layers"]):
            shipped = embedding["maps"][network["id"]][layer["id"]]
            assert shipped["nodes"] == ids
            assert shipped["knn_space"] == knn_accuracy(values, np.asarray(embedding["labels"]), embedding["k"])
            xy = np.column_stack([shipped["x"], shipped["y"]])
            assert abs(knn_accuracy(xy, np.asarray(embedding["labels"]), embedding["k"]) - shipped["knn_map"]) <= 0.01
        assert layers[-1][2].argmax(axis=1).tolist() == network["predictions"]
    # The dense network separates the digits better in its logits than in raw pixels.
    dense = embedding["maps"]["dense"]
    assert dense["logits"]["knn_space"] > dense["pixels"]["knn_space"]


def open_map(page, url):
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_function(READY, timeout=20_000)


@pytest.mark.browser
def test_a_click_in_the_map_traces_that_image_through_the_networks_graph(page, site_url, quick_build, embedding):
    open_map(page, site_url + "figures/tsne/map/")
    index = 7
    x, y = page.evaluate(f"{FIGURE}.inspect().screen('pruned', {index})")
    page.mouse.click(x, y)
    page.wait_for_function(f"{FIGURE}.inspect().trace !== null", timeout=10_000)
    shown = page.evaluate(f"{FIGURE}.inspect()")
    assert shown["selected"] == index and shown["trace"]["network"] == "pruned"
    assert shown["trace"]["label"].startswith(f"test image #{embedding['test_index'][index]} ")
    graph = json.loads((quick_build["site"] / embedding["networks"][1]["flowgraph"]).read_text())
    from generator.networks.data import load_mnist
    pixels = load_mnist(chapter_config("mnist-mlp-lth").data).test.pixels[embedding["test_index"][index]]
    values = evaluate(graph, pixels[None, :] / 255.0)[0]
    for node, value in zip(graph["nodes"], values):
        assert abs(shown["trace"]["values"][node["id"]] - value) < 1e-9
    assert "point=pruned%3A7" in page.evaluate("location.hash")
    # The link reopens the same trace.
    page.goto(page.url)
    page.wait_for_function(f"{READY} && {FIGURE}.inspect().trace !== null", timeout=20_000)
    assert page.evaluate(f"{FIGURE}.inspect().selected") == index


@pytest.mark.browser
def test_a_drawing_is_placed_where_its_nearest_neighbours_in_the_layer_are(page, site_url, quick_build, embedding):
    from generator.networks.data import load_mnist
    open_map(page, site_url + "figures/tsne/map/#layer=layer-1")
    page.evaluate("document.querySelector('.fg-tsne-draw').open = true")
    pad = page.locator(".fg-tsne-draw canvas.fg-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for t in range(1, 21):
        page.mouse.move(box["x"] + box["width"] * (0.45 + 0.005 * t), box["y"] + box["height"] * (0.15 + 0.035 * t))
    page.mouse.up()
    page.wait_for_function(f"{FIGURE}.inspect().drawing !== null", timeout=20_000)
    shown = page.evaluate(f"{FIGURE}.inspect()")
    assert shown["state"]["layer"] == "layer-1"
    pixels = np.asarray(shown["drawing"]["pixels"], dtype=np.float64)
    assert pixels.sum() > 0
    test = load_mnist(chapter_config("mnist-mlp-lth").data).test.pixels[:embedding["points"]]
    for network in embedding["networks"]:
        graph = json.loads((quick_build["site"] / network["flowgraph"]).read_text())
        reference = layer_values(graph, test)[1][2]
        mine = layer_values(graph, pixels[None, :])[1][2][0]
        nearest = np.lexsort((np.arange(len(reference)), ((reference - mine) ** 2).sum(axis=1)))[:embedding["k"]]
        place = shown["drawing"]["places"][network["id"]]
        assert sorted(place["neighbours"]) == sorted(nearest.tolist())
    page.wait_for_function("location.hash.includes('drawing=')", timeout=5_000)


@pytest.mark.browser
def test_a_brushed_group_is_every_point_in_its_box_in_both_maps(page, site_url):
    open_map(page, site_url + "figures/tsne/map/")
    page.locator(".fg-tsne-select").click()
    stage = page.locator(".fg-tsne-stage").first.bounding_box()
    page.mouse.move(stage["x"] + stage["width"] * 0.2, stage["y"] + stage["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * 0.7, stage["y"] + stage["height"] * 0.7, steps=6)
    page.mouse.up()
    page.wait_for_function(f"{FIGURE}.inspect().group !== null", timeout=5_000)
    group = page.evaluate(f"{FIGURE}.inspect().group")
    inside = page.evaluate(f"""(() => {{
      const f = {FIGURE}.inspect(); const [x0, y0, x1, y1] = f.group.box; const out = [];
      for (let i = 0; i < {FIGURE}.inspect().points; i++) {{
        const [x, y] = f.fitted('dense', i); if (x >= x0 && x <= x1 && y >= y0 && y <= y1) out.push(i); }}
      return out; }})()""")
    assert group["network"] == "dense" and group["members"] == inside and len(inside) > 0
    assert page.locator(".fg-tsne-cell").count() == min(len(inside), 120)
    # A click on an image of the group traces it.
    page.locator(".fg-tsne-cell").first.click()
    page.wait_for_function(f"{FIGURE}.inspect().trace !== null", timeout=10_000)
    assert page.evaluate(f"{FIGURE}.inspect().selected") == inside[0]
