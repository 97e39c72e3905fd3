"""Layered layout computed at build time, so the D3 figure and the tests see the same coordinates.

Inputs sit on the 28×28 pixel grid where they are in the image; each later layer is a column.
Within a hidden column, neurons are ordered by the barycentre of their neighbours (a few
down/up sweeps of the Sugiyama heuristic), which keeps edges short and crossings few. Outputs stay
in class order. No layout library fits a fixed pixel grid plus ordered columns, and this is small.
"""
from __future__ import annotations

import numpy as np

PIXEL_CELL = 12          # px per image pixel on the input grid
COLUMN_GAP = 240         # px between layer columns
NEURON_GAP = 40          # px between neurons in a hidden column (room for a 28×28 filter image)
OUTPUT_GAP = 56          # px between outputs
MARGIN = 40
SWEEPS = 4


def layout_flowgraph(graph: dict, input_shape=(28, 28)) -> dict:
    """Returns a copy of the graph with x, y on every node and `layers`, `layout` added."""
    rows, cols = input_shape
    nodes = [dict(node) for node in graph["nodes"]]
    by_id = {node["id"]: node for node in nodes}
    n_layers = max(node["layer"] for node in nodes) + 1
    columns = [[node for node in nodes if node["layer"] == k] for k in range(n_layers)]
    neighbours: dict[str, list[str]] = {node["id"]: [] for node in nodes}
    for edge in graph["edges"]:
        neighbours[edge["source"]].append(edge["target"])
        neighbours[edge["target"]].append(edge["source"])

    tallest = max([rows * PIXEL_CELL]
                  + [len(c) * NEURON_GAP for c in columns[1:-1]]
                  + [len(columns[-1]) * OUTPUT_GAP])
    height = tallest + 2 * MARGIN
    middle = height / 2
    grid_top = middle - rows * PIXEL_CELL / 2
    layer_x = [MARGIN] + [MARGIN + cols * PIXEL_CELL + COLUMN_GAP * k for k in range(1, n_layers)]

    for node in columns[0]:
        r, c = divmod(node["index"], cols)
        node["x"] = MARGIN + (c + 0.5) * PIXEL_CELL
        node["y"] = grid_top + (r + 0.5) * PIXEL_CELL

    def place(column: list[dict], gap: float) -> None:
        for k, node in enumerate(column):
            node["x"] = layer_x[node["layer"]]
            node["y"] = middle + (k - (len(column) - 1) / 2) * gap

    outputs = sorted(columns[-1], key=lambda n: n.get("class", n.get("unit", 0)))
    place(outputs, OUTPUT_GAP)
    hidden = columns[1:-1]
    for column in hidden:
        place(sorted(column, key=lambda n: n.get("unit", 0)), NEURON_GAP)

    def barycentre(node: dict) -> float:
        ys = [by_id[m]["y"] for m in neighbours[node["id"]]]
        return float(np.mean(ys)) if ys else node["y"]

    for _ in range(SWEEPS):
        for column in hidden + hidden[::-1]:
            place(sorted(column, key=lambda n: (barycentre(n), n["id"])), NEURON_GAP)

    for node in nodes:
        node["x"], node["y"] = round(node["x"], 2), round(node["y"], 2)
    names = ["input"] + [f"hidden {k}" for k in range(1, n_layers - 1)] + ["output"]
    return {
        **graph,
        "nodes": nodes,
        "layers": [{"layer": k, "name": names[k], "x": layer_x[k]} for k in range(n_layers)],
        "layout": {"width": layer_x[-1] + MARGIN * 3, "height": round(height, 2),
                   "pixel_cell": PIXEL_CELL, "pixel_origin": [MARGIN, round(grid_top, 2)]},
    }
