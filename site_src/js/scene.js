// From a flowgraph and what the reader chose to the scene paint.js draws: which nodes are
// visible, where they are, their fills and labels, each edge's colour and width, the filter
// images, the layer titles; and the sentence that says what is shown. Plain data in, plain data
// out: no DOM (d3 only for its colour interpolation and sort).

import { displayName, evaluate, pixelInputs, reachMask } from "./graph.js";
import { COLORS, FLOWGRAPH as C, format2, formatBounds } from "./constants.js";
import { productValues, sampleImage, signedImage } from "./filters.js";

// ---- what is shown

// Positions for an output's compact layout (the build's subgraph_layouts), or the full layout.
export function positionsFor(fg, output, fullPositions) {
  const layout = output !== "all" ? fg.subgraph_layouts?.[output] : null;
  if (!layout) return fullPositions.map((p) => ({ ...p }));
  return fg.nodes.map((d, i) => {
    const p = layout[d.id];
    return p ? { x: p[0], y: p[1] } : { ...fullPositions[i] };
  });
}

// The visible nodes: a given subset (the pinned view), every node, or what one output depends
// on; in "filters" mode the pixels are folded into the first layer's images and not drawn.
export function visibleFor(g, nodes, outputs, { subset, output, inputs }) {
  let mask;
  if (subset) mask = subset.slice();
  else if (output === "all") mask = new Uint8Array(g.n).fill(1);
  else mask = reachMask(g, g.index.get(outputs.find((d) => String(d.class) === output).id));
  if (inputs === "filters") nodes.forEach((d, i) => { if (d.kind === "input") mask[i] = 0; });
  return mask;
}

// The input the graph is evaluated on: one set from outside (custom), the chosen sample, or none.
export function chosenInput(custom, samples, sampleId) {
  if (custom) return custom;
  const sample = samples.find((s) => s.id === sampleId);
  if (!sample) return null;
  return { inputs: sample.inputs ? Float64Array.from(sample.inputs) : pixelInputs(sample.pixels),
    pixels: sample.pixels ?? null, sample };
}

// The output class with the largest value (the prediction), or null.
export function argmaxOutput(g, outputs, values) {
  let best = null;
  for (const d of outputs) {
    const i = g.index.get(d.id);
    if (best === null || values[i] > values[g.index.get(best.id)]) best = d;
  }
  return best?.class ?? null;
}

// ---- the scene

// flowgraphScene(graph, view) -> {scene, values, maxAbs, prediction, input}
//   graph: {fg, g, nodes, outputs, isConstant, filters, filterImages (a cache: node -> canvas)}
//   view: {positions, visible, input, weights (CSR, pruned ones at 0), pruned (edge mask) | null,
//          dead (node mask), pins (Set), filterMode, palette: [positive, negative, zero]}
export function flowgraphScene(graph, view) {
  const { fg, g, nodes } = graph;
  const { positions, visible, input } = view;
  const values = input ? evaluate(g, input.inputs, view.weights) : null;
  const { edges, maxAbs } = sceneEdges(g, positions, visible, values, view.pruned);
  const prediction = values ? argmaxOutput(g, graph.outputs, values) : null;
  const truth = input?.sample ? input.sample.label : null;
  const sceneNodes = nodes.map((d, i) => {
    const node = sceneNode(graph, d, i, { positions, values, prediction, truth, palette: view.palette });
    if (view.dead[i]) Object.assign(node, { fill: "#f4f4f4", stroke: "#c4c4c4", labelColor: "#9a9a9a", dash: true });
    if (view.pins.has(i)) node.bold = true;
    return node;
  });
  // Pixels drawn where they are in the image (not moved by a compact layout): the image frame
  // and the input title go with the grid.
  const onGrid = g.image && nodes.every((d, i) => d.kind !== "input" || !visible[i]
    || (positions[i].x === d.x && positions[i].y === d.y));
  const titles = layerTitles(graph, positions, visible, onGrid);
  const { images, links } = view.filterMode ? filterImages(graph, positions, visible, input, titles, view.palette)
    : { images: [], links: [] };
  // Layer titles sit above the highest visible thing.
  let highest = Infinity;
  nodes.forEach((d, i) => { if (visible[i]) highest = Math.min(highest, positions[i].y); });
  for (const image of images) highest = Math.min(highest, image.y - 18);
  for (const title of titles) {
    if (!title.header) Object.assign(title, { y: highest - 26, above: highest });
  }
  const cell = fg.layout.pixel_cell ?? 12;
  const grid = onGrid && !view.filterMode && fg.layout.pixel_origin
    ? { x: fg.layout.pixel_origin[0], y: fg.layout.pixel_origin[1], size: g.shape[1] * cell,
      image: input?.pixels ? sampleImage(input.pixels) : null }
    : null;
  const scene = {
    nodes: sceneNodes, visible, edges, palette: view.palette, images, links, grid, titles,
    labelPx: C.labelPx, titlePx: C.titlePx, radiusPx: C.nodeRadiusPx, curveUpTo: C.curveEdgesUpTo,
  };
  return { scene, values, maxAbs, prediction, input };
}

