"""What the structure-and-compression chapters share: they study the MNIST MLP chapter's
networks (its dense network of each seed is their starting point, never trained again), draw the
networks they make as exact flowgraphs, and measure every graph the same way, so the closing
chapter can put them all on one chart."""
from __future__ import annotations

import statistics

from generator.chapters.mnist_lottery import INPUT_RANGE, INPUT_SHAPE, exact_graph
from generator.flowgraph.export import flowgraph_document, traces_document
from generator.flowgraph.graph import constant_outputs, subgraph_size
from generator.flowgraph.traces import sample_traces
from generator.networks.data import load_mnist
from generator.pipeline.chapter import Task, Upstream
from generator.pipeline.paths import chapter_data

LOTTERY = "mnist-mlp-lth"


def dense_task(upstream: dict[str, Upstream], seed: int) -> Task:
    """The lottery chapter's dense network of one seed (its round 0)."""
    return upstream[LOTTERY].tasks[f"dense-{seed}"]


def graph_sizes(graph: dict) -> dict:
    """The sizes the report compares graphs by: vertices, edges, the vertices of the largest
    subgraph that decides one output, and the ReLUs left (a ReLU the bounds prove always on or
    always off is folded away, so these are the ones that still switch)."""
    outputs = [n["id"] for n in graph["nodes"] if n["kind"] == "output"]
    return {"vertices": len(graph["nodes"]), "edges": len(graph["edges"]),
            "largest_output_subgraph": max((subgraph_size(graph, o)[0] for o in outputs), default=0),
            "live_relus": sum(1 for n in graph["nodes"] if n["kind"] == "neuron" and n.get("activation") == "relu")}


def graph_documents(chapter_id: str, name: str, model, data_config, kernel_weights: int,
                    per_class: int = 1, misclassified: int = 4) -> tuple[dict, dict, dict, dict]:
    """A network's exact flowgraph (checked on every test image) and traces on a few test images:
    ({site path: document}, the figure's data paths, the graph, the check's figures)."""
    test = load_mnist(data_config).test
    graph, _, outputs, exactness = exact_graph(model, test)
    samples = sample_traces(graph, outputs.argmax(1), test, per_class, misclassified)
    paths = {"flowgraph": chapter_data(chapter_id, f"{name}.json"),
             "traces": chapter_data(chapter_id, f"{name}-traces.json")}
    documents = {paths["flowgraph"]: flowgraph_document(chapter_id, graph, list(INPUT_SHAPE), kernel_weights,
                                                        constant_outputs(graph), input_range=list(INPUT_RANGE)),
                 paths["traces"]: traces_document(chapter_id, f"{name}.json", samples)}
    return documents, paths, graph, exactness


def spread(values: list[float], fmt=lambda v: f"{100 * v:.1f}%") -> str:
    """"median (lowest to highest)" over seeds, or one number when they agree to the shown digits."""
    low, mid, high = fmt(min(values)), fmt(statistics.median(values)), fmt(max(values))
    return mid if low == high else f"{mid} ({low} to {high})"


def points(values: list[float]) -> str:
    """A difference in accuracy, in percentage points with its sign."""
    return f"{100 * statistics.median(values):+.2f} points" + (
        "" if len(values) == 1 else f" ({100 * min(values):+.2f} to {100 * max(values):+.2f})")


def seeds_phrase(seeds) -> str:
    return f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}"


def schedule_counts(prune, sizes: list[int]) -> list[int]:
    """The kernel weights each layer keeps after the last round of a lottery schedule (the same
    for every seed: the schedule fixes the counts, the magnitudes only which weights)."""
    from generator.networks.prune import kept_after_round
    alive = list(sizes)
    for r in range(1, prune.rounds + 1):
        alive = [min(a, kept_after_round(prune, k, a, size, r)) for k, (a, size) in enumerate(zip(alive, sizes))]
    return alive


def layer_sizes(model_config) -> list[int]:
    s = model_config.layer_sizes
    return [a * b for a, b in zip(s[:-1], s[1:])]
