"""Looking inside, part 4: SPADE, a circuit for one sample. The first chapter's dense MLP is
pruned for a single test image, on that image's augmentations, layer by layer with a
least-squares correction of the weights it keeps; the result is a network of its own whose
exact flowgraph is far smaller than the global lottery ticket's, and which answers as the dense
network does on the image and its augmentations. Over many test images: the sizes of these
circuits and how often they agree. The dense network is mnist-mlp-lth's; nothing here trains."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from generator.chapters.mnist_lottery import (INPUT_RANGE, INPUT_SHAPE, TEST_IMAGES, digit_article, published_graph,
                                              studied_model, studied_round)
from generator.flowgraph.export import flowgraph_document, traces_document, validate
from generator.flowgraph.graph import check_exact, flowgraph_from_sequential, simplify
from generator.flowgraph.traces import graph_trace
from generator.flowgraph.layout import place_as
from generator.inside.spade import as_model, circuit_model, dense_layers
from generator.networks.config import require
from generator.networks.data import load_mnist
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data
from generator.site import charts

ID = "spade"
UPSTREAM = "mnist-mlp-lth"


@dataclass(frozen=True)
class SpadeConfig:
    samples: int = 100                      # the first N test images get a circuit each
    shown: int = 0                          # the test image whose circuit is drawn
    augmentations: int = 64                 # the image itself and its variants
    densities: tuple[float, ...] = (0.005, 0.05, 0.2)   # weights kept per layer, as a share of the dense layer
    ridge: float = 1e-3
    turn: float = 0.2                       # rotation: tan(angle / 2) up to ± turn / 2 (about ± 11°)
    scale: float = 0.1                      # scaling by 1 ± scale
    shift: float = 2.0                      # pixels
    noise: float = 0.05                     # uniform, added to pixels in [0, 1]
    seed: int = 0

    def __post_init__(self):
        require(isinstance(self.samples, int) and 1 <= self.samples <= 10_000, "samples", "an integer in 1..10000", self.samples)
        require(isinstance(self.shown, int) and 0 <= self.shown < self.samples, "shown", "an integer in 0..samples-1", self.shown)
        require(isinstance(self.augmentations, int) and 2 <= self.augmentations <= 1024, "augmentations",
                "an integer in 2..1024", self.augmentations)
        require(isinstance(self.densities, tuple) and all(isinstance(d, float) and 0 < d <= 1 for d in self.densities),
                "densities", "a tuple of floats in (0, 1], one per layer", self.densities)
        for name in ("ridge", "turn", "scale", "shift", "noise"):
            value = getattr(self, name)
            require(isinstance(value, float) and value >= 0, name, "a float >= 0", value)


CONFIGS = {"full": SpadeConfig(), "quick": SpadeConfig(samples=10, augmentations=32)}


def tasks(config: SpadeConfig, upstream: dict[str, Upstream]) -> list:
    return []   # a circuit is a few milliseconds of least squares: the assembly makes them


def graph_layers(graph: dict) -> list[tuple[list, list]]:
    """(weight, bias) of each layer as a flowgraph of an MLP stores them (float32), missing edges 0."""
    columns: dict[int, list[dict]] = {}
    for node in graph["nodes"]:
        columns.setdefault(node["layer"], []).append(node)
    order = {k: sorted(c, key=lambda n: n.get("index", n.get("unit", n.get("class", 0)))) for k, c in columns.items()}
    place = {n["id"]: (k, i) for k, c in order.items() for i, n in enumerate(c)}
    weights = {k: np.zeros((len(order[k]), len(order[k - 1])), dtype=np.float32) for k in order if k > 0}
    for edge in graph["edges"]:
        (k, j), (_, i) = place[edge["target"]], place[edge["source"]]
        weights[k][j, i] = edge["weight"]
    return [(weights[k].tolist(), np.array([n["bias"] for n in order[k]], dtype=np.float32).tolist())
            for k in sorted(weights)]


def circuit(config: SpadeConfig, dense: nn.Sequential, pixels: np.ndarray, seed: int) -> dict:
    """One sample's circuit: its network, exact flowgraph (simplified, not laid out), how big it
    is and whether it answers as the dense network does on the sample and its augmentations."""
    model, inputs, kept = circuit_model(dense, pixels, seed, config)
    layers = dense_layers(dense)
    graph = simplify(flowgraph_from_sequential(model, [INPUT_RANGE] * inputs.shape[1]))
    x = torch.from_numpy(inputs)
    reference = as_model([(w, b) for w, b, _ in layers], [relu for _, _, relu in layers])   # the dense network, in float64
    with torch.inference_mode():
        mine, theirs = model(x).argmax(1).numpy(), reference(x).argmax(1).numpy()
    return {"model": model, "graph": graph, "inputs": inputs, "kept": kept,
            "agrees": bool(mine[0] == theirs[0]), "augmentation_agreement": float(np.mean(mine == theirs)),
            "prediction": int(mine[0]), "dense_prediction": int(theirs[0])}


def circuits(config: SpadeConfig, upstream: Upstream) -> tuple[list[dict], dict, int]:
    """Every sample's summary, the shown sample's circuit, and the dense network's seed."""
    with threadpool_limits(1):
        test = load_mnist(upstream.config.data).test
        seed, _ = studied_round(upstream.config, upstream.results, "dense")
        dense = studied_model(upstream.config, upstream.results, "dense")
        rows, shown = [], None
        for i in range(config.samples):
            found = circuit(config, dense, test.pixels[i], config.seed + i)
            rows.append({"test_index": i, "label": int(test.labels[i]), "kept_weights": found["kept"],
                         "vertices": len(found["graph"]["nodes"]), "edges": len(found["graph"]["edges"]),
                         "prediction": found["prediction"], "dense_prediction": found["dense_prediction"],
                         "agrees_with_dense": found["agrees"], "augmentation_agreement": found["augmentation_agreement"]})
            if i == config.shown:
                shown = found
        return rows, shown, seed


