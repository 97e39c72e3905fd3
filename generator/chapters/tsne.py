"""Looking inside, part 1: every layer of the first chapter's dense MLP and of its lottery ticket
as a t-SNE map of the test images, and how well each layer separates the digits (k-NN accuracy
in the map and in the layer's own space). The networks are mnist-mlp-lth's (the seed it chose on
validation: round 0 is the dense network, its last round the ticket); nothing here trains."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from generator.chapters.mnist_lottery import INPUT_RANGE, TEST_IMAGES, pct, published_graph, studied_model, studied_round
from generator.flowgraph.export import validate
from generator.flowgraph.graph import Evaluator, flowgraph_from_sequential, simplify
from generator.inside.tsne import embed, knn_accuracy, layer_values
from generator.networks.config import LotteryExperiment, require
from generator.networks.data import load_mnist
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, Task, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data
from generator.site import charts

ID = "tsne"
UPSTREAM = "mnist-mlp-lth"
NETWORKS = {"dense": "dense network", "pruned": "lottery ticket"}


@dataclass(frozen=True)
class TsneConfig:
    points: int = 5_000        # the first N test images
    perplexity: float = 30.0
    k: int = 10                # neighbours for the k-NN accuracy and for placing a drawing
    seed: int = 0              # openTSNE's random state

    def __post_init__(self):
        require(isinstance(self.points, int) and 100 <= self.points <= 10_000, "points",
                "an integer in 100..10000", self.points)
        require(isinstance(self.perplexity, float) and 2.0 <= self.perplexity <= self.points / 4, "perplexity",
                "a float in 2..points/4", self.perplexity)
        require(isinstance(self.k, int) and 1 <= self.k <= 50, "k", "an integer in 1..50", self.k)
        require(isinstance(self.seed, int) and self.seed >= 0, "seed", "an integer >= 0", self.seed)


CONFIGS = {
    "full": TsneConfig(),
    # Small, for the tests: a map of 300 points takes under a second.
    "quick": TsneConfig(points=300, perplexity=20.0),
}


def network_graph(experiment: LotteryExperiment, results: dict[str, TaskResult], network: str) -> dict:
    """The network's exact flowgraph, simplified as mnist-mlp-lth publishes it (no layout)."""
    return simplify(flowgraph_from_sequential(studied_model(experiment, results, network), [INPUT_RANGE] * 784))


def _seed_results(experiment: LotteryExperiment, results: tuple) -> dict[str, TaskResult]:
    return {f"seed-{s}": r for s, r in zip(experiment.seeds, results)}


def _layer(config: TsneConfig, experiment: LotteryExperiment, network: str, layer: int, results: dict):
    """What a map is computed from: (the layer's name, node ids, values), labels, predictions."""
    test = load_mnist(experiment.data).test
    graph = network_graph(experiment, results, network)
    pixels = test.pixels[:config.points]
    layers = layer_values(graph, pixels)
    if layer >= len(layers):
        raise BuildError(f"the {network} network has {len(layers)} layers, not {layer + 1}")
    predictions = layers[-1][2].argmax(axis=1)
    return layers[layer], test.labels[:config.points], predictions


def map_layer(config: TsneConfig, experiment: LotteryExperiment, network: str, layer: int, *seed_results) -> TaskResult:
    """One t-SNE map: a layer of one network on the first `points` test images. On one thread
    of BLAS: how many a process has (a worker, or the main one at --jobs 1) must not change
    the rounding, and so the map."""
    with threadpool_limits(1):
        return _map_layer(config, experiment, network, layer, seed_results)


def _map_layer(config: TsneConfig, experiment: LotteryExperiment, network: str, layer: int, seed_results) -> TaskResult:
    results = _seed_results(experiment, seed_results)
    (name, ids, values), labels, predictions = _layer(config, experiment, network, layer, results)
    embedding = embed(values, config.perplexity, config.seed)
    seed, round_number = studied_round(experiment, results, network)
    record = {"network": network, "layer": layer, "name": name, "seed": seed, "round": round_number,
              "nodes": ids, "points": config.points,
              "knn_map": knn_accuracy(embedding, labels, config.k),
              "knn_space": knn_accuracy(values, labels, config.k)}
    return TaskResult(record=record, arrays={"embedding": embedding, "predictions": predictions.astype(np.int64)})


def verify_map(config: TsneConfig, experiment: LotteryExperiment, network: str, layer: int, *rest) -> None:
    """A cached map is of this layer of this network (its nodes, the network's predictions, the
    k-NN accuracies recomputed from the stored map and the layer's values)."""
    *seed_results, result = rest
    with threadpool_limits(1):
        _verify_map(config, experiment, network, layer, tuple(seed_results), result)


