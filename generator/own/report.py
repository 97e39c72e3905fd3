"""One model in, an exact report out: the site `flowgraph-report model` writes, with the same
layout as the report's (data/manifest.json listing the model's flowgraph, witnesses and traces,
schema-checked), so any tool that reads one reads the other.

    model (nn.Sequential) → prune (optional) → flowgraph → simplify → exact bounds → tighten
    → proven equal to the model (torch, and onnxruntime for an ONNX file) on the samples
    → layout → figures and their pictures → mkdocs → --out, swapped in whole
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from generator.flowgraph.exact import ExactConfig, exact_bounds, tighten, tightening_stats, witnesses_document
from generator.flowgraph.export import flowgraph_document, traces_document, witnesses_file
from generator.flowgraph.graph import (EXACTNESS_TOLERANCE, Evaluator, check_exact, constant_outputs,
                                       flowgraph_from_sequential, simplify, subgraph_size)
from generator.flowgraph.layout import layout_flowgraph, subgraph_layouts
from generator.flowgraph.traces import trace
from generator.networks.prune import weights_per_layer
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, figure_entries
from generator.pipeline.errors import BuildError, ConfigError
from generator.pipeline.paths import chapter_data
from generator.site.palette import SIGNS

ID = "model"
SAMPLES_SHOWN = 24          # traces shipped for the page (every sample is checked)
RANDOM_SAMPLES = 256        # inputs drawn in the box to check exactness when no data is given


@dataclass(frozen=True)
class ModelReportConfig:
    """What `flowgraph-report model` was asked (written to data/model/config.json)."""
    source: str
    title: str
    input_shape: tuple[int, ...]
    input_range: tuple[float, float] = (0.0, 1.0)
    data: str = ""                       # "", "mnist" or an .npz file
    prune: float = 0.0
    exact: ExactConfig = field(default_factory=ExactConfig)
    # Exact bounds cost two programs a node, each slower the more ReLUs it must decide: a graph
    # with more ReLUs than this after simplification keeps interval bounds throughout.
    max_exact_relus: int = 300


@dataclass
class Samples:
    inputs: np.ndarray                   # (N, n_inputs) float64, as the network reads them
    labels: np.ndarray | None            # (N,) int, or None
    drawn: bool = False                  # True: drawn at random in the box (no data given)


def parse_shape(text: str, option: str = "--inputs") -> tuple[int, ...]:
    try:
        shape = tuple(int(t) for t in text.replace("x", ",").split(",") if t.strip())
    except ValueError:
        shape = ()
    if not shape or len(shape) > 3 or any(s < 1 for s in shape):
        raise ConfigError(f"{option} {text!r}: expected one input's shape, e.g. 784, 28,28 or 1,28,28")
    return shape


def parse_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(t) for t in text.split(","))
    except ValueError:
        raise ConfigError(f"--input-range {text!r}: expected LO,HI, e.g. 0,1") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ConfigError(f"--input-range {text!r}: expected finite LO < HI")
    return lo, hi


def image_shape(shape: tuple[int, ...]) -> tuple[int, int] | None:
    """(rows, cols) when the input is one grey image: (rows, cols) or (1, rows, cols)."""
    if len(shape) == 2:
        return shape
    if len(shape) == 3 and shape[0] == 1:
        return shape[1:]
    return None


def flat_model(model: nn.Sequential, shape: tuple[int, ...]) -> nn.Sequential:
    """The model reading flat input vectors, as the flowgraph does."""
    first = next((m for m in model if not isinstance(m, (nn.Flatten, nn.Unflatten))), None)
    if isinstance(model[0], (nn.Flatten, nn.Unflatten)) or len(shape) == 1:
        return model
    if isinstance(first, nn.Conv2d):
        full = shape if len(shape) == 3 else (1, *shape)
        return nn.Sequential(nn.Unflatten(1, full), *model).eval()
    return nn.Sequential(nn.Flatten(), *model).eval()


def infer_shape(model: nn.Sequential) -> tuple[int, ...]:
    first = next((m for m in model if isinstance(m, (nn.Linear, nn.Conv2d, nn.Unflatten))), None)
    if isinstance(first, nn.Linear):
        return (first.in_features,)
    if isinstance(first, nn.Unflatten):
        return tuple(first.unflattened_size)
    raise ConfigError("--inputs: the model starts with a convolution; give the shape of one input, e.g. 1,28,28")


def prune_model(model: nn.Sequential, fraction: float) -> nn.Sequential:
    """The smallest |w| of all Linear and Conv2d weights together set to 0 (torch.nn.utils.prune,
    global magnitude pruning, no retraining)."""
    import copy
    from torch.nn.utils import prune
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"--prune {fraction}: expected a fraction in [0, 1)")
    if fraction == 0.0:
        return model
    pruned = copy.deepcopy(model)
    parameters = [(m, "weight") for m in pruned.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    prune.global_unstructured(parameters, pruning_method=prune.L1Unstructured, amount=fraction)
    for module, name in parameters:
        prune.remove(module, name)
    return pruned.eval()


def load_samples(data: str, shape: tuple[int, ...], box: tuple[float, float], seed: int = 0) -> Samples:
    """--data: `mnist` (its 10,000 test images, pixel / 255), an .npz file with `x` (N × the input
    shape, or N × its size) and optionally `y` (N labels), or nothing (inputs drawn in the box)."""
    size = int(np.prod(shape))
    if not data:
        rng = np.random.default_rng(seed)
        return Samples(rng.uniform(box[0], box[1], size=(RANDOM_SAMPLES, size)), None, drawn=True)
    if data == "mnist":
        from generator.networks.config import DataConfig
        from generator.networks.data import load_mnist
        if size != 784:
            raise ConfigError(f"--data mnist: the model reads {size} inputs; MNIST images have 784")
        test = load_mnist(DataConfig()).test
        x, y = test.pixels / 255.0, test.labels.astype(np.int64)
    else:
        path = Path(data)
        try:
            with np.load(path, allow_pickle=False) as npz:
                if "x" not in npz.files:
                    raise ConfigError(f"--data {path}: expected an array `x` (and optionally `y`); it holds "
                                      f"{', '.join(npz.files) or 'nothing'}")
                x = np.asarray(npz["x"], dtype=np.float64)
                y = np.asarray(npz["y"]).astype(np.int64) if "y" in npz.files else None
        except (OSError, ValueError) as e:
            raise ConfigError(f"--data {path}: not a readable .npz file ({e})") from None
        x = x.reshape(len(x), -1) if x.ndim > 1 else x
        if x.ndim != 2 or x.shape[1] != size or len(x) == 0:
            raise ConfigError(f"--data {path}: `x` must hold N inputs of shape {shape} ({size} numbers each); "
                              f"got shape {tuple(x.shape)}")
        if y is not None and y.shape != (len(x),):
            raise ConfigError(f"--data {path}: `y` must hold one label per input ({len(x)}); got shape {y.shape}")
    if not np.isfinite(x).all() or x.min() < box[0] or x.max() > box[1]:
        raise ConfigError(f"--data {data}: inputs range over [{np.nanmin(x):g}, {np.nanmax(x):g}], outside "
                          f"--input-range {box[0]:g},{box[1]:g}; the bounds would not hold for them")
    return Samples(x, y)


def onnx_outputs(path: Path, shape: tuple[int, ...], inputs: np.ndarray) -> np.ndarray:
    import onnxruntime
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    batch = 1 if session.get_inputs()[0].shape[0] == 1 else 256    # a file exported for one input at a time
    return np.concatenate([session.run(None, {name: inputs[i:i + batch].reshape(-1, *shape).astype(np.float32)})[0]
                           for i in range(0, len(inputs), batch)]).astype(np.float64)


def check_runtime(graph: dict, reference: np.ndarray, inputs: np.ndarray, runtime: str) -> dict:
    """The graph against a runtime's outputs on the samples (EXACTNESS_TOLERANCE), or the build stops."""
    ours = Evaluator(graph).outputs(inputs)
    error = float(np.abs(ours - reference).max())
    agreeing = int((ours.argmax(1) == reference.argmax(1)).sum())
    if error > EXACTNESS_TOLERANCE or agreeing != len(inputs):
        raise BuildError(f"flowgraph is not {runtime}'s model: max output error {error:.2e} (allowed "
                         f"{EXACTNESS_TOLERANCE:g}), {agreeing}/{len(inputs)} argmaxes agree")
    return {"max_logit_error": error, "agreeing": agreeing, "images": len(inputs)}