// Edges: the weight alone, or what the edge carries on this input; colour by sign (an index
// into the palette), width by |amount| relative to the largest visible one.
function sceneEdges(g, positions, visible, values, pruned) {
  const m = g.m;
  const edges = {
    sx: new Float32Array(m), sy: new Float32Array(m), tx: new Float32Array(m), ty: new Float32Array(m),
    px: new Float32Array(m), color: new Uint8Array(m), visible: new Uint8Array(m),
    source: g.edgeSource, target: g.edgeTarget,
  };
  let maxAbs = 0;
  const amount = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const s = g.edgeSource[k];
    const t = g.edgeTarget[k];
    amount[k] = values ? g.edgeWeight[k] * values[s] : g.edgeWeight[k];
    edges.visible[k] = visible[s] && visible[t] && !(pruned && pruned[k]) ? 1 : 0;
    if (edges.visible[k]) maxAbs = Math.max(maxAbs, Math.abs(amount[k]));
  }
  maxAbs ||= 1;
  const [w0, w1] = C.edgeWidthPx;
  for (let k = 0; k < m; k++) {
    const s = positions[g.edgeSource[k]];
    const t = positions[g.edgeTarget[k]];
    edges.sx[k] = s.x; edges.sy[k] = s.y; edges.tx[k] = t.x; edges.ty[k] = t.y;
    const a = amount[k];
    edges.color[k] = a > 0 ? 0 : a < 0 ? 1 : 2;
    edges.px[k] = a === 0 ? C.hairlinePx : w0 + ((w1 - w0) * Math.abs(a)) / maxAbs;
  }
  return { edges, maxAbs };
}

