// The pruned network as a flowgraph: every node and edge of flowgraph.json at the positions the
// build computed (no layout here). Without an input, edges show their weights; with one (a test
// image, a drawing, a state), the page evaluates the graph itself and edges show what each
// carries (weight × value). Edges and nodes are painted on a canvas (thousands stay fast), with
// a quadtree to find the node under the pointer; labels are never smaller than a readable size
// and are left out where they would overlap, until the reader zooms in.

import { compile, displayName, evaluate, firstLayerFilters, pixelInputs, reachMask } from "./graph.js";
import { COLORS, DEFAULT_OPTIONS, FLOWGRAPH as C, format2, formatBounds } from "./constants.js";
import { productValues, sampleChoice, sampleImage, signedImage } from "./filters.js";
import { attachZoom } from "./zoom.js";
import { paintScene } from "./paint.js";
import { describeNode, renderPanel } from "./panel.js";
import { SvgContext } from "./svgcontext.js";
import { canvasBlob } from "./download.js";

const PALETTE = [COLORS.positive, COLORS.negative, COLORS.zero];

// draw(element, {graph, traces, compiled?}, {output, sample, inputs, node, onChange, caption})
//   -> {update, destroy, inspect, setInput, ready}
export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  if (!d3) throw new Error("d3 is not loaded (vendor/d3.min.js)");

  // ---- step: the graph, its layouts and its inputs
  const fg = data.graph;
  const nodes = fg.nodes;
  const g = data.compiled ?? compile(fg);
  const shape = g.shape;
  const samples = data.traces?.samples ?? [];
  const onChange = options.onChange ?? (() => {});
  const outputs = nodes.filter((d) => d.kind === "output").sort((a, b) => a.class - b.class);
  const isConstant = nodes.map((d, i) => d.kind !== "input" && g.offsets[i] === g.offsets[i + 1]);
  const cell = fg.layout.pixel_cell ?? 12;
  const mapCell = fg.layout.map_cell ?? 6;
  const filters = firstLayerFilters(g);
  const filterImages = new Map(); // node index -> canvas of its weights, made when first shown
  const fullPositions = nodes.map((d) => ({ x: d.x, y: d.y }));
  let state = resolve(options);
  let custom = null; // an input set by setInput(): {inputs, pixels?, label}
  let pruned = null; // Uint8Array over edges: 1 = removed by the reader's threshold (setPruned)
  let prunedWeights = g.weights; // CSR weights with the removed edges at 0
  let dead = new Uint8Array(g.n); // nodes that no longer take part: no input left, or no output reached
  let subset = options.subset ?? null; // Uint8Array over nodes: show only these (the pinned view)
  const pins = new Set(); // pinned node indices
  const onPins = options.onPins ?? null;
  let positions = options.positions ? options.positions.map((p) => ({ ...p })) : positionsFor(state.output);

  // ---- step: controls
  const root = d3.select(element).append("div").attr("class", "fg-flowgraph");
  const controls = root.append("div").attr("class", "fg-controls");
  const outputSelect = addSelect("fg-output", "Output", [
    { value: "all", text: "all outputs" },
    ...outputs.map((d) => ({ value: String(d.class),
      text: `${d.name ?? `class ${d.class}`}${isConstant[g.index.get(d.id)] ? " (constant)" : ""}` })),
  ]);
  const sampleSelect = addSelect("fg-sample", g.image ? "Test image" : "Input",
    [{ value: "none", text: "none" }, ...samples.map(sampleChoice)]);
  if (!samples.length) d3.select(sampleSelect.node().parentNode).style("display", "none"); // nothing to choose
  const inputsSelect = g.image && filters.length
    ? addSelect("fg-inputs", "First layer", [{ value: "pixels", text: "pixels and edges" },
      { value: "filters", text: "as filters" }])
    : null;

  function addSelect(className, label, choices) {
    const wrap = controls.append("label");
    wrap.append("span").text(`${label} `);
    const select = wrap.append("select").attr("class", className);
    select.selectAll("option").data(choices).join("option")
      .attr("value", (d) => d.value).text((d) => d.text);
    return select;
  }

  for (const [select, key] of [[outputSelect, "output"], [sampleSelect, "sample"], [inputsSelect, "inputs"]]) {
    select?.on("change", () => setState({ [key]: select.property("value") }, true));
  }

  const toolbarRow = root.append("div").attr("class", "fg-toolbar-row");
  const legend = toolbarRow.append("div").attr("class", "fg-legend-row");
  const toolbar = toolbarRow.append("div").attr("class", "fg-toolbar");
  legend.append("span").attr("class", "fg-legend-item").html(
    '<svg width="14" height="14" aria-hidden="true"><circle cx="7" cy="7" r="5.5" fill="#fff" stroke="#333" stroke-width="1.5"/></svg>ReLU');
  legend.append("span").attr("class", "fg-legend-item").html(
    `<svg width="14" height="14" aria-hidden="true"><rect x="2" y="2" width="10" height="10" fill="${COLORS.identityFill}" stroke="#333" stroke-width="1.5"/></svg>identity (never negative)`);
  legend.append("span").attr("class", "fg-legend-item").html(
    '<svg width="14" height="14" aria-hidden="true"><circle cx="7" cy="7" r="5" fill="#fff" stroke="#333" stroke-width="2.5"/></svg>output');
  const colorLegend = legend.append("span").attr("class", "fg-legend-item fg-colorbar-item");
  colorLegend.append("span").attr("class", "fg-colorbar-end fg-neg-text");
  colorLegend.append("span").attr("class", "fg-colorbar").attr("aria-hidden", "true");
  colorLegend.append("span").attr("class", "fg-colorbar-end fg-pos-text");
  const colorNote = legend.append("span").attr("class", "fg-legend-note");

  // ---- step: the stage: canvases for the picture and the highlight, tooltip, live region
  const stage = root.append("div").attr("class", "fg-stage").attr("tabindex", 0).attr("role", "group")
    .attr("aria-roledescription", "interactive graph")
    .attr("aria-label", `${nodes.length} vertices and ${fg.edges.length} edges. Arrow keys walk the graph, `
      + "Enter opens a node, + and − zoom, 0 fits.").node();
  const base = d3.select(stage).append("canvas").attr("class", "fg-canvas").node();
  const overlay = d3.select(stage).append("canvas").attr("class", "fg-canvas fg-overlay").node();
  const tooltip = d3.select(stage).append("div").attr("class", "fg-tooltip").attr("role", "tooltip").attr("hidden", "");
  const live = root.append("div").attr("class", "fg-visually-hidden").attr("aria-live", "polite");
  const panel = root.append("div").attr("class", "fg-panel").attr("hidden", "");
  const caption = options.caption === false ? null : element.closest("figure")?.querySelector(".fg-view") ?? null;

  // ---- step: zoom and pan (the same convention as every figure: zoom.js)
  let transform = d3.zoomIdentity;
  let userZoomed = false;
  let zoomListener = null;
  const zoom = attachZoom(stage, {
    onZoom(t, event) {
      transform = t;
      if (event?.sourceEvent) userZoomed = true;
      scheduleFrame();
      if (event?.sourceEvent || userZoomed) zoomListener?.();
    },
    fit: (animate) => fit(animate),
    toolbar: toolbar.node(),
  });

  // ---- step: what is shown: visibility, positions, values
  let visible = null;
  let values = null;
  let scene = null;
  let quadtree = null;
  let hovered = -1;
  let focused = -1;
  let selected = -1;

  function positionsFor(output) {
    const layout = output !== "all" ? fg.subgraph_layouts?.[output] : null;
    if (!layout) return fullPositions.map((p) => ({ ...p }));
    return nodes.map((d, i) => {
      const p = layout[d.id];
      return p ? { x: p[0], y: p[1] } : { ...fullPositions[i] };
    });
  }

  function visibleFor(output) {
    let mask;
    if (subset) mask = subset.slice();
    else if (output === "all") mask = new Uint8Array(g.n).fill(1);
    else mask = reachMask(g, g.index.get(outputs.find((d) => String(d.class) === output).id));
    if (state.inputs === "filters") nodes.forEach((d, i) => { if (d.kind === "input") mask[i] = 0; });
    return mask;
  }

  function currentInput() {
    if (custom) return custom;
    const sample = samples.find((s) => s.id === state.sample);
    if (!sample) return null;
    return { inputs: sample.pixels ? pixelInputs(sample.pixels) : Float64Array.from(sample.inputs),
      pixels: sample.pixels ?? null, sample };
  }

  // ---- step: the scene the painter draws (paint.js)
  function buildScene() {
    const input = currentInput();
    values = input ? evaluate(g, input.inputs, prunedWeights) : null;
    visible = visibleFor(state.output);
    const filterMode = state.inputs === "filters";

    // edges: weight alone, or what the edge carries on this input
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
    colorLegend.select(".fg-neg-text").text(`−${format2(maxAbs)}`);
    colorLegend.select(".fg-pos-text").text(`+${format2(maxAbs)}`);
    colorNote.text(values ? "edge: weight × the value it carries (width ∝ |value|)" : "edge: weight (width ∝ |w|)");

    // nodes
    const prediction = values ? argmaxOutput(values) : null;
    const truth = input?.sample ? input.sample.label : null;
    const sceneNodes = nodes.map((d, i) => sceneNode(d, i, prediction, truth));

    // images: each first-layer filter, and filter ⊙ input, left of its neuron (post's order)
    const images = [];
    const links = []; // from a filter in the far column to its neuron
    // A layer's title stands over its column as it is now (a compact layout moves columns).
    const titles = (fg.layers ?? []).map((layer) => {
      const first = nodes.findIndex((d, i) => visible[i] && d.layer === layer.layer);
      if (first < 0) return null;
      const x = layer.layer === 0 && g.image ? fg.layout.pixel_origin[0] + (shape[1] * cell) / 2
        : nodes[first].channel !== undefined ? layer.x + (fg.layout.map_cell ?? 6) * 11 : positions[first].x;
      // Where columns are close (a narrow figure), titles shorten rather than disappear.
      const short = layer.name.replace(/^hidden /, "h").replace(/^output$/, "out").replace(/^input$/, "in").replace(/^conv /, "c");
      return { x, y: 0, text: layer.name, short };
    }).filter(Boolean);
    if (filterMode) {
      // Neighbouring neurons alternate between two columns of images, so that each image may be
      // nearly twice as tall as the spacing of the neurons; the far column is linked by a line.
      const shown = filters.filter((f) => visible[f.index]);
      const column = new Map();
      d3.sort(shown, (f) => positions[f.index].y).forEach((f, rank) => column.set(f.index, rank % 2));
      const size = filterSize(shown);
      const gap = C.filterGapUnits;
      const withProduct = !!input?.pixels;
      const width = size * (withProduct ? 2 : 1) + gap * (withProduct ? 1 : 0);
      let top = Infinity;
      for (const f of shown) {
        const p = positions[f.index];
        const right = p.x - C.nodeRadius - gap - column.get(f.index) * (width + gap);
        if (!filterImages.has(f.index)) filterImages.set(f.index, signedImage(f.weights));
        const y = p.y - size / 2;
        if (column.get(f.index)) links.push({ node: f.index, x0: right, x1: p.x - C.nodeRadius, y: p.y });
        if (withProduct) {
          images.push({ node: f.index, x: right - size, y, w: size, h: size,
            source: signedImage(productValues(f.weights, input.pixels)) });
        }
        images.push({ node: f.index, x: right - width, y, w: size, h: size, source: filterImages.get(f.index) });
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
    }
    // Layer titles sit above the highest visible thing.
    let highest = Infinity;
    nodes.forEach((d, i) => { if (visible[i]) highest = Math.min(highest, positions[i].y); });
    for (const image of images) highest = Math.min(highest, image.y - 18);
    for (const title of titles) {
      if (!title.header) Object.assign(title, { y: highest - 26, above: highest });
    }

    const grid = g.image && !filterMode && fg.layout.pixel_origin
      ? { x: fg.layout.pixel_origin[0], y: fg.layout.pixel_origin[1], size: shape[1] * cell,
        image: input?.pixels ? sampleImage(input.pixels) : null }
      : null;

    scene = {
      nodes: sceneNodes, visible, edges, palette: PALETTE, images, links, grid, titles,
      labelPx: C.labelPx, titlePx: C.titlePx, radiusPx: C.nodeRadiusPx, curveUpTo: C.curveEdgesUpTo,
    };
    quadtree = d3.quadtree().x((i) => positions[i].x).y((i) => positions[i].y)
      .addAll(d3.range(g.n).filter((i) => visible[i]));
    updateCaption(prediction, input);
  }

  function sceneNode(d, i, prediction, truth) {
    const node = sceneNodeOf(d, i, prediction, truth);
    if (dead[i]) {
      node.fill = "#f4f4f4";
      node.stroke = "#c4c4c4";
      node.labelColor = "#9a9a9a";
      node.dash = true;
    }
    if (pins.has(i)) node.bold = true;
    return node;
  }

  function sceneNodeOf(d, i, prediction, truth) {
    const value = values ? values[i] : null;
    const shade = (v, bounds) => {
      const span = Math.max(Math.abs(bounds[0]), Math.abs(bounds[1])) || 1;
      return d3.interpolateRgb(COLORS.nodeFill, v >= 0 ? COLORS.positive : COLORS.negative)(Math.min(1, Math.abs(v) / span));
    };
    if (d.kind === "input" && g.image) {
      const p = value === null ? null : Math.round(value * 255);
      return { x: positions[i].x, y: positions[i].y, shape: "pixel", r: cell / 2 - C.inputInset,
        fill: p === null ? COLORS.pixel : d3.rgb(255 - p, 255 - p, 255 - p).formatHex(), label: null };
    }
    if (d.channel !== undefined) {
      return { x: positions[i].x, y: positions[i].y, shape: "cell", r: mapCell / 2 - 0.5,
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
      label = [`${displayName(d, shape)}${v}`, formatBounds(d.bounds)];
      return { x: positions[i].x, y: positions[i].y, shape: "circle", r: C.nodeRadius, fill: value === null ? COLORS.nodeFill
        : shade(value, d.bounds), stroke: COLORS.node, label, priority, labelSide: "left", labelColor: COLORS.label };
    } else {
      label = [`${d.id}${v}`, formatBounds(d.bounds)];
    }
    return { x: positions[i].x, y: positions[i].y, shape: shapeOf, r: C.nodeRadius, fill,
      stroke: constant ? COLORS.constant : COLORS.node, dash: constant, label, shortLabel, bold, priority,
      labelColor: constant ? COLORS.constant : COLORS.label };
  }

  function argmaxOutput(v) {
    let best = null;
    for (const d of outputs) {
      const i = g.index.get(d.id);
      if (best === null || v[i] > v[g.index.get(best.id)]) best = d;
    }
    return best?.class ?? null;
  }

  // Filter images in a column must not overlap: their size follows the closest pair of neurons.
  function filterSize(shown) {
    const ys = d3.sort(shown.map((f) => positions[f.index].y));
    let gap = Infinity;
    for (let i = 1; i < ys.length; i++) if (ys[i] > ys[i - 1]) gap = Math.min(gap, ys[i] - ys[i - 1]);
    const most = shape[1] * C.filterScale * 4;
    return Math.min(most, Number.isFinite(gap) ? 1.84 * gap : most);
  }

  // ---- step: painting, at most once per frame
  let frame = 0;
  function scheduleFrame() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; paint(); });
  }

  let lastPaint = { labels: [] };
  // Inside batch(), paints wait for the end: several changes made at once are drawn once.
  let held = 0;
  let owed = false;
  function paint() {
    if (held) {
      owed = true;
      return;
    }
    if (frame) {
      cancelAnimationFrame(frame); // this paint is the one the frame was waiting for
      frame = 0;
    }
    const { width, height } = sizeCanvases();
    if (!width || !scene) return;
    const ctx = base.getContext("2d");
    ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    lastPaint = paintScene(ctx, scene, transform, width, height);
    paintOverlay();
  }

  function sizeCanvases() {
    const width = stage.clientWidth;
    const height = stage.clientHeight;
    for (const canvas of [base, overlay]) {
      const w = Math.round(width * devicePixelRatio);
      const h = Math.round(height * devicePixelRatio);
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
    }
    return { width, height };
  }

  // The highlight: what the hovered (or focused, or selected) node depends on and what depends
  // on it stays; the rest fades.
  let lastLit = null;
  function paintOverlay() {
    lastLit = null;
    const ctx = overlay.getContext("2d");
    const width = stage.clientWidth;
    const height = stage.clientHeight;
    ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const center = hovered >= 0 ? hovered : focused >= 0 ? focused : selected;
    if (center >= 0 && scene && visible[center]) {
      const up = reachMask(g, center);
      const down = reachMask(g, center, true);
      const lit = new Uint8Array(g.n);
      for (let i = 0; i < g.n; i++) lit[i] = up[i] | down[i];
      lastLit = lit;
      ctx.fillStyle = COLORS.dim;
      ctx.fillRect(0, 0, width, height);
      // Edges above the node run into it, edges below run out of it: both ends on one side.
      const edgeScene = { ...scene, edges: { ...scene.edges, visible: scene.edges.visible.map((v, k) => {
        const s = g.edgeSource[k], t = g.edgeTarget[k];
        return v && ((up[s] && up[t]) || (down[s] && down[t])) ? 1 : 0;
      }) } };
      paintScene(ctx, edgeScene, transform, width, height, { only: lit });
    }
    for (const i of pins) {
      if (!visible?.[i]) continue;
      const p = positions[i];
      const r = Math.min(C.nodeRadiusPx[1], Math.max(C.nodeRadiusPx[0], C.nodeRadius * transform.k)) + 3;
      ctx.fillStyle = "#e08a00";
      ctx.beginPath();
      ctx.arc(p.x * transform.k + transform.x + r, p.y * transform.k + transform.y - r, 3.5, 0, 2 * Math.PI);
      ctx.fill();
    }
    for (const [i, color] of [[selected, "#111"], [focused, COLORS.focus]]) {
      if (i < 0 || !visible?.[i]) continue;
      const p = positions[i];
      ctx.beginPath();
      ctx.arc(p.x * transform.k + transform.x, p.y * transform.k + transform.y,
        Math.min(C.nodeRadiusPx[1], Math.max(C.nodeRadiusPx[0], C.nodeRadius * transform.k)) + 5, 0, 2 * Math.PI);
      ctx.strokeStyle = color;
      ctx.lineWidth = 2.5;
      ctx.setLineDash(i === focused ? [4, 3] : []);
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  // ---- step: fit the visible nodes (and their images and labels) into the stage
  function fit(animate) {
    const width = stage.clientWidth;
    let height = stage.clientHeight;
    if (!width || !height || !scene) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const grow = (ax, ay, bx, by) => {
      x0 = Math.min(x0, ax); y0 = Math.min(y0, ay); x1 = Math.max(x1, bx); y1 = Math.max(y1, by);
    };
    let labelled = 0; // characters of the longest label in the rightmost column
    let leftLabels = 0;
    nodes.forEach((d, i) => {
      if (!visible[i]) return;
      const p = positions[i];
      const r = d.kind === "input" && g.image ? cell / 2 : C.nodeRadius;
      grow(p.x - r, p.y - r, p.x + r, p.y + r);
      if (scene.nodes[i].label && p.x >= x1 - r) labelled = Math.max(labelled, scene.nodes[i].label[0].length);
      if (scene.nodes[i].labelSide === "left") leftLabels = Math.max(leftLabels, scene.nodes[i].label[0].length);
    });
    for (const image of scene.images) grow(image.x, image.y, image.x + image.w, image.y + image.h);
    if (x0 === Infinity) return;
    const pad = C.fitPadding;
    const phone = width < C.phoneWidth;
    // Room for the rightmost column's labels, in px (on a phone, for the short first line only;
    // never more than a quarter of the width).
    const labelRoom = Math.min(width * 0.25, C.labelPx * 0.61 * Math.min(labelled + 14, phone ? 12 : 40) + 6);
    const titleRoom = C.titlePx * 2.5;
    // On a phone, named inputs' long labels (CartPole's) may not eat a fifth of the width: they
    // take the other side, or wait for the reader to zoom.
    const leftRoom = Math.min(width * (phone ? 0.08 : 0.22), leftLabels * C.labelPx * 0.61 + 8);
    const kWidth = Math.min((width - 2 * pad - labelRoom - leftRoom) / Math.max(1, x1 - x0), C.fitMaxScale);
    if (phone) fitStageHeight(x1 - x0, y1 - y0);
    else shortenStage(kWidth * (y1 - y0) + 2 * pad + titleRoom);
    height = stage.clientHeight;
    const k = Math.min(kWidth, (height - 2 * pad - titleRoom) / Math.max(1, y1 - y0));
    const t = d3.zoomIdentity.translate(pad + leftRoom + (width - 2 * pad - labelRoom - leftRoom - k * (x1 - x0)) / 2 - k * x0,
      pad + titleRoom + (height - 2 * pad - titleRoom - k * (y1 - y0)) / 2 - k * y0).scale(k);
    userZoomed = false;
    zoom.set(t, animate);
  }

  // On a phone the figure is as tall as the graph needs at the column's width, not a fixed
  // height with empty bands above and below.
  function fitStageHeight(w, h) {
    if (options.standalone || document.fullscreenElement) {
      stage.style.height = null;
      return;
    }
    const height = Math.round(Math.max(260, Math.min(C.reportHeight, (stage.clientWidth - 100) * (h / w) + 90)));
    stage.style.height = `${height}px`;
  }

  // On a wider screen a wide, short graph (CartPole's) gets a figure no taller than it needs,
  // not a tall box that is mostly empty. Decided once per width, from the first view, so that
  // choosing an output or a sample never makes the page jump.
  let shortenedFor = null;
  function shortenStage(needed) {
    if (options.standalone || document.fullscreenElement) {
      stage.style.height = null;
      shortenedFor = null;
      return;
    }
    if (shortenedFor === stage.clientWidth) return;
    stage.style.height = null;
    const natural = stage.clientHeight;
    const height = Math.round(Math.max(C.shortestStage, needed));
    if (height < natural) stage.style.height = `${height}px`;
    shortenedFor = stage.clientWidth;
  }

  const resizeObserver = new ResizeObserver(() => {
    if (!userZoomed) fit(false);
    scheduleFrame();
  });
  resizeObserver.observe(stage);

  // ---- step: pointer: hover lights up a node's paths, a click or tap opens its panel
  function nodeAt(event) {
    const [mx, my] = d3.pointer(event, stage);
    const [x, y] = transform.invert([mx, my]);
    const radius = Math.max(C.hoverRadiusPx / transform.k, C.nodeRadius);
    const found = quadtree?.find(x, y, radius);
    return found === undefined ? -1 : found;
  }

  d3.select(stage)
    .on("pointermove", (event) => {
      if (event.buttons) return; // panning
      const i = nodeAt(event);
      if (i !== hovered) {
        hovered = i;
        paintOverlay();
      }
      showTooltip(i, event);
    })
    .on("pointerleave", () => {
      hovered = -1;
      tooltip.attr("hidden", "");
      paintOverlay();
    })
    .on("click", (event) => {
      const i = nodeAt(event);
      if (i >= 0 && event.shiftKey && onPins) { togglePin(i); return; }
      if (i >= 0) { focused = -1; select(i); return; }
      const k = edgeAt(event);
      if (k >= 0) { // an edge: go to its far end from where it was clicked
        const [mx, my] = d3.pointer(event, stage);
        const [x] = transform.invert([mx, my]);
        const s = g.edgeSource[k], t = g.edgeTarget[k];
        const far = Math.abs(x - positions[s].x) < Math.abs(x - positions[t].x) ? t : s;
        select(far);
        focus(far, true);
        return;
      }
      if (selected >= 0) select(-1);
    })
    .on("dblclick", () => fit(true))
    .on("keydown", onKey)
    .on("focus", () => {
      if (focused < 0) focus(selected >= 0 ? selected : g.index.get(firstVisibleOutput()?.id), false);
    })
    .on("blur", () => { focused = -1; paintOverlay(); });

  // The visible edge nearest the pointer (within a few px), drawn as the painter draws it.
  function edgeAt(event) {
    if (!scene) return -1;
    const [mx, my] = d3.pointer(event, stage);
    const e = scene.edges;
    let best = -1, bestDistance = 6;
    const curved = scene.edges.visible.reduce((a, b) => a + b, 0) <= C.curveEdgesUpTo;
    for (let k = 0; k < g.m; k++) {
      if (!e.visible[k]) continue;
      const x0 = e.sx[k] * transform.k + transform.x, y0 = e.sy[k] * transform.k + transform.y;
      const x1 = e.tx[k] * transform.k + transform.x, y1 = e.ty[k] * transform.k + transform.y;
      if (mx < Math.min(x0, x1) - 6 || mx > Math.max(x0, x1) + 6) continue;
      const d = curved ? bezierDistance(mx, my, x0, y0, x1, y1) : segmentDistance(mx, my, x0, y0, x1, y1);
      if (d < bestDistance) { best = k; bestDistance = d; }
    }
    return best;
  }

  function togglePin(i) {
    if (pins.has(i)) pins.delete(i); else pins.add(i);
    buildScene();
    paint();
    state = { ...state, pins: [...pins].map((j) => nodes[j].id).join(",") };
    onPins?.([...pins]);
    onChange(publicState());
  }

  function showTooltip(i, event) {
    if (i < 0) { tooltip.attr("hidden", ""); return; }
    const d = nodes[i];
    const lines = [describeNode(d, shape), `bounds ${formatBounds(d.bounds)}`];
    if (d.kind !== "input") lines.push(`bias ${format2(d.bias)}`);
    if (values) lines.push(`value ${format2(values[i])}`);
    lines.push("click for its formula");
    tooltip.attr("hidden", null).selectAll("div").data(lines).join("div").text((line) => line);
    const [mx, my] = d3.pointer(event, stage);
    const flip = mx > stage.clientWidth - 260;
    tooltip.style("left", flip ? null : `${mx + 14}px`).style("right", flip ? `${stage.clientWidth - mx + 14}px` : null)
      .style("top", `${Math.min(my + 14, stage.clientHeight - 110)}px`);
  }

  // ---- step: keyboard: arrows walk along edges, Enter opens a node, zoom keys (zoom.js)
  function onKey(event) {
    if (zoom.handleKey(event)) { event.preventDefault(); return; }
    const key = event.key;
    if (event.shiftKey && key.startsWith("Arrow")) {
      const step = 60;
      zoom.panBy(key === "ArrowLeft" ? step / transform.k : key === "ArrowRight" ? -step / transform.k : 0,
        key === "ArrowUp" ? step / transform.k : key === "ArrowDown" ? -step / transform.k : 0);
      event.preventDefault();
      return;
    }
    if (key.startsWith("Arrow")) {
      const next = neighbour(focused >= 0 ? focused : selected, key);
      if (next >= 0) focus(next, true);
      event.preventDefault();
    } else if (key === "Enter" || key === " ") {
      if (focused >= 0) select(focused);
      event.preventDefault();
    } else if (key === "Escape") {
      if (selected >= 0) select(-1);
    }
  }

  function firstVisibleOutput() {
    return outputs.find((d) => visible?.[g.index.get(d.id)]);
  }

  // Right: the strongest edge out of the node; left: the strongest edge into it; up and down:
  // the next visible node above or below in the same column.
  function neighbour(i, key) {
    if (i < 0) return g.index.get(firstVisibleOutput()?.id) ?? -1;
    if (key === "ArrowRight" || key === "ArrowLeft") {
      let best = -1, bestWeight = -1;
      const consider = (j, w) => { if (visible[j] && Math.abs(w) > bestWeight) { best = j; bestWeight = Math.abs(w); } };
      if (key === "ArrowRight") {
        for (let j = g.outOffsets[i]; j < g.outOffsets[i + 1]; j++) {
          const k = g.outEdges[j];
          consider(g.edgeTarget[k], values ? g.edgeWeight[k] * values[i] : g.edgeWeight[k]);
        }
      } else {
        for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) {
          consider(g.sources[j], values ? g.weights[j] * values[g.sources[j]] : g.weights[j]);
        }
      }
      return best;
    }
    const column = d3.range(g.n).filter((j) => visible[j] && nodes[j].layer === nodes[i].layer)
      .sort((a, b) => positions[a].y - positions[b].y || positions[a].x - positions[b].x);
    const at = column.indexOf(i);
    return column[Math.max(0, Math.min(column.length - 1, at + (key === "ArrowDown" ? 1 : -1)))] ?? -1;
  }

  function focus(i, announce) {
    focused = i ?? -1;
    if (focused >= 0) {
      ensureVisible(focused);
      if (announce) live.text(announceText(focused));
    }
    paintOverlay();
  }

  function announceText(i) {
    const d = nodes[i];
    return `${describeNode(d, shape)}, bounds ${formatBounds(d.bounds)}${values ? `, value ${format2(values[i])}` : ""}`;
  }

  function ensureVisible(i) {
    const [x, y] = transform.apply([positions[i].x, positions[i].y]);
    const margin = 40;
    if (x < margin || y < margin || x > stage.clientWidth - margin || y > stage.clientHeight - margin) {
      const t = d3.zoomIdentity.translate(stage.clientWidth / 2 - transform.k * positions[i].x,
        stage.clientHeight / 2 - transform.k * positions[i].y).scale(transform.k);
      zoom.set(t, true);
    }
  }

  // ---- step: the node panel (panel.js)
  function select(i, quiet = false) {
    selected = i;
    if (i < 0) {
      panel.attr("hidden", "").selectAll("*").remove();
    } else {
      renderPanel(panel, { node: nodes[i], index: i, g, nodes, shape, values, weights: prunedWeights,
        onGo: (j) => { select(j); focus(j, true); stage.focus(); },
        onClose: () => { select(-1); stage.focus(); },
        pinned: onPins ? pins.has(i) : null, onPin: onPins ? () => { togglePin(i); select(i, true); } : null });
      if (!visible[i]) setState({ output: "all" });
    }
    paintOverlay();
    if (!quiet) {
      state = { ...state, node: i >= 0 ? nodes[i].id : "" };
      onChange(publicState());
    }
  }

  // ---- step: the caption follows the view
  function updateCaption(prediction, input) {
    if (!caption) return;
    caption.textContent = viewSentence(prediction, input);
  }

  function viewSentence(prediction, input) {
    let shownNodes = 0, shownEdges = 0;
    for (let i = 0; i < g.n; i++) shownNodes += visible[i];
    for (let k = 0; k < g.m; k++) shownEdges += scene?.edges.visible[k] ?? (visible[g.edgeSource[k]] && visible[g.edgeTarget[k]]);
    const out = outputs.find((d) => String(d.class) === state.output);
    const n = (x) => x.toLocaleString("en");
    let text = out ? `Shown: what ${out.name ?? `output ${out.class}`} depends on, ${n(shownNodes)} of ${n(g.n)} vertices and ${n(shownEdges)} of ${n(g.m)} edges.`
      : shownNodes === g.n && shownEdges === g.m ? `Shown: all ${n(g.n)} vertices and ${n(g.m)} edges.`
        : `Shown: ${n(shownNodes)} of ${n(g.n)} vertices and ${n(shownEdges)} of ${n(g.m)} edges.`;
    if (state.inputs === "filters") text = text.replace(/\.$/, "; the pixels are folded into the first layer's filters, each scaled to its own largest |w|.");
    if (input?.sample && input.sample.label !== undefined) {
      const s = input.sample;
      const verdict = s.label === prediction ? "correct" : "wrong";
      text += ` Input: test image #${s.test_index}, a ${s.label}, predicted ${prediction} (${verdict}).`;
    } else if (input) {
      text += ` Input: ${input.label ?? "a custom input"}${prediction !== null ? `, predicted ${outputs.find((d) => d.class === prediction)?.name ?? prediction}` : ""}.`;
    } else {
      text += " No input: edges show weights.";
    }
    return text;
  }

  // ---- step: state, as the URL hash and the selects see it
  function resolve(o) {
    const output = outputs.some((d) => String(d.class) === String(o.output)) ? String(o.output) : "all";
    const sample = samples.some((s) => s.id === o.sample) ? o.sample : "none";
    const inputs = o.inputs === "filters" && g.image && filters.length ? "filters" : "pixels";
    const node = o.node && g.index.has(o.node) ? o.node : "";
    const pinList = String(o.pins ?? "").split(",").filter((id) => g.index.has(id));
    return { output, sample, inputs, node, pins: pinList.join(",") };
  }

  function publicState() {
    return { output: state.output, sample: custom ? "none" : state.sample, inputs: state.inputs, node: state.node,
      ...(onPins ? { pins: state.pins } : {}) };
  }

  function setState(next, fromControl = false, animate = true) {
    const merged = resolve({ ...state, ...next });
    const relayout = merged.output !== state.output;
    const refit = relayout || merged.inputs !== state.inputs;
    if (merged.sample !== state.sample && fromControl) custom = null;
    const old = positions;
    state = merged;
    syncControls();
    if (relayout) tweenPositions(old, positionsFor(state.output), animate); // fits to where nodes go
    else buildScene();
    if (refit && !(relayout && animate && !matchMedia("(prefers-reduced-motion: reduce)").matches)) fit(animate);
    scheduleFrame();
    const nodeIndex = state.node ? g.index.get(state.node) : -1;
    if (nodeIndex !== selected) select(nodeIndex, true);
    else if (selected >= 0) select(selected, true);   // its values changed
    if (fromControl) onChange(publicState());
  }

  function syncControls() {
    outputSelect.property("value", state.output);
    sampleSelect.property("value", custom ? "none" : state.sample);
    inputsSelect?.property("value", state.inputs);
  }

  // Moving between the full layout and an output's compact one: nodes glide to their places.
  function tweenPositions(from, to, animate) {
    if (!animate || matchMedia("(prefers-reduced-motion: reduce)").matches) {
      positions = to;
      buildScene();
      return;
    }
    const start = performance.now();
    const stepFrame = (now) => {
      const u = Math.min(1, (now - start) / C.transitionMs);
      const e = d3.easeCubicInOut(u);
      positions = from.map((p, i) => ({ x: p.x + (to[i].x - p.x) * e, y: p.y + (to[i].y - p.y) * e }));
      buildScene();
      paint();
      if (u < 1) requestAnimationFrame(stepFrame);
    };
    positions = to;
    buildScene();   // the fit (called next) uses the final positions
    fit(true);
    positions = from;
    requestAnimationFrame(stepFrame);
  }

  for (const id of state.pins.split(",").filter(Boolean)) pins.add(g.index.get(id));
  syncControls();
  buildScene();
  fit(false);
  // A caller about to set an input or a pruning at once (the live figure) lets those draw it.
  if (options.deferPaint) scheduleFrame();
  else paint();
  if (state.node) select(g.index.get(state.node), true);
  if (pins.size) onPins?.([...pins]);

  return {
    update(next = {}) {
      setState({ ...DEFAULT_OPTIONS, ...next });
    },
    // Run fn with painting held, then paint once if anything asked to.
    batch(fn) {
      held += 1;
      try {
        return fn();
      } finally {
        held -= 1;
        if (!held && owed) {
          owed = false;
          paint();
        }
      }
    },
    // An input from outside (a drawing, a simulator state): values follow it at once.
    setInput(inputs, meta = {}) {
      custom = { inputs: Float64Array.from(inputs), pixels: meta.pixels ?? null, label: meta.label };
      syncControls();
      buildScene();
      paint();
      if (selected >= 0) select(selected, true);
      return values;
    },
    // For tests and the curious: what is on screen now.
    inspect() {
      return {
        state: publicState(),
        transform: { k: transform.k, x: transform.x, y: transform.y },
        labels: lastPaint.labels.map((l) => ({ id: nodes[l.node].id, px: l.px, lines: l.lines, text: l.text })),
        visible: nodes.filter((d, i) => visible[i]).map((d) => d.id),
        edges: scene.edges.visible.reduce((a, b) => a + b, 0),
        values: values ? Object.fromEntries(nodes.map((d, i) => [d.id, values[i]])) : null,
        edgeWidths: Array.from(scene.edges.px).filter((_, k) => scene.edges.visible[k]),
        dead: nodes.filter((d, i) => dead[i]).map((d) => d.id),
        pins: [...pins].map((i) => nodes[i].id),
        selected: selected >= 0 ? nodes[selected].id : null,
        focused: focused >= 0 ? nodes[focused].id : null,
        hovered: hovered >= 0 ? nodes[hovered].id : null,
        lit: lastLit ? nodes.filter((d, i) => lastLit[i]).map((d) => d.id) : [],
        caption: caption?.textContent ?? null,
      };
    },
    // Prune by the reader's threshold: mask over edges (1 = removed), evaluated without them (no
    // retraining). Returns the nodes that no longer take part.
    setPruned(mask) {
      pruned = mask;
      prunedWeights = mask ? g.weights.map((w, j) => (mask[g.inEdges[j]] ? 0 : w)) : g.weights;
      dead = deadNodes(g, mask);
      buildScene();
      paint();
      if (selected >= 0) select(selected, true);
      return dead;
    },
    // Centre a node at the current zoom (at least 1.5), light it and open its panel.
    centerOn(id) {
      const i = g.index.get(id);
      if (i === undefined) return false;
      if (!visible[i]) setState({ output: "all", inputs: nodes[i].kind === "input" ? "pixels" : state.inputs });
      const k = Math.max(transform.k, 1.5);
      zoom.set(d3.zoomIdentity.translate(stage.clientWidth / 2 - k * positions[i].x, stage.clientHeight / 2 - k * positions[i].y).scale(k), true);
      userZoomed = true;
      select(i);
      focus(i, true);
      return true;
    },
    // The zoom as a short string for the URL, and back.
    zoomState() {
      return userZoomed ? `${transform.k.toFixed(3)},${transform.x.toFixed(0)},${transform.y.toFixed(0)}` : "";
    },
    setZoomState(text) {
      const [k, x, y] = String(text ?? "").split(",").map(Number);
      if (![k, x, y].every(Number.isFinite) || k <= 0) return;
      userZoomed = true;
      zoom.set(d3.zoomIdentity.translate(x, y).scale(k), false);
    },
    onZoomChange(callback) { zoomListener = callback; },
    setSubset(mask, layoutPositions) {
      subset = mask;
      if (layoutPositions) positions = layoutPositions.map((p) => ({ ...p }));
      buildScene();
      fit(false);
      paint();
    },
    pins: () => [...pins].map((i) => nodes[i].id),
    prunedWeights: () => prunedWeights,
    // The current view (zoom, output, input, pruning) for the download menu: SVG with text as
    // text, PNG at twice the screen's size, and the data behind it.
    exports() {
      return {
        svg: () => {
          const ctx = new SvgContext(stage.clientWidth, stage.clientHeight);
          paintScene(ctx, scene, transform, stage.clientWidth, stage.clientHeight);
          return ctx.toString();
        },
        png: () => {
          const scale = 2;
          const canvas = document.createElement("canvas");
          canvas.width = stage.clientWidth * scale;
          canvas.height = stage.clientHeight * scale;
          const ctx = canvas.getContext("2d");
          ctx.setTransform(scale, 0, 0, scale, 0, 0);
          ctx.fillStyle = "#ffffff";
          ctx.fillRect(0, 0, stage.clientWidth, stage.clientHeight);
          paintScene(ctx, scene, transform, stage.clientWidth, stage.clientHeight);
          return canvasBlob(canvas);
        },
        json: () => {
          const input = currentInput();
          return { view: publicState(), input: input ? { label: input.label ?? input.sample?.id, values: Array.from(input.inputs) } : null,
            values: values ? Object.fromEntries(nodes.map((d, i) => [d.id, values[i]])) : null,
            removed_edges: pruned ? fg.edges.filter((e, k) => pruned[k]) : [], flowgraph: fg };
        },
      };
    },
    // Where a node is drawn, in px from the stage's top left corner.
    screenPosition(id) {
      const i = g.index.get(id);
      return transform.apply([positions[i].x, positions[i].y]);
    },
    destroy() {
      cancelAnimationFrame(frame);
      resizeObserver.disconnect();
      zoom.destroy();
      root.remove();
    },
  };
}


