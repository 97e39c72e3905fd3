"""The flowgraph IS the network: on the quick build's real pruned model, from the JSON file alone."""
import json

import jsonschema
import numpy as np
import pytest
import torch

from generator.flowgraph.graph import evaluate, output_logits
from generator.pipeline.paths import SCHEMA_DIR


def test_json_files_match_their_schemas(flowgraph_json, traces_json, manifest):
    for name, document in [("flowgraph", flowgraph_json), ("traces", traces_json), ("manifest", manifest)]:
        schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        jsonschema.Draft202012Validator(schema).validate(document)


def test_exported_graph_reproduces_torch_logits_on_all_test_images(flowgraph_json, quick_model):
    from generator.networks.data import load_mnist
    from generator.networks.config import DataConfig
    test = load_mnist(DataConfig()).test
    with torch.no_grad():
        expected = quick_model(test.inputs).double().numpy()
    # Plain numpy over the parsed file: pixels / 255 in, node values out.
    logits = output_logits(flowgraph_json, evaluate(flowgraph_json, test.pixels / 255.0))
    assert logits.shape == (10_000, 10)
    assert np.abs(logits - expected).max() < 1e-4
    assert (logits.argmax(1) == expected.argmax(1)).all()


def hidden_activations(model, x):
    """Post-activation values of each Linear(+ReLU) block, layer 1 first."""
    out, current = [], x
    with torch.no_grad():
        for module in model:
            current = module(current)
            if isinstance(module, torch.nn.ReLU) or module is model[-1]:
                out.append(current.double().numpy())
    return out


@pytest.mark.parametrize("inputs", ["test images", "uniform random", "random corners"])
def test_bounds_are_sound(inputs, flowgraph_json, quick_model):
    from generator.networks.data import load_mnist
    from generator.networks.config import DataConfig
    generator = torch.Generator().manual_seed(0)
    x = {"test images": lambda: load_mnist(DataConfig()).test.inputs,
         "uniform random": lambda: torch.rand(20_000, 784, generator=generator),
         "random corners": lambda: (torch.rand(20_000, 784, generator=generator) < 0.5).float()}[inputs]()
    layers = hidden_activations(quick_model, x)
    checked = 0
    for node in flowgraph_json["nodes"]:
        if node["kind"] == "input":
            continue
        seen = layers[node["layer"] - 1][:, node["unit"]]
        lo, hi = node["bounds"]
        slack = 1e-5 * (1 + abs(lo) + abs(hi))   # float32 rounding of torch's own arithmetic
        assert seen.min() >= lo - slack and seen.max() <= hi + slack, node["id"]
        checked += 1
    assert checked > 20


def test_traces_are_the_graph_values_of_their_images(flowgraph_json, traces_json):
    samples = traces_json["samples"]
    pixels = np.array([s["pixels"] for s in samples]) / 255.0
    values = evaluate(flowgraph_json, pixels)
    np.testing.assert_allclose(values, np.array([s["values"] for s in samples]), atol=1e-9)
    labels = [s["label"] for s in samples]
    assert all(labels.count(c) >= 2 for c in range(10))
    assert any(s["label"] != s["prediction"] for s in samples)
    assert (output_logits(flowgraph_json, values).argmax(1) == [s["prediction"] for s in samples]).all()


def test_graph_is_simplified_and_layered(flowgraph_json):
    nodes = {n["id"]: n for n in flowgraph_json["nodes"]}
    targets_of = {}
    for e in flowgraph_json["edges"]:
        assert nodes[e["source"]]["layer"] < nodes[e["target"]]["layer"]
        targets_of.setdefault(e["source"], []).append(e["target"])
    order = {n["id"]: k for k, n in enumerate(flowgraph_json["nodes"])}
    assert all(order[e["source"]] < order[e["target"]] for e in flowgraph_json["edges"])
    for node in flowgraph_json["nodes"]:
        if node["kind"] != "output":
            assert node["id"] in targets_of                 # every node reaches an output
        if node.get("activation") == "relu":
            assert node["bounds"][1] > 0                    # no dead ReLU left
    assert flowgraph_json["stats"]["vertices"] == len(nodes)
    assert flowgraph_json["stats"]["edges"] == len(flowgraph_json["edges"])
    inputs = [n for n in flowgraph_json["nodes"] if n["kind"] == "input"]
    assert len(inputs) < 784 and all(0 <= n["index"] < 784 for n in inputs)


def test_the_fast_schema_check_rejects_what_jsonschema_rejects(quick_build):
    """The build accepts a document on fastjsonschema's word (export.validate): on every kind of
    document the build writes, each of a set of damages is rejected by both checks alike."""
    import copy

    import fastjsonschema

    from generator.flowgraph.export import schema
    examples = {"flowgraph": "mnist-mlp-lth/flowgraph.json", "traces": "mnist-mlp-lth/traces.json",
                "manifest": "manifest.json", "embedding": "tsne/embedding.json", "stimuli": "stimuli/stimuli.json",
                "attributions": "attributions/attributions.json", "circuits": "spade/circuits.json",
                "episode": "cartpole-dqn/episode.json", "witnesses": "mnist-mlp-lth/witnesses.json",
                "robustness": "robustness/robustness.json"}
    assert set(examples) == {p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json")}

    def damages(document):
        """A required key dropped, a wrong type, an unknown key, at the top and one level down."""
        for key in list(document)[:3]:
            yield {k: v for k, v in document.items() if k != key}
            yield {**document, key: {"not": "this"}}
        yield {**document, "unexpected": 1}
        for key, value in document.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                first = value[0]
                for inner in list(first)[:2]:
                    yield {**document, key: [{k: v for k, v in first.items() if k != inner}, *value[1:]]}
                    yield {**document, key: [{**first, inner: {"not": "this"}}, *value[1:]]}
    for name, path in examples.items():
        document = json.loads((quick_build["data"] / path).read_text())
        fast, full = fastjsonschema.compile(schema(name)), jsonschema.Draft202012Validator(schema(name))
        fast(copy.deepcopy(document))
        assert full.is_valid(document)
        for bad in damages(document):
            try:
                fast(bad)
                accepted = True
            except fastjsonschema.JsonSchemaException:
                accepted = False
            assert accepted == full.is_valid(bad), (name, sorted(set(bad) ^ set(document)))
