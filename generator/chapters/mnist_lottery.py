"""The steps every MNIST lottery-ticket chapter shares: one task per seed, the seed chosen on
validation, its exact flowgraph with layout and traces, the spread over seeds, and the facts and
documents these give. Chapters add their own text, figures and comparisons on top."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from generator.site import charts
from generator.pipeline.chapter import ChapterOutput, Figure, Task, TaskResult, Upstream, figure_entries
from generator.networks.config import LotteryExperiment, MLPConfig
from generator.networks.data import load_mnist
from generator.flowgraph.export import flowgraph_document, traces_document, witnesses_file
from generator.flowgraph.graph import check_exact, constant_outputs, flowgraph_from_sequential, simplify, subgraph_size
from generator.flowgraph.exact import ExactConfig, exact_bounds, tighten, tightening_stats, witnesses_document
from generator.flowgraph.layout import layout_flowgraph, subgraph_layouts
from generator.pipeline.paths import chapter_data
from generator.networks.prune import lottery_model, run_lottery, train_dense, verify_dense, verify_lottery
from generator.pipeline.errors import BuildError, ConfigError
from generator.flowgraph.traces import sample_traces

INPUT_SHAPE = (28, 28)
INPUT_RANGE = (0.0, 1.0)   # pixel / 255


# Seconds a training epoch costs per image on one thread (measured: benchmarks/build_times.py,
# step_cost.py). Only which task starts first depends on them: the CNN's and the MLP's seeds
# before the shorter ones, so that none is left running alone at the end of its level.
SECONDS_PER_IMAGE = {"mlp": 5.5e-6, "cnn": 1.3e-4}


def training_cost(config: LotteryExperiment, epochs: int) -> float:
    return epochs * config.data.train_size * SECONDS_PER_IMAGE.get(config.model.name, 0.0)


def dense_tasks(config: LotteryExperiment) -> list[Task]:
    """One dense network per seed: round 0 of the lottery, and whatever else studies it."""
    cost = training_cost(config, config.train.epochs_per_round)
    return [Task(f"dense-{seed}", train_dense, (config.dense(seed),), verify=verify_dense, cost=cost)
            for seed in config.seeds]


def lottery_tasks(config: LotteryExperiment, dense: dict[str, Task] | None = None) -> list[Task]:
    """The dense networks and, from each, the pruning rounds of one seed. `dense`: the dense
    tasks of the chapter this one builds on (by name, `dense-<seed>`), whose networks it prunes
    instead of training its own; their settings must be this config's."""
    own = {t.name: t for t in dense_tasks(config)}
    if dense is not None:
        for name, task in own.items():
            if name not in dense or dense[name].args != task.args:
                raise ConfigError(f"the dense networks this chapter builds on differ from its config "
                                  f"(seeds, data, model, batch size, learning rate and epochs per round must match): {name}")
        own = {name: dense[name] for name in own}
    epochs = (config.prune.rounds - 1) * config.train.epochs_per_round + config.train.final_epochs
    rounds = [Task(f"seed-{seed}", run_lottery, (config, seed), verify=verify_lottery, needs=(own[f"dense-{seed}"],),
                   cost=training_cost(config, epochs))
              for seed in config.seeds]
    return ([] if dense is not None else list(own.values())) + rounds


@dataclass
class LotteryRun:
    """What a lottery chapter knows once its seeds have run."""
    config: LotteryExperiment
    seed: int                      # chosen on validation
    rounds: list[dict]             # that seed's rounds
    spread: list[dict]             # per round and split: median, min, max over seeds
    graph: dict                    # the selected round's exact flowgraph, laid out
    raw_graph: dict                # the same before simplification (every multiply of the model)
    exactness: dict
    samples: list[dict]
    constants: dict[str, float]
    result: TaskResult             # the selected seed's run, every round's weights

    @property
    def selected(self) -> dict:
        return self.rounds[-1]


def choose_seed(config: LotteryExperiment, results: dict[str, TaskResult]) -> int:
    """The seed whose last round has the best validation accuracy (ties: the smaller seed)."""
    return max(config.seeds, key=lambda s: (results[f"seed-{s}"].record["rounds"][-1]["validation_accuracy"], -s))


def pruned_layers(config: LotteryExperiment) -> list[int]:
    """Indices of the layers the schedule prunes: all with targets (cubic), else those with a rate
    above 0."""
    if config.prune.targets:
        return list(range(len(config.prune.targets)))
    return [k for k, rate in enumerate(config.prune.rates) if rate > 0]


