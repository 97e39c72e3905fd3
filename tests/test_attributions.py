"""Attributions: Captum's methods called one way, guided backpropagation that is plain
backpropagation where there is no ReLU, and the exact contributions of the graph: they are the
gradient times the input on the image's activation pattern, they add up with the region's
constant to the logit, and the page computes the same numbers."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from torch import nn

from generator.inside.attributions import METHODS, attribute, exact_contributions
from tests.conftest import chapter_config

READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"


class Settings:
    occlusion_patch, occlusion_stride, integrated_gradients_steps = 4, 2, 8


def test_guided_backprop_is_plain_backprop_on_a_network_without_relu():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 16), nn.Linear(16, 10))
    pixels = np.random.default_rng(0).integers(0, 256, size=(3, 784)).astype(np.uint8)
    targets = np.array([1, 4, 7])
    guided = attribute("guided-backprop", model, pixels, targets, Settings)
    x = torch.from_numpy(pixels / 255.0).requires_grad_()
    model.double()(x).gather(1, torch.from_numpy(targets)[:, None]).sum().backward()
    assert np.allclose(guided, x.grad.numpy(), atol=1e-12)
    # With a ReLU it is not: guided backpropagation also cuts negative gradients.
    relu = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10))
    assert not np.allclose(attribute("guided-backprop", relu, pixels, targets, Settings),
                           attribute("saliency", relu, pixels, targets, Settings))


def test_every_method_has_one_call_shape():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(784, 8), nn.ReLU(), nn.Linear(8, 10))
    pixels = np.random.default_rng(1).integers(0, 256, size=(2, 784)).astype(np.uint8)
    for method in METHODS:
        found = attribute(method, model, pixels, np.array([0, 3]), Settings)
        assert found.shape == (2, 784) and np.isfinite(found).all()


def test_exact_contributions_are_gradient_times_input_and_add_up_to_the_logit(quick_build, quick_model, mnist_quick):
    graph = json.loads((quick_build["data"] / "mnist-mlp-lth" / "flowgraph.json").read_text())
    model = copy.deepcopy(quick_model).double()   # the fixture's model is shared: left as it is
    for i in range(8):
        pixels = mnist_quick.test.pixels[i]
        x = torch.from_numpy(pixels[None, :] / 255.0).requires_grad_()
        logits = model(x)
        target = int(logits.argmax())
        logits[0, target].backward()
        contributions, constant, logit = exact_contributions(graph, pixels, target)
        assert logit == pytest.approx(float(logits[0, target].detach()), abs=1e-9)
        assert np.allclose(contributions, (x.grad * x).detach().numpy()[0], atol=1e-12)
        assert contributions.sum() + constant == pytest.approx(logit, abs=1e-9)


def test_the_chapter_publishes_every_method_for_every_network(quick_build, manifest):
    document = json.loads((quick_build["data"] / "attributions" / "attributions.json").read_text())
    entry = manifest["experiments"]["attributions"]
    assert entry["methods"] == [*METHODS, "exact"] and len(entry["images"]) == 10
    assert entry["contribution_check"] < 1e-9
    assert [n["id"] for n in document["networks"]] == ["dense", "pruned", "spade"]
    for network in document["networks"]:
        assert set(document["maps"][network["id"]]) == set(entry["methods"])
        assert all(len(maps) == len(document["images"]) for maps in document["maps"][network["id"]].values())
    # The SPADE row's circuits are the spade chapter's for the same images.
    circuits = {s["test_index"]: s for s in manifest["experiments"]["spade"]["samples"]}
    spade = document["networks"][2]
    shared = [(k, image["test_index"]) for k, image in enumerate(document["images"]) if image["test_index"] in circuits]
    assert shared
    for k, i in shared:
        graph = json.loads((quick_build["site"] / spade["flowgraphs"][k]).read_text())
        assert len(graph["edges"]) == circuits[i]["edges"] and spade["targets"][k] == circuits[i]["prediction"]


@pytest.mark.browser
def test_the_page_computes_the_exact_contributions_python_does(page, site_url, quick_build, mnist_quick):
    document = json.loads((quick_build["data"] / "attributions" / "attributions.json").read_text())
    page.goto(site_url + "figures/attributions/maps/#sample=4&output=9")
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_function("window.flowgraphReport.figures.get('maps').figure.inspect().rows.length === 3", timeout=10_000)
    shown = page.evaluate("window.flowgraphReport.figures.get('maps').figure.inspect()")
    pixels = mnist_quick.test.pixels[document["images"][4]["test_index"]]
    for row, network in zip(shown["rows"], document["networks"]):
        graph = json.loads((quick_build["site"] / (network.get("flowgraph") or network["flowgraphs"][4])).read_text())
        contributions, constant, logit = exact_contributions(graph, pixels, 9)
        assert row["target"] == 9 and row["built"] == []     # Captum's maps are of the predicted logit only
        assert np.allclose(row["contributions"], contributions, atol=1e-12)
        assert row["constant"] == pytest.approx(constant, abs=1e-12) and row["logit"] == pytest.approx(logit, abs=1e-12)
    text = page.locator(".fg-attr-sum").first.text_content()
    assert "logit 9 =" in text and "differ by" in text