// One node as the painter sees it: shape, fill (shaded by its value within its bounds), stroke,
// label lines and their priority.
function sceneNode({ g, fg, isConstant }, d, i, { positions, values, prediction, truth, palette }) {
  const d3 = globalThis.d3;
  const value = values ? values[i] : null;
  const at = { x: positions[i].x, y: positions[i].y };
  const shade = (v, bounds) => {
    const span = Math.max(Math.abs(bounds[0]), Math.abs(bounds[1])) || 1;
    return d3.interpolateRgb(COLORS.nodeFill, v >= 0 ? palette[0] : palette[1])(Math.min(1, Math.abs(v) / span));
  };
  if (d.kind === "input" && g.image) {
    const p = value === null ? null : Math.round(value * 255);
    return { ...at, shape: "pixel", r: (fg.layout.pixel_cell ?? 12) / 2 - C.inputInset,
      fill: p === null ? COLORS.pixel : d3.rgb(255 - p, 255 - p, 255 - p).formatHex(), label: null };
  }
  if (d.channel !== undefined) {
    return { ...at, shape: "cell", r: (fg.layout.map_cell ?? 6) / 2 - 0.5,
      fill: value === null ? (d.activation === "relu" ? "#9fb3c8" : "#c9d6e3") : shade(value, d.bounds),
      label: null };
  }
  const constant = isConstant[i];
  const shapeOf = d.kind === "output" ? "output" : d.kind === "input" ? "circle"
    : d.activation === "identity" ? "square" : "circle";
  const fill = value !== null && !constant && d.kind !== "input" ? shade(value, d.bounds)
    : d.activation === "identity" && d.kind === "neuron" ? COLORS.identityFill : COLORS.nodeFill;
  let label;
  let shortLabel = null;
  let bold = false;
  let priority = d.layer;
  const v = value === null ? "" : ` [${format2(value)}]`;
  if (d.kind === "output") {
    priority = 1000;
    const name = d.name ? ` ${d.name}` : ""; // y7 is class 7; a named output says its name
    if (constant) label = [`${d.id}${name}: always ${format2(d.bias)}`];
    else {
      const marks = [d.class === prediction ? (g.image ? "◀ predicted" : "◀ largest") : null,
        truth !== null && d.class === truth && truth !== prediction ? "◀ true label" : null].filter(Boolean);
      label = [`${d.id}${name}${v}${marks.length ? ` ${marks.join(" ")}` : ""}`, formatBounds(d.bounds)];
      shortLabel = `${d.id}${name}${v}`; // where the marks do not fit, bold still shows the winner
      bold = d.class === prediction || (truth !== null && d.class === truth);
    }
  } else if (d.kind === "input") {
    priority = 900;
    label = [`${displayName(d, g.shape)}${v}`, formatBounds(d.bounds)];
    return { ...at, shape: "circle", r: C.nodeRadius, fill: value === null ? COLORS.nodeFill
      : shade(value, d.bounds), stroke: COLORS.node, label, priority, labelSide: "left", labelColor: COLORS.label };
  } else {
    label = [`${d.id}${v}`, formatBounds(d.bounds)];
  }
  return { ...at, shape: shapeOf, r: C.nodeRadius, fill,
    stroke: constant ? COLORS.constant : COLORS.node, dash: constant, label, shortLabel, bold, priority,
    labelColor: constant ? COLORS.constant : COLORS.label };
}

// A layer's title stands over its column as it is now (a compact layout moves columns); where
// columns are close (a narrow figure), titles shorten rather than disappear.
function layerTitles({ fg, g, nodes }, positions, visible, onGrid) {
  const cell = fg.layout.pixel_cell ?? 12;
  return (fg.layers ?? []).map((layer) => {
    const first = nodes.findIndex((d, i) => visible[i] && d.layer === layer.layer);
    if (first < 0) return null;
    const x = layer.layer === 0 && onGrid ? fg.layout.pixel_origin[0] + (g.shape[1] * cell) / 2
      : nodes[first].channel !== undefined ? layer.x + (fg.layout.map_cell ?? 6) * 11 : positions[first].x;
    const short = layer.name.replace(/^hidden /, "h").replace(/^output$/, "out").replace(/^input$/, "in").replace(/^conv /, "c");
    return { x, y: 0, text: layer.name, short };
  }).filter(Boolean);
}