def _verify_map(config: TsneConfig, experiment: LotteryExperiment, network: str, layer: int, seed_results, result) -> None:
    results = _seed_results(experiment, seed_results)
    (name, ids, values), labels, predictions = _layer(config, experiment, network, layer, results)
    record, embedding = result.record, result.arrays.get("embedding")
    if record.get("nodes") != ids or record.get("name") != name or record.get("points") != config.points:
        raise BuildError("its layer is not this network's")
    if embedding is None or embedding.shape != (config.points, 2) or not np.isfinite(embedding).all():
        raise BuildError("its map is missing or not finite")
    if not np.array_equal(result.arrays.get("predictions"), predictions):
        raise BuildError("its predictions are not the network's")
    if (record.get("knn_map") != knn_accuracy(embedding, labels, config.k)
            or record.get("knn_space") != knn_accuracy(values, labels, config.k)):
        raise BuildError("its k-NN accuracies do not recompute")


def layer_count(experiment: LotteryExperiment) -> int:
    return len(experiment.model.layer_sizes)


def tasks(config: TsneConfig, upstream: dict[str, Upstream]) -> list[Task]:
    experiment = upstream[UPSTREAM].config
    seeds = tuple(upstream[UPSTREAM].tasks[f"seed-{s}"] for s in experiment.seeds)
    return [Task(f"{network}-layer-{layer}", map_layer, (config, experiment, network, layer), verify=verify_map,
                 needs=seeds)
            for network in NETWORKS for layer in range(layer_count(experiment))]


def layer_id(name: str) -> str:
    return name.replace(" ", "-")


FIGURES = {
    "map": Figure(
        "tsne", "Every layer as a map of the test images",
        "The first {points} test images placed by t-SNE (perplexity {perplexity}) from the values of one layer: "
        "the dense network on the left, its lottery ticket on the right, the same image in both. Colour is the "
        "true digit; a ring marks an image that network gets wrong. Hover a point to see the image; click it to "
        "trace it through that network's graph below; choose Select and drag to gather a group. A digit you draw "
        "is placed at the mean position of its {k} nearest test images in that layer's own space (the map "
        "itself is not recomputed).",
        {"layer": "layer-2", "network": "both"}),
    "knn": Figure(
        "altair", "How well each layer separates the digits",
        "Leave-one-out {k}-nearest-neighbour accuracy over the {points} images, in each layer's own space (solid) "
        "and in its 2-D map (dashed), for the dense network and the ticket."),
}


def embedding_document(config: TsneConfig, experiment: LotteryExperiment, results: dict[str, TaskResult],
                       upstream: Upstream) -> dict:
    test = load_mnist(experiment.data).test
    up = _seed_results(experiment, tuple(upstream.results[f"seed-{s}"] for s in experiment.seeds))
    networks, maps = [], {}
    for network, title in NETWORKS.items():
        first = results[f"{network}-layer-0"]
        seed, round_number = studied_round(experiment, up, network)
        predictions = first.arrays["predictions"]
        networks.append({"id": network, "name": title, "seed": seed, "round": round_number,
                         "flowgraph": published_graph(upstream, network),
                         "predictions": predictions.tolist(),
                         "accuracy": float(np.mean(predictions == test.labels[:config.points]))})
        maps[network] = {}
        for layer in range(layer_count(experiment)):
            result = results[f"{network}-layer-{layer}"]
            xy = result.arrays["embedding"]
            maps[network][layer_id(result.record["name"])] = {
                "name": result.record["name"], "nodes": result.record["nodes"],
                # Two decimals: a map spans about a hundred units, so this is far below a pixel.
                "x": [round(float(v), 2) for v in xy[:, 0]], "y": [round(float(v), 2) for v in xy[:, 1]],
                "knn_map": result.record["knn_map"], "knn_space": result.record["knn_space"]}
    layers = [{"id": layer_id(results[f"dense-layer-{k}"].record["name"]), "name": results[f"dense-layer-{k}"].record["name"]}
              for k in range(layer_count(experiment))]
    return validate({"schema_version": 2, "experiment": ID, "points": config.points, "k": config.k,
                     "perplexity": config.perplexity, "seed": config.seed, "images": TEST_IMAGES,
                     "test_index": list(range(config.points)), "labels": test.labels[:config.points].tolist(),
                     "layers": layers, "networks": networks, "maps": maps}, "embedding")


def knn_table(document: dict) -> dict:
    return {network["id"]: {layer["id"]: {"map": document["maps"][network["id"]][layer["id"]]["knn_map"],
                                          "space": document["maps"][network["id"]][layer["id"]]["knn_space"]}
                            for layer in document["layers"]}
            for network in document["networks"]}


