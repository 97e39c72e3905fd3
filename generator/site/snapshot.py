"""Static pictures of every figure's first view, drawn at build time: an SVG the page shows where
JavaScript is off (and that a reader can download or print), and a PNG preview for link cards.

Flowgraphs are drawn from the layout and colours the interactive figure uses (the layout ships
in flowgraph.json; the colours mirror site_src/js/constants.js, the sign colours are the
default palette's, generator/site/palette.py); charts are rendered by
vl-convert from the same Vega-Lite spec the page draws; filters are the same 28×28 images.
"""
from __future__ import annotations

import base64
import html
import math
import struct
import zlib

import numpy as np

from generator.flowgraph.graph import Evaluator, ancestors
from generator.site.palette import NEGATIVE, POSITIVE

COLORS = {"positive": POSITIVE, "negative": NEGATIVE, "zero": "#b0b0b0", "neutral": "#f2f2f2", "node": "#333333",
          "fill": "#ffffff", "identity": "#e8eef7", "constant": "#888888", "pixel": "#e4e4e4", "label": "#222222"}
DISPLAY_WIDTH = 760        # px the snapshot is drawn for: the report's content column
LABEL_PX, TITLE_PX = 12, 12
# The picture is scaled to the page's column (688 px on a desktop, about 340 on a phone); below
# DISPLAY_WIDTH its own CSS enlarges the labels, band by band, to at least LABEL_MIN_PX on screen,
# and drops their long parts (values, "class k") where they would collide.
LABEL_MIN_PX = 10.5
LABEL_BANDS = range(280, DISPLAY_WIDTH, 40)     # lower edges of the bands of picture widths, px
LABEL_SHORT_BELOW = 560                         # picture width under which labels are short
EDGE_PX = (0.6, 4.5)
NODE_RADIUS = 9
PREVIEW_SIZE = (1200, 630)  # px of the PNG preview: the size link cards show
FONT = 'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace"'


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def png(rgb: np.ndarray) -> bytes:
    """A PNG file of an (H, W, 3) uint8 image: the few lines of zlib a PNG needs."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].astype(np.uint8).tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def signed_image(values: np.ndarray, side: int = 28) -> np.ndarray:
    """Positive and negative in the sign palette's colours, neutral zero; intensity |v| / max |v|
    of this image (as the page's filters.js)."""
    values = np.asarray(values, dtype=float).reshape(side, side)
    top = np.abs(values).max() or 1.0
    t = (np.abs(values) / top)[..., None]
    neutral = _rgb(COLORS["neutral"])
    colour = np.where(values[..., None] > 0, _rgb(COLORS["positive"]), _rgb(COLORS["negative"]))
    colour = np.where(values[..., None] == 0, neutral, colour)
    return np.round(neutral + (colour - neutral) * t).astype(np.uint8)


def data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png(image)).decode()


def _fmt(v: float) -> str:
    s = f"{round(v * 100) / 100:.2f}"
    return "0.00" if s == "-0.00" else s


def label_style(px: float, view_scale: float, fit: float) -> str:
    """CSS for a flowgraph picture with labels of LABEL_PX × px layout units, drawn at view_scale
    px per layout unit when the picture is DISPLAY_WIDTH wide: per band of widths the picture is
    shown at, labels no smaller than LABEL_MIN_PX on screen where they fit (`fit`: the largest size,
    in layout units, at which the short labels neither overlap each other nor leave the picture).
    Media queries in an SVG shown as an <img> see the picture's own width."""
    rules = []
    for low in LABEL_BANDS:
        label = max(LABEL_PX * px, min(fit, LABEL_MIN_PX * DISPLAY_WIDTH / (low * view_scale)))
        title = min(label * TITLE_PX / LABEL_PX, 1.6 * TITLE_PX * px)
        short = " .fg-long { display: none; }" if low < LABEL_SHORT_BELOW else ""
        rules.append(f"@media (min-width: {low}px) and (max-width: {low + 40 - 0.02:.2f}px) "
                     f"{{ .fg-label {{ font-size: {label:.2f}px; }} .fg-title {{ font-size: {title:.2f}px; }}{short} }}")
    return "<style>" + "\n".join(rules) + "</style>"


