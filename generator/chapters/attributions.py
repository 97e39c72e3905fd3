"""Looking inside, part 3: attributions. For a test image of each digit, which pixels the dense
MNIST MLP's and its lottery ticket's answers rest on, by four methods through Captum (saliency,
guided backpropagation, occlusion, integrated gradients) and by the one only an exact graph gives:
each pixel's exact contribution to the logit on the image's activation pattern, which sums with
the pattern's constant to the logit. The networks are mnist-mlp-lth's; nothing here trains."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from generator.chapters.mnist_lottery import (INPUT_RANGE, INPUT_SHAPE, TEST_IMAGES, published_graph, studied_model,
                                              test_images_file)
from generator.flowgraph.export import flowgraph_document, validate
from generator.flowgraph.graph import Evaluator, flowgraph_from_sequential, simplify
from generator.flowgraph.layout import place_as
from generator.inside.attributions import METHODS, attribute, exact_contributions
from generator.inside.spade import circuit_model
from generator.networks.config import require
from generator.networks.data import load_mnist
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data

ID = "attributions"
UPSTREAM = "mnist-mlp-lth"
SPADE = "spade"      # its circuits, one per image, are the third row
NETWORKS = (("dense", "dense network", "dense"), ("pruned", "lottery ticket", "shown"))
EXACT = {"id": "exact", "name": "exact (the graph)", "signed": True}


@dataclass(frozen=True)
class AttributionConfig:
    per_class: int = 1                  # test images of each digit: the first ones of the test set
    occlusion_patch: int = 4            # side of the grey-out square, pixels
    occlusion_stride: int = 2
    integrated_gradients_steps: int = 64

    def __post_init__(self):
        require(isinstance(self.per_class, int) and 1 <= self.per_class <= 5, "per_class", "an integer in 1..5", self.per_class)
        require(isinstance(self.occlusion_patch, int) and 1 <= self.occlusion_patch <= 14, "occlusion_patch",
                "an integer in 1..14", self.occlusion_patch)
        require(isinstance(self.occlusion_stride, int) and 1 <= self.occlusion_stride <= self.occlusion_patch,
                "occlusion_stride", "an integer in 1..occlusion_patch", self.occlusion_stride)
        require(isinstance(self.integrated_gradients_steps, int) and 2 <= self.integrated_gradients_steps <= 1000,
                "integrated_gradients_steps", "an integer in 2..1000", self.integrated_gradients_steps)


CONFIGS = {"full": AttributionConfig(), "quick": AttributionConfig(integrated_gradients_steps=16)}


def tasks(config: AttributionConfig, upstream: dict[str, Upstream]) -> list:
    return []   # a few images through two small networks: the assembly does it


def chosen_images(labels: np.ndarray, per_class: int) -> list[int]:
    """The first `per_class` test images of each digit, digit by digit."""
    return [int(i) for digit in range(10) for i in np.flatnonzero(labels == digit)[:per_class]]


def _round(values: np.ndarray) -> list[float]:
    # Four significant digits: far finer than a colour, a third of the bytes of full floats.
    return [float(f"{v:.4g}") for v in values]


def attributions_document(config: AttributionConfig, upstream: dict[str, Upstream],
                          first: int | None = None) -> tuple[dict, dict[str, dict]]:
    """The document and the SPADE circuits' graphs it points to (by path). On one BLAS thread, so
    the numbers are the same in a worker and in the main process. first: only the first images
    (what the check recomputes)."""
    with threadpool_limits(1):
        return _attributions_document(config, upstream, first)


def _attributions_document(config: AttributionConfig, upstream: dict[str, Upstream],
                           first: int | None) -> tuple[dict, dict[str, dict]]:
    up = upstream[UPSTREAM]
    test = load_mnist(up.config.data).test
    chosen = chosen_images(test.labels, config.per_class)[:first]
    pixels = test.pixels[chosen]
    networks, maps = [], {}
    for network, name, which in NETWORKS:
        path = published_graph(up, which)
        graph = up.output.documents[path]
        model = studied_model(up.config, up.results, network)
        evaluator = Evaluator(graph)
        targets = evaluator.outputs(pixels / 255.0).argmax(axis=1)   # what the network predicts
        exact = [exact_contributions(graph, p, int(t), evaluator) for p, t in zip(pixels, targets)]
        maps[network] = {method: [_round(row) for row in attribute(method, model, pixels, targets, config)]
                         for method in METHODS}
        maps[network]["exact"] = [_round(c) for c, _, _ in exact]
        networks.append({"id": network, "name": name, "flowgraph": path, "targets": targets.tolist(),
                         "logits": [float(l) for _, _, l in exact], "constants": [float(k) for _, k, _ in exact],
                         "check": max(abs(c.sum() + k - l) for c, k, l in exact)})
    circuits, maps["spade"] = spade_row(config, upstream, chosen, pixels)
    networks.append(circuits.pop("entry"))
    methods = [{"id": m, "name": METHODS[m].name, "signed": METHODS[m].signed} for m in METHODS] + [EXACT]
    return validate({"schema_version": 2, "experiment": ID, "images_file": TEST_IMAGES,
                     "images": [{"test_index": i, "label": int(test.labels[i])} for i in chosen],
                     "methods": methods, "networks": networks, "maps": maps,
                     "settings": {"occlusion_patch": config.occlusion_patch, "occlusion_stride": config.occlusion_stride,
                                  "integrated_gradients_steps": config.integrated_gradients_steps}}, "attributions"), circuits


def spade_row(config: AttributionConfig, upstream: dict[str, Upstream], chosen: list[int],
              pixels: np.ndarray) -> tuple[dict, dict]:
    """The same methods on each image's own SPADE circuit (made as the spade chapter makes it, for
    that image): ({"entry": the network's entry, path: circuit graph, ...}, {method: maps})."""
    up, spade = upstream[UPSTREAM], upstream[SPADE]
    dense = studied_model(up.config, up.results, "dense")
    positions = up.output.documents[published_graph(up, "dense")]
    graphs, maps, exact, targets = {}, {m: [] for m in METHODS}, [], []
    for k, i in enumerate(chosen):
        model, _, weights = circuit_model(dense, pixels[k], spade.config.seed + i, spade.config)
        graph = place_as(simplify(flowgraph_from_sequential(model, [INPUT_RANGE] * pixels.shape[1])), positions)
        target = int(Evaluator(graph).outputs(pixels[k:k + 1] / 255.0).argmax())
        graphs[chapter_data(ID, f"spade-{i}.json")] = flowgraph_document(ID, graph, list(INPUT_SHAPE), weights, {},
                                                                          input_range=list(INPUT_RANGE))
        for method in METHODS:
            maps[method].append(_round(attribute(method, model, pixels[k:k + 1], [target], config)[0]))
        exact.append(exact_contributions(graph, pixels[k], target))
        targets.append(target)
    maps["exact"] = [_round(c) for c, _, _ in exact]
    entry = {"id": "spade", "name": "SPADE circuit", "flowgraphs": list(graphs), "targets": targets,
             "logits": [float(l) for _, _, l in exact], "constants": [float(c) for _, c, _ in exact],
             "check": max(abs(c.sum() + k - l) for c, k, l in exact)}
    return {"entry": entry, **graphs}, maps


def agreement(document: dict) -> dict[str, dict[str, float]]:
    """Per network and method: the mean over the images of the correlation between the method's
    map and the exact contributions (over the pixels the exact map is not 0 on or the method is)."""
    table = {}
    for network in document["networks"]:
        exact = document["maps"][network["id"]]["exact"]
        table[network["id"]] = {}
        for method in document["methods"]:
            if method["id"] == "exact":
                continue
            found = document["maps"][network["id"]][method["id"]]
            values = []
            for a, b in zip(found, exact):
                a, b = np.asarray(a), np.asarray(b)
                values.append(float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0)
            table[network["id"]][method["id"]] = float(np.mean(values))
    return table


FIGURES = {
    "maps": Figure(
        "attributions", "Which pixels each answer rests on",
        "For one test image (pick another, or draw your own), each method's map of the pixels behind the logit the "
        "network predicts: the dense network, its lottery ticket, and the circuit SPADE makes for this image alone; "
        "the sign palette's colours are positive and "
        "negative, stronger is larger (each map scaled to its own largest value; saliency has no sign). The last "
        "column is exact and computed here from the graph: on this image the network is one affine function, and "
        "the contributions add up, with its constant, to the logit.",
        {"sample": "0"}),
}


def assemble(config: AttributionConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    document, circuits = attributions_document(config, upstream)
    with threadpool_limits(1):
        table = agreement(document)
    check = max(n["check"] for n in document["networks"])
    facts = {"images": str(len(document["images"])), "methods": ", ".join(m["name"] for m in document["methods"][:-1]),
             "contribution_check": f"{check:.1e}", "occlusion_patch": str(config.occlusion_patch),
             "occlusion_stride": str(config.occlusion_stride), "ig_steps": str(config.integrated_gradients_steps)}
    for network, row in table.items():
        for method, value in row.items():
            facts[f"agree_{network}_{method.replace('-', '_')}"] = f"{value:.2f}"
    path = chapter_data(ID, "attributions.json")
    data = {"maps": {"attributions": path, "images": TEST_IMAGES}}
    manifest = {"kind": "attributions", "methods": [m["id"] for m in document["methods"]],
                "images": [image["test_index"] for image in document["images"]], "contribution_check": check,
                "attributions": path}
    files = {TEST_IMAGES: test_images_file(load_mnist(upstream[UPSTREAM].config.data).test)}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data), documents={path: document, **circuits},
                         manifest=manifest, files=files)


def check(config: AttributionConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    """The exact contributions published add up to the logits of the published graphs, and every
    map is what the methods give on the upstream networks now."""
    shipped = output.documents.get(chapter_data(ID, "attributions.json"))
    if shipped is None:
        raise BuildError("attributions.json is missing")
    if max(n["check"] for n in shipped["networks"]) > 1e-9:
        raise BuildError("the exact contributions do not add up to the logits")
    # Every method again on the first image (all of them would double a warm build's checks).
    again, _ = attributions_document(config, upstream, first=1)
    for network, redone in zip(shipped["networks"], again["networks"]):
        if (network["targets"][:1], network["logits"][:1], network["constants"][:1]) != \
                (redone["targets"], redone["logits"], redone["constants"]):
            raise BuildError(f"the {network['name']}'s logits are not the upstream graph's")
        for method, maps in again["maps"][network["id"]].items():
            if shipped["maps"][network["id"]].get(method, [None])[0] != maps[0]:
                raise BuildError(f"the {network['name']}'s {method} map is not what the method gives")


CHAPTER = Chapter(
    id=ID,
    title="Looking inside: which pixels an answer rests on",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(UPSTREAM, SPADE),
    headline="{methods} beside the exact contribution of every pixel, which sums to the logit within "
             "{contribution_check}",
    key_figure="maps",
)
