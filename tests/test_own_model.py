"""Your own model: ONNX and torch files in (never running code from them), one error line for
what is not supported, the graph equal to the model's own runtime, and `flowgraph-report model`
writing a site in the report's format."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from generator.flowgraph.export import validate
from generator.flowgraph.graph import Evaluator, flowgraph_from_sequential, simplify
from generator.own.layers import normalise
from generator.own.onnx_file import load_onnx
from generator.own.torch_file import load_torch
from generator.pipeline.errors import ConfigError

from tests.conftest import REPO

READY = "[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')"


def small_mlp(seed: int = 0) -> nn.Sequential:
    """784-12-10 with batch normalisation and dropout, a little pruned (so simplification has work)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(12, 10)).eval()
    with torch.no_grad():
        model[1].weight.mul_((torch.rand_like(model[1].weight) > 0.8).float())
        model[2].running_mean.uniform_(-0.1, 0.1)
        model[2].running_var.uniform_(0.5, 2.0)
        model[2].weight.uniform_(0.5, 1.5)
    return model


def export_onnx(model: nn.Module, path, shape=(1, 28, 28)) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, *shape),), str(path), dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "batch"}})


def graph_outputs(model: nn.Sequential, inputs: np.ndarray) -> np.ndarray:
    graph = simplify(flowgraph_from_sequential(model, [(0.0, 1.0)] * inputs.shape[1]))
    return Evaluator(graph).outputs(inputs)


def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_a_torch_file_loads_with_batch_norm_folded_and_computes_what_the_model_does(tmp_path):
    model = small_mlp()
    torch.save(model, tmp_path / "m.pt")
    loaded = load_torch(tmp_path / "m.pt")
    assert [type(m).__name__ for m in loaded] == ["Flatten", "Linear", "ReLU", "Linear"]
    x = np.random.default_rng(0).uniform(0, 1, (64, 784))
    with torch.inference_mode():
        expected = model(torch.tensor(x, dtype=torch.float32)).double().numpy()
    assert np.abs(graph_outputs(loaded, x) - expected).max() < 1e-5


def test_a_pickle_carrying_a_payload_is_refused_and_the_payload_never_runs(tmp_path):
    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save(Payload(), tmp_path / "evil.pt")
    with pytest.raises(ConfigError, match=r"refused: the file names (posix|os)\.system, which is not a supported layer"):
        load_torch(tmp_path / "evil.pt")
    assert not marker.exists()
    # and through the command: one line, status 1, nothing written
    out = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "generator.cli", "model", str(tmp_path / "evil.pt"), "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert one_line(result.stderr).startswith("error: ") and "refused" in result.stderr
    assert not marker.exists() and not out.exists()


def test_unsupported_layers_and_operators_are_one_line_naming_them(tmp_path):
    sigmoid = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2))
    torch.save(sigmoid, tmp_path / "s.pt")
    with pytest.raises(ConfigError, match=r"names torch\.nn\.modules\.activation\.Sigmoid, which is not a supported layer"):
        load_torch(tmp_path / "s.pt")
    with pytest.raises(ConfigError, match=r"module 1 \(Sigmoid\) is not supported; supported: Linear"):
        normalise(sigmoid, "the model")
    export_onnx(sigmoid, tmp_path / "s.onnx", shape=(4,))
    with pytest.raises(ConfigError, match=r"operator Sigmoid is not supported; supported: Gemm"):
        load_onnx(tmp_path / "s.onnx")
    torch.save(sigmoid.state_dict(), tmp_path / "state.pt")
    with pytest.raises(ConfigError, match="a state dict has no architecture"):
        load_torch(tmp_path / "state.pt")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a readable ONNX model"):
        load_onnx(tmp_path / "junk.onnx")


def test_an_onnx_file_reads_back_as_the_same_graph_with_onnxruntimes_values(tmp_path):
    import onnxruntime
    model = small_mlp(1)
    export_onnx(model, tmp_path / "m.onnx")
    loaded, shape = load_onnx(tmp_path / "m.onnx")
    assert shape == (1, 28, 28)
    x = np.random.default_rng(1).uniform(0, 1, (64, 784))
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x.reshape(-1, 1, 28, 28).astype(np.float32)})[0]
    from_onnx = simplify(flowgraph_from_sequential(loaded, [(0.0, 1.0)] * 784))
    from_torch = simplify(flowgraph_from_sequential(normalise(model, "m"), [(0.0, 1.0)] * 784))
    assert np.abs(Evaluator(from_onnx).outputs(x) - expected).max() < 1e-4
    assert [n["id"] for n in from_onnx["nodes"]] == [n["id"] for n in from_torch["nodes"]]
    assert [(e["source"], e["target"]) for e in from_onnx["edges"]] == [(e["source"], e["target"]) for e in from_torch["edges"]]
    assert np.abs(np.array([e["weight"] for e in from_onnx["edges"]])
                  - np.array([e["weight"] for e in from_torch["edges"]])).max() < 1e-6