def pruned_weights(config: LotteryExperiment, record: dict) -> int:
    """Kernel weights left in the layers the schedule prunes."""
    return sum(record["weights_per_layer"][k] for k in pruned_layers(config))


def seed_spread(config: LotteryExperiment, results: dict[str, TaskResult]) -> list[dict]:
    """Per round and split: median, lowest and highest accuracy over the seeds; weights and
    density count the pruned layers only."""
    rows = []
    per_seed = [results[f"seed-{s}"].record["rounds"] for s in config.seeds]
    dense = pruned_weights(config, per_seed[0][0])
    for r, first in enumerate(per_seed[0]):
        weights = pruned_weights(config, first)
        for split in ("test", "validation"):
            values = [rounds[r][f"{split}_accuracy"] for rounds in per_seed]
            rows.append({"round": r, "weights": weights, "density": weights / dense,
                         "epochs": first["epochs"], "split": split, "median": statistics.median(values),
                         "min": min(values), "max": max(values)})
    return rows


# The budget of exact bounds for the MLP chapters' graphs (generator/flowgraph/exact.py), per
# profile. The quick profile's dense-first network (pruned for 4 rounds only) has outputs over up
# to 37 undecided ReLUs, 45 s of programs in all; its tests need its hidden layers exact, no more.
EXACT = {"full": ExactConfig(), "quick": ExactConfig(max_binaries=16)}


def profile_of(configs: dict, config) -> str:
    """Which profile a chapter's config is (the assembly is handed the config alone)."""
    return next((profile for profile, c in configs.items() if c == config), "full")


def exact_graph(model, test, exact: ExactConfig | None = None) -> tuple[dict, dict, np.ndarray, dict]:
    """The model's flowgraph, simplified, proven exact on the test images, laid out:
    (graph, the graph before simplification, the graph's outputs, the check's figures).
    With `exact`, every node's bounds are tightened to its exact range where the budget allows
    (simplifying again with them) and the graph also carries `witnesses` (witnesses.json) and
    `exact_stats` (what the tightening did, for the text)."""
    raw_graph = flowgraph_from_sequential(model, [INPUT_RANGE] * 784)
    graph = simplify(raw_graph)
    stats = None
    if exact is not None:
        interval = graph
        bounds = exact_bounds(interval, np.full(784, INPUT_RANGE[0]), exact)
        graph = tighten(interval, bounds)
        stats = tightening_stats(interval, graph, bounds)
    outputs, exactness = check_exact(graph, model, test.inputs)
    if stats is not None:
        graph["witnesses"] = witnesses_document(graph, bounds)
        graph["exact_stats"] = stats
    graph = layout_flowgraph(graph, INPUT_SHAPE)
    graph["subgraph_layouts"] = subgraph_layouts(graph)
    return graph, raw_graph, outputs, exactness


def analyse(config: LotteryExperiment, results: dict[str, TaskResult], exact: ExactConfig | None = None) -> LotteryRun:
    """exact: the budget of exact bounds (MLP chapters), or None for interval bounds."""
    mnist = load_mnist(config.data)
    seed = choose_seed(config, results)
    result = results[f"seed-{seed}"]
    rounds = result.record["rounds"]
    model = lottery_model(config, result, rounds[-1]["round"])
    graph, raw_graph, outputs, exactness = exact_graph(model, mnist.test, exact)
    samples = sample_traces(graph, outputs.argmax(1), mnist.test, config.samples_per_class, config.misclassified_samples)
    return LotteryRun(config=config, seed=seed, rounds=rounds, spread=seed_spread(config, results),
                      graph=graph, raw_graph=raw_graph, exactness=exactness, samples=samples,
                      constants=constant_outputs(graph), result=result)


# ---- the networks of a lottery chapter, as the chapters that study them (builds_on) find them

def studied_round(experiment: LotteryExperiment, results: dict[str, TaskResult], network: str) -> tuple[int, int]:
    """(seed, round) of a lottery chapter's network: the seed it chose on validation; round 0
    for "dense", else its last round (the ticket it draws)."""
    seed = choose_seed(experiment, results)
    rounds = results[f"seed-{seed}"].record["rounds"]
    return seed, 0 if network == "dense" else rounds[-1]["round"]


