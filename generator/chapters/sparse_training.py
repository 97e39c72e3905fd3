"""Structure and compression, part 3: training sparse from the start (Gao et al. 2025) at the
lottery ticket's per-layer counts, side by side with the ticket: accuracy over seeds, and the
two exact graphs measured alike (vertices, edges, the largest subgraph deciding one output, the
ReLUs left). Gao et al. found circuits about 16× smaller in weight-sparse transformers than in
dense ones at equal loss; here both networks are equally sparse, and the question is whether
the way of getting there changes the graph."""
from __future__ import annotations

from dataclasses import dataclass, field

from generator.chapters.mnist_lottery import choose_seed, published_graph
from generator.chapters.structure import LOTTERY, graph_documents, graph_sizes, layer_sizes, points, schedule_counts, seeds_phrase, spread
from generator.compress.sparse_training import SparseRun, SparseTrainingConfig, sparse_model, train_sparse, verify_sparse
from generator.networks.config import TrainConfig, require
from generator.networks.prune import weights_per_layer
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, Task, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data
from generator.site import structure_charts
from generator.pipeline.threads import one_thread

ID = "sparse-training"


@dataclass(frozen=True)
class SparseChapter:
    epochs: int = 20
    anneal: float = 0.3
    train: TrainConfig = field(default_factory=lambda: TrainConfig(batch_size=128, learning_rate=1.5e-3))

    def __post_init__(self):
        require(isinstance(self.epochs, int) and self.epochs >= 1, "epochs", "an integer >= 1", self.epochs)


CONFIGS = {
    # 20 epochs, the count falling geometrically over the first 6, a cosine learning rate: the best
    # on validation (seed 1: 92.6%) of the schedules in benchmarks/sparse_training.py (a fall over
    # 30%, 50% or 80% of 20 epochs, 50% or 70% of 30: 92.6, 91.9, 89.6, 92.3, 90.7%). A linear fall
    # did worse (91.4% over half of 20 epochs): it removes most of the weights in its last steps.
    "full": SparseChapter(),
    "quick": SparseChapter(epochs=2),
}


def sparse_run(config: SparseChapter, lottery, seed: int) -> SparseRun:
    targets = tuple(schedule_counts(lottery.prune, layer_sizes(lottery.model)))
    return SparseRun(data=lottery.data, model=lottery.model, seed=seed,
                     sparse=SparseTrainingConfig(targets=targets, epochs=config.epochs, anneal=config.anneal, train=config.train))


def tasks(config: SparseChapter, upstream: dict[str, Upstream]) -> list[Task]:
    lottery = upstream[LOTTERY].config
    return [Task(f"sparse-{seed}", train_sparse, (sparse_run(config, lottery, seed),), verify=verify_sparse)
            for seed in lottery.seeds]


FIGURES = {
    "accuracy": Figure(
        "altair", "Trained sparse, or pruned to a ticket",
        "Test accuracy of each seed's network trained sparse from the start and of its lottery ticket, both with "
        "{weights_per_layer} kernel weights in the three layers; the tick is the median over {seeds_phrase}."),
    "sizes": Figure(
        "altair", "How big their graphs are",
        "The exact flowgraphs of the sparse-from-the-start network (seed {seed}) and of the lottery ticket the report "
        "draws, measured alike."),
    "flowgraph": Figure(
        "flowgraph", "The network trained sparse from the start",
        "Seed {seed}'s network as an exact flowgraph: {vertices} vertices and {edges} edges, drawn as the ticket is in "
        "the first chapter.", {"output": "all", "sample": "none", "inputs": "pixels"}),
}


def choose(seeds, results: dict[str, TaskResult]) -> int:
    return max(seeds, key=lambda s: (results[f"sparse-{s}"].record["validation_accuracy"], -s))