def flowgraph_svg(graph: dict, options: dict, samples: list[dict], width_px: int = DISPLAY_WIDTH,
                  subset: set[str] | None = None, positions: dict[str, tuple[float, float]] | None = None) -> str:
    """The flowgraph figure's first view: the output, input mode and sample of `options`, drawn
    for `width_px` of a DISPLAY_WIDTH-wide picture; `subset` and `positions`: only those nodes,
    there (the paths figure)."""
    nodes = graph["nodes"]
    index = {n["id"]: i for i, n in enumerate(nodes)}
    output = str(options.get("output", "all"))
    filters_mode = options.get("inputs") == "filters" and len(graph["input_shape"]) == 2
    sample = next((s for s in samples if s["id"] == options.get("sample")), None)
    # a sample's input: `inputs` where it is not a test image's pixels / 255 (an adversarial image)
    inputs = (np.array([sample["inputs"]]) if "inputs" in sample else np.array([sample["pixels"]]) / 255.0) if sample else None
    values = Evaluator(graph).values(inputs)[0] if sample else None

    keep = ancestors(graph, f"y{output}") if output != "all" and f"y{output}" in index else {n["id"] for n in nodes}
    keep = keep if subset is None else keep & subset
    if filters_mode:
        keep = {i for i in keep if nodes[index[i]]["kind"] != "input"}
    layout = graph.get("subgraph_layouts", {}).get(output, {}) if output != "all" else {}
    pos = positions or {n["id"]: tuple(layout.get(n["id"], (n["x"], n["y"]))) for n in nodes}
    image = len(graph["input_shape"]) == 2
    cell = graph["layout"].get("pixel_cell", 12)

    # Filters: first-layer neurons fed by pixels, and their weights per pixel.
    weights_of: dict[str, np.ndarray] = {}
    if filters_mode:
        for e in graph["edges"]:
            source = nodes[index[e["source"]]]
            if source["kind"] == "input" and e["target"] in keep:
                weights_of.setdefault(e["target"], np.zeros(784))[source["index"]] += e["weight"]
    # Everything drawn, to size the picture: node boxes, filter images.
    boxes = [(pos[n["id"]][0] - NODE_RADIUS, pos[n["id"]][1] - NODE_RADIUS, pos[n["id"]][0] + NODE_RADIUS,
              pos[n["id"]][1] + NODE_RADIUS) for n in nodes if n["id"] in keep]
    images = []
    if weights_of:
        ys = sorted(pos[i][1] for i in weights_of)
        gap = min([b - a for a, b in zip(ys, ys[1:]) if b > a] or [40.0])
        size = min(28 * 1.1 * 4, 1.84 * gap)
        pixels = np.array(sample["pixels"], dtype=float) / 255 if sample else None
        width = size * (2 if sample else 1) + (6 if sample else 0)   # [w][w ⊙ x], as the page draws them
        for rank, node_id in enumerate(sorted(weights_of, key=lambda i: pos[i][1])):
            x, y = pos[node_id]
            right = x - NODE_RADIUS - 6 - (rank % 2) * (width + 6)
            images.append((right - width, y - size / 2, size, signed_image(weights_of[node_id])))
            if sample:
                images.append((right - size, y - size / 2, size, signed_image(weights_of[node_id] * pixels)))
            boxes.append((right - width, y - size / 2, right, y + size / 2))
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[2] for b in boxes)
    y1 = max(b[3] for b in boxes)
    named = max((len(n.get("name", "")) + 9 for n in nodes if n["kind"] == "input" and n["id"] in keep and "name" in n),
                default=0)
    scale = width_px / max(1.0, (x1 - x0) * (1.25 + 0.012 * named))   # room for labels on both sides
    px = 1 / scale                                            # one screen px in layout units
    x0, x1 = x0 - (40 + named * LABEL_PX * 0.62) * px, x1 + 150 * px
    y0, y1 = y0 - 40 * px, y1 + 20 * px
    width, height = x1 - x0, y1 - y0

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x0:.1f} {y0:.1f} {width:.1f} {height:.1f}" '
           f'width="{width_px}" height="{width_px * height / width:.0f}">',
           f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{width:.1f}" height="{height:.1f}" fill="#ffffff"/>']
    if image and not filters_mode and "pixel_origin" in graph["layout"]:
        gx, gy = graph["layout"]["pixel_origin"]
        out.append(f'<rect x="{gx}" y="{gy}" width="{28 * cell}" height="{28 * cell}" fill="#fff" stroke="#d0d0d0" '
                   f'stroke-width="{px:.3f}" stroke-dasharray="{4 * px:.2f} {3 * px:.2f}"/>')
    # Edges: width by |weight| (or |weight × value| on a sample), colour by sign.
    shown = [e for e in graph["edges"] if e["source"] in keep and e["target"] in keep]
    amount = [e["weight"] * (values[index[e["source"]]] if values is not None else 1.0) for e in shown]
    top = max((abs(a) for a in amount), default=1.0) or 1.0
    opacity = max(0.1, min(0.55, 0.55 * math.sqrt(800 / max(1, len(shown)))))
    for e, a in sorted(zip(shown, amount), key=lambda ea: abs(ea[1])):
        (sx, sy), (tx, ty) = pos[e["source"]], pos[e["target"]]
        colour = COLORS["positive"] if a > 0 else COLORS["negative"] if a < 0 else COLORS["zero"]
        w = (EDGE_PX[0] + (EDGE_PX[1] - EDGE_PX[0]) * abs(a) / top if a else 0.5) * px
        mx = (sx + tx) / 2
        out.append(f'<path d="M{sx:.1f},{sy:.1f}C{mx:.1f},{sy:.1f} {mx:.1f},{ty:.1f} {tx:.1f},{ty:.1f}" fill="none" '
                   f'stroke="{colour}" stroke-width="{w:.2f}" stroke-opacity="{opacity:.2f}" stroke-linecap="round"/>')
    for x, y, size, img in images:
        out.append(f'<image x="{x:.1f}" y="{y:.1f}" width="{size:.1f}" height="{size:.1f}" '
                   f'style="image-rendering:pixelated" preserveAspectRatio="none" href="{data_uri(img)}"/>')
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{size:.1f}" height="{size:.1f}" fill="none" '
                   f'stroke="#b8b8b8" stroke-width="{px:.2f}"/>')
    # Nodes: pixel squares, feature-map cells, neurons (circle: ReLU; square: identity), outputs.
    fed = {e["target"] for e in graph["edges"]}
    labels = []
    radius = min(11 * px, max(3.5 * px, NODE_RADIUS))
    for n in nodes:
        if n["id"] not in keep:
            continue
        x, y = pos[n["id"]]
        value = values[index[n["id"]]] if values is not None else None
        if n["kind"] == "input" and image:
            grey = COLORS["pixel"] if value is None else "#" + f"{255 - round(value * 255):02x}" * 3
            half = cell / 2 - 1
            out.append(f'<rect class="fg-node" x="{x - half:.1f}" y="{y - half:.1f}" width="{2 * half:.1f}" '
                       f'height="{2 * half:.1f}" fill="{grey}"/>')
            continue
        if "channel" in n:
            half = graph["layout"].get("map_cell", 6) / 2 - 0.5
            out.append(f'<rect class="fg-node" x="{x - half:.1f}" y="{y - half:.1f}" width="{2 * half:.1f}" '
                       f'height="{2 * half:.1f}" fill="{"#9fb3c8" if n["activation"] == "relu" else "#c9d6e3"}"/>')
            continue
        constant = n["kind"] == "output" and n["id"] not in fed
        fill = COLORS["identity"] if n["kind"] == "neuron" and n["activation"] == "identity" else COLORS["fill"]
        stroke = COLORS["constant"] if constant else COLORS["node"]
        dash = f' stroke-dasharray="{3 * px:.2f} {2 * px:.2f}"' if constant else ""
        sw = (2.5 if n["kind"] == "output" else 1.5) * px
        if n["kind"] == "neuron" and n["activation"] == "identity":
            out.append(f'<rect class="fg-node" x="{x - 0.9 * radius:.1f}" y="{y - 0.9 * radius:.1f}" '
                       f'width="{1.8 * radius:.1f}" height="{1.8 * radius:.1f}" fill="{fill}" stroke="{stroke}" '
                       f'stroke-width="{sw:.2f}"/>')
        else:
            out.append(f'<circle class="fg-node" cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{fill}" '
                       f'stroke="{stroke}" stroke-width="{sw:.2f}"{dash}/>')
        # (text, its long part): the long part goes where the picture is narrow.
        v = f" [{_fmt(value)}]" if value is not None else ""
        if n["kind"] == "output":
            name = f" {n['name']}" if "name" in n else ""
            long = f" class {n['class']}" if not name else ""
            text, long = ((f"{n['id']}{name}", f"{long}: always {_fmt(n['bias'])}") if constant
                          else (f"{n['id']}{name}", f"{long}{v}"))
            labels.append((x + radius + 4 * px, y, text, long, "start"))
        elif n["kind"] == "input":
            labels.append((x - radius - 4 * px, y, n.get("name", n["id"]), v, "end"))
    # How large the short labels can grow: apart by 1.15 lines on each side, and inside the picture.
    fit = math.inf
    for side in ("start", "end"):
        ys = sorted(y for _, y, _, _, anchor in labels if anchor == side)
        fit = min([fit] + [(b - a) / 1.15 for a, b in zip(ys, ys[1:]) if b > a])
    for x, _, text, _, anchor in labels:
        fit = min(fit, ((x1 - x) if anchor == "start" else (x - x0)) / (0.62 * max(1, len(text))))
    out.insert(1, label_style(px, width_px / width, fit))
    for x, y, text, long, anchor in labels:
        tail = f'<tspan class="fg-long">{html.escape(long)}</tspan>' if long else ""
        out.append(f'<text class="fg-label" x="{x:.1f}" y="{y + 4 * px:.1f}" font-size="{LABEL_PX * px:.2f}" {FONT} '
                   f'fill="{COLORS["label"]}" text-anchor="{anchor}">{html.escape(text)}{tail}</text>')
    # Layer titles above the highest thing drawn (placed as the page places them).
    top_y = min(b[1] for b in boxes) - 14 * px
    shown_layers = {n["layer"] for n in nodes if n["id"] in keep}
    for layer in graph.get("layers", []):
        if layer["layer"] not in shown_layers:
            continue
        first = next(n for n in nodes if n["id"] in keep and n["layer"] == layer["layer"])
        x = (layer["x"] + 28 * cell / 2 if layer["layer"] == 0 and image
             else layer["x"] + graph["layout"].get("map_cell", 6) * 11 if "channel" in first else pos[first["id"]][0])
        out.append(f'<text class="fg-title" x="{x:.1f}" y="{top_y:.1f}" font-size="{TITLE_PX * px:.1f}" font-weight="600" '
                   f'font-family="DejaVu Sans, sans-serif" fill="#555" text-anchor="middle">{html.escape(layer["name"])}</text>')
    out.append("</svg>")
    return "\n".join(out)