def circuits_document(config: SpadeConfig, dense_flowgraph: str, rows: list[dict]) -> dict:
    """What the page needs to compute any image's circuit as the build does, and the build's own."""
    settings = {"augmentations": config.augmentations, "densities": list(config.densities), "ridge": config.ridge,
                "turn": config.turn, "scale": config.scale, "shift": config.shift, "noise": config.noise,
                "seed": config.seed}
    return validate({"schema_version": 2, "experiment": ID, "dense_flowgraph": dense_flowgraph, "images": TEST_IMAGES,
                     "config": settings, "samples": rows}, "circuits")


FIGURES = {
    "circuit": Figure(
        "flowgraph", "A circuit for one image",
        "The exact flowgraph of the network SPADE pruned for {shown_sample}: {vertices} vertices and {edges} edges "
        "(the global lottery ticket has {ticket_vertices} and {ticket_edges}), evaluated on that image. It predicts "
        "{shown_prediction}, as the dense network does; on the image's {augmentations} augmentations it agrees with "
        "the dense network {shown_agreement} of the time.",
        {"output": "all", "inputs": "pixels"}),
    "live": Figure(
        "spade", "A circuit for any image, computed here",
        "Pick a test image or draw a digit: the page prunes the dense network for it on {augmentations} augmentations "
        "(in a worker, by the same steps and arithmetic as the build, so a test image gets the build's circuit to the "
        "last bit) and draws the circuit where its neurons sit in the dense network, evaluated on the image. For a "
        "drawing the augmentations use the seed {seed_base}; test image i uses {seed_base} + i.",
        {"output": "all", "inputs": "pixels"}),
    "sizes": Figure(
        "altair", "How big a circuit for one image is",
        "Edges of the exact flowgraph of each of the {samples} circuits (one per test image), against the global "
        "ticket's {ticket_edges} (the rule)."),
}


