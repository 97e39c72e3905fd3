"""Structure and compression, part 5: clusterability (Filan, Casper, Hod et al. 2021, AN #147).
Are the report's networks made of parts with little between them? The dense MLP, its lottery
ticket and the network trained sparse from the start, each split by spectral clustering and
scored by the n-cut against the same network with its weights shuffled; then the paper's own
test of where such structure comes from: two digits side by side, against one digit twice."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from generator.chapters.mnist_lottery import choose_seed, published_graph, studied_model
from generator.chapters.structure import LOTTERY
from generator.compress.clusterability import clustered_n_cut
from generator.compress.paired_digits import PairedConfig, cluster_report, train_paired, verify_paired
from generator.compress.sparse_training import sparse_model
from generator.networks.config import DataConfig, require
from generator.networks.models import prunable_layers
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, Task, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data
from generator.site import structure_charts
from generator.pipeline.threads import one_thread

ID = "clusterability"
SPARSE = "sparse-training"


@dataclass(frozen=True)
class ClusterabilityConfig:
    ks: tuple[int, ...] = (4, 12)
    shuffles: int = 20
    shown_k: int = 4                 # the clustering drawn on the ticket
    paired: PairedConfig = field(default_factory=PairedConfig)
    paired_seed: int = 0

    def __post_init__(self):
        require(self.shown_k in self.ks, "shown_k", f"one of ks {self.ks}", self.shown_k)
        require(isinstance(self.shuffles, int) and self.shuffles >= 2, "shuffles", "an integer >= 2", self.shuffles)


CONFIGS = {
    "full": ClusterabilityConfig(),
    "quick": ClusterabilityConfig(shuffles=4, paired=PairedConfig(data=DataConfig(train_size=10_000, validation_size=2_000),
                                                                  hidden=(32, 32), dense_epochs=1, prune_rounds=1,
                                                                  ks=(4, 12), shuffles=4)),
}

NETWORKS = {"dense": "dense network", "ticket": "lottery ticket", "sparse": "network trained sparse",
            "paired-different": "two digits side by side", "paired-same": "the same digit twice"}


def tasks(config: ClusterabilityConfig, upstream: dict[str, Upstream]) -> list[Task]:
    return [Task(f"paired-{kind}", train_paired, (config.paired, kind == "same", config.paired_seed), verify=verify_paired)
            for kind in ("different", "same")]


def kernels_of(model) -> list[np.ndarray]:
    return [m.weight.detach().numpy().astype(np.float64) for m in prunable_layers(model)]


def studied_kernels(upstream: dict[str, Upstream]) -> dict[str, list[np.ndarray]]:
    lottery, sparse = upstream[LOTTERY], upstream[SPARSE]
    from generator.chapters.sparse_training import sparse_run
    seed = sparse.output.manifest["selected_seed"]
    return {"dense": kernels_of(studied_model(lottery.config, lottery.results, "dense")),
            "ticket": kernels_of(studied_model(lottery.config, lottery.results, "ticket")),
            "sparse": kernels_of(sparse_model(sparse_run(sparse.config, lottery.config, seed), sparse.results[f"sparse-{seed}"]))}


FIGURES = {
    "network": Figure(
        "altair", "The lottery ticket, clustered",
        "The ticket the report draws (seed {seed}), its neurons where its flowgraph puts them, coloured by the cluster "
        "spectral clustering puts them in (k = {shown_k}); grey lines are its weights. Its n-cut is {ticket_cut}. "
        "Click a neuron to open it in the ticket's flowgraph."),
    "n-cuts": Figure(
        "altair", "Each network against its shuffles",
        "The n-cut of each network (large mark) and of {shuffles} copies with its weights shuffled within each layer on "
        "the same wiring (small marks), each over the mean of the shuffles' n-cuts: below 1 is more clusterable than its "
        "shuffles. Pick k under the chart."),
}


@one_thread
def assemble(config: ClusterabilityConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    lottery = upstream[LOTTERY]
    seed = choose_seed(lottery.config, lottery.results)
    studied = studied_kernels(upstream)
    report = {name: cluster_report(kernels, config.ks, config.shuffles, seed=1000 + i)
              for i, (name, kernels) in enumerate(studied.items())}
    for kind in ("different", "same"):
        report[f"paired-{kind}"] = results[f"paired-{kind}"].record["clusterability"]

    # the drawn clustering: the ticket's, on its flowgraph's positions
    ticket_path = published_graph(lottery, "ticket")
    graph = lottery.output.documents[ticket_path]
    cut, labels, kept = clustered_n_cut(studied["ticket"], config.shown_k)
    sizes = lottery.config.model.layer_sizes
    names = node_names(sizes)
    cluster_of = {names[i]: int(c) for i, c in zip(kept, labels)}
    positions = {n["id"]: n for n in graph["nodes"]}
    nodes = [{"id": n["id"], "x": n["x"], "y": n["y"], "layer": n["layer"], "kind": n["kind"],
              "cluster": f"cluster {cluster_of[n['id']] + 1}" if n["id"] in cluster_of else "not in the weight graph",
              "href": f"figures/{LOTTERY}/flowgraph/#node={n['id']}"} for n in graph["nodes"]]
    edges = [{"x": positions[e["source"]]["x"], "y": positions[e["source"]]["y"],
              "x2": positions[e["target"]]["x"], "y2": positions[e["target"]]["y"]} for e in graph["edges"]]
    network_path, cuts_path = chapter_data(ID, "network.vl.json"), chapter_data(ID, "n-cuts.vl.json")
    rows = [{"network": NETWORKS[name], "k": str(k), "kind": kind, "n_cut": value,
             "relative": value / entry["same_wiring"]["shuffle_mean"]}
            for name, per_k in report.items() for k, entry in in_order(per_k, config.ks)
            for kind, values in (("real", [entry["same_wiring"]["n_cut"]]), ("shuffled", entry["same_wiring"]["shuffles"]))
            for value in values]
    documents = {network_path: structure_charts.cluster_network(nodes, edges, graph["layout"]),
                 cuts_path: structure_charts.n_cut_strips(rows, list(NETWORKS.values()), [str(k) for k in config.ks])}
    facts = {"seed": str(seed), "shown_k": str(config.shown_k), "shuffles": str(config.shuffles),
             "ks": " and ".join(str(k) for k in config.ks), "ticket_cut": f"{cut:.3f}",
             "paired_hidden": "-".join(str(h) for h in config.paired.hidden),
             "paired_density": f"{100 * config.paired.density:g}%",
             "paired_different_accuracy": f"{100 * results['paired-different'].record['test_accuracy']:.1f}%",
             "paired_same_accuracy": f"{100 * results['paired-same'].record['test_accuracy']:.1f}%"}
    for name, per_k in report.items():
        key = name.replace("-", "_")
        for k, entry in in_order(per_k, config.ks):
            same = entry["same_wiring"]
            facts[f"{key}_k{k}_cut"] = f"{same['n_cut']:.3f}"
            facts[f"{key}_k{k}_z"] = signed(same["z"])
            facts[f"{key}_k{k}_pct"] = f"{same['percentile']:.0f}%"
            facts[f"{key}_k{k}_shuffle_mean"] = f"{same['shuffle_mean']:.3f}"
            random = entry.get("random_wiring")
            facts[f"{key}_k{k}_random_z"] = signed(random["z"]) if random else "(dense: the same)"
    facts["summary"] = summary(report, config.ks)
    data = {"network": {"spec": network_path}, "n-cuts": {"spec": cuts_path}}
    manifest = {"kind": "clusterability", "ks": list(config.ks), "shuffles": config.shuffles,
                "n_cuts": {name: {str(k): {"n_cut": e["same_wiring"]["n_cut"], "shuffles": e["same_wiring"]["shuffles"],
                                             "z": e["same_wiring"]["z"], "percentile": e["same_wiring"]["percentile"],
                                             **({"random_wiring": {key: e["random_wiring"][key] for key in ("z", "percentile", "shuffles")}}
                                                if "random_wiring" in e else {})}
                                     for k, e in in_order(per_k, config.ks)} for name, per_k in report.items()},
                "ticket_flowgraph": ticket_path}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data), documents=documents, manifest=manifest)


def in_order(per_k: dict, ks) -> list[tuple[str, dict]]:
    """A report's entries in the config's order of k: a task's record read back from the cache
    has its keys sorted ("12" before "4"), a fresh one does not, and the chart's rows must not
    depend on which it was."""
    return [(str(k), per_k[str(k)]) for k in ks]


def node_names(sizes) -> list[str]:
    """The flowgraph's node ids in the weight graph's order: pixels, hidden layers, outputs."""
    names = [f"x{i}" for i in range(sizes[0])]
    for layer, size in enumerate(sizes[1:-1], start=1):
        names += [f"h{layer}_{u}" for u in range(size)]
    return names + [f"y{c}" for c in range(sizes[-1])]


def signed(z: float) -> str:
    """A z-score to one decimal with its sign, never "-0.0"."""
    text = f"{z:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def summary(report: dict, ks) -> str:
    """One sentence per studied network, from its z-score and percentile at each k: |z| >= 2 is
    more or less clusterable than its shuffles; below or above every shuffle with |z| < 2 is said
    as such (one outlying shuffle can widen their spread); otherwise indistinguishable."""
    def verdict(same: dict) -> str:
        if same["z"] <= -2:
            return "is more clusterable than its shuffles"
        if same["z"] >= 2:
            return "is less clusterable than its shuffles"
        if same["percentile"] == 0:
            return "has a lower n-cut than every one of its shuffles, though within two standard deviations of theirs"
        if same["percentile"] == 100:
            return "has a higher n-cut than every one of its shuffles, though within two standard deviations of theirs"
        return "is indistinguishable from its shuffles"

    sentences = []
    for name in ("dense", "ticket", "sparse"):
        same = {k: report[name][str(k)]["same_wiring"] for k in ks}
        groups: dict[str, list[int]] = {}
        for k in ks:
            groups.setdefault(verdict(same[k]), []).append(k)
        parts = [f"at k = {' and '.join(map(str, group))} (z = {', '.join(signed(same[k]['z']) for k in group)}) it {said}"
                 for said, group in groups.items()]
        sentences.append(f"The {NETWORKS[name]}: " + "; ".join(parts) + ".")
    return " ".join(sentences)


def check(config: ClusterabilityConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    """The real n-cuts it publishes (at the drawn k) are the studied networks' now."""
    for name, kernels in studied_kernels(upstream).items():
        for k in (config.shown_k,):
            again = clustered_n_cut(kernels, k)[0]
            if abs(again - output.manifest["n_cuts"][name][str(k)]["n_cut"]) > 1e-9:
                raise BuildError(f"the {NETWORKS[name]}'s n-cut at k = {k} is {again} now, {output.manifest['networks'][name][str(k)]['n_cut']} published")


CHAPTER = Chapter(
    id=ID,
    title="Structure: clusterability",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(LOTTERY, SPARSE),
    headline="spectral clustering against {shuffles} shuffles: ticket z = {ticket_k4_z} (k = 4), dense z = {dense_k4_z}; "
             "two digits side by side z = {paired_different_k4_z}, one digit twice {paired_same_k4_z}",
    key_figure="n-cuts",
)