def knn_facts(knn: dict) -> dict[str, str]:
    return {f"knn_{network}_{layer.replace('-', '_')}_{kind}": pct(value)
            for network, layers in knn.items() for layer, kinds in layers.items() for kind, value in kinds.items()}


def assemble(config: TsneConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    experiment = upstream[UPSTREAM].config
    document = embedding_document(config, experiment, results, upstream[UPSTREAM])
    knn = knn_table(document)
    dense, pruned = document["networks"]
    hidden = [layer for layer in document["layers"] if layer["id"].startswith("layer-")]
    best_pruned = max(document["layers"], key=lambda layer: knn["pruned"][layer["id"]]["space"])
    facts = {
        "points": f"{config.points:,}", "k": str(config.k), "perplexity": f"{config.perplexity:g}",
        "seed": str(dense["seed"]), "ticket_round": str(pruned["round"]),
        "dense_accuracy": pct(dense["accuracy"]), "pruned_accuracy": pct(pruned["accuracy"]),
        "dense_wrong": f"{sum(p != y for p, y in zip(dense['predictions'], document['labels'])):,}",
        "pruned_wrong": f"{sum(p != y for p, y in zip(pruned['predictions'], document['labels'])):,}",
        "hidden_layers": str(len(hidden)),
        "pruned_best_layer": best_pruned["name"],
        "dense_nodes": ", ".join(f"{len(document['maps']['dense'][layer['id']]['nodes'])}" for layer in document["layers"]),
        "pruned_nodes": ", ".join(f"{len(document['maps']['pruned'][layer['id']]['nodes'])}" for layer in document["layers"]),
        **knn_facts(knn),
    }
    path = chapter_data(ID, "embedding.json")
    chart_path = chapter_data(ID, "knn.vl.json")
    documents = {path: document,
                 chart_path: charts.knn_by_layer(knn, [layer["name"] for layer in document["layers"]],
                                                 [layer["id"] for layer in document["layers"]], NETWORKS)}
    data = {"map": {"embedding": path, "images": TEST_IMAGES}, "knn": {"spec": chart_path}}
    manifest = {"kind": "tsne", "k": config.k, "points": config.points, "embedding": path, "knn_accuracy": knn}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data), documents=documents,
                         manifest=manifest)


def check(config: TsneConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    """The published maps are the task results', their k-NN figures recompute from the shipped
    coordinates, and the graphs the page evaluates (mnist-mlp-lth's) are the networks mapped:
    same layer nodes, same predictions on every point."""
    document = output.documents.get(chapter_data(ID, "embedding.json"))
    if document is None:
        raise BuildError("embedding.json is missing")
    labels = np.asarray(document["labels"])
    for network in document["networks"]:
        for layer in document["layers"]:
            shipped = document["maps"][network["id"]][layer["id"]]
            xy = np.column_stack([shipped["x"], shipped["y"]])
            result = next(r for r in results.values() if r.record["network"] == network["id"]
                          and layer_id(r.record["name"]) == layer["id"])
            if np.abs(xy - result.arrays["embedding"]).max() > 0.006:
                raise BuildError(f"the {network['id']} map of {layer['name']} is not its task's")
            if not math.isclose(knn_accuracy(xy, labels, config.k), shipped["knn_map"], abs_tol=0.01):
                raise BuildError(f"the {network['id']} map of {layer['name']}: its k-NN accuracy does not recompute")
        graph = upstream[UPSTREAM].output.documents.get(network["flowgraph"])
        if graph is None:
            raise BuildError(f"{network['flowgraph']}: mnist-mlp-lth does not publish it")
        test = load_mnist(upstream[UPSTREAM].config.data).test
        values = Evaluator(graph).values(test.pixels[:config.points] / 255.0)
        columns = {n["id"]: k for k, n in enumerate(graph["nodes"])}
        for layer in document["layers"]:
            if any(node not in columns for node in document["maps"][network["id"]][layer["id"]]["nodes"]):
                raise BuildError(f"{network['flowgraph']} lacks nodes of the {network['id']} map of {layer['name']}")
        logits = [columns[node] for node in document["maps"][network["id"]][document["layers"][-1]["id"]]["nodes"]]
        if values[:, logits].argmax(axis=1).tolist() != network["predictions"]:
            raise BuildError(f"{network['flowgraph']} does not predict what the {network['id']} map says")


CHAPTER = Chapter(
    id=ID,
    title="Looking inside: every layer as a map",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(UPSTREAM,),
    headline="the first {points} test images mapped by t-SNE from every layer of the dense network and its ticket; "
             "{k}-NN accuracy in the ticket's logits {knn_pruned_logits_space}, dense {knn_dense_logits_space}",
    key_figure="map",
)
