"""The flowgraph on tiny networks computed by hand: bounds, each simplification, and exactness."""
import numpy as np
import pytest
import torch
from torch import nn

from generator.pipeline.errors import BuildError
from generator.flowgraph.graph import (constant_outputs, evaluate, flowgraph_bounds, flowgraph_from_sequential,
                                 output_logits, simplify)


def net(*layers):
    """nn.Sequential from (weight, bias) pairs with ReLU between Linear layers."""
    modules = []
    for k, (w, b) in enumerate(layers):
        w = torch.tensor(w, dtype=torch.float32)
        linear = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(torch.tensor(b, dtype=torch.float32))
        modules.append(linear)
        if k < len(layers) - 1:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


UNIT = [(0.0, 1.0)]


def by_id(graph):
    return {n["id"]: n for n in graph["nodes"]}


def test_dead_relu_is_removed_and_bounds_are_the_hand_computed_ones():
    # h1_0 = relu(x0 - x1) ∈ [0, 1]; h1_1 = relu(-x0 - x1 - 0.5) is never positive.
    model = net(([[1, -1], [-1, -1]], [0, -0.5]), ([[2, 3]], [0.5]))
    raw = flowgraph_from_sequential(model, UNIT * 2)
    assert len(raw["edges"]) == 6
    bounds = flowgraph_bounds(raw)
    assert bounds["h1_0"] == (-1.0, 1.0, 0.0, 1.0)
    assert bounds["h1_1"] == (-2.5, -0.5, 0.0, 0.0)
    assert bounds["y0"] == (0.5, 2.5, 0.5, 2.5)   # h1_1 contributes 3 × [0, 0]
    graph = simplify(raw)
    nodes = by_id(graph)
    assert set(nodes) == {"x0", "x1", "h1_0", "y0"}
    assert nodes["y0"]["bounds"] == [0.5, 2.5] and nodes["h1_0"]["activation"] == "relu"
    assert sorted((e["source"], e["target"], e["weight"]) for e in graph["edges"]) == [
        ("h1_0", "y0", 2.0), ("x0", "h1_0", 1.0), ("x1", "h1_0", -1.0)]


def test_identity_relu_constant_folding_constant_output_and_unused_input():
    # h1_0 = relu(x0 + x1 + 0.5) is never negative → identity.
    # h1_1 = relu(2) has no inputs → the constant 2, folded into y1's bias.
    # h1_2 = relu(-x1 - x2) is never positive → removed, and x2 then feeds nothing.
    # y1 = 3·h1_1 + 5·h1_2 − 1 = 5 for every image → a constant output.
    model = net(([[1, 1, 0], [0, 0, 0], [0, -1, -1]], [0.5, 2.0, 0.0]),
                ([[1, 0, 0], [0, 3, 5]], [0.0, -1.0]))
    graph = simplify(flowgraph_from_sequential(model, UNIT * 3))
    nodes = by_id(graph)
    assert set(nodes) == {"x0", "x1", "h1_0", "y0", "y1"}
    assert nodes["h1_0"]["activation"] == "identity" and nodes["h1_0"]["bounds"] == [0.5, 2.5]
    assert nodes["y1"]["bias"] == 5.0 and nodes["y1"]["bounds"] == [5.0, 5.0]
    assert constant_outputs(graph) == {"1": 5.0}
    assert len(graph["edges"]) == 3


@pytest.mark.parametrize("sizes", [(784, 16, 10), (784, 12, 8, 6, 10)])
def test_any_sequential_of_linear_and_relu_is_reproduced_exactly(sizes):
    torch.manual_seed(0)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    with torch.no_grad():   # prune 95% at random so that simplification has work to do
        for m in model:
            if isinstance(m, nn.Linear):
                m.weight.mul_((torch.rand_like(m.weight) < 0.05).float())
    graph = simplify(flowgraph_from_sequential(model, UNIT * 784))
    x = torch.rand(500, 784)
    with torch.no_grad():
        expected = model(x).double().numpy()
    values = evaluate(graph, x.numpy())
    np.testing.assert_allclose(output_logits(graph, values), expected, atol=1e-5)
    lo = np.array([n["bounds"][0] for n in graph["nodes"]])
    hi = np.array([n["bounds"][1] for n in graph["nodes"]])
    assert (values >= lo - 1e-9).all() and (values <= hi + 1e-9).all()


def test_unsupported_module_is_named():
    with pytest.raises(BuildError, match=r"unsupported module 1 \(Sigmoid\)"):
        flowgraph_from_sequential(nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2)), UNIT * 4)


def test_nan_weights_are_refused():
    model = net(([[1.0, 0.0]], [0.0]),)
    with torch.no_grad():
        model[0].weight[0, 1] = float("nan")
    with pytest.raises(BuildError, match=r"module 0 \(Linear\) has NaN"):
        flowgraph_from_sequential(model, UNIT * 2)


def test_a_convolution_unrolls_into_one_edge_per_used_multiply():
    # One 2x2 kernel with two nonzero weights over a 3x3 image: 2x2 output positions, 2 edges each.
    conv = nn.Conv2d(1, 1, 2)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[1.0, 0.0], [0.0, -2.0]]]]))
        conv.bias.fill_(0.25)
    model = nn.Sequential(nn.Unflatten(1, (1, 3, 3)), conv, nn.ReLU(), nn.Flatten(), nn.Linear(4, 1))
    with torch.no_grad():
        model[4].weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 3.0]]))
        model[4].bias.zero_()
    raw = flowgraph_from_sequential(model, UNIT * 9)
    conv_edges = [e for e in raw["edges"] if e["target"].startswith("c1_")]
    assert len(conv_edges) == 8
    # Position (1, 1) reads pixel (1, 1) with weight 1 and pixel (2, 2) with weight -2.
    assert sorted((e["source"], e["weight"]) for e in conv_edges if e["target"] == "c1_0_1_1") == [
        ("x4", 1.0), ("x8", -2.0)]
    graph = simplify(raw)
    # Only positions 0 and 3 feed the output; the others go, with the pixels only they read.
    assert {n["id"] for n in graph["nodes"] if n["kind"] == "neuron"} == {"c1_0_0_0", "c1_0_1_1"}
    x = torch.rand(200, 9)
    with torch.no_grad():
        expected = model(x).double().numpy()
    np.testing.assert_allclose(output_logits(graph, evaluate(graph, x.numpy())), expected, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_pruned_cnn_is_reproduced_exactly(seed):
    from generator.networks.config import CNNConfig
    from generator.networks.models import make_model, prunable_layers
    model = make_model(CNNConfig(channels=(3, 3), input_side=12), seed)
    with torch.no_grad():
        for layer in prunable_layers(model):
            layer.weight.mul_((torch.rand_like(layer.weight) < 0.3).float())
    graph = simplify(flowgraph_from_sequential(model, UNIT * 144))
    x = torch.rand(300, 144)
    with torch.no_grad():
        expected = model(x).double().numpy()
    values = evaluate(graph, x.numpy())
    np.testing.assert_allclose(output_logits(graph, values), expected, atol=1e-5)
    lo = np.array([n["bounds"][0] for n in graph["nodes"]])
    hi = np.array([n["bounds"][1] for n in graph["nodes"]])
    assert (values >= lo - 1e-9).all() and (values <= hi + 1e-9).all()