// Nodes a pruning mask leaves out: those (not inputs) whose every incoming edge is removed, and
// those no output can be reached from, repeated until nothing changes.
export function deadNodes(g, mask) {
  const dead = new Uint8Array(g.n);
  if (!mask) return dead;
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = 0; i < g.n; i++) {
      if (dead[i]) continue;
      let fed = g.input[i] >= 0 || g.offsets[i] === g.offsets[i + 1]; // inputs and constant outputs stay
      for (let j = g.offsets[i]; j < g.offsets[i + 1] && !fed; j++) fed = !mask[g.inEdges[j]] && !dead[g.sources[j]];
      let feeds = g.outOffsets[i] === g.outOffsets[i + 1] && g.input[i] < 0; // an output
      for (let j = g.outOffsets[i]; j < g.outOffsets[i + 1] && !feeds; j++) {
        const k = g.outEdges[j];
        feeds = !mask[k] && !dead[g.edgeTarget[k]];
      }
      if (!fed || !feeds) { dead[i] = 1; changed = true; }
    }
  }
  return dead;
}

function segmentDistance(px, py, x0, y0, x1, y1) {
  const dx = x1 - x0, dy = y1 - y0;
  const u = Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(px - (x0 + u * dx), py - (y0 + u * dy));
}

// Distance to the painter's cubic (control points at the middle x), along 12 straight pieces.
function bezierDistance(px, py, x0, y0, x1, y1) {
  const mx = (x0 + x1) / 2;
  let best = Infinity, ax = x0, ay = y0;
  for (let s = 1; s <= 12; s++) {
    const u = s / 12, v = 1 - u;
    const bx = v * v * v * x0 + 3 * v * v * u * mx + 3 * v * u * u * mx + u * u * u * x1;
    const by = v * v * v * y0 + 3 * v * v * u * y0 + 3 * v * u * u * y1 + u * u * u * y1;
    best = Math.min(best, segmentDistance(px, py, ax, ay, bx, by));
    ax = bx; ay = by;
  }
  return best;
}