def assemble(config: SpadeConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    up = upstream[UPSTREAM]
    rows, shown, seed = circuits(config, up)
    dense_path = published_graph(up, "dense")
    graph = place_as(shown["graph"], up.output.documents[dense_path])
    _, exactness = check_exact(graph, shown["model"], torch.from_numpy(shown["inputs"]))
    row = rows[config.shown]
    test = load_mnist(up.config.data).test
    sample = graph_trace(graph, f"t{row['test_index']}", row["test_index"], row["label"], test.pixels[row["test_index"]])
    ticket = up.output.manifest
    agree = sum(r["agrees_with_dense"] for r in rows)
    facts = {
        "samples": str(config.samples), "augmentations": str(config.augmentations), "seed": str(seed),
        "densities": ", ".join(f"{100 * d:g}%" for d in config.densities),
        "kept_weights": f"{row['kept_weights']:,}", "vertices": f"{row['vertices']:,}", "edges": f"{row['edges']:,}",
        "ticket_vertices": f"{ticket['vertices']:,}", "ticket_edges": f"{ticket['edges']:,}",
        "shown_sample": f"test image #{row['test_index']} ({digit_article(row['label'])} {row['label']})",
        "shown_prediction": str(row["prediction"]), "shown_agreement": f"{100 * row['augmentation_agreement']:.0f}%",
        "agree_count": f"{agree} of {len(rows)}", "agree_rate": f"{100 * agree / len(rows):.0f}%",
        "augmentation_agreement": f"{100 * statistics.mean(r['augmentation_agreement'] for r in rows):.1f}%",
        "edges_median": f"{statistics.median(r['edges'] for r in rows):g}",
        "edges_min": str(min(r["edges"] for r in rows)), "edges_max": str(max(r["edges"] for r in rows)),
        "vertices_median": f"{statistics.median(r['vertices'] for r in rows):g}",
        "max_logit_error": f"{exactness['max_logit_error']:.1e}", "seed_base": str(config.seed),
    }
    paths = {"flowgraph": chapter_data(ID, "flowgraph.json"), "traces": chapter_data(ID, "traces.json"),
             "sizes": chapter_data(ID, "sizes.vl.json"), "circuits": chapter_data(ID, "circuits.json")}
    documents = {
        paths["flowgraph"]: flowgraph_document(ID, graph, list(INPUT_SHAPE), row["kept_weights"], {},
                                               input_range=list(INPUT_RANGE)),
        paths["traces"]: traces_document(ID, "flowgraph.json", [sample]),
        paths["sizes"]: charts.circuit_sizes(rows, ticket["edges"]),
        paths["circuits"]: circuits_document(config, dense_path, rows),
    }
    data = {"circuit": {"flowgraph": paths["flowgraph"], "traces": paths["traces"]}, "sizes": {"spec": paths["sizes"]},
            # the live figure computes its circuits; its no-JS picture is the build's circuit of the first one
            "live": {"circuits": paths["circuits"], "images": TEST_IMAGES, "flowgraph": paths["flowgraph"],
                     "traces": paths["traces"]}}
    manifest = {"kind": "spade", "sparsity": [1 - d for d in config.densities], "vertices": row["vertices"],
                "edges": row["edges"], "agrees_with_dense": row["agrees_with_dense"], "samples": rows,
                "flowgraph": paths["flowgraph"], "test_index": row["test_index"]}
    options = {"circuit": {"sample": sample["id"]}, "live": {"sample": sample["id"]}}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data, options), documents=documents,
                         manifest=manifest)


def check(config: SpadeConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    """The drawn circuit is the network SPADE makes for its image now, its graph is exact for it
    on the augmentations, and the samples' record of that image says what it does."""
    up = upstream[UPSTREAM]
    with threadpool_limits(1):
        test = load_mnist(up.config.data).test
        dense = studied_model(up.config, up.results, "dense")
        found = circuit(config, dense, test.pixels[config.shown], config.seed + config.shown)
    dense_graph = up.output.documents.get(published_graph(up, "dense"))
    if dense_graph is None or graph_layers(dense_graph) != [(w.astype(np.float32).tolist(), b.astype(np.float32).tolist())
                                                            for w, b, _ in dense_layers(dense)]:
        raise BuildError(f"{published_graph(up, 'dense')} is not the whole dense network, whose weights the page prunes")
    published = output.documents.get(chapter_data(ID, "flowgraph.json"))
    if published is None:
        raise BuildError("flowgraph.json is missing")
    check_exact(published, found["model"], torch.from_numpy(found["inputs"]))
    row = output.manifest["samples"][config.shown]
    if (row["edges"], row["agrees_with_dense"]) != (len(found["graph"]["edges"]), found["agrees"]):
        raise BuildError("the shown sample's record is not its circuit's")


CHAPTER = Chapter(
    id=ID,
    title="Looking inside: a circuit for one image",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(UPSTREAM,),
    headline="a circuit of {edges} edges for one test image (median {edges_median} over {samples} images, against the "
             "ticket's {ticket_edges}) that answers as the dense network on {agree_count} images",
    key_figure="circuit",
)
