"""Layered layout computed at build time, so the D3 figure, its static snapshot and the tests see
the same coordinates.

Each layer is a column. Image inputs sit on their pixel grid, where they are in the image; named
inputs (a state vector) stand in a column in input order. A convolutional layer is a column of
feature maps, one small grid per channel, each node at its position in its map. Within a dense
hidden column, neurons are ordered by the barycentre of their neighbours (a few down/up sweeps of
the Sugiyama heuristic), which keeps edges short and crossings few. Outputs stay in class order.
No layout library fits fixed grids plus ordered columns, and this is small.
"""
from __future__ import annotations

import numpy as np

PIXEL_CELL = 12          # px per image pixel on the input grid
COLUMN_GAP = 240         # px between layer columns
NEURON_GAP = 40          # px between neurons in a hidden column (room for a 28×28 filter image)
OUTPUT_GAP = 56          # px between outputs
VECTOR_GAP = 64          # px between named inputs
MAP_CELL = 6             # px per position in a convolutional feature map
MAP_GAP = 24             # px between the feature maps of one layer
MARGIN = 40
SWEEPS = 4


def layout_flowgraph(graph: dict, input_shape: tuple[int, ...]) -> dict:
    """Returns a copy of the graph with x, y on every node and `layers`, `layout` added."""
    nodes = [dict(node) for node in graph["nodes"]]
    by_id = {node["id"]: node for node in nodes}
    n_layers = max(node["layer"] for node in nodes) + 1
    columns = [[node for node in nodes if node["layer"] == k] for k in range(n_layers)]
    neighbours: dict[str, list[str]] = {node["id"]: [] for node in nodes}
    for edge in graph["edges"]:
        neighbours[edge["source"]].append(edge["target"])
        neighbours[edge["target"]].append(edge["source"])

    image = len(input_shape) == 2
    rows, cols = input_shape if image else (input_shape[0], 1)
    maps = [_map_shape(column) for column in columns]
    heights = [rows * PIXEL_CELL if image else len(columns[0]) * VECTOR_GAP]
    for k, column in enumerate(columns[1:-1], start=1):
        heights.append(_maps_height(maps[k]) if maps[k] else len(column) * NEURON_GAP)
    heights.append(len(columns[-1]) * OUTPUT_GAP)
    widths = [cols * PIXEL_CELL if image else 0] + [(m[2] * MAP_CELL if m else 0) for m in maps[1:]]
    height = max(heights) + 2 * MARGIN
    middle = height / 2
    layer_x = [MARGIN]
    for k in range(1, n_layers):
        layer_x.append(layer_x[-1] + widths[k - 1] + COLUMN_GAP)

    grid_top = middle - rows * PIXEL_CELL / 2
    for k, node in enumerate(sorted(columns[0], key=lambda n: n["index"])):
        if image:
            r, c = divmod(node["index"], cols)
            node["x"] = MARGIN + (c + 0.5) * PIXEL_CELL
            node["y"] = grid_top + (r + 0.5) * PIXEL_CELL
        else:
            node["x"] = layer_x[0]
            node["y"] = middle + (node["index"] - (rows - 1) / 2) * VECTOR_GAP

    def place(column: list[dict], gap: float) -> None:
        for k, node in enumerate(column):
            node["x"] = layer_x[node["layer"]]
            node["y"] = middle + (k - (len(column) - 1) / 2) * gap

    outputs = sorted(columns[-1], key=lambda n: n["class"])
    place(outputs, OUTPUT_GAP)
    dense = [column for k, column in enumerate(columns[1:-1], start=1) if not maps[k]]
    for k, column in enumerate(columns[1:-1], start=1):
        if maps[k]:
            top = middle - _maps_height(maps[k]) / 2
            for node in column:
                node["x"] = layer_x[k] + (node["col"] + 0.5) * MAP_CELL
                node["y"] = top + node["channel"] * (maps[k][1] * MAP_CELL + MAP_GAP) + (node["row"] + 0.5) * MAP_CELL
        else:
            place(sorted(column, key=lambda n: n.get("unit", 0)), NEURON_GAP)

    def barycentre(node: dict) -> float:
        ys = [by_id[m]["y"] for m in neighbours[node["id"]]]
        return float(np.mean(ys)) if ys else node["y"]

    for _ in range(SWEEPS):
        for column in dense + dense[::-1]:
            place(sorted(column, key=lambda n: (barycentre(n), n["unit"])), NEURON_GAP)

    for node in nodes:
        node["x"], node["y"] = round(node["x"], 2), round(node["y"], 2)
    names = ["input"] + [("conv " if maps[k] else "hidden ") + str(k) for k in range(1, n_layers - 1)] + ["output"]
    layout = {"width": layer_x[-1] + MARGIN * 3, "height": round(height, 2)}
    if image:
        layout.update(pixel_cell=PIXEL_CELL, pixel_origin=[MARGIN, round(grid_top, 2)])
    if any(maps):
        layout["map_cell"] = MAP_CELL
    return {
        **graph,
        "nodes": nodes,
        "layers": [{"layer": k, "name": names[k], "x": layer_x[k]} for k in range(n_layers)],
        "layout": layout,
    }