def filters_svg(graph: dict, options: dict, samples: list[dict]) -> str:
    """The filters figure's first view: every first-layer filter as a 28×28 image, with its id."""
    nodes = graph["nodes"]
    index = {n["id"]: i for i, n in enumerate(nodes)}
    weights_of: dict[str, np.ndarray] = {}
    for e in graph["edges"]:
        source = nodes[index[e["source"]]]
        if source["kind"] == "input":
            weights_of.setdefault(e["target"], np.zeros(784))[source["index"]] += e["weight"]
    order = [n["id"] for n in nodes if n["id"] in weights_of]
    sample = next((s for s in samples if s["id"] == options.get("sample")), None)
    pixels = np.array(sample["pixels"], dtype=float) / 255 if sample else None
    per_row, size, gap = (4, 84, 14) if sample else (8, 84, 14)
    card = size * (2 if sample else 1) + (6 if sample else 0)
    rows = math.ceil(len(order) / per_row)
    width, height = per_row * (card + gap) + gap, rows * (size + gap + 16) + gap
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    for k, node_id in enumerate(order):
        x = gap + (k % per_row) * (card + gap)
        y = gap + (k // per_row) * (size + gap + 16)
        out.append(f'<image x="{x}" y="{y + 14}" width="{size}" height="{size}" style="image-rendering:pixelated" '
                   f'href="{data_uri(signed_image(weights_of[node_id]))}"/>')
        if sample:
            out.append(f'<image x="{x + size + 6}" y="{y + 14}" width="{size}" height="{size}" '
                       f'style="image-rendering:pixelated" href="{data_uri(signed_image(weights_of[node_id] * pixels))}"/>')
        out.append(f'<rect x="{x}" y="{y + 14}" width="{size}" height="{size}" fill="none" stroke="#d0d0d0"/>')
        out.append(f'<text x="{x}" y="{y + 10}" font-size="11" {FONT} fill="#222">{node_id}</text>')
    out.append("</svg>")
    return "\n".join(out)


def episode_svg(graph: dict, options: dict, episode: dict) -> str:
    """The episode figure's first view: the cart and pole at the first step beside the graph."""
    x, _, theta, _ = episode["states"][0]
    cart_w = 260
    graph_svg = flowgraph_svg(graph, {"output": "all"}, [], width_px=DISPLAY_WIDTH - cart_w)
    inner = graph_svg.split(">", 1)[1].rsplit("</svg>", 1)[0]
    view = graph_svg.split('viewBox="', 1)[1].split('"', 1)[0]
    vx, vy, vw, vh = (float(v) for v in view.split())
    height = max(200.0, DISPLAY_WIDTH * 0.6 * vh / vw)
    pole_x, pole_y = math.sin(theta), -0.15 - math.cos(theta)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {DISPLAY_WIDTH} {height:.0f}" width="{DISPLAY_WIDTH}" '
            f'height="{height:.0f}"><rect width="{DISPLAY_WIDTH}" height="{height:.0f}" fill="#fff"/>'
            f'<svg x="0" y="0" width="{cart_w}" height="{height:.0f}" viewBox="-2.7 -1.45 5.4 {height / cart_w * 5.4:.2f}">'
            f'<line x1="-2.4" x2="2.4" y1="0" y2="0" stroke="#555" stroke-width="0.02"/>'
            f'<g transform="translate({x:.4f},0)"><rect x="-0.25" y="-0.15" width="0.5" height="0.3" fill="#4a5a6a"/>'
            f'<line x1="0" y1="-0.15" x2="{pole_x:.4f}" y2="{pole_y:.4f}" stroke="#c98b2b" stroke-width="0.06" '
            f'stroke-linecap="round"/></g></svg>'
            f'<svg x="{cart_w}" y="0" width="{DISPLAY_WIDTH - cart_w}" height="{height:.0f}" viewBox="{view}">{inner}</svg></svg>')