def test_the_readmes_worked_example_runs(tmp_path, monkeypatch):
    """README.md, "Your own model": its Python block, run as written in a fresh folder."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Your own model"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    manifest = json.loads((tmp_path / "my-model-report" / "data" / "manifest.json").read_text())
    assert manifest["profile"] == "model" and manifest["experiments"]["model"]["witnesses"]


def test_the_model_command_writes_a_site_in_the_reports_format(tmp_path):
    model = small_mlp(2)
    torch.save(model, tmp_path / "m.pt")
    x = np.random.default_rng(2).uniform(0, 1, (50, 1, 28, 28)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(50) % 10)
    (tmp_path / "names.json").write_text(json.dumps({"outputs": [f"digit {k}" for k in range(10)]}))
    out = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "generator.cli", "model", str(tmp_path / "m.pt"), "--data",
                             str(tmp_path / "d.npz"), "--names", str(tmp_path / "names.json"), "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    data = out / "data"
    manifest = validate(json.loads((data / "manifest.json").read_text()), "manifest")
    entry = manifest["experiments"]["model"]
    graph = validate(json.loads((out / entry["flowgraph"]).read_text()), "flowgraph")
    validate(json.loads((out / entry["traces"]).read_text()), "traces")
    witnesses = validate(json.loads((out / entry["witnesses"]).read_text()), "witnesses")["witnesses"]
    assert {n["name"] for n in graph["nodes"] if n["kind"] == "output"} == {f"digit {k}" for k in range(10)}
    assert all(n["bounds_kind"] == "exact" for n in graph["nodes"])
    # the graph is the model on the data, and the witnesses reach the bounds
    with torch.inference_mode():
        expected = model(torch.tensor(x)).double().numpy()
    assert np.abs(Evaluator(graph).outputs(x.reshape(50, -1).astype(np.float64)) - expected).max() < 1e-4
    check_witnesses(graph, witnesses)
    assert (out / "model" / "index.html").exists() and (out / "figures" / "model" / "flowgraph" / "index.html").exists()
    # bad input: one line, status 1, the site left as it was
    before = (data / "manifest.json").read_bytes()
    for args, words in ((["--prune", "1.5"], "--prune 1.5: expected a fraction in [0, 1)"),
                        (["--input-range", "1,0"], "--input-range '1,0': expected finite LO < HI"),
                        (["--data", str(tmp_path / "names.json")], "not a readable .npz file")):
        bad = subprocess.run([sys.executable, "-m", "generator.cli", "model", str(tmp_path / "m.pt"), *args, "--out", str(out)],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
        assert bad.returncode == 1 and words in one_line(bad.stderr), bad.stderr
    assert (data / "manifest.json").read_bytes() == before


def check_witnesses(graph: dict, witnesses: dict) -> int:
    """Each witness, evaluated through the graph, gives its node's bound (1e-6)."""
    column = {n["id"]: k for k, n in enumerate(graph["nodes"])}
    evaluator = Evaluator(graph)
    for node_id, pair in witnesses.items():
        values = evaluator.values(np.array([pair["lo"], pair["hi"]]))
        lo, hi = graph["nodes"][column[node_id]]["bounds"]
        assert abs(values[0, column[node_id]] - lo) <= 1e-6 and abs(values[1, column[node_id]] - hi) <= 1e-6, node_id
    return len(witnesses)


@pytest.mark.browser
def test_a_neurons_panel_shows_that_its_bounds_are_exact_and_the_images_that_reach_them(page, site_url, flowgraph_json):
    neuron = next(n for n in flowgraph_json["nodes"] if n["kind"] == "neuron" and n["layer"] == 2)
    page.goto(site_url + f"figures/mnist-mlp-lth/flowgraph/#node={neuron['id']}")
    page.wait_for_function(READY, timeout=20_000)
    page.locator(".fg-panel .fg-panel-witnesses canvas").nth(1).wait_for(timeout=20_000)
    assert "exact" in page.locator(".fg-panel .fg-bounds-kind").inner_text()
    titles = [page.locator(".fg-panel .fg-witness").nth(k).get_attribute("title") for k in range(2)]
    assert titles[0].endswith(f"{neuron['bounds'][0]:.2f}") and titles[1].endswith(f"{neuron['bounds'][1]:.2f}")


@pytest.mark.parametrize("args, words", [
    (["frobnicate"], "expected a command, build, serve or model; got 'frobnicate'"),
    (["build", "--profile", "huge"], "huge"),
    (["model", str(REPO / "README.md")], "unknown kind of file .md; expected .onnx, .pt or .pth"),
    (["model", "missing.onnx"], "missing.onnx: no such file"),
])
def test_the_command_says_what_is_wrong_in_one_line(args, words, tmp_path):
    result = subprocess.run([sys.executable, "-m", "generator.cli", *args], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "FLOWGRAPH_BUILD_DIR": str(tmp_path / "b")})
    assert result.returncode == 1 and words in one_line(result.stderr), result.stderr