def _map_shape(column: list[dict]) -> tuple[int, int, int] | None:
    """(channels, rows, cols) of a convolutional layer's feature maps, None for a dense layer."""
    if not column or "channel" not in column[0]:
        return None
    return (max(n["channel"] for n in column) + 1, max(n["row"] for n in column) + 1,
            max(n["col"] for n in column) + 1)


def _maps_height(shape: tuple[int, int, int]) -> float:
    channels, rows, _ = shape
    return channels * rows * MAP_CELL + (channels - 1) * MAP_GAP


def subgraph_layouts(graph: dict) -> dict:
    """A compact layout per output, for the view of everything that output depends on: its dense
    hidden neurons re-spaced to fill their column (in the full layout's order), the output in
    the middle. Pixels and feature-map positions keep their places: where they are means
    something. Returns {class: {node id: [x, y]}} for the nodes that move."""
    from generator.flowgraph.graph import ancestors

    nodes = {n["id"]: n for n in graph["nodes"]}
    height = graph["layout"]["height"]
    middle = height / 2
    # With few neurons per column the graph is tall and narrow: spread the columns (of a purely
    # dense network; feature maps keep their places) so that it fills a wide figure.
    dense = not any("channel" in n for n in graph["nodes"])
    first = next(layer["x"] for layer in graph["layers"] if layer["layer"] == 1)
    x_of = (lambda node: first + (node["layer"] - 1) * 2 * COLUMN_GAP) if dense else (lambda node: node["x"])
    layouts = {}
    for output in (n for n in graph["nodes"] if n["kind"] == "output"):
        keep = ancestors(graph, output["id"])
        moved = {output["id"]: [x_of(output), round(middle, 2)]}
        by_layer: dict[int, list[dict]] = {}
        for node_id in keep:
            node = nodes[node_id]
            if node["kind"] == "neuron" and "channel" not in node:
                by_layer.setdefault(node["layer"], []).append(node)
        for column in by_layer.values():
            column.sort(key=lambda n: (n["y"], n["id"]))
            gap = min(2.4 * NEURON_GAP, max(NEURON_GAP, (height - 2 * MARGIN) / max(1, len(column))))
            for k, node in enumerate(column):
                moved[node["id"]] = [x_of(node), round(middle + (k - (len(column) - 1) / 2) * gap, 2)]
        layouts[str(output["class"])] = moved
    return layouts


def place_as(graph: dict, reference: dict) -> dict:
    """A copy of a subgraph of `reference` (a laid-out graph with the same node ids) drawn where
    its nodes sit in the reference: circuits cut from one network stay comparable by position."""
    at = {node["id"]: (node["x"], node["y"]) for node in reference["nodes"]}
    nodes = [{**node, "x": at[node["id"]][0], "y": at[node["id"]][1]} for node in graph["nodes"]]
    return {**graph, "nodes": nodes, "layers": reference["layers"], "layout": reference["layout"]}