// Each first-layer filter, and filter ⊙ input, left of its neuron (the post's order). Neighbouring
// neurons alternate between two columns of images, so that each image may be nearly twice as
// tall as the spacing of the neurons; the far column is linked by a line. Adds the column
// headers to `titles`. The cache holds the weight images in the current palette.
function filterImages({ g, filters, filterImages: cache }, positions, visible, input, titles, palette) {
  const d3 = globalThis.d3;
  const images = [];
  const links = [];
  const shown = filters.filter((f) => visible[f.index]);
  const column = new Map();
  d3.sort(shown, (f) => positions[f.index].y).forEach((f, rank) => column.set(f.index, rank % 2));
  const size = filterSize(shown, positions, g.shape);
  const gap = C.filterGapUnits;
  const withProduct = !!input?.pixels;
  const width = size * (withProduct ? 2 : 1) + gap * (withProduct ? 1 : 0);
  let top = Infinity;
  for (const f of shown) {
    const p = positions[f.index];
    const right = p.x - C.nodeRadius - gap - column.get(f.index) * (width + gap);
    if (!cache.has(f.index)) cache.set(f.index, signedImage(f.weights, undefined, palette));
    const y = p.y - size / 2;
    if (column.get(f.index)) links.push({ node: f.index, x0: right, x1: p.x - C.nodeRadius, y: p.y });
    if (withProduct) {
      images.push({ node: f.index, x: right - size, y, w: size, h: size,
        source: signedImage(productValues(f.weights, input.pixels), undefined, palette) });
    }
    images.push({ node: f.index, x: right - width, y, w: size, h: size, source: cache.get(f.index) });
    top = Math.min(top, y);
  }
  if (shown.length) {
    const p = positions[shown[0].index];
    for (const c of [0, 1]) {
      const right = p.x - C.nodeRadius - gap - c * (width + gap);
      titles.push({ x: right - width + size / 2, y: top - 8, text: "w", header: true });
      if (withProduct) titles.push({ x: right - size / 2, y: top - 8, text: "w ⊙ x", header: true });
    }
  }
  return { images, links };
}

// Filter images in a column must not overlap: their size follows the closest pair of neurons.
function filterSize(shown, positions, shape) {
  const ys = globalThis.d3.sort(shown.map((f) => positions[f.index].y));
  let gap = Infinity;
  for (let i = 1; i < ys.length; i++) if (ys[i] > ys[i - 1]) gap = Math.min(gap, ys[i] - ys[i - 1]);
  const most = shape[1] * C.filterScale * 4;
  return Math.min(most, Number.isFinite(gap) ? 1.84 * gap : most);
}

// ---- the sentence under the figure: what is shown now

// viewSentence({g, outputs, visible, edgesVisible, state, input, prediction}) -> text
export function viewSentence({ g, outputs, visible, edgesVisible, state, input, prediction }) {
  let shownNodes = 0, shownEdges = 0;
  for (let i = 0; i < g.n; i++) shownNodes += visible[i];
  for (let k = 0; k < g.m; k++) shownEdges += edgesVisible[k];
  const out = outputs.find((d) => String(d.class) === state.output);
  const n = (x) => x.toLocaleString("en");
  let text = out ? `Shown: what ${out.name ?? `output ${out.class}`} depends on, ${n(shownNodes)} of ${n(g.n)} vertices and ${n(shownEdges)} of ${n(g.m)} edges.`
    : shownNodes === g.n && shownEdges === g.m ? `Shown: all ${n(g.n)} vertices and ${n(g.m)} edges.`
      : `Shown: ${n(shownNodes)} of ${n(g.n)} vertices and ${n(shownEdges)} of ${n(g.m)} edges.`;
  if (state.inputs === "filters") text = text.replace(/\.$/, "; the pixels are folded into the first layer's filters, each scaled to its own largest |w|.");
  if (input?.sample && input.sample.label !== undefined) {
    const s = input.sample;
    const verdict = s.label === prediction ? "correct" : "wrong";
    text += ` Input: test image #${s.test_index}, a ${s.label}${s.note ? ` ${s.note}` : ""}, predicted ${prediction} (${verdict}).`;
  } else if (input) {
    text += ` Input: ${input.label ?? "a custom input"}${prediction !== null ? `, predicted ${outputs.find((d) => d.class === prediction)?.name ?? prediction}` : ""}.`;
  } else {
    text += " No input: edges show weights.";
  }
  return text;
}
