"""The answer, across methods: every network the report built, over its seeds, on one chart of
test accuracy against the size of its exact flowgraph (vertices, edges, the largest subgraph
deciding one output, the ReLUs left; the reader switches), with the Pareto front marked and the
text's conclusion drawn from the numbers. Nothing is trained: every network is rebuilt from the
chapters it comes from, and every graph is made the way those chapters make theirs."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

from generator.chapters.mnist_lottery import INPUT_RANGE, choose_seed
from generator.chapters.structure import LOTTERY, graph_sizes, seeds_phrase
from generator.compress.deep_compression import decoded_model
from generator.compress.sparse_training import sparse_model
from generator.flowgraph.graph import flowgraph_from_sequential, simplify
from generator.networks.prune import lottery_model, weights_per_layer
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data
from generator.site import structure_charts
from generator.pipeline.threads import one_thread

ID = "tradeoff"
DENSE_FIRST, SPARSE, DEEP, SPADE = "mnist-mlp-lth-dense-first", "sparse-training", "deep-compression", "spade"
METRICS = {"edges": "edges", "vertices": "vertices", "largest_output_subgraph": "largest output subgraph (vertices)",
           "live_relus": "ReLUs left", "weights": "kernel weights"}
FAMILIES = ["dense network", "lottery ticket", "first-layer-dense ticket", "network trained sparse",
            "Deep Compression network", "SPADE circuits"]
FACT_KEYS = dict(zip(FAMILIES, ["dense", "ticket", "dense_first", "sparse", "deep_compression", "spade"]))


@dataclass(frozen=True)
class TradeoffConfig:
    within: float = 0.01            # "as accurate as": within this much test accuracy of the best


CONFIGS = {"full": TradeoffConfig(), "quick": TradeoffConfig()}


def tasks(config: TradeoffConfig, upstream: dict[str, Upstream]) -> list:
    return []


def sizes_of(model) -> dict:
    """The sizes of a network's exact graph, made as every chapter makes it (unchecked here: the
    graphs the report draws are checked in their chapters; these are counted)."""
    graph = simplify(flowgraph_from_sequential(model, [INPUT_RANGE] * 784))
    return {**graph_sizes(graph), "weights": sum(weights_per_layer(model))}


def points(upstream: dict[str, Upstream]) -> list[dict]:
    lottery, dense_first, sparse, deep = (upstream[c] for c in (LOTTERY, DENSE_FIRST, SPARSE, DEEP))
    out = []

    def add(family: str, chapter: str, seed: int, model, accuracy: float, link: str) -> None:
        out.append({"network": family, "chapter": chapter, "seed": seed, "test_accuracy": accuracy, "href": link,
                    **sizes_of(model)})

    shown = choose_seed(lottery.config, lottery.results)
    shown_df = choose_seed(dense_first.config, dense_first.results)
    for s in lottery.config.seeds:
        rounds = lottery.results[f"seed-{s}"].record["rounds"]
        add("dense network", LOTTERY, s, lottery_model(lottery.config, lottery.results[f"seed-{s}"], 0),
            rounds[0]["test_accuracy"], f"figures/{LOTTERY}/live/" if s == shown else f"{LOTTERY}/")
        add("lottery ticket", LOTTERY, s, lottery_model(lottery.config, lottery.results[f"seed-{s}"], rounds[-1]["round"]),
            rounds[-1]["test_accuracy"], f"figures/{LOTTERY}/flowgraph/" if s == shown else f"{LOTTERY}/")
    for s in dense_first.config.seeds:
        rounds = dense_first.results[f"seed-{s}"].record["rounds"]
        add(FAMILIES[2], DENSE_FIRST, s, lottery_model(dense_first.config, dense_first.results[f"seed-{s}"], rounds[-1]["round"]),
            rounds[-1]["test_accuracy"], f"figures/{DENSE_FIRST}/flowgraph/" if s == shown_df else f"{DENSE_FIRST}/")
    from generator.chapters.sparse_training import sparse_run
    from generator.chapters.deep_compression import compression_run
    for s in lottery.config.seeds:
        result = sparse.results[f"sparse-{s}"]
        add(FAMILIES[3], SPARSE, s, sparse_model(sparse_run(sparse.config, lottery.config, s), result),
            result.record["test_accuracy"],
            f"figures/{SPARSE}/flowgraph/" if s == sparse.output.manifest["selected_seed"] else f"{SPARSE}/")
        result = deep.results[f"compress-{s}"]
        add(FAMILIES[4], DEEP, s, decoded_model(compression_run(deep.config, lottery.config, s), result.arrays["compressed"].tobytes()),
            result.record["stages"][-1]["test_accuracy"],
            f"figures/{DEEP}/flowgraph/" if s == deep.output.manifest["selected_seed"] else f"{DEEP}/")
    samples = upstream[SPADE].output.manifest["samples"]
    out.append({"network": FAMILIES[-1], "chapter": SPADE, "seed": None,
                "test_accuracy": sum(x["prediction"] == x["label"] for x in samples) / len(samples),
                "href": f"figures/{SPADE}/live/",
                "vertices": statistics.median(x["vertices"] for x in samples),
                "edges": statistics.median(x["edges"] for x in samples),
                "weights": statistics.median(x["kept_weights"] for x in samples),
                "largest_output_subgraph": None, "live_relus": None})
    return out


def pareto(rows: list[dict], metric: str) -> set[int]:
    """Indices of the rows no other row beats on both size (smaller) and accuracy (higher)."""
    valid = [i for i, r in enumerate(rows) if r[metric] is not None]
    return {i for i in valid if not any(rows[j][metric] <= rows[i][metric] and rows[j]["test_accuracy"] >= rows[i]["test_accuracy"]
                                        and (rows[j][metric], -rows[j]["test_accuracy"]) != (rows[i][metric], -rows[i]["test_accuracy"])
                                        for j in valid)}


def family_medians(rows: list[dict]) -> dict[str, dict]:
    out = {}
    for family in FAMILIES:
        mine = [r for r in rows if r["network"] == family]
        if mine:
            out[family] = {key: statistics.median(r[key] for r in mine) if mine[0][key] is not None else None
                           for key in ("test_accuracy", *METRICS)}
    return out


def conclusion(rows: list[dict], medians: dict[str, dict], within: float) -> dict[str, str]:
    """The text's conclusion, from the numbers: which networks are on each front, the smallest
    graph about as accurate as the best, and whether the weight count ranks the networks as
    their graphs do."""
    best = max(m["test_accuracy"] for m in medians.values())
    facts = {}
    for metric in METRICS:
        front = sorted({rows[i]["network"] for i in pareto(rows, metric)}, key=FAMILIES.index)
        facts[f"front_{metric}"] = ", ".join(front)
    close = {f: m for f, m in medians.items() if m["test_accuracy"] >= best - within}
    smallest = min(close, key=lambda f: medians[f]["largest_output_subgraph"] if medians[f]["largest_output_subgraph"] is not None else float("inf"))
    facts["best_accuracy"] = f"{100 * best:.1f}%"
    facts["within"] = f"{100 * within:g} point{'s' if within != 0.01 else ''}"
    facts["smallest_close"] = smallest
    facts["smallest_close_subgraph"] = f"{medians[smallest]['largest_output_subgraph']:,.0f}"
    ranked = [f for f in medians if medians[f]["largest_output_subgraph"] is not None]
    by_weights = sorted(ranked, key=lambda f: medians[f]["weights"])
    def fewest(key: str) -> str:
        least = min(medians[f][key] for f in ranked)
        tied = [f for f in ranked if medians[f][key] == least]
        return tied[0] if len(tied) == 1 else " and the ".join(tied) + " (tied)"

    facts["fewest_weights"] = fewest("weights")
    facts["smallest_subgraph"] = fewest("largest_output_subgraph")
    swaps = [(a, b) for i, a in enumerate(by_weights) for b in by_weights[i + 1:]
             if medians[a]["weights"] < medians[b]["weights"]
             and medians[a]["largest_output_subgraph"] > medians[b]["largest_output_subgraph"]]
    if swaps:
        a, b = swaps[0]
        facts["weights_verdict"] = (
            f"The weight count does not rank the networks as their graphs do: the {a} keeps fewer weights "
            f"({medians[a]['weights']:,.0f} against {medians[b]['weights']:,.0f}) yet its largest output depends on more "
            f"vertices ({medians[a]['largest_output_subgraph']:,.0f} against {medians[b]['largest_output_subgraph']:,.0f}) "
            f"than the {b}'s; {len(swaps)} pair{'s' if len(swaps) != 1 else ''} of networks swap places so.")
    else:
        facts["weights_verdict"] = ("Here the weight count ranks the networks as the size of their largest output's "
                                    "subgraph does: fewer weights, smaller circuits.")
    ties = [(a, b) for i, a in enumerate(by_weights) for b in by_weights[i + 1:]
            if medians[a]["weights"] == medians[b]["weights"]]
    for a, b in ties:
        facts["weights_verdict"] += (
            f" The {a} and the {b} keep the same number of weights ({medians[a]['weights']:,.0f}), and their largest "
            f"outputs depend on {medians[a]['largest_output_subgraph']:,.0f} and {medians[b]['largest_output_subgraph']:,.0f} "
            "vertices: how the weights were chosen matters too.")
    return facts


FIGURES = {
    "tradeoff": Figure(
        "altair", "Accuracy against the size of the graph",
        "Every network the report built, one point per seed ({seeds_phrase} each; SPADE's per-image circuits as one point: "
        "their median size, and the share of their images they classify correctly). Pick the measure of size under the chart; the "
        "line joins the Pareto front for that measure (nothing is both smaller and more accurate). Click a point to open its "
        "graph, or its chapter for seeds the report does not draw."),
}


@one_thread
def assemble(config: TradeoffConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    rows = points(upstream)
    for metric in METRICS:
        front = pareto(rows, metric)
        for i, row in enumerate(rows):
            row[f"front_{metric}"] = i in front
    medians = family_medians(rows)
    facts = {"seeds_phrase": seeds_phrase(upstream[LOTTERY].config.seeds), "networks": str(len(rows)),
             **conclusion(rows, medians, config.within)}
    for family, m in medians.items():
        key = FACT_KEYS[family]
        facts[f"{key}_accuracy"] = f"{100 * m['test_accuracy']:.1f}%"
        for metric in METRICS:
            facts[f"{key}_{metric}"] = "—" if m[metric] is None else f"{m[metric]:,.0f}"
    path = chapter_data(ID, "tradeoff.vl.json")
    documents = {path: structure_charts.tradeoff(rows, METRICS, FAMILIES)}
    manifest = {"kind": "tradeoff", "points": rows, "metrics": list(METRICS)}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, {"tradeoff": {"spec": path}}),
                         documents=documents, manifest=manifest)


def check(config: TradeoffConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    """Every point is a network of the chapters it names, and the fronts are the fronts of the points."""
    rows = output.manifest["points"]
    for metric in METRICS:
        if {i for i, r in enumerate(rows) if r[f"front_{metric}"]} != pareto(rows, metric):
            raise BuildError(f"the Pareto front by {metric} is not the points'")


CHAPTER = Chapter(
    id=ID,
    title="The answer, across methods",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(LOTTERY, DENSE_FIRST, SPARSE, DEEP, SPADE),
    headline="{networks} networks on one chart; on edges the Pareto front is {front_edges}",
    key_figure="tradeoff",
)
