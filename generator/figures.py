"""Every figure of the report: a literal registry. Captions are templates over the build's facts.

kind: `altair` (a Vega-Lite spec), `flowgraph` (site_src/js/flowgraph.js) or `filters`
(site_src/js/filters.js). Options a figure starts with that depend on the build (which output,
which sample) are filled in by render.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    kind: str
    title: str
    caption: str
    options: dict = field(default_factory=dict)


FIGURES: dict[str, Figure] = {
    "accuracy-vs-weights": Figure(
        "altair", "Accuracy as the weights are pruned away",
        "Test and validation accuracy after each of the {rounds} lottery-ticket rounds, against the "
        "kernel weights left (log scale, fewer to the right). The filled squares mark round "
        "{selected_round}, the network drawn below. Hover a point for its round."),
    "weights-per-layer": Figure(
        "altair", "Kernel weights left in each layer",
        "Surviving kernel weights per Linear layer after each round (log scale). Click a layer in "
        "the legend to pick it out."),
    "flowgraph": Figure(
        "flowgraph", "The pruned network as an exact flowgraph",
        "All {vertices} vertices and {edges} edges of round {selected_round}. Pixels sit where they "
        "are in the image; edge width is |weight|, green positive, red negative. Labels give each "
        "node's bounds ⟨lo, hi⟩ over every possible image. Scroll to zoom, drag to pan, hover a "
        "node to light up what feeds it and what it feeds; choose an output or a test image above.",
        {"output": "all", "sample": "none", "inputs": "pixels"}),
    "first-layer-filters": Figure(
        "filters", "First-layer neurons as filters",
        "Each of the {hidden_1} first-layer neurons computes a dot product with the image: its "
        "weights drawn as a 28×28 filter (green positive, red negative, grey zero; stronger colour "
        "is larger |w|), with its bias and bounds.",
        {"sample": "none"}),
    "output-subgraph": Figure(
        "flowgraph", "Everything that decides one output",
        "Only the part of the graph that output {subgraph_class} depends on: {subgraph_vertices} "
        "vertices and {subgraph_edges} edges, with the first layer drawn as filters. Pick another "
        "output above.",
        {"sample": "none", "inputs": "filters"}),
    "sample-trace": Figure(
        "flowgraph", "The network on one test image",
        "The graph evaluated on {trace_sample}. Edge width is now |weight × value carried|, "
        "node labels give [value] and ⟨lo, hi⟩. The page computes these values itself from the "
        "image's pixels; choose another image above, wrong predictions are marked ✗.",
        {"output": "all", "inputs": "pixels"}),
    "sample-filters": Figure(
        "filters", "Filters next to what they see",
        "Each first-layer filter beside filter ⊙ input for {trace_sample}: the pixel-by-pixel "
        "products whose sum, plus the bias, is the neuron's input.",
        {}),
}