@dataclass
class ModelGraph:
    graph: dict
    raw_vertices: int
    kernel_weights: int                  # nonzero Linear and Conv2d weights of the model drawn
    outputs: np.ndarray
    exactness: dict
    runtime: dict | None
    stats: dict | None
    witnesses: dict


def model_graph(model: nn.Sequential, config: ModelReportConfig, samples: Samples, names: dict,
                onnx_path: Path | None = None, step=lambda _: None) -> ModelGraph:
    shape = config.input_shape
    flat = flat_model(model, shape)
    n_inputs = int(np.prod(shape))
    step("flowgraph")
    raw = flowgraph_from_sequential(flat, [config.input_range] * n_inputs, names.get("inputs"), names.get("outputs"))
    outputs = sum(1 for n in raw["nodes"] if n["kind"] == "output")
    if names.get("outputs") and len(names["outputs"]) != outputs:
        raise ConfigError(f"--names: {len(names['outputs'])} output names for {outputs} outputs")
    graph = simplify(raw)
    stats, witnesses = None, {}
    step("exact bounds")
    if sum(1 for n in graph["nodes"] if n["kind"] != "input" and n["activation"] == "relu") <= config.max_exact_relus:
        bounds = exact_bounds(graph, np.full(n_inputs, config.input_range[0]), config.exact)
        tightened = tighten(graph, bounds)
        stats = tightening_stats(graph, tightened, bounds)
        graph, witnesses = tightened, witnesses_document(tightened, bounds)
    step("exactness")
    graph_out, exactness = check_exact(graph, flat, torch.tensor(samples.inputs, dtype=torch.float32))
    runtime = None
    if onnx_path is not None and config.prune == 0.0:    # pruned, it is no longer the file's model
        runtime = check_runtime(graph, onnx_outputs(onnx_path, shape, samples.inputs), samples.inputs, "onnxruntime")
    step("layout")
    image = image_shape(shape)
    graph = layout_flowgraph(graph, image or (n_inputs,))
    graph["subgraph_layouts"] = subgraph_layouts(graph)
    return ModelGraph(graph, len(raw["nodes"]), sum(weights_per_layer(model)), graph_out, exactness, runtime, stats,
                      witnesses)


