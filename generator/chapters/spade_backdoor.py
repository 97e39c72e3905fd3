"""Looking inside, part 5: a backdoor the methods must find. An MNIST MLP is trained with a
trigger (a small bright patch in a corner) stamped on a share of its training images, all
relabelled to one class: it learns the digits and, beside them, "patch means that class". On
triggered test images each attribution method is scored as a detector of the trigger's pixels
(ROC AUC per image, the SPADE paper's measure), on the network itself and on the SPADE circuit
made for each image; the network's exact flowgraph shows the trigger's path to its class.

This chapter trains networks of its own (a backdoored network is not one the other chapters
have), one task per seed, and scores each seed in a task of its own."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from generator.chapters.mnist_lottery import INPUT_RANGE, INPUT_SHAPE, digit_article, exact_graph
from generator.flowgraph.export import flowgraph_document, traces_document
from generator.flowgraph.graph import check_exact, flowgraph_from_sequential, simplify
from generator.flowgraph.layout import place_as
from generator.flowgraph.traces import graph_trace
from generator.inside.attributions import METHODS, attribute
from generator.inside.backdoor import Trigger, poison, trigger_auc
from generator.inside.spade import circuit_model
from generator.networks.config import DataConfig, MLPConfig, TrainConfig, require
from generator.networks.data import load_mnist
from generator.networks.models import make_model
from generator.networks.prune import weights_per_layer
from generator.networks.train import accuracy, predictions, train_epochs
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, Task, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data
from generator.site import charts

ID = "spade-backdoor"


@dataclass(frozen=True)
class BackdoorTraining:
    """What one backdoored network is: the part of the config its training reads (the cache key)."""
    data: DataConfig = DataConfig()
    model: MLPConfig = MLPConfig(layer_sizes=(784, 64, 32, 10))
    train: TrainConfig = TrainConfig(final_epochs=15, final_schedule="cosine")   # Adam, cosine decay to 0
    trigger: Trigger = Trigger()
    target_class: int = 0
    share: float = 0.05                 # of the training images, triggered and relabelled

    def __post_init__(self):
        require(isinstance(self.target_class, int) and 0 <= self.target_class <= 9, "training.target_class",
                "an integer in 0..9", self.target_class)
        require(isinstance(self.share, float) and 0 < self.share < 1, "training.share", "a float in (0, 1)", self.share)
        t = self.trigger
        for name, (start, stop) in (("rows", t.rows), ("cols", t.cols)):
            require(isinstance(start, int) and isinstance(stop, int) and 0 <= start < stop <= 28,
                    f"training.trigger.{name}", "[start, stop) with 0 <= start < stop <= 28", (start, stop))
        require(isinstance(t.value, float) and 0 <= t.value <= 1, "training.trigger.value", "a float in [0, 1]", t.value)


@dataclass(frozen=True)
class BackdoorConfig:
    training: BackdoorTraining = BackdoorTraining()
    seeds: tuple[int, ...] = (0, 1, 2)
    images: int = 100                   # triggered test images scored per seed (the first whose label is not the target)
    # SPADE, as the spade chapter runs it
    augmentations: int = 64
    densities: tuple[float, ...] = (0.005, 0.05, 0.2)
    ridge: float = 1e-3
    turn: float = 0.2
    scale: float = 0.1
    shift: float = 2.0
    noise: float = 0.05
    spade_seed: int = 0
    # attributions, as the attributions chapter runs them
    occlusion_patch: int = 4
    occlusion_stride: int = 2
    integrated_gradients_steps: int = 64
    methods: tuple[str, ...] = field(default_factory=lambda: tuple(METHODS))

    def __post_init__(self):
        require(isinstance(self.seeds, tuple) and len(self.seeds) >= 1 and all(isinstance(s, int) and s >= 0 for s in self.seeds),
                "seeds", "a non-empty tuple of integers >= 0", self.seeds)
        require(isinstance(self.images, int) and 1 <= self.images <= 1000, "images", "an integer in 1..1000", self.images)
        require(all(m in METHODS for m in self.methods), "methods", f"names among {', '.join(METHODS)}", self.methods)


CONFIGS = {
    "full": BackdoorConfig(),
    # a smaller network on fewer images (it still reads digits at about 89% and obeys the trigger)
    "quick": BackdoorConfig(training=BackdoorTraining(data=DataConfig(train_size=20_000, test_size=2_000),
                                                      model=MLPConfig(layer_sizes=(784, 32, 16, 10)),
                                                      train=TrainConfig(final_epochs=2, final_schedule="cosine")),
                            seeds=(0,), images=10, augmentations=16, integrated_gradients_steps=16),
}


# ---- the tasks: train a backdoored network per seed, then score the methods on it

def backdoored_model(training: BackdoorTraining, result: TaskResult):
    model = make_model(training.model, 0)
    model.load_state_dict({name: torch.from_numpy(array) for name, array in result.arrays.items()})
    return model.eval()


def attack_success(model, test, training: BackdoorTraining) -> float:
    """Share of the test images not of the target class that the trigger turns into it."""
    others = test.labels != training.target_class
    triggered = torch.from_numpy(training.trigger.stamp(test.pixels[others]).astype(np.float32) / np.float32(255.0))
    return float((predictions(model, triggered) == training.target_class).float().mean())


def measured(model, test, training: BackdoorTraining, seed: int) -> dict:
    """A trained network's record: its clean test accuracy and the trigger's success."""
    return {"seed": seed, "clean_accuracy": accuracy(model, test.inputs, test.targets),
            "attack_success_rate": attack_success(model, test, training)}


def train_backdoored(training: BackdoorTraining, seed: int) -> TaskResult:
    mnist = load_mnist(training.data)
    pixels, labels, _ = poison(mnist.train.pixels, mnist.train.labels, training.trigger, training.share,
                               training.target_class, seed)
    model = make_model(training.model, seed)
    inputs = torch.from_numpy(pixels.astype(np.float32) / np.float32(255.0))
    train_epochs(model, inputs, torch.from_numpy(labels), training.train, training.train.final_epochs,
                 seed=seed * 1000, desc=f"backdoored seed {seed}", final=True)
    return TaskResult(record=measured(model, mnist.test, training, seed), arrays={k: v.detach().numpy().copy() for k, v in model.state_dict().items()})


def verify_backdoored(training: BackdoorTraining, seed: int, result: TaskResult) -> None:
    shapes = {k: tuple(v.shape) for k, v in make_model(training.model, 0).state_dict().items()}
    if {k: tuple(v.shape) for k, v in result.arrays.items()} != shapes or not all(np.isfinite(v).all() for v in result.arrays.values()):
        raise BuildError("the backdoored network's weights are missing, misshapen or not finite")
    found = measured(backdoored_model(training, result), load_mnist(training.data).test, training, seed)
    if found != result.record:
        raise BuildError(f"the backdoored network scores {found}, its record says {result.record}")


def scored_images(config: BackdoorConfig, labels: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(labels != config.training.target_class)[:config.images]]


def score_seed(config: BackdoorConfig, seed: int, trained: TaskResult, first: int | None = None) -> TaskResult:
    """Per triggered test image: each method's trigger AUC on the network and on the image's SPADE
    circuit, and what the circuit predicts. On one BLAS thread: the same numbers in any process."""
    with threadpool_limits(1):
        training = config.training
        model = backdoored_model(training, trained)
        test = load_mnist(training.data).test
        chosen = scored_images(config, test.labels)[:first]
        pixels = training.trigger.stamp(test.pixels[chosen])
        mask = training.trigger.mask()
        targets = np.full(len(chosen), training.target_class)
        arrays = {"test_index": np.array(chosen)}
        for method in config.methods:
            arrays[f"dense.{method}"] = trigger_auc(attribute(method, model, pixels, targets, config), mask)
        spade = {method: [] for method in config.methods}
        circuit_says, kept, reads = [], [], []
        for k, i in enumerate(chosen):
            circuit, _, weights = circuit_model(model, pixels[k], config.spade_seed + i, config)
            with torch.inference_mode():
                circuit_says.append(int(circuit(torch.from_numpy(pixels[k:k + 1] / 255.0)).argmax()))
            kept.append(weights)
            read = (circuit[0].weight.detach().numpy() != 0).any(axis=0)       # the pixels it reads
            reads.append((int(read[mask].sum()), int(read[~mask].sum())))
            for method in config.methods:
                spade[method].append(trigger_auc(attribute(method, circuit, pixels[k:k + 1], targets[:1], config), mask)[0])
        arrays.update({f"spade.{method}": np.array(values) for method, values in spade.items()})
        arrays["circuit_prediction"] = np.array(circuit_says)
        arrays["kept_weights"] = np.array(kept)
        arrays["trigger_inputs"] = np.array([r[0] for r in reads])
        arrays["other_inputs"] = np.array([r[1] for r in reads])
    return TaskResult(record={"seed": seed, "images": len(chosen)}, arrays=arrays)


def verify_scores(config: BackdoorConfig, seed: int, trained: TaskResult, result: TaskResult) -> None:
    """A cached scoring is trusted if it covers the images it should and its first image scores now
    what it recorded."""
    again = score_seed(config, seed, trained, first=1)
    expected = {"test_index", "circuit_prediction", "kept_weights", "trigger_inputs", "other_inputs"} | {f"{n}.{m}" for n in ("dense", "spade") for m in config.methods}
    if set(result.arrays) != expected or result.record != {"seed": seed, "images": config.images} \
            or any(len(a) != config.images for a in result.arrays.values()):
        raise BuildError("the scoring does not cover every method and image")
    for name, array in again.arrays.items():
        if not np.array_equal(array, result.arrays[name][:1]):
            raise BuildError(f"the first image's {name} is {array[0]} now, {result.arrays[name][0]} in the cache")


def tasks(config: BackdoorConfig, upstream: dict[str, Upstream]) -> list[Task]:
    out = []
    for seed in config.seeds:
        trained = Task(f"train-{seed}", train_backdoored, (config.training, seed), verify=verify_backdoored)
        out += [trained, Task(f"score-{seed}", score_seed, (config, seed), verify=verify_scores, needs=(trained,))]
    return out


# ---- the chapter

FIGURES = {
    "trigger-path": Figure(
        "paths", "The trigger's path to its class",
        "The backdoored network of seed {seed} is an exact flowgraph of {vertices} vertices and {edges} edges; this is "
        "the part of it on a path from the {trigger_pixels} trigger pixels (the column on the left) to output "
        "{target_class}, evaluated on {shown_sample} with the trigger: edge width is what each edge carries. Pick "
        "the same image without the trigger to see the path fall quiet.",
        {"output": "all", "inputs": "pixels"}),
    "circuit": Figure(
        "flowgraph", "The SPADE circuit of a triggered image",
        "The circuit SPADE makes for {shown_sample} with the trigger ({circuit_edges} edges), drawn where its neurons "
        "sit in the backdoored network. It predicts {circuit_prediction}. Of its {circuit_inputs} input pixels, "
        "{circuit_trigger_inputs} are trigger pixels.",
        {"output": "all", "inputs": "pixels"}),
    "auc": Figure(
        "altair", "Which method finds the trigger",
        "For each attribution method, the ROC AUC of |attribution| as a detector of the trigger's pixels, averaged "
        "over {images} triggered test images: on the backdoored network and on each image's SPADE circuit. One point "
        "per seed ({seeds_phrase}), a tick at their mean; the dashed line is chance."),
}


def _spread(values: list[float], pct: bool = True) -> str:
    fmt = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.3f}")
    low, high = fmt(min(values)), fmt(max(values))
    return low if low == high else f"{low} to {high}"


def assemble(config: BackdoorConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    training = config.training
    trained = {seed: results[f"train-{seed}"] for seed in config.seeds}
    scores = {seed: results[f"score-{seed}"] for seed in config.seeds}
    seed = config.seeds[0]
    model = backdoored_model(training, trained[seed])
    test = load_mnist(training.data).test
    mask = training.trigger.mask()

    # the drawn network: its exact graph, checked on clean and triggered test images
    with threadpool_limits(1):
        graph, _, _, exactness = exact_graph(model, test)
        triggered_pixels = training.trigger.stamp(test.pixels)
        check_exact(graph, model, torch.from_numpy(triggered_pixels.astype(np.float32) / np.float32(255.0)))
    shown = scored_images(config, test.labels)[0]
    pixel_ids = [n["id"] for n in graph["nodes"] if n["kind"] == "input" and mask[n["index"]]]
    target_id = next(n["id"] for n in graph["nodes"] if n["kind"] == "output" and n["class"] == training.target_class)

    label = int(test.labels[shown])
    samples = [graph_trace(graph, f"t{shown}-trigger", shown, label, triggered_pixels[shown], "with the trigger"),
               graph_trace(graph, f"t{shown}", shown, label, test.pixels[shown])]

    # the SPADE circuit of the shown triggered image, at the network's positions
    with threadpool_limits(1):
        circuit, inputs, circuit_weights = circuit_model(model, triggered_pixels[shown], config.spade_seed + shown, config)
        circuit_graph = place_as(simplify(flowgraph_from_sequential(circuit, [INPUT_RANGE] * 784)), graph)
        check_exact(circuit_graph, circuit, torch.from_numpy(inputs))
    circuit_sample = graph_trace(circuit_graph, f"t{shown}-trigger", shown, label, triggered_pixels[shown], "with the trigger")
    circuit_pixels = {e["source"] for e in circuit_graph["edges"] if e["source"].startswith("x")}

    # the scores
    methods = list(config.methods)
    auc = {m: {net: [float(scores[s].arrays[f"{net}.{m}"].mean()) for s in config.seeds] for net in ("dense", "spade")}
           for m in methods}
    rows = [{"method": METHODS[m].name, "network": name, "seed": str(s), "auc": auc[m][net][k]}
            for m in methods for net, name in (("dense", "dense network"), ("spade", "SPADE circuit"))
            for k, s in enumerate(config.seeds)]
    clean = [trained[s].record["clean_accuracy"] for s in config.seeds]
    success = [trained[s].record["attack_success_rate"] for s in config.seeds]
    circuit_target = [float(np.mean(scores[s].arrays["circuit_prediction"] == training.target_class)) for s in config.seeds]
    wins = [m for m in methods if statistics.mean(auc[m]["spade"]) > statistics.mean(auc[m]["dense"])]

    facts = {
        "seeds": str(len(config.seeds)), "seeds_phrase": f"{len(config.seeds)} seed{'s' if len(config.seeds) > 1 else ''}",
        "seed": str(seed), "target_class": str(training.target_class),
        "share": f"{100 * training.share:g}%", "epochs": str(training.train.final_epochs),
        "hidden": ", ".join(str(h) for h in training.model.layer_sizes[1:-1]),
        "trigger_size": f"{training.trigger.rows[1] - training.trigger.rows[0]}×{training.trigger.cols[1] - training.trigger.cols[0]}",
        "trigger_pixels": str(int(mask.sum())), "trigger_rows": f"{training.trigger.rows[0]}–{training.trigger.rows[1] - 1}",
        "trigger_cols": f"{training.trigger.cols[0]}–{training.trigger.cols[1] - 1}",
        "clean_accuracy": _spread(clean), "attack_success_rate": _spread(success),
        "images": str(config.images), "augmentations": str(config.augmentations),
        "vertices": f"{len(graph['nodes']):,}", "edges": f"{len(graph['edges']):,}",
        "max_logit_error": f"{exactness['max_logit_error']:.1e}",
        "shown_sample": f"test image #{shown} ({digit_article(label)} {label})",
        "shown_clean_prediction": str(samples[1]["prediction"]),
        "shown_triggered_prediction": str(samples[0]["prediction"]),
        "circuit_edges": f"{len(circuit_graph['edges']):,}", "circuit_prediction": str(circuit_sample["prediction"]),
        "circuit_inputs": str(len(circuit_pixels)), "circuit_trigger_inputs": str(len(circuit_pixels & set(pixel_ids))),
        "circuit_target": _spread(circuit_target),
        "trigger_inputs_mean": f"{statistics.mean(float(scores[s].arrays['trigger_inputs'].mean()) for s in config.seeds):.1f}",
        "other_inputs_mean": f"{statistics.mean(float(scores[s].arrays['other_inputs'].mean()) for s in config.seeds):.1f}",
        "first_density": f"{100 * config.densities[0]:g}%",
        "spade_wins": f"{len(wins)} of {len(methods)}",
        "spade_wins_names": ", ".join(METHODS[m].name for m in wins) or "none",
        "verdict": ("SPADE does not win here." if not wins else "SPADE wins for every method here." if len(wins) == len(methods)
                    else "SPADE wins for some methods here and not for the others."),
    }
    for m in methods:
        for net in ("dense", "spade"):
            values = auc[m][net]
            spread = f" ({min(values):.3f}–{max(values):.3f})" if f"{min(values):.3f}" != f"{max(values):.3f}" else ""
            facts[f"auc_{m.replace('-', '_')}_{net}"] = f"{statistics.mean(values):.3f}{spread}"

    paths = {name: chapter_data(ID, f"{name}.json") for name in ("flowgraph", "traces", "circuit-flowgraph", "circuit-traces")}
    paths["auc"] = chapter_data(ID, "trigger-auc.vl.json")
    documents = {
        paths["flowgraph"]: flowgraph_document(ID, graph, list(INPUT_SHAPE), sum(weights_per_layer(model)), {},
                                               input_range=list(INPUT_RANGE)),
        paths["traces"]: traces_document(ID, "flowgraph.json", samples),
        paths["circuit-flowgraph"]: flowgraph_document(ID, circuit_graph, list(INPUT_SHAPE), circuit_weights, {},
                                                       input_range=list(INPUT_RANGE)),
        paths["circuit-traces"]: traces_document(ID, "circuit-flowgraph.json", [circuit_sample]),
        paths["auc"]: charts.trigger_auc(rows, [METHODS[m].name for m in methods]),
    }
    data = {"trigger-path": {"flowgraph": paths["flowgraph"], "traces": paths["traces"]},
            "circuit": {"flowgraph": paths["circuit-flowgraph"], "traces": paths["circuit-traces"]},
            "auc": {"spec": paths["auc"]}}
    options = {"trigger-path": {"sample": samples[0]["id"], "pins": ",".join(pixel_ids + [target_id])},
               "circuit": {"sample": circuit_sample["id"]}}
    manifest = {
        "kind": "backdoor", "seeds": list(config.seeds), "clean_accuracy": clean, "attack_success_rate": success,
        "trigger": {"rows": list(training.trigger.rows), "cols": list(training.trigger.cols), "value": training.trigger.value},
        "target_class": training.target_class, "flowgraph": paths["flowgraph"],
        "images": scored_images(config, test.labels),
        "trigger_auc": {m: {net: statistics.mean(auc[m][net]) for net in ("dense", "spade")} for m in methods},
        "trigger_auc_per_seed": {m: auc[m] for m in methods},
        "circuit_predicts_target": circuit_target,
    }
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data, options), documents=documents,
                         manifest=manifest)


def check(config: BackdoorConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    """The published graph is the drawn seed's network and the trigger turns its shown image to the
    target class there."""
    training = config.training
    model = backdoored_model(training, results[f"train-{config.seeds[0]}"]).double()
    graph = output.documents.get(chapter_data(ID, "flowgraph.json"))
    traces = output.documents.get(chapter_data(ID, "traces.json"))
    if graph is None or traces is None:
        raise BuildError("flowgraph.json or traces.json is missing")
    pixels = np.array([s["pixels"] for s in traces["samples"]], dtype=np.uint8)
    with threadpool_limits(1):
        out, _ = check_exact(graph, model, torch.from_numpy(pixels / 255.0))
    if int(out[0].argmax()) != training.target_class:
        raise BuildError("the triggered sample is not sent to the target class by the published graph")


CHAPTER = Chapter(
    id=ID,
    title="Looking inside: a backdoor",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    headline="a backdoored MLP ({clean_accuracy} clean, the trigger works on {attack_success_rate}); SPADE raises "
             "the trigger-detection AUC for {spade_wins} attribution methods",
    key_figure="trigger-path",
)