@one_thread
def assemble(config: SparseChapter, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    lottery = upstream[LOTTERY]
    seeds = list(lottery.config.seeds)
    seed = choose(seeds, results)
    run = sparse_run(config, lottery.config, seed)
    model = sparse_model(run, results[f"sparse-{seed}"])
    per_layer = weights_per_layer(model)
    documents, paths, graph, exactness = graph_documents(ID, "flowgraph", model, lottery.config.data, sum(per_layer))
    ticket_path = published_graph(lottery, "ticket")
    ticket_graph = lottery.output.documents[ticket_path]
    sizes = {"sparse": graph_sizes(graph), "ticket": graph_sizes(ticket_graph)}
    sparse_acc = [results[f"sparse-{s}"].record["test_accuracy"] for s in seeds]
    ticket_acc = [lottery.results[f"seed-{s}"].record["rounds"][-1]["test_accuracy"] for s in seeds]
    rows = ([{"network": "trained sparse", "seed": str(s), "accuracy": a} for s, a in zip(seeds, sparse_acc)]
            + [{"network": "lottery ticket", "seed": str(s), "accuracy": a} for s, a in zip(seeds, ticket_acc)])
    metrics = {"vertices": "vertices", "edges": "edges", "largest_output_subgraph": "largest output's subgraph",
               "live_relus": "ReLUs left"}
    size_rows = [{"network": name, "metric": metrics[m], "value": sizes[key][m]}
                 for key, name in (("sparse", "trained sparse"), ("ticket", "lottery ticket")) for m in metrics]
    facts = {"seed": str(seed), "ticket_seed": str(choose_seed(lottery.config, lottery.results)),
             "seeds_phrase": seeds_phrase(seeds), "epochs": str(config.epochs),
             "anneal_epochs": f"{config.anneal * config.epochs:g}",
             "weights_per_layer": ", ".join(f"{n:,}" for n in run.sparse.targets),
             "weights": f"{sum(run.sparse.targets):,}",
             "sparse_accuracy": spread(sparse_acc), "ticket_accuracy": spread(ticket_acc),
             "difference": points([a - b for a, b in zip(sparse_acc, ticket_acc)]),
             "max_logit_error": f"{exactness['max_logit_error']:.1e}"}
    for key in ("sparse", "ticket"):
        for m in metrics:
            facts[f"{key}_{m}"] = f"{sizes[key][m]:,}"
    facts["vertices"], facts["edges"] = facts["sparse_vertices"], facts["sparse_edges"]
    ratio = sizes["ticket"]["largest_output_subgraph"] / max(1, sizes["sparse"]["largest_output_subgraph"])
    facts["subgraph_ratio"] = f"{ratio:.2f}×"
    facts["verdict"] = (f"Of these two graphs, the network trained sparse has the smaller circuits: its largest output depends "
                        f"on {ratio:.2f}× fewer vertices than the ticket's." if ratio > 1.05 else
                        "Of these two graphs, the network trained sparse has the larger circuits: its largest output depends on "
                        "more vertices than the ticket's." if ratio < 0.95 else
                        "At the same weight counts these two graphs are about the same size: how the sparsity was reached "
                        "matters little here.")
    paths["accuracy"] = chapter_data(ID, "accuracy.vl.json")
    paths["sizes"] = chapter_data(ID, "sizes.vl.json")
    documents[paths["accuracy"]] = structure_charts.seed_points(rows, ["trained sparse", "lottery ticket"])
    documents[paths["sizes"]] = structure_charts.size_bars(size_rows, list(metrics.values()), ["trained sparse", "lottery ticket"])
    data = {"accuracy": {"spec": paths["accuracy"]}, "sizes": {"spec": paths["sizes"]},
            "flowgraph": {"flowgraph": paths["flowgraph"], "traces": paths["traces"]}}
    manifest = {"kind": "sparse-training", "seeds": seeds, "selected_seed": seed, "weights_per_layer": per_layer,
                "test_accuracy": sparse_acc, "ticket_test_accuracy": ticket_acc, "flowgraph": paths["flowgraph"],
                "traces": paths["traces"], "vertices": sizes["sparse"]["vertices"], "edges": sizes["sparse"]["edges"],
                "sizes": sizes["sparse"], "ticket_sizes": sizes["ticket"], "ticket_flowgraph": ticket_path}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data), documents=documents, manifest=manifest)


@one_thread
def check(config: SparseChapter, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    """The published graph is the chosen seed's network, and it keeps exactly the ticket's counts."""
    from generator.flowgraph.graph import check_exact
    from generator.networks.data import load_mnist
    lottery = upstream[LOTTERY].config
    seed = output.manifest["selected_seed"]
    run = sparse_run(config, lottery, seed)
    model = sparse_model(run, results[f"sparse-{seed}"])
    if weights_per_layer(model) != list(run.sparse.targets):
        raise BuildError(f"the network keeps {weights_per_layer(model)} weights, not the ticket's {list(run.sparse.targets)}")
    check_exact(output.documents[output.manifest["flowgraph"]], model, load_mnist(lottery.data).test.inputs)


CHAPTER = Chapter(
    id=ID,
    title="Structure: sparse from the start",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(LOTTERY,),
    headline="trained with {weights} weights from the first step: {sparse_accuracy} against the ticket's {ticket_accuracy}; "
             "largest output subgraph {sparse_largest_output_subgraph} vertices against {ticket_largest_output_subgraph}",
    key_figure="sizes",
)