def chosen_samples(samples: Samples, predictions: np.ndarray) -> list[int]:
    """Up to SAMPLES_SHOWN: per class the first correct ones, then the first wrong ones; without
    labels, the first ones."""
    n = len(samples.inputs)
    if samples.labels is None:
        return list(range(min(n, SAMPLES_SHOWN)))
    classes = sorted(set(samples.labels.tolist()))
    per_class = max(1, (SAMPLES_SHOWN - 4) // max(1, len(classes)))
    chosen = []
    for c in classes:
        chosen += np.flatnonzero((samples.labels == c) & (predictions == c))[:per_class].tolist()
    chosen += np.flatnonzero(samples.labels != predictions)[:4].tolist()
    return sorted(chosen)[:SAMPLES_SHOWN]


def sample_documents(result: ModelGraph, samples: Samples, image: bool) -> list[dict]:
    predictions = result.outputs.argmax(1)
    chosen = chosen_samples(samples, predictions)
    values = Evaluator(result.graph).values(samples.inputs[chosen])
    found = []
    for k, (i, node_values) in enumerate(zip(chosen, values)):
        label = int(samples.labels[i]) if samples.labels is not None else int(predictions[i])
        pixels = np.clip(np.rint(samples.inputs[i] * 255), 0, 255).astype(np.uint8) if image else None
        sample = trace(f"s{i}", int(i), label, int(predictions[i]), pixels if pixels is not None else np.zeros(0),
                       node_values, note=None if samples.labels is not None else "no label given: its prediction stands in")
        if pixels is None:
            del sample["pixels"]
        if not image or not np.array_equal(pixels / 255.0, samples.inputs[i]):
            sample["inputs"] = [float(v) for v in samples.inputs[i]]
        found.append(sample)
    return found


def model_facts(config: ModelReportConfig, result: ModelGraph, samples: Samples) -> dict[str, str]:
    graph = result.graph
    nodes = graph["nodes"]
    relus = sum(1 for n in nodes if n["kind"] == "neuron" and n["activation"] == "relu")
    predictions = result.outputs.argmax(1)
    facts = {
        "title": config.title, "source": Path(config.source).name if config.source else "a model in memory",
        "input_shape": " × ".join(str(s) for s in config.input_shape),
        "input_range": f"[{config.input_range[0]:g}, {config.input_range[1]:g}]",
        "prune": f"{100 * config.prune:g}%",
        "raw_vertices": f"{result.raw_vertices:,}",
        "vertices": f"{len(nodes):,}", "edges": f"{len(graph['edges']):,}",
        "inputs_read": f"{sum(1 for n in nodes if n['kind'] == 'input'):,}",
        "neurons": f"{sum(1 for n in nodes if n['kind'] == 'neuron'):,}", "relu_neurons": f"{relus:,}",
        "outputs": str(sum(1 for n in nodes if n["kind"] == "output")),
        "samples": f"{len(samples.inputs):,}",
        "samples_kind": ("inputs drawn at random in the box (no data was given)" if samples.drawn
                         else "MNIST test images" if config.data == "mnist" else f"inputs of {Path(config.data).name}"),
        "max_logit_error": f"{result.exactness['max_logit_error']:.1e}",
        "prediction_agreement": f"{result.exactness['agreeing']:,} of {result.exactness['images']:,}",
        "runtime_check": (f" It also equals onnxruntime's outputs on them: largest difference "
                          f"{result.runtime['max_logit_error']:.1e}, every prediction the same."
                          if result.runtime else ""),
        "accuracy": (f"{100 * float((predictions == samples.labels).mean()):.1f}%" if samples.labels is not None
                     else "not measured (no labels given)"),
    }
    stats = result.stats
    if stats is None:
        facts["bounds_text"] = (f"The graph has {relus:,} ReLUs, more than the {config.max_exact_relus:,} for which exact "
                                f"bounds are computed, so its bounds are interval arithmetic's, which may be wider "
                                f"than the true ranges.")
    else:
        lo = min(o["exact"][0] for o in stats["outputs"].values())
        hi = max(o["exact"][1] for o in stats["outputs"].values())
        ilo = min(o["interval"][0] for o in stats["outputs"].values())
        ihi = max(o["interval"][1] for o in stats["outputs"].values())
        facts["bounds_text"] = (
            f"{stats['exact_nodes']:,} of its {stats['exact_nodes'] + stats['interval_nodes']:,} nodes have exact "
            f"bounds, found by {stats['programs']:,} mixed-integer programs, each end with the input that reaches it; "
            f"{stats['interval_nodes']:,} kept interval bounds (past the budget of {config.exact.max_binaries} "
            f"undecided ReLUs or {config.exact.time_limit:g} s per program). The outputs' true range is "
            f"⟨{lo:.2f}, {hi:.2f}⟩, where interval arithmetic says ⟨{ilo:.2f}, {ihi:.2f}⟩; the exact bounds took the "
            f"ReLUs from {stats['relus'][0]} to {stats['relus'][1]}.")
    return facts


def model_output(config: ModelReportConfig, result: ModelGraph, samples: Samples) -> ChapterOutput:
    graph = result.graph
    image = image_shape(config.input_shape)
    facts = model_facts(config, result, samples)
    paths = {name: chapter_data(ID, f"{name}.json") for name in ("flowgraph", "traces", "witnesses")}
    constants = constant_outputs(graph)
    documents = {paths["flowgraph"]: flowgraph_document(
        ID, graph, list(image or (int(np.prod(config.input_shape)),)), result.kernel_weights, constants,
        input_range=list(config.input_range) if image else None)}
    samples_shown = sample_documents(result, samples, image is not None)
    documents[paths["traces"]] = traces_document(ID, "flowgraph.json", samples_shown)
    graph_data = {"flowgraph": paths["flowgraph"], "traces": paths["traces"]}
    if result.witnesses:
        documents[paths["witnesses"]] = witnesses_file(ID, "flowgraph.json", result.witnesses)
        graph_data["witnesses"] = paths["witnesses"]
    classes = [n["class"] for n in graph["nodes"] if n["kind"] == "output" and str(n["class"]) not in constants]
    smallest = min(classes or [0], key=lambda c: (subgraph_size(graph, f"y{c}")[0], c))
    sub_v, sub_e = subgraph_size(graph, f"y{smallest}")
    facts.update(subgraph_class=str(smallest), subgraph_vertices=f"{sub_v:,}", subgraph_edges=f"{sub_e:,}",
                 trace_sample=f"sample #{samples_shown[0]['test_index']}")
    figures = {
        "flowgraph": Figure("flowgraph", "The model as an exact flowgraph",
                            "All {vertices} vertices and {edges} edges left after simplification (from {raw_vertices} "
                            f"before). Edge width is |weight|, {SIGNS}. Click a node for its formula, its bounds and "
                            "the inputs that reach them.", {"output": "all", "sample": "none"}),
        "output-subgraph": Figure("flowgraph", "One output and everything it depends on",
                                  "Output {subgraph_class} depends on {subgraph_vertices} vertices and {subgraph_edges} "
                                  "edges, the fewest of any output; choose another output above the graph.",
                                  {"sample": "none"}),
        "sample-trace": Figure("flowgraph", "One input through the graph",
                               "Every node's value on {trace_sample}; choose another sample above the graph.",
                               {"output": "all"}),
    }
    if image and any(n["kind"] == "neuron" and n["layer"] == 1 and "channel" not in n for n in graph["nodes"]):
        figures["first-layer-filters"] = Figure(
            "filters", "First-layer neurons as filters",
            f"Each first-layer neuron's weights drawn as an image of the input ({SIGNS}, grey zero).", {})
    data = {fid: graph_data for fid in figures}
    options = {"output-subgraph": {"output": str(smallest)}, "sample-trace": {"sample": samples_shown[0]["id"]}}
    manifest = {"kind": "model", "flowgraph": paths["flowgraph"], "traces": paths["traces"],
                "vertices": len(graph["nodes"]), "edges": len(graph["edges"]), "constant_outputs": constants,
                **({"witnesses": paths["witnesses"]} if result.witnesses else {}),
                **({"input_names": [n.get("name", n["id"]) for n in graph["nodes"] if n["kind"] == "input"]}
                   if not image else {})}
    return ChapterOutput(facts=facts, figures=figure_entries(figures, facts, data, options), documents=documents,
                         manifest=manifest)


PAGE = """# [[fact title]]

The model ([[fact source]], inputs of shape [[fact input_shape]] in [[fact input_range]]) drawn as the
exact computation it performs: every neuron a node, every nonzero weight an edge. Simplification
left [[fact vertices]] vertices and [[fact edges]] edges of [[fact raw_vertices]]
([[fact inputs_read]] inputs read, [[fact neurons]] hidden neurons of which [[fact relu_neurons]]
real ReLUs, [[fact outputs]] outputs); [[fact prune]] of the weights were pruned first.

On the [[fact samples]] [[fact samples_kind]], the graph's outputs equal the model's to within
[[fact max_logit_error]] and its predictions agree on [[fact prediction_agreement]].[[fact runtime_check]]
Accuracy on them: [[fact accuracy]].

[[fact bounds_text]]
"""

INDEX = """# [[fact model.title]]

An exact, explorable report on one model, written by `flowgraph-report model`.

[[chapters]]

The data behind every figure is in `data/` (the manifest lists it; the JSON Schemas in
`data/schema/` describe it), in the same format as the report *Sparsity and interpretability,
exactly* uses.
"""

SCHEMA_PAGE = """# Data and schema

Every figure reads JSON files under `data/`: `data/manifest.json` lists them (the model's
`flowgraph`, `traces` and `witnesses`), and each is checked against its JSON Schema, shipped in
`data/schema/`. A node's `bounds` hold for every input in the box; `bounds_kind` says whether they
are `exact` (attained by the inputs in `witnesses.json`) or `interval` arithmetic's.
"""


def write_model_site(config: ModelReportConfig, output: ChapterOutput, out: Path) -> Path:
    """The site into a fresh folder beside `out`, swapped in whole (out must be new, empty or a
    site this tool wrote)."""
    from generator.pipeline.atomic import check_replaceable, publish_dir, write_text_atomic
    from generator.pipeline.provenance import build_info
    from generator.pipeline.runner import add_snapshots
    from generator.site.data import write_site_data
    from generator.site.render import build_site

    out = out.resolve()
    check_replaceable(out, "--out")
    add_snapshots(ID, output)
    chapter = Chapter(id=ID, title=config.title, configs={"model": config}, tasks=lambda *_: [],
                      assemble=lambda *_: output, headline="{vertices} vertices and {edges} edges, exact",
                      key_figure="flowgraph")
    with tempfile.TemporaryDirectory(prefix="flowgraph-model-") as scratch:
        scratch = Path(scratch)
        docs, data = scratch / "docs", scratch / "data"
        page = PAGE + "".join(f"\n[[figure {figure_id}]]\n" for figure_id in output.figures)
        for name, text in (("index.md", INDEX), (f"{ID}.md", page), ("schema.md", SCHEMA_PAGE)):
            write_text_atomic(docs / name, text)
        write_site_data(data, [chapter], {ID: output}, "model",
                        build_info("model", {ID: {"tasks": [], "assembly": {"cached": False}}}), docs_dir=docs)
        site = build_site(data, out, docs_dir=docs, site_name=config.title)
    publish_dir(site, out)
    return out
