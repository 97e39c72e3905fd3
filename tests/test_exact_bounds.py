"""Exact bounds and exact robustness: every witness reaches its bound through the published
graph, every test image stays inside the bounds, exact bounds are never looser than interval
arithmetic's, and the robustness radius is right where it is known by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from generator.flowgraph.exact import exact_bounds, tighten
from generator.flowgraph.graph import Evaluator, flowgraph_bounds, flowgraph_from_sequential, simplify
from generator.flowgraph.robustness import MARGIN, robustness_radius

from tests.test_own_model import check_witnesses

CHAPTERS = ("mnist-mlp-lth", "mnist-mlp-lth-dense-first")


@pytest.fixture(scope="module")
def published(quick_build, manifest):
    found = {}
    for chapter in CHAPTERS:
        entry = manifest["experiments"][chapter]
        graph = json.loads((quick_build["site"] / entry["flowgraph"]).read_text())
        witnesses = json.loads((quick_build["site"] / entry["witnesses"]).read_text())["witnesses"]
        found[chapter] = (graph, witnesses)
    return found


def test_each_witness_attains_its_bound_through_the_published_graph(published):
    for chapter, (graph, witnesses) in published.items():
        exact = [n["id"] for n in graph["nodes"] if n["kind"] != "input" and n["bounds_kind"] == "exact"]
        fed = {e["target"] for e in graph["edges"]}
        assert set(witnesses) == {i for i in exact if i in fed}, chapter
        assert check_witnesses(graph, witnesses) > 50, chapter


def test_every_test_images_values_lie_inside_the_bounds(published, mnist_quick):
    for chapter, (graph, _) in published.items():
        values = Evaluator(graph).values(mnist_quick.test.pixels / 255.0)
        lo = np.array([n["bounds"][0] for n in graph["nodes"]])
        hi = np.array([n["bounds"][1] for n in graph["nodes"]])
        assert (values >= lo - 1e-6).all() and (values <= hi + 1e-6).all(), chapter


def test_exact_bounds_are_never_looser_than_interval_ones_and_tighter_somewhere(quick_model):
    interval = simplify(flowgraph_from_sequential(quick_model, [(0.0, 1.0)] * 784))
    bounds = exact_bounds(interval, np.zeros(784))
    tightened = tighten(interval, bounds)
    wider = {node["id"]: node["bounds"] for node in interval["nodes"]}
    tighter = 0
    for node in tightened["nodes"]:
        lo, hi = node["bounds"]
        assert lo >= wider[node["id"]][0] - 1e-9 and hi <= wider[node["id"]][1] + 1e-9, node["id"]
        tighter += lo > wider[node["id"]][0] + 1e-6 or hi < wider[node["id"]][1] - 1e-6
    assert tighter > 10
    # and interval arithmetic over the tightened graph itself still contains them
    again = flowgraph_bounds(tightened)
    assert all(again[n["id"]][2] <= n["bounds"][0] + 1e-9 and n["bounds"][1] <= again[n["id"]][3] + 1e-9
               for n in tightened["nodes"])


def hand_graph(first: list[list[float]], first_bias: list[float], second: list[list[float]] | None = None,
               second_bias: list[float] | None = None) -> dict:
    layers = [nn.Linear(len(first[0]), len(first))]
    if second is not None:
        layers += [nn.ReLU(), nn.Linear(len(second[0]), len(second))]
    model = nn.Sequential(*layers)
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(first)), model[0].bias.copy_(torch.tensor(first_bias))
        if second is not None:
            model[2].weight.copy_(torch.tensor(second)), model[2].bias.copy_(torch.tensor(second_bias))
    graph = simplify(flowgraph_from_sequential(model, [(0.0, 1.0)] * len(first[0])))
    return tighten(graph, exact_bounds(graph, np.zeros(len(first[0]))))


def test_the_robustness_radius_of_hand_made_networks():
    # y0 = x0, y1 = x1 at (0.7, 0.3): both move by ε until x1 beats x0 by the margin.
    found = robustness_radius(hand_graph([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]), np.array([0.7, 0.3]))
    assert found.predicted == 0 and found.adversarial_class == 1
    assert found.radius == pytest.approx(0.2 + MARGIN / 2, abs=1e-7)
    assert np.abs(found.adversarial - [0.7, 0.3]).max() <= found.radius + 1e-9
    # y0 = 2·relu(x0 − 0.5), y1 = 0.3 at x0 = 0.9: x0 must fall to 0.65 − margin/2 (a ReLU on the way).
    graph = hand_graph([[1.0, 0.0]], [-0.5], [[2.0], [0.0]], [0.0, 0.3])
    found = robustness_radius(graph, np.array([0.9, 0.2]))
    assert found.predicted == 0 and found.adversarial_class == 1
    assert found.radius == pytest.approx(0.25 + MARGIN / 2, abs=1e-7)
    assert Evaluator(graph).outputs(found.adversarial[None, :])[0].argmax() == 1
    # y0 = x0 + 1.5 beats y1 = x1 everywhere in the box: no radius.
    found = robustness_radius(hand_graph([[1.0, 0.0], [0.0, 1.0]], [1.5, 0.0]), np.array([0.5, 0.5]))
    assert found.radius is None and found.adversarial is None
    # the box stops the change: y0 = x0 + 0.9, y1 = x1 from (0.5, 0.5) needs x0 → 0, x1 → 1 minus slack
    found = robustness_radius(hand_graph([[1.0, 0.0], [0.0, 1.0]], [0.9, 0.0]), np.array([0.5, 0.5]))
    assert found.radius == pytest.approx(0.45 + MARGIN / 2, abs=1e-7)


def test_each_published_adversarial_image_changes_the_prediction_within_its_radius(quick_build, manifest, mnist_quick):
    entry = manifest["experiments"]["robustness"]
    shipped = json.loads((quick_build["site"] / entry["robustness"]).read_text())
    for network in shipped["networks"]:
        graph = json.loads((quick_build["site"] / network["flowgraph"]).read_text())
        read = [n["index"] for n in graph["nodes"] if n["kind"] == "input"]
        for row in network["images"]:
            assert row["radius"] is not None
            adversarial = np.array(row["adversarial"])
            image = mnist_quick.test.pixels[row["test_index"]] / 255.0
            assert np.abs(adversarial[read] - image[read]).max() <= row["radius"] + 1e-9
            logits = Evaluator(graph).outputs(adversarial[None, :])[0]
            assert logits.argmax() == row["adversarial_class"] != row["predicted"]
            assert logits[row["adversarial_class"]] >= logits[row["predicted"]] + MARGIN - 1e-7