# Digit colours of the t-SNE maps: d3.schemeTableau10, as site_src/js/tsne.js draws them.
DIGIT_COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


def tsne_svg(document: dict, options: dict) -> str:
    """The maps of the layer the figure starts on, one per network side by side, as a picture
    (thousands of points: a raster inside the SVG), titled, with the digits' colours."""
    layer = options.get("layer") or document["layers"][-2]["id"]
    networks = document["networks"]
    side, gap, top = 360, 40, 30
    width = len(networks) * side + (len(networks) - 1) * gap
    labels = np.asarray(document["labels"])
    parts = []
    for k, network in enumerate(networks):
        shown = document["maps"][network["id"]][layer]
        xy = np.column_stack([shown["x"], shown["y"]])
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        scale = (side - 12) / max(float((hi - lo).max()), 1e-9)
        pixels = np.round((xy - lo) * scale + 6 + (side - 12 - (hi - lo) * scale) / 2).astype(int)
        image = np.full((side, side, 3), 255, dtype=np.uint8)
        wrong = np.asarray(network["predictions"]) != labels
        for (x, y), label, miss in zip(pixels, labels, wrong):
            y = side - 1 - y   # map y grows upwards, as in the page
            if miss:
                image[max(y - 3, 0):y + 4, max(x - 3, 0):x + 4] = 20
            image[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3] = _rgb(DIGIT_COLORS[int(label)])
        x0 = k * (side + gap)
        parts.append(f'<text x="{x0}" y="18" font-size="{TITLE_PX}" {FONT} fill="{COLORS["label"]}">'
                     f'{html.escape(network["name"])}: {html.escape(shown["name"])}</text>'
                     f'<image x="{x0}" y="{top}" width="{side}" height="{side}" href="{data_uri(image)}"/>')
    legend = "".join(f'<rect x="{k * 44}" y="{top + side + 12}" width="12" height="12" fill="{c}"/>'
                     f'<text x="{k * 44 + 16}" y="{top + side + 22}" font-size="{LABEL_PX}" {FONT}>{k}</text>'
                     for k, c in enumerate(DIGIT_COLORS))
    height = top + side + 32
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{"".join(parts)}{legend}</svg>')