def studied_model(experiment: LotteryExperiment, results: dict[str, TaskResult], network: str):
    """That network itself, rebuilt from the chapter's task results (never trained again)."""
    seed, round_number = studied_round(experiment, results, network)
    return lottery_model(experiment, results[f"seed-{seed}"], round_number)


def published_graph(upstream: Upstream, network: str) -> str:
    """Where the chapter publishes that network's flowgraph: round 0 among its rounds for
    "dense", else the graph it draws."""
    manifest = upstream.output.manifest
    return manifest["round_flowgraphs"][0] if network == "dense" else manifest["flowgraph"]


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def describe_sample(sample: dict) -> str:
    verdict = "correct" if sample["label"] == sample["prediction"] else "wrong"
    return (f"test image #{sample['test_index']} ({digit_article(sample['label'])} {sample['label']}, predicted "
            f"{sample['prediction']}: {verdict})")


def digit_article(digit: int) -> str:
    """'an' before a digit read with a vowel sound (an 8), 'a' before the others (a 7)."""
    return "an" if digit == 8 else "a"


def find_examples(graph: dict) -> str:
    """Names a reader can type into the live figure's search, from the graph it starts on (as
    live.js's findExamples picks them): a first-layer neuron, an output, and the pixel nearest the
    image's centre that the network reads."""
    neuron = next((n["id"] for n in graph["nodes"] if n["kind"] == "neuron" and n.get("layer") == 1), None)
    output = next((n["id"] for n in graph["nodes"] if n["kind"] == "output"), None)
    pixels = [int(n["id"][1:]) for n in graph["nodes"] if n["kind"] == "input" and n["id"][1:].isdigit()]
    centre = min(pixels, key=lambda i: (i // 28 - 13.5) ** 2 + (i % 28 - 13.5) ** 2, default=None)
    names = [f"`{neuron}`" if neuron else None, f"`{output}`" if output else None,
             f"a pixel `x[{centre // 28},{centre % 28}]`" if centre is not None else None]
    return ", ".join(n for n in names if n)


def constant_outputs_text(constants: dict[str, float]) -> str:
    if not constants:
        return "No output is constant: every class's logit depends on the image."
    parts = [f"output {c} is always {v:.2f}" for c, v in sorted(constants.items(), key=lambda kv: int(kv[0]))]
    return ("Pruning left some outputs with no inputs at all: " + "; ".join(parts)
            + ", whatever the image. Such a class is still predicted whenever every other logit is lower.")


def choose_subgraph_class(graph: dict, constants: dict[str, float]) -> int:
    """The non-constant output with the smallest subgraph: the clearest one to show first."""
    classes = [n["class"] for n in graph["nodes"] if n["kind"] == "output" and str(n["class"]) not in constants]
    return min(classes or [0], key=lambda c: (subgraph_size(graph, f"y{c}")[0], c))


def pruned_layers_title(config: LotteryExperiment) -> str:
    pruned = [k + 1 for k in pruned_layers(config)]
    if config.prune.targets or len(pruned) == len(config.prune.rates):
        return "kernel weights remaining"
    return f"kernel weights remaining in layer{'s' if len(pruned) > 1 else ''} " + " and ".join(map(str, pruned))


def layer_names(config: LotteryExperiment) -> list[str]:
    sizes = config.model.layer_sizes
    return [f"layer {k} ({a}→{b})" for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)]


def record_facts(config: LotteryExperiment, seed: int, rounds: list[dict], spread: list[dict]) -> dict[str, str]:
    """The numbers the text quotes that the task records alone decide (accuracies, weights, the
    seed): what `check_lottery_output` recomputes before a cached chapter is published."""
    selected, dense = rounds[-1], rounds[0]
    test = next(row for row in spread if row["round"] == selected["round"] and row["split"] == "test")
    dense_test = next(row for row in spread if row["round"] == 0 and row["split"] == "test")
    return {
        "seed": str(seed),
        "dense_weights": f"{dense['weights']:,}",
        "dense_test_accuracy": pct(dense["test_accuracy"]),
        "dense_test_accuracy_median": pct(dense_test["median"]),
        "selected_round": str(selected["round"]),
        "selected_weights": f"{selected['weights']:,}",
        "selected_weights_per_layer": ", ".join(f"{n:,}" for n in selected["weights_per_layer"]),
        "selected_density": f"{100 * selected['weights'] / dense['weights']:.2f}%",
        "selected_pruned_weights": f"{pruned_weights(config, selected):,}",
        "pruned_density": f"{100 * pruned_weights(config, selected) / pruned_weights(config, dense):.1f}%",
        "selected_test_accuracy": pct(selected["test_accuracy"]),
        "selected_validation_accuracy": pct(selected["validation_accuracy"]),
        "test_accuracy_median": pct(test["median"]),
        "test_accuracy_min": pct(test["min"]),
        "test_accuracy_max": pct(test["max"]),
    }


def lottery_facts(run: LotteryRun) -> dict[str, str]:
    """Every number the lottery chapters' text quotes, formatted."""
    config, graph, selected = run.config, run.graph, run.selected
    mlp = isinstance(config.model, MLPConfig)
    hidden = [sum(1 for n in graph["nodes"] if n["kind"] == "neuron" and n["layer"] == k)
              for k in range(1, max(n["layer"] for n in graph["nodes"]))]
    facts = {
        **record_facts(config, run.seed, run.rounds, run.spread),
        "architecture": "-".join(str(s) for s in config.model.layer_sizes) if mlp else "",
        "rounds": str(config.prune.rounds),
        "rates": ", ".join(f"{100 * r:.2f}%" for r in config.prune.rates),
        "rewind": ("their initial values" if config.prune.rewind_epochs == 0 else
                   f"their values after {config.prune.rewind_epochs} epoch{'s' if config.prune.rewind_epochs > 1 else ''} of dense training"),
        "epochs_per_round": str(config.train.epochs_per_round),
        "final_epochs": str(config.train.final_epochs),
        "batch_size": str(config.train.batch_size),
        "learning_rate": f"{config.train.learning_rate:g}",
        "seeds": ", ".join(str(s) for s in config.seeds),
        "seed_count": str(len(config.seeds)),
        "seeds_phrase": f"{len(config.seeds)} seed{'s' if len(config.seeds) != 1 else ''}",
        "train_size": f"{config.data.train_size:,}",
        "validation_size": f"{config.data.validation_size:,}",
        "test_size": f"{config.data.test_size:,}",
        "vertices": f"{len(graph['nodes']):,}",
        "edges": f"{len(graph['edges']):,}",
        "input_pixels": str(sum(1 for n in graph["nodes"] if n["kind"] == "input")),
        "hidden_1": str(hidden[0]) if hidden else "0",
        "hidden_per_layer": ", ".join(str(h) for h in hidden),
        "hidden_units": ", ".join(str(s) for s in config.model.layer_sizes[1:-1]) if mlp else "",
        "relu_neurons": str(sum(1 for n in graph["nodes"] if n["kind"] == "neuron" and n["activation"] == "relu")),
        "identity_neurons": str(sum(1 for n in graph["nodes"] if n["kind"] == "neuron" and n["activation"] == "identity")),
        "constant_outputs": str(len(run.constants)),
        "constant_outputs_text": constant_outputs_text(run.constants),
        "max_logit_error": f"{run.exactness['max_logit_error']:.1e}",
        "prediction_agreement": f"{run.exactness['agreeing']:,} of {run.exactness['images']:,}",
        "samples": str(len(run.samples)),
        "misclassified_samples": str(sum(1 for s in run.samples if s["label"] != s["prediction"])),
        "weights_after_layer_1": f"{sum(selected['weights_per_layer'][1:]):,}",
        # The part of the graph after the first layer: what the first layer's filters feed.
        "edges_after_filters": f"{sum(1 for e in graph['edges'] if not e['source'].startswith('x')):,}",
        "vertices_after_filters": f"{sum(1 for n in graph['nodes'] if n['kind'] != 'input'):,}",
    }
    if "exact_stats" in graph:
        facts.update(exact_facts(graph["exact_stats"]))
    return facts


def exact_facts(stats: dict) -> dict[str, str]:
    """What the exact bounds did to the graph (generator/flowgraph/exact.py), for the text."""
    def widest(kind: str) -> str:
        lo = min(o[kind][0] for o in stats["outputs"].values())
        hi = max(o[kind][1] for o in stats["outputs"].values())
        return f"⟨{lo:.1f}, {hi:.1f}⟩"
    return {"exact_nodes": str(stats["exact_nodes"]), "interval_nodes": str(stats["interval_nodes"]),
            "exact_programs": str(stats["programs"]),
            "exact_relus_before": str(stats["relus"][0]), "exact_relus_after": str(stats["relus"][1]),
            "exact_vertices_removed": str(stats["vertices"][0] - stats["vertices"][1]),
            "exact_edges_removed": str(stats["edges"][0] - stats["edges"][1]),
            "outputs_interval_range": widest("interval"), "outputs_exact_range": widest("exact")}


def lottery_documents(chapter_id: str, run: LotteryRun, layer_chart: bool = True) -> tuple[dict[str, object], dict[str, str]]:
    """The chapter's flowgraph, traces and charts: ({site path: document}, {name: site path}).
    layer_chart: also the chart of weights per layer and round."""
    paths = {"flowgraph": chapter_data(chapter_id, "flowgraph.json"),
             "traces": chapter_data(chapter_id, "traces.json"),
             "accuracy-vs-weights": chapter_data(chapter_id, "accuracy-vs-weights.vl.json")}
    documents = {
        paths["flowgraph"]: flowgraph_document(chapter_id, run.graph, list(INPUT_SHAPE), run.selected["weights"],
                                               run.constants, round_number=run.selected["round"],
                                               input_range=list(INPUT_RANGE)),
        paths["traces"]: traces_document(chapter_id, "flowgraph.json", run.samples),
        paths["accuracy-vs-weights"]: charts.accuracy_vs_weights(run.spread, run.selected["round"], len(run.config.seeds),
                                                                 pruned_layers_title(run.config)),
    }
    if "witnesses" in run.graph:
        paths["witnesses"] = chapter_data(chapter_id, "witnesses.json")
        documents[paths["witnesses"]] = witnesses_file(chapter_id, "flowgraph.json", run.graph["witnesses"])
    if layer_chart:
        paths["weights-per-layer"] = chapter_data(chapter_id, "weights-per-layer.vl.json")
        documents[paths["weights-per-layer"]] = charts.weights_per_layer(run.rounds, layer_names(run.config))
    return documents, paths


def lottery_manifest(run: LotteryRun, paths: dict[str, str]) -> dict:
    return {
        "kind": "lottery",
        "seeds": list(run.config.seeds),
        "selected_seed": run.seed,
        "rounds": run.rounds,
        "seed_spread": run.spread,
        "selected_round": run.selected["round"],
        "flowgraph": paths["flowgraph"],
        "traces": paths["traces"],
        "vertices": len(run.graph["nodes"]),
        "edges": len(run.graph["edges"]),
        "constant_outputs": run.constants,
        "round_flowgraphs": [chapter_data_round(paths, r["round"]) for r in run.rounds],
        **({"witnesses": paths["witnesses"]} if "witnesses" in paths else {}),
    }


def chapter_data_round(paths: dict[str, str], round_number: int) -> str:
    return paths["flowgraph"].rsplit("/", 1)[0] + f"/rounds/round-{round_number:02d}.json"


def trace_choices(run: LotteryRun) -> tuple[int, dict]:
    """The output shown first on its own (smallest subgraph) and a correct sample of that class."""
    subgraph_class = choose_subgraph_class(run.graph, run.constants)
    sample = next((s for s in run.samples if s["label"] == subgraph_class == s["prediction"]), run.samples[0])
    return subgraph_class, sample



TEST_IMAGES = "data/mnist/test-images.bin.gz"


def test_images_file(test) -> bytes:
    """The test set for the page's own evaluations: gzip of N labels then N × 784 pixels (uint8),
    as in the IDX files; no timestamp, so the bytes depend on the data alone. Level 6: 2% larger
    than level 9 and 15 times faster (each chapter that ships the images makes the file)."""
    import gzip
    return gzip.compress(test.labels.astype(np.uint8).tobytes() + test.pixels.astype(np.uint8).tobytes(),
                         compresslevel=6, mtime=0)


def round_documents(chapter_id: str, run: LotteryRun) -> tuple[dict[str, object], list[str]]:
    """Every round's exact flowgraph (the selected seed's), for the page to step through:
    ({site path: document}, paths in round order)."""
    mnist = load_mnist(run.config.data)
    documents, paths = {}, []
    for record in run.rounds:
        path = chapter_data(chapter_id, f"rounds/round-{record['round']:02d}.json")
        if record["round"] == run.selected["round"]:
            graph = run.graph
        else:
            graph, _, _, _ = exact_graph(lottery_model(run.config, run.result, record["round"]), mnist.test)
        documents[path] = flowgraph_document(chapter_id, graph, list(INPUT_SHAPE), record["weights"],
                                             constant_outputs(graph), round_number=record["round"],
                                             input_range=list(INPUT_RANGE))
        paths.append(path)
    return documents, paths


# The figure both MNIST MLP chapters end with: the network in the reader's hands.
LIVE_FIGURE = Figure(
    "live", "The network in your hands",
    "Draw a digit (or start from a test image) and the graph answers at every stroke: each node's value, "
    "each edge's share, the ten logits. Drag the threshold to prune by |weight| and watch the accuracy on "
    "all {test_size} test images, the confusion matrix and the nodes left dead; slider pruning does not "
    "retrain. Step through the dense network and the {rounds} lottery rounds, which did retrain. Search a node "
    "by name, pin nodes to see the paths between them.",
    {"sample": "none", "output": "all"})


def live_figure_data(chapter_id: str, run: LotteryRun, paths: dict[str, str]) -> tuple[dict, dict, dict]:
    """What the live figure (draw, prune, step through rounds) needs: the round graphs and the test
    images. Returns (documents, files, the figure's data paths)."""
    documents, round_paths = round_documents(chapter_id, run)
    files = {TEST_IMAGES: test_images_file(load_mnist(run.config.data).test)}
    data = {"flowgraph": paths["flowgraph"], "traces": paths["traces"], "images": TEST_IMAGES,
            "manifest": "data/manifest.json", "chapter": chapter_id}
    return documents, files, data


def mlp_chapter_output(chapter_id: str, run: LotteryRun, figures: dict[str, Figure], extra_facts: dict[str, str],
                       layer_chart: bool = True) -> ChapterOutput:
    """What an MNIST MLP lottery chapter contributes: the shared facts plus its own, its figures
    (the output shown first alone is the one with the smallest subgraph; traces start on a correct
    image of that class), the documents, the live figure's rounds and images, the manifest entry."""
    subgraph_class, trace_sample = trace_choices(run)
    sub_v, sub_e = subgraph_size(run.graph, f"y{subgraph_class}")
    facts = {**lottery_facts(run), "subgraph_class": str(subgraph_class), "subgraph_vertices": str(sub_v),
             "subgraph_edges": str(sub_e), "trace_sample": describe_sample(trace_sample),
             "find_examples": find_examples(run.graph),
             "rounds_count": str(len(run.rounds)), **extra_facts}
    documents, paths = lottery_documents(chapter_id, run, layer_chart)
    graph_data = {"flowgraph": paths["flowgraph"], "traces": paths["traces"],
                  **({"witnesses": paths["witnesses"]} if "witnesses" in paths else {})}
    data = {fid: ({"spec": paths[fid]} if f.kind == "altair" else graph_data) for fid, f in figures.items()}
    live_documents, live_files, data["live"] = live_figure_data(chapter_id, run, paths)
    documents.update(live_documents)
    options = {"output-subgraph": {"output": str(subgraph_class)}, "sample-trace": {"sample": trace_sample["id"]},
               "sample-filters": {"sample": trace_sample["id"]}}
    return ChapterOutput(facts=facts, figures=figure_entries(figures, facts, data, options),
                         documents=documents, manifest=lottery_manifest(run, paths), files=live_files)


def check_lottery_output(config: LotteryExperiment, results: dict[str, TaskResult], upstream: dict,
                         output: ChapterOutput) -> None:
    """What a lottery chapter's output must say before it is published, cached or not: the seed,
    rounds and spread of its manifest are the task records', the facts quoting them say what the
    records say, and every flowgraph it publishes is its round's network on the test images."""
    seed = choose_seed(config, results)
    result = results[f"seed-{seed}"]
    spread = seed_spread(config, results)
    manifest = output.manifest
    if (manifest.get("selected_seed") != seed or manifest.get("rounds") != result.record["rounds"]
            or manifest.get("seed_spread") != spread):
        raise BuildError("its manifest's seed, rounds or accuracies are not its task records'")
    for key, value in record_facts(config, seed, result.record["rounds"], spread).items():
        if output.facts.get(key) != value:
            raise BuildError(f"fact {key} says {output.facts.get(key)!r}, the task records {value!r}")
    test = load_mnist(config.data).test
    for path, document in sorted(output.documents.items()):
        if path.endswith(".json") and "nodes" in document and "round" in document:
            try:
                check_exact(document, lottery_model(config, result, document["round"]), test.inputs)
            except BuildError as e:
                raise BuildError(f"{path}: {e}") from None
