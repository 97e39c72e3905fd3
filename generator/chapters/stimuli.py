"""Looking inside, part 2: for every hidden neuron of the dense MNIST MLP, its lottery ticket and
the dense-first ticket, the test images that drive it hardest (the "strongest stimuli" of Zeiler
and Fergus), computed on the exact graphs those chapters publish; shown as a grid per layer and
in the flowgraph's panel when a neuron is opened. Nothing here trains: the chapter has no tasks."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from generator.chapters.mnist_lottery import TEST_IMAGES, published_graph, test_images_file
from generator.flowgraph.export import validate
from generator.inside.stimuli import strongest_stimuli
from generator.networks.config import require
from generator.networks.data import load_mnist
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data

ID = "stimuli"
LOTTERY, DENSE_FIRST = "mnist-mlp-lth", "mnist-mlp-lth-dense-first"
# (id, name, chapter, which of its graphs): the dense network is the lottery's round 0.
NETWORKS = (("dense", "dense network", LOTTERY, "dense"), ("ticket", "lottery ticket", LOTTERY, "shown"),
            ("dense-first", "dense-first ticket", DENSE_FIRST, "shown"))


@dataclass(frozen=True)
class StimuliConfig:
    top: int = 9               # images per neuron (a 3 × 3 mosaic)

    def __post_init__(self):
        require(isinstance(self.top, int) and 1 <= self.top <= 25, "top", "an integer in 1..25", self.top)


CONFIGS = {"full": StimuliConfig(), "quick": StimuliConfig()}


def tasks(config: StimuliConfig, upstream: dict[str, Upstream]) -> list:
    return []   # everything is read off the graphs the upstream chapters publish


def purity(labels: list[int]) -> float:
    """The share of a neuron's strongest stimuli that are its most common digit."""
    return Counter(labels).most_common(1)[0][1] / len(labels)


def stimuli_document(config: StimuliConfig, upstream: dict[str, Upstream]) -> dict:
    test = load_mnist(upstream[LOTTERY].config.data).test
    networks = []
    for network, name, chapter, which in NETWORKS:
        path = published_graph(upstream[chapter], which)
        graph = upstream[chapter].output.documents[path]
        found = strongest_stimuli(graph, test.pixels, config.top)
        layer_of = {n["id"]: n["layer"] for n in graph["nodes"]}
        neurons = [{"id": node, "layer": layer_of[node], **top,
                    "labels": [int(test.labels[i]) for i in top["test_index"]]} for node, top in found.items()]
        networks.append({"id": network, "name": name, "chapter": chapter, "flowgraph": path, "neurons": neurons})
    return validate({"schema_version": 2, "experiment": ID, "top": config.top, "images": TEST_IMAGES,
                     "test_images": int(len(test.labels)), "networks": networks}, "stimuli")


FIGURES = {
    "grid": Figure(
        "stimuli", "The images each neuron likes best",
        "For every neuron of one hidden layer, the {top} test images (of {test_images}) that give it its largest "
        "value, strongest first, read left to right and top to bottom: the dense network on the left, a pruned one on "
        "the right. A mosaic whose images are all one digit is a neuron that has become a detector of that digit. "
        "Click a neuron to see its images with their values and to open it in its flowgraph.",
        {"layer": "1", "network": "ticket"}),
}


def silent(neuron: dict) -> bool:
    """A neuron that is 0 on every test image: its "strongest" images are merely the first ones."""
    return neuron["values"][0] <= 0


def network_facts(network: dict) -> dict[str, str]:
    neurons = network["neurons"]
    active = [n for n in neurons if not silent(n)]
    pure = sum(1 for n in active if purity(n["labels"]) == 1.0)
    key = network["id"].replace("-", "_")
    mean = sum(purity(n["labels"]) for n in active) / len(active) if active else 0.0
    return {f"{key}_neurons": str(len(neurons)), f"{key}_silent": str(len(neurons) - len(active)),
            f"{key}_pure": str(pure), f"{key}_purity": f"{100 * mean:.0f}%"}


def assemble(config: StimuliConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    document = stimuli_document(config, upstream)
    facts = {"top": str(config.top), "test_images": f"{document['test_images']:,}"}
    for network in document["networks"]:
        facts.update(network_facts(network))
    path = chapter_data(ID, "stimuli.json")
    data = {"grid": {"stimuli": path, "images": TEST_IMAGES}}
    manifest = {"kind": "stimuli", "top": config.top, "stimuli": path,
                "networks": [{"id": n["id"], "name": n["name"], "flowgraph": n["flowgraph"]} for n in document["networks"]]}
    # The test images too (the same bytes mnist-mlp-lth ships): the no-JavaScript picture of the
    # grid is drawn from them.
    files = {TEST_IMAGES: test_images_file(load_mnist(upstream[LOTTERY].config.data).test)}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data), documents={path: document},
                         manifest=manifest, files=files)


def check(config: StimuliConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    """What is published is what the published graphs give on the test images now."""
    shipped = output.documents.get(chapter_data(ID, "stimuli.json"))
    if shipped != stimuli_document(config, upstream):
        raise BuildError("stimuli.json is not the strongest stimuli of the graphs the upstream chapters publish")
    for network in shipped["networks"]:
        if network_facts(network).items() - output.facts.items():
            raise BuildError(f"the facts of the {network['name']} do not say what stimuli.json holds")


CHAPTER = Chapter(
    id=ID,
    title="Looking inside: the images each neuron likes best",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(LOTTERY, DENSE_FIRST),
    headline="the {top} strongest test images of every neuron: {ticket_pure} of the ticket's {ticket_neurons} neurons "
             "see only one digit there, {dense_pure} of the dense network's {dense_neurons}",
    key_figure="grid",
)
