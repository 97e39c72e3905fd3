"""Other domains, a small CNN: three 3×3 convolutions (6 channels, no padding) and a dense layer,
pruned per layer to the post's counts. Its flowgraph unrolls the convolutions, a node per channel
and position and an edge per multiply, and shows why pruning does not make a convolutional
graph small: one kernel weight is a multiply at every position of the feature map."""
from __future__ import annotations

from generator.site import charts
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, TaskResult, Upstream, figure_entries
from generator.networks.config import CNNConfig, DataConfig, LotteryExperiment, PruneConfig, TrainConfig
from generator.flowgraph.graph import subgraph_size
from generator.chapters.mnist_lottery import check_lottery_output, analyse, describe_sample, lottery_documents, lottery_facts, lottery_manifest, lottery_tasks
from generator.pipeline.paths import chapter_data

ID = "mnist-cnn"

CONFIGS = {
    # The post's per-layer counts (6, 23, 23, 135 kernel weights) reached in 5 lottery rounds on a
    # cubic schedule, resetting to the initial weights; the dense layer keeps 13 or 14 weights per
    # class so that no class loses every input; the last round trains 3 epochs at a higher rate
    # with cosine decay. Chosen on validation over alternatives (prune and fine-tune without
    # resetting, rewinding, geometric schedules, global magnitude in the dense layer).
    "full": LotteryExperiment(
        seeds=(0, 1, 2),
        model=CNNConfig(),
        train=TrainConfig(epochs_per_round=1, final_epochs=3, final_learning_rate=3e-3, final_schedule="cosine"),
        prune=PruneConfig(rounds=5, targets=(6, 23, 23, 135), balanced=(3,)),
    ),
    "quick": LotteryExperiment(
        seeds=(0,),
        data=DataConfig(train_size=5_000, validation_size=1_000, test_size=10_000),
        model=CNNConfig(),
        train=TrainConfig(epochs_per_round=1, final_epochs=1, final_learning_rate=3e-3, final_schedule="cosine"),
        prune=PruneConfig(rounds=2, targets=(6, 23, 23, 135), balanced=(3,)),
    ),
}

# Figures of the 2020 post (shared/seeds/000), quoted in the text.
POST = {"post_weights_per_layer": "6, 23, 23, 135", "post_test_accuracy": "80%",
        "post_largest_output": "7", "post_largest_vertices": "1,659"}

LAYERS = ["conv 1 (1→6)", "conv 2 (6→6)", "conv 3 (6→6)", "dense (2,904→10)"]

FIGURES = {
    "accuracy-vs-weights": Figure(
        "altair", "Accuracy as the CNN is pruned",
        "Test and validation accuracy after each of the {rounds} rounds against the kernel weights left "
        "(log scale): median over {seeds_phrase}, band from the lowest to the highest. The ringed point "
        "is round {selected_round}, drawn below."),
    "weights-and-edges": Figure(
        "altair", "Why a pruned CNN's graph stays big",
        "For each layer of seed {seed}'s network: the kernel weights pruning kept, the multiplies they "
        "become when the convolution is unrolled (a weight is used at every position of its feature map), "
        "and the edges left after simplification. Log scale."),
    "subgraph-sizes": Figure(
        "altair", "How much of the graph each output needs",
        "Vertices in the subgraph that decides each output (the pixels, positions and channels it depends "
        "on). The largest, output {largest_class}, is dark; the dashed line is the post's largest, output "
        "{post_largest_output} with {post_largest_vertices} vertices."),
    "flowgraph": Figure(
        "flowgraph", "The pruned CNN as an exact flowgraph",
        "The {vertices} vertices and {edges} edges. Each convolutional layer is a column of its feature "
        "maps, one small grid per channel, each node where its position is in the map; pixels sit where "
        "they are in the image. Edge colour is the sign of the weight.",
        {"output": "all", "sample": "none", "inputs": "pixels"}),
    "output-subgraph": Figure(
        "flowgraph", "Everything that decides the largest output",
        "Only the part of the graph that one output depends on. It starts on the largest, output "
        "{largest_class} ({largest_vertices} vertices and {largest_edges} edges); pick another output, or a test "
        "image to see the values flow.",
        {"sample": "none", "inputs": "pixels"}),
}


def tasks(config: LotteryExperiment, upstream: dict[str, Upstream]):
    return lottery_tasks(config)


