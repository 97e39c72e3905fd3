"""Exact ranges and robustness: what the MLP chapters' exact bounds say (each node's true range
over every image, with the images that reach it), and, for the first test images, the smallest
change of any pixel (L∞) that changes the prediction of the lottery ticket and of the
dense-first ticket, found exactly by mixed-integer programming (generator/flowgraph/robustness.py).

The tasks rebuild each network's graph from the upstream chapters' task results (never training
them again) and search a share of the images each; the assembly checks by digest that they
searched the network the chapter draws, and every adversarial input against the graph it
publishes."""
from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import dataclass

import numpy as np

from generator.chapters.mnist_lottery import EXACT, INPUT_RANGE, describe_sample, profile_of, studied_model
from generator.flowgraph.export import traces_document, validate
from generator.flowgraph.graph import Evaluator, evaluate, flowgraph_from_sequential, output_logits, simplify
from generator.flowgraph.robustness import GROWTH, MARGIN, robustness_radius
from generator.flowgraph.traces import graph_trace, trace
from generator.networks.config import require
from generator.networks.data import load_mnist
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, Task, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data
from generator.pipeline.threads import one_thread
from generator.site import robustness_charts
from generator.site.palette import SIGNS

ID = "robustness"
LOTTERY, DENSE_FIRST = "mnist-mlp-lth", "mnist-mlp-lth-dense-first"
NETWORKS = (("ticket", "lottery ticket", LOTTERY), ("dense-first", "dense-first ticket", DENSE_FIRST))
GREY = 255.0


@dataclass(frozen=True)
class RobustnessConfig:
    images: int = 100          # the first test images of MNIST, each searched on both networks
    chunk: int = 25            # images per task (tasks run in parallel)
    time_limit: float = 300.0  # seconds per program; one that runs out stops the build

    def __post_init__(self):
        require(isinstance(self.images, int) and self.images >= 1, "images", "an integer ≥ 1", self.images)
        require(isinstance(self.chunk, int) and self.chunk >= 1, "chunk", "an integer ≥ 1", self.chunk)
        require(isinstance(self.time_limit, float) and self.time_limit > 0, "time_limit", "a float > 0", self.time_limit)


# quick: one image, one task per network (the dense-first search takes ~8 s an image there)
CONFIGS = {"full": RobustnessConfig(), "quick": RobustnessConfig(images=1, chunk=1)}