def test_images(gz: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(labels, pixels (N, 784)) of the test images file the build ships (gzip of N labels, then
    N × 784 pixels)."""
    import gzip
    raw = np.frombuffer(gzip.decompress(gz), dtype=np.uint8)
    count = len(raw) // 785
    return raw[:count], raw[count:].reshape(count, 784)


def stimuli_svg(document: dict, options: dict, images_gz: bytes) -> str:
    """The first view of the strongest stimuli: one layer's mosaics, the dense network beside the
    pruned one the figure starts with, as pictures (digits dark on white, as the page draws them)."""
    _, pixels = test_images(images_gz)
    layer = int(options.get("layer") or 1)
    chosen = ["dense", options.get("network") or document["networks"][1]["id"]]
    networks = [n for n in document["networks"] if n["id"] in chosen]
    per_row, cell, gap, column_gap, top = 4, 84, 8, 40, 24
    columns = []
    height = 0
    for k, network in enumerate(networks):
        neurons = [n for n in network["neurons"] if n["layer"] == layer]
        rows = max(1, -(-len(neurons) // per_row))
        x0 = k * (per_row * (cell + gap) + column_gap)
        parts = [f'<text x="{x0}" y="16" font-size="{TITLE_PX}" {FONT} fill="{COLORS["label"]}">'
                 f'{html.escape(network["name"])} · layer {layer} · {len(neurons)} neurons</text>']
        for j, neuron in enumerate(neurons):
            side = int(np.ceil(np.sqrt(len(neuron["test_index"]))))
            mosaic = np.full((side * 28, side * 28), 235, dtype=np.uint8)   # silent on every test image: grey
            for r, index in enumerate(neuron["test_index"] if neuron["values"][0] > 0 else []):
                mosaic[(r // side) * 28:(r // side + 1) * 28, (r % side) * 28:(r % side + 1) * 28] = 255 - pixels[index].reshape(28, 28)
            x, y = x0 + (j % per_row) * (cell + gap), top + (j // per_row) * (cell + gap + 14)
            parts.append(f'<image x="{x}" y="{y}" width="{cell}" height="{cell}" style="image-rendering:pixelated" '
                         f'href="{data_uri(np.repeat(mosaic[..., None], 3, axis=2))}"/>'
                         f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="none" stroke="#cccccc"/>'
                         f'<text x="{x}" y="{y + cell + 11}" font-size="{LABEL_PX - 1}" {FONT} fill="{COLORS["label"]}">'
                         f'{html.escape(neuron["id"])}</text>')
        columns.append("".join(parts))
        height = max(height, top + rows * (cell + gap + 14))
    width = len(networks) * per_row * (cell + gap) + (len(networks) - 1) * column_gap
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{"".join(columns)}</svg>')


def attributions_svg(document: dict, images_gz: bytes) -> str:
    """The first view of the attribution maps: the first image, a row per network, a column per
    method, as the page draws them (saliency, which has no sign, in greys)."""
    _, pixels = test_images(images_gz)
    image = document["images"][0]
    cell, gap, left, top = 80, 8, 130, 40
    columns = ["input"] + [m["name"] for m in document["methods"]]
    width = left + len(columns) * (cell + gap)
    parts = []
    for j, name in enumerate(columns):
        words = name.split(" ")
        for line, text in enumerate([" ".join(words[:2]), " ".join(words[2:])]):
            parts.append(f'<text x="{left + j * (cell + gap)}" y="{14 + 13 * line}" font-size="{LABEL_PX - 1}" {FONT} '
                         f'fill="{COLORS["label"]}">{html.escape(text)}</text>')
    digit = np.repeat((255 - pixels[image["test_index"]]).reshape(28, 28)[..., None], 3, axis=2).astype(np.uint8)
    for r, network in enumerate(document["networks"]):
        y = top + r * (cell + gap)
        parts.append(f'<text x="0" y="{y + cell / 2}" font-size="{LABEL_PX}" {FONT} fill="{COLORS["label"]}">'
                     f'{html.escape(network["name"])}</text>')
        pictures = [digit] + [signed_image(document["maps"][network["id"]][m["id"]][0]) if m["signed"] else
                              np.repeat((255 - 220 * np.abs(document["maps"][network["id"]][m["id"]][0])
                                         / (np.abs(document["maps"][network["id"]][m["id"]][0]).max() or 1)
                                         ).reshape(28, 28)[..., None], 3, axis=2).astype(np.uint8)
                              for m in document["methods"]]
        for j, picture in enumerate(pictures):
            parts.append(f'<image x="{left + j * (cell + gap)}" y="{y}" width="{cell}" height="{cell}" '
                         f'style="image-rendering:pixelated" href="{data_uri(picture)}"/>')
    height = top + len(document["networks"]) * (cell + gap)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{"".join(parts)}</svg>')


def chart_svg(spec: dict) -> str:
    import re

    import vl_convert as vlc
    fixed = {**spec, "width": 700 if spec.get("width") == "container" else spec.get("width", 700)}
    svg = vlc.vegalite_to_svg(fixed, vl_version="6.4")
    # Vega numbers a legend's gradients with a counter that lives as long as the process, so the
    # same chart gets gradient_0 in one build and gradient_3 in another: renumber from 0.
    ids: dict[str, str] = {}
    return re.sub(r"gradient_\d+", lambda m: ids.setdefault(m.group(0), f"gradient_{len(ids)}"), svg)


def preview_png(svg: str) -> bytes:
    """A PNG of the picture fitted into PREVIEW_SIZE on white, for link previews."""
    import vl_convert as vlc
    w, h = PREVIEW_SIZE
    inner = svg.replace("<svg ", f'<svg x="20" y="20" width="{w - 40}" height="{h - 40}" preserveAspectRatio="xMidYMid meet" ', 1)
    inner = inner.replace(f' width="{_attr(svg, "width")}"', "", 1).replace(f' height="{_attr(svg, "height")}"', "", 1) \
        if "viewBox" in svg[:400] else inner
    framed = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" '
              f'height="{h}" viewBox="0 0 {w} {h}"><rect width="{w}" height="{h}" fill="#ffffff"/>{inner}</svg>')
    return vlc.svg_to_png(framed, scale=1)


def paths_between(graph: dict, ids: list[str]) -> set[str]:
    """The nodes on a path from one of `ids` to another (graph.js pathsBetween, for the picture)."""
    downstream: dict[str, list[str]] = {}
    for e in graph["edges"]:
        downstream.setdefault(e["source"], []).append(e["target"])
    keep = set(ids)
    for a in ids:
        down, stack = {a}, [a]
        while stack:
            for t in downstream.get(stack.pop(), []):
                if t not in down:
                    down.add(t)
                    stack.append(t)
        for b in ids:
            if b != a and b in down:
                keep |= down & ancestors(graph, b)
    return keep


def compact_positions(graph: dict, keep: set[str]) -> dict[str, tuple[float, float]]:
    """graph.js compactLayout: each layer a column, its nodes (in the full layout's order) spread evenly."""
    columns: dict[int, list[dict]] = {}
    for n in graph["nodes"]:
        if n["id"] in keep:
            columns.setdefault(n["layer"], []).append(n)
    pos = {n["id"]: (n["x"], n["y"]) for n in graph["nodes"]}
    for column, layer in enumerate(sorted(columns)):
        members = sorted(columns[layer], key=lambda n: (n["y"], n["x"]))
        for k, n in enumerate(members):
            pos[n["id"]] = (column * 260.0, (k - (len(members) - 1) / 2) * 56.0)
    return pos


def _attr(svg: str, name: str) -> str:
    head = svg[:svg.index(">")]
    return head.split(f' {name}="', 1)[1].split('"', 1)[0] if f' {name}="' in head else ""


def figure_snapshot(figure: dict, documents: dict[str, object], files: dict[str, bytes] | None = None) -> str:
    """The SVG of a figure's first view, from the documents and files its chapter wrote."""
    data = figure["data"]
    if figure["kind"] == "attributions":
        return attributions_svg(documents[data["attributions"]], (files or {})[data["images"]])
    if figure["kind"] == "stimuli":
        return stimuli_svg(documents[data["stimuli"]], figure["options"], (files or {})[data["images"]])
    if figure["kind"] == "altair":
        return chart_svg(documents[data["spec"]])
    if figure["kind"] == "tsne":
        return tsne_svg(documents[data["embedding"]], figure["options"])
    graph = documents[data["flowgraph"]]
    samples = documents[data["traces"]]["samples"] if "traces" in data else []
    if figure["kind"] in ("flowgraph", "live", "spade"):
        return flowgraph_svg(graph, figure["options"], samples)
    if figure["kind"] == "paths":
        keep = paths_between(graph, [i for i in figure["options"]["pins"].split(",") if i])
        return flowgraph_svg(graph, figure["options"], samples, subset=keep, positions=compact_positions(graph, keep))
    if figure["kind"] == "filters":
        return filters_svg(graph, figure["options"], samples)
    if figure["kind"] in ("episode", "balance"):
        return episode_svg(graph, figure["options"], documents[data["episode"]])
    raise ValueError(f"no snapshot for figure kind {figure['kind']!r}")