def layer_rows(run) -> list[dict]:
    """Per prunable layer: weights kept, edges unrolled, edges after simplification."""
    def edges_into(graph: dict, layer: int) -> int:
        in_layer = {n["id"] for n in graph["nodes"] if n["layer"] == layer}
        return sum(1 for e in graph["edges"] if e["target"] in in_layer)
    rows = []
    for k, name in enumerate(LAYERS, start=1):
        for what, count in (("kernel weights kept", run.selected["weights_per_layer"][k - 1]),
                            ("edges in the unrolled graph", edges_into(run.raw_graph, k)),
                            ("edges after simplification", edges_into(run.graph, k))):
            rows.append({"layer": name, "what": what, "count": count})
    return rows


def assemble(config: LotteryExperiment, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    run = analyse(config, results)
    sizes = {n["class"]: subgraph_size(run.graph, n["id"]) for n in run.graph["nodes"] if n["kind"] == "output"}
    largest = max(sizes, key=lambda c: (sizes[c][0], -c))
    trace_sample = next((s for s in run.samples if s["label"] == largest == s["prediction"]), run.samples[0])
    rows = layer_rows(run)
    unrolled = {r["layer"]: r["count"] for r in rows if r["what"] == "edges in the unrolled graph"}
    facts = {
        **lottery_facts(run), **POST,
        "largest_class": str(largest), "largest_vertices": f"{sizes[largest][0]:,}",
        "largest_edges": f"{sizes[largest][1]:,}",
        "smallest_vertices": f"{min(v for v, _ in sizes.values()):,}",
        "raw_vertices": f"{len(run.raw_graph['nodes']):,}", "raw_edges": f"{len(run.raw_graph['edges']):,}",
        "conv2_weights": str(run.selected["weights_per_layer"][1]),
        "conv2_unrolled_edges": f"{unrolled[LAYERS[1]]:,}",
        "conv_edges_per_weight": f"{sum(unrolled[n] for n in LAYERS[:3]) / sum(run.selected['weights_per_layer'][:3]):.0f}",
        "trace_sample": describe_sample(trace_sample),
        "channels": ", ".join(map(str, config.model.channels)),
        "kernel": f"{config.model.kernel_size}×{config.model.kernel_size}",
        "map_sides": " → ".join(f"{side}×{side}" for side in range(config.model.input_side,
                                                                      config.model.feature_side - 1, -(config.model.kernel_size - 1))),
        "dense_inputs": f"{config.model.channels[-1] * config.model.feature_side ** 2:,}",
    }
    documents, paths = lottery_documents(ID, run, layer_chart=False)
    paths["weights-and-edges"] = chapter_data(ID, "weights-and-edges.vl.json")
    paths["subgraph-sizes"] = chapter_data(ID, "subgraph-sizes.vl.json")
    documents[paths["weights-and-edges"]] = charts.weights_and_edges(rows)
    documents[paths["subgraph-sizes"]] = charts.subgraph_sizes(
        [{"class": c, "vertices": v, "edges": e, "largest": c == largest} for c, (v, e) in sorted(sizes.items())],
        {"vertices": int(POST["post_largest_vertices"].replace(",", "")),
         "label": f"post: output {POST['post_largest_output']}, {POST['post_largest_vertices']} vertices"})
    graph_data = {"flowgraph": paths["flowgraph"], "traces": paths["traces"]}
    data = {fid: ({"spec": paths[fid]} if f.kind == "altair" else graph_data) for fid, f in FIGURES.items()}
    options = {"output-subgraph": {"output": str(largest)}}
    manifest = {**lottery_manifest(run, paths),
                "subgraph_sizes": {str(c): {"vertices": v, "edges": e} for c, (v, e) in sorted(sizes.items())},
                "unrolled": {"vertices": len(run.raw_graph["nodes"]), "edges": len(run.raw_graph["edges"])}}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data, options),
                         documents=documents, manifest=manifest)


CHAPTER = Chapter(
    id=ID,
    title="Other domains: a small CNN",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check_lottery_output,
    headline="a CNN pruned to {selected_weights} weights ({selected_weights_per_layer} per layer) at "
             "{selected_test_accuracy} test accuracy still unrolls into {vertices} vertices and {edges} edges",
    key_figure="weights-and-edges",
)