def graph_digest(graph: dict) -> str:
    """What a graph computes (its nodes and edges): equal digests, same graph."""
    text = json.dumps({"nodes": graph["nodes"], "edges": graph["edges"]}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def searched_graph(experiment, results: dict[str, TaskResult]) -> dict:
    """The network a lottery chapter draws, as the searches read it: simplified with interval
    bounds. It is the same function as the published graph (whose exact bounds would cost more
    than they save here: inside a small ball interval bounds are tight)."""
    model = studied_model(experiment, results, "shown")
    return simplify(flowgraph_from_sequential(model, [INPUT_RANGE] * 784))


@one_thread
def search_radii(experiment, start: int, stop: int, time_limit: float, *seed_results: TaskResult) -> TaskResult:
    """The exact radius of test images start..stop-1 on the network the chapter draws."""
    results = {f"seed-{s}": r for s, r in zip(experiment.seeds, seed_results)}
    test = load_mnist(experiment.data).test
    graph = searched_graph(experiment, results)
    rows, adversarial = [], np.full((stop - start, test.pixels.shape[1]), np.nan)
    for k, index in enumerate(range(start, stop)):
        found = robustness_radius(graph, test.pixels[index] / GREY, time_limit)
        rows.append({"test_index": index, "label": int(test.labels[index]), "predicted": found.predicted,
                     "radius": found.radius, "adversarial_class": found.adversarial_class})
        if found.adversarial is not None:
            adversarial[k] = found.adversarial
    return TaskResult(record={"graph": graph_digest(graph), "images": rows}, arrays={"adversarial": adversarial})


def verify_radii(experiment, start: int, stop: int, time_limit: float, *rest) -> None:
    result = rest[-1]
    rows = result.record.get("images", [])
    if ([r.get("test_index") for r in rows] != list(range(start, stop))
            or result.arrays.get("adversarial", np.zeros(0)).shape[0] != stop - start):
        raise BuildError(f"a cached robustness result does not hold test images {start}..{stop - 1}")


# Seconds a search took per image (full report, benchmarks/build_times.py): a guess that starts
# the dense-first chunks (minutes each) before anything shorter in their level.
SECONDS_PER_IMAGE = {"ticket": 0.1, "dense-first": 6.0}


def tasks(config: RobustnessConfig, upstream: dict[str, Upstream]) -> list[Task]:
    found = []
    for network, _, chapter in NETWORKS:
        experiment = upstream[chapter].config
        seeds = tuple(upstream[chapter].tasks[f"seed-{s}"] for s in experiment.seeds)
        for start in range(0, config.images, config.chunk):
            stop = min(start + config.chunk, config.images)
            found.append(Task(f"{network}-{start:04d}", search_radii, (experiment, start, stop, config.time_limit),
                              verify=verify_radii, needs=seeds, cost=(stop - start) * SECONDS_PER_IMAGE[network]))
    return found


def searched_digest(upstream: Upstream) -> str:
    return graph_digest(searched_graph(upstream.config, upstream.results))


def published(upstream: Upstream) -> tuple[str, dict]:
    path = upstream.output.manifest["flowgraph"]
    return path, upstream.output.documents[path]


def network_rows(config: RobustnessConfig, results: dict[str, TaskResult], network: str, graph: dict,
                 pixels: np.ndarray, searched: str) -> list[dict]:
    """Every searched image of one network, its adversarial input checked on the published graph:
    another class, and no pixel the graph reads farther from the image than the radius.
    searched: the digest of the graph the searches should have run on."""
    rows = []
    evaluator = Evaluator(graph)
    read = np.array(sorted(n["index"] for n in graph["nodes"] if n["kind"] == "input"), dtype=np.int64)
    for start in range(0, config.images, config.chunk):
        result = results[f"{network}-{start:04d}"]
        if result.record["graph"] != searched:
            raise BuildError(f"robustness: the {network} its tasks searched is not the network its chapter publishes")
        for row, adversarial in zip(result.record["images"], result.arrays["adversarial"]):
            if row["radius"] is None:
                rows.append({**row, "adversarial": None})
                continue
            image = pixels[row["test_index"]] / GREY
            moved = float(np.abs(adversarial[read] - image[read]).max()) if len(read) else 0.0
            predicted = int(np.argmax(evaluator.outputs(adversarial[None, :])[0]))
            if predicted == row["predicted"] or moved > row["radius"] + 1e-7:
                raise BuildError(f"robustness: the adversarial input of test image #{row['test_index']} on the "
                                 f"{network} does not change its prediction within the radius")
            rows.append({**row, "adversarial": [float(v) for v in adversarial]})
    return rows


def robust_curve(rows: list[dict], name: str) -> list[dict]:
    """The share of images correct and unchanged by every change up to ε, at ε = 0 and at each
    correct image's radius (grey levels), for the step chart."""
    n = len(rows)
    radii = sorted(r["radius"] * GREY for r in rows if r["label"] == r["predicted"] and r["radius"] is not None)
    held = sum(1 for r in rows if r["label"] == r["predicted"])
    points = [{"network": name, "epsilon": 0.0, "share": held / n, "images": held}]
    for radius in radii:
        held -= 1
        points.append({"network": name, "epsilon": round(radius, 4), "share": held / n, "images": held})
    return points


def grey(radius: float | None) -> str:
    return "none in the box" if radius is None else f"{radius * GREY:.2f}"


def network_facts(key: str, rows: list[dict]) -> dict[str, str]:
    correct = [r for r in rows if r["label"] == r["predicted"]]
    radii = [r["radius"] for r in correct if r["radius"] is not None]
    return {f"{key}_correct": str(len(correct)),
            f"{key}_median": grey(statistics.median(radii)) if radii else "none",
            f"{key}_min": grey(min(radii)) if radii else "none",
            f"{key}_max": grey(max(radii)) if radii else "none",
            f"{key}_under_one": str(sum(1 for r in radii if r * GREY < 1.0)),
            f"{key}_under_eight": str(sum(1 for r in radii if r * GREY < 8.0))}


def example(rows: list[dict]) -> dict:
    """The image shown: the correctly classified one with the median radius (the typical case)."""
    correct = sorted((r for r in rows if r["label"] == r["predicted"] and r["radius"] is not None),
                     key=lambda r: (r["radius"], r["test_index"]))
    if not correct:
        raise BuildError("robustness: no correctly classified test image with a radius to show")
    return correct[(len(correct) - 1) // 2]


def example_documents(graph_path: str, graph: dict, row: dict, pixels: np.ndarray) -> tuple[dict, list[dict]]:
    """The traces of the example (the test image, then its adversarial input, exactly) and the
    cells of the three pictures."""
    image = pixels[row["test_index"]]
    original = graph_trace(graph, "original", row["test_index"], row["label"], image)
    adversarial = np.array(row["adversarial"])
    values = evaluate(graph, adversarial[None, :])
    changed = trace("adversarial", row["test_index"], row["label"], int(output_logits(graph, values)[0].argmax()),
                    np.clip(np.rint(adversarial * GREY), 0, 255).astype(np.uint8), values[0],
                    note=f"changed by at most {row['radius'] * GREY:.2f} grey levels per pixel")
    changed["inputs"] = [float(v) for v in adversarial]
    folder = graph_path.rsplit("/", 2)[-2]
    traces = traces_document(ID, f"../{folder}/flowgraph.json", [original, changed])
    cells = []    # zeros left out: white pixels and unchanged ones are the charts' background
    for k in range(784):
        r, c = divmod(k, 28)
        for panel, value in zip(PANELS, (float(image[k]) / GREY, float(adversarial[k]),
                                         float(adversarial[k] - image[k] / GREY) * GREY)):
            if round(value, 4) != 0:
                cells.append({"panel": panel, "row": r, "col": c, "value": round(value, 4)})
    return traces, cells


PANELS = ["test image", "adversarial image", "the change"]

FIGURES = {
    "robust-share": Figure(
        "altair", "How far the prediction holds, exactly",
        "For each of the first {images} test images, the smallest change of any pixel (in grey levels, L∞) that "
        "makes the network predict another class, found exactly: the line is the share of the images that are "
        "classified correctly and keep their class under every change up to that size. Hover a point for its count."),
    "example-images": Figure(
        "altair", "The smallest change that fools the lottery ticket",
        "{example}: the test image, the adversarial image at the exact radius ({example_radius} grey levels) and "
        "the change, pixel by pixel (purple brighter, brown darker). The ticket reads it as {example_class}."),
    "example-trace": Figure(
        "flowgraph", "The adversarial image through the ticket's graph",
        "The lottery ticket's exact flowgraph on the adversarial image, {example_radius} grey levels from {example}. "
        f"Switch the sample to the original image to see which nodes the change moved. Edge width is |weight|, {SIGNS}.",
        {"output": "all", "inputs": "pixels"}),
}


def assemble(config: RobustnessConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    pixels = load_mnist(upstream[LOTTERY].config.data).test.pixels
    networks, curves = [], []
    exact = EXACT[profile_of(CONFIGS, config)]
    facts = {"images": str(config.images), "margin": f"{MARGIN:g}", "growth": f"{100 * (GROWTH - 1):.0f}%",
             "exact_budget": str(exact.max_binaries), "exact_time_limit": f"{exact.time_limit:g} s"}
    by_network = {}
    for network, name, chapter in NETWORKS:
        path, graph = published(upstream[chapter])
        rows = network_rows(config, results, network, graph, pixels, searched_digest(upstream[chapter]))
        by_network[network] = (path, graph, rows)
        networks.append({"id": network, "name": name, "chapter": chapter, "flowgraph": path, "images": rows})
        curves += robust_curve(rows, name)
        facts.update(network_facts(network.replace("-", "_"), rows))
    path, graph, rows = by_network["ticket"]
    shown = example(rows)
    traces, cells = example_documents(path, graph, shown, pixels)
    facts.update(example=describe_sample({**shown, "prediction": shown["predicted"]}),
                 example_radius=f"{shown['radius'] * GREY:.2f}", example_class=str(shown["adversarial_class"]))
    paths = {"robustness": chapter_data(ID, "robustness.json"), "traces": chapter_data(ID, "traces.json"),
             "robust-share": chapter_data(ID, "robust-share.vl.json"),
             "example-images": chapter_data(ID, "example-images.vl.json")}
    documents = {
        paths["robustness"]: validate({"schema_version": 2, "experiment": ID, "margin": MARGIN, "networks": networks},
                                      "robustness"),
        paths["traces"]: traces,
        paths["robust-share"]: robustness_charts.robust_share(curves, [name for _, name, _ in NETWORKS]),
        paths["example-images"]: robustness_charts.image_triptych(cells, PANELS),
    }
    witnesses = upstream[LOTTERY].output.manifest.get("witnesses")
    data = {"robust-share": {"spec": paths["robust-share"]}, "example-images": {"spec": paths["example-images"]},
            "example-trace": {"flowgraph": path, "traces": paths["traces"], **({"witnesses": witnesses} if witnesses else {})}}
    options = {"example-trace": {"sample": "adversarial"}}
    manifest = {"kind": "robustness", "robustness": paths["robustness"],
                "networks": [{"id": n["id"], "name": n["name"], "flowgraph": n["flowgraph"]} for n in networks]}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data, options), documents=documents,
                         manifest=manifest)


def check(config: RobustnessConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream],
          output: ChapterOutput) -> None:
    """The published radii are the tasks' on the graphs the upstream chapters publish now, and
    every adversarial input changes the prediction within its radius."""
    pixels = load_mnist(upstream[LOTTERY].config.data).test.pixels
    shipped = output.documents.get(chapter_data(ID, "robustness.json"), {})
    for (network, _, chapter), entry in zip(NETWORKS, shipped.get("networks", [])):
        path, graph = published(upstream[chapter])
        rows = network_rows(config, results, network, graph, pixels, searched_digest(upstream[chapter]))
        if entry["flowgraph"] != path or entry["images"] != rows:
            raise BuildError(f"robustness.json: the {network}'s radii are not the tasks' on its published graph")
        if network_facts(network.replace("-", "_"), entry["images"]).items() - output.facts.items():
            raise BuildError(f"the facts of the {network} do not say what robustness.json holds")


CHAPTER = Chapter(
    id=ID,
    title="Exact ranges and robustness",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(LOTTERY, DENSE_FIRST),
    headline="the smallest change that fools the lottery ticket is {ticket_median} grey levels per pixel "
             "(median of its first {images} test images), {dense_first_median} for the dense-first ticket",
    key_figure="robust-share",
)
