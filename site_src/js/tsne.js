// Every layer as a t-SNE map (embedding.json): one map per network side by side, the same test
// image in each. Points are painted on canvases with a quadtree to find the one under the
// pointer; hover shows the image, a click traces it through that network's exact graph (drawn
// below by flowgraph.js, evaluated here from the image's pixels), Select + drag gathers a group
// whose images are shown in a grid, and a digit drawn on the pad is placed among its k nearest
// test images in the layer's own space (evaluated here, on the network's graph).
//
// draw(element, {embedding, images, load(path)}, {layer, network, point, group, drawing, onChange,
//      palette, onPalette, standalone}) -> {ready, update, exports, inspect, setPalette, destroy}

import { compile, evaluate, pixelInputs } from "./graph.js";
import { draw as drawFlowgraph } from "./flowgraph.js";
import { createPad, decodePixels, encodePixels } from "./pad.js";
import { article, paintDigit } from "./images.js";
import { attachZoom } from "./zoom.js";
import { clearedContext, frameLoop, sizeCanvases } from "./canvas.js";
import { paintedPicture, toCsv } from "./download.js";

// Digit colours: d3.schemeTableau10 (mirrored in generator/site/snapshot.py DIGIT_COLORS).
export const DIGIT_COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac"];
const T = {
  pointPx: 2.6, // point radius on screen
  hoverPx: 10, // how close the pointer must be to a point
  padPx: 14, // kept free around the map
  gridMax: 120, // images shown for a group
};

// The box every map is fitted into, in "map units": the page scales it to the stage.
const UNIT = 1000;

// One map's points in map units (y up, as the snapshot draws it), fitted to [0, UNIT]².
export function fitPoints(xs, ys) {
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  const s = UNIT / span;
  const ox = (UNIT - (x1 - x0) * s) / 2;
  const oy = (UNIT - (y1 - y0) * s) / 2;
  return { x: xs.map((x) => ox + (x - x0) * s), y: ys.map((y) => UNIT - (oy + (y - y0) * s)) };
}

// The mean map position of the k test images nearest to `features` in the layer's own space:
// where a new input would fall among its neighbours. reference: Float64Array (N × d).
export function placeByNeighbours(features, reference, d, xs, ys, k) {
  const n = xs.length;
  const best = []; // [distance², index], at most k, sorted
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const t = reference[i * d + j] - features[j];
      s += t * t;
    }
    if (best.length < k || s < best[best.length - 1][0]) {
      best.push([s, i]);
      best.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      if (best.length > k) best.pop();
    }
  }
  const x = best.reduce((a, [, i]) => a + xs[i], 0) / best.length;
  const y = best.reduce((a, [, i]) => a + ys[i], 0) / best.length;
  return { x, y, neighbours: best.map(([, i]) => i) };
}


export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  const doc = data.embedding;
  const images = data.images;
  const onChange = options.onChange ?? (() => {});
  const networks = doc.networks;
  const layerIds = doc.layers.map((l) => l.id);
  const n = doc.points;
  const labels = doc.labels;
  let palette = options.palette;

  const state = {
    layer: layerIds.includes(options.layer) ? options.layer : layerIds[layerIds.length - 2],
    network: ["both", ...networks.map((x) => x.id)].includes(options.network) ? options.network : "both",
    point: "",
    group: "",
    drawing: options.drawing ?? "",
  };

  // ---- step: controls
  const root = d3.select(element).append("div").attr("class", "fg-tsne");
  const controls = root.append("div").attr("class", "fg-controls");
  const layerLabel = controls.append("label").text("Layer ");
  const layerSelect = layerLabel.append("select").attr("aria-label", "layer");
  layerSelect.selectAll("option").data(doc.layers).join("option").attr("value", (l) => l.id).text((l) => l.name);
  layerSelect.on("change", () => { state.layer = layerSelect.property("value"); showLayer(); publish(); });
  const networkLabel = controls.append("label").text("Network ");
  const networkSelect = networkLabel.append("select").attr("aria-label", "network");
  networkSelect.selectAll("option").data([{ id: "both", name: "both, side by side" }, ...networks]).join("option")
    .attr("value", (x) => x.id).text((x) => x.name);
  networkSelect.on("change", () => { state.network = networkSelect.property("value"); layoutMaps(); publish(); });
  const selectButton = controls.append("button").attr("type", "button").attr("class", "fg-button fg-tsne-select")
    .attr("aria-pressed", "false").text("Select a group")
    .on("click", () => setBrushMode(!brushMode));
  const clearButton = controls.append("button").attr("type", "button").attr("class", "fg-button")
    .text("Clear").on("click", () => { setPoint(""); setGroup(""); clearDrawing(); publish(); });
  const legend = root.append("div").attr("class", "fg-legend fg-tsne-legend").attr("aria-label", "digit colours");
  DIGIT_COLORS.forEach((c, digit) => {
    const item = legend.append("span").attr("class", "fg-tsne-key");
    item.append("span").attr("class", "fg-tsne-dot").style("background", c);
    item.append("span").text(digit);
  });
  legend.append("span").attr("class", "fg-tsne-key").html('<span class="fg-tsne-dot fg-tsne-ring"></span> wrong prediction');
  legend.append("span").attr("class", "fg-tsne-key").html('<span class="fg-tsne-star">★</span> your drawing');

  // ---- step: one stage per network
  const mapsBox = root.append("div").attr("class", "fg-tsne-maps");
  const maps = networks.map((network, index) => makeMap(network, index));
  const live = root.append("div").attr("class", "fg-visually-hidden").attr("aria-live", "polite");

  // ---- step: what was clicked, the group, the drawing, the trace
  const panel = root.append("div").attr("class", "fg-panel fg-tsne-panel").attr("hidden", "");
  const groupBox = root.append("div").attr("class", "fg-tsne-group").attr("hidden", "");
  const drawBox = root.append("details").attr("class", "fg-tsne-draw");
  drawBox.append("summary").text("Draw a digit and see where it falls");
  const drawRow = drawBox.append("div").attr("class", "fg-tsne-draw-row");
  const pad = createPad(drawRow, { onInput: (pixels) => { placeDrawing(pixels); drawnSoon(); } });
  const drawNote = drawRow.append("p").attr("class", "fg-tsne-draw-note")
    .text(`Your digit appears as a star in each map, at the mean position of its ${doc.k} nearest test images `
      + "in that layer's own space.");
  drawRow.append("button").attr("type", "button").attr("class", "fg-button").text("Clear the drawing")
    .on("click", () => { clearDrawing(); publish(); });
  const traceHead = root.append("p").attr("class", "fg-tsne-trace-head").attr("hidden", "");
  const traceBox = root.append("div").attr("class", "fg-tsne-trace");
  let trace = null; // {network, flowgraph}

  let hovered = -1; // point index under the pointer (either map)
  let selected = -1; // the clicked point
  let selectedNetwork = networks[networks.length - 1].id; // whose graph traces it
  let group = null; // {network, box: [x0, y0, x1, y1] in map units, members: [...]}
  let drawing = null; // {pixels, places: {network: {x, y, neighbours}}}
  let brushMode = false;
  let brushEnded = -Infinity; // the click that ends a brush is not a click on a point

  function makeMap(network, index) {
    const box = mapsBox.append("div").attr("class", "fg-tsne-map");
    const head = box.append("div").attr("class", "fg-tsne-map-head");
    const title = head.append("span").attr("class", "fg-tsne-title");
    const stats = head.append("span").attr("class", "fg-tsne-stats");
    const toolbar = head.append("div").attr("class", "fg-toolbar");
    const stage = box.append("div").attr("class", "fg-stage fg-tsne-stage").attr("tabindex", 0).attr("role", "group")
      .attr("aria-roledescription", "interactive map")
      .attr("aria-label", `t-SNE map, ${network.name}: ${n} test images. Arrow keys move between images, Enter traces `
        + "one, + and − zoom, 0 fits, Escape clears.");
    const base = stage.append("canvas").attr("class", "fg-canvas").node();
    const overlay = stage.append("canvas").attr("class", "fg-canvas fg-overlay").node();
    const tooltip = stage.append("div").attr("class", "fg-tooltip fg-tsne-tooltip").attr("role", "tooltip").attr("hidden", "");
    const map = { network, index, box, title, stats, stage: stage.node(), base, overlay, tooltip, width: 0,
      height: 0, transform: d3.zoomIdentity, fit: d3.zoomIdentity, x: [], y: [], quadtree: null };
    map.loop = frameLoop(() => paintMap(map));
    map.zoom = attachZoom(map.stage, {
      toolbar: toolbar.node(),
      fit: (animate) => map.zoom.set(map.fit, animate),
      onZoom: (transform) => { map.transform = transform; map.loop.schedule(); },
    });
    attachBrush(map);
    d3.select(map.stage)
      .on("pointermove.hover", (event) => { if (!brushMode) hover(map, pointAt(map, d3.pointer(event, map.stage))); })
      .on("pointerleave.hover", () => hover(map, -1))
      .on("click.select", (event) => {
        if (brushMode || event.defaultPrevented || performance.now() - brushEnded < 400) return;
        const i = pointAt(map, d3.pointer(event, map.stage));
        if (i >= 0) { selectedNetwork = network.id; setPoint(String(i)); publish(); }
      })
      .on("keydown.map", (event) => { if (handleKey(map, event)) event.preventDefault(); });
    new ResizeObserver(() => resize(map)).observe(map.stage);
    return map;
  }

  // ---- the maps: sizes, fitting, painting
  function shownMaps() {
    return maps.filter((m) => state.network === "both" || state.network === m.network.id);
  }

  function layoutMaps() {
    networkSelect.property("value", state.network);
    for (const map of maps) map.box.attr("hidden", shownMaps().includes(map) ? null : "");
    for (const map of shownMaps()) resize(map);
  }

  function resize(map) {
    const width = map.stage.clientWidth;
    const height = map.stage.clientHeight;
    if (!width || !height) return;
    const changed = width !== map.width || height !== map.height;
    map.width = width;
    map.height = height;
    sizeCanvases([map.base, map.overlay], width, height);
    const k = Math.min(width, height) / (UNIT + 2 * T.padPx * (UNIT / Math.min(width, height)));
    map.fit = d3.zoomIdentity.translate((width - k * UNIT) / 2, (height - k * UNIT) / 2).scale(k);
    if (changed) map.zoom.set(map.fit, false);
    map.loop.paint();
  }

  function showLayer() {
    layerSelect.property("value", state.layer);
    for (const map of maps) {
      const shown = doc.maps[map.network.id][state.layer];
      const fitted = fitPoints(shown.x, shown.y);
      map.x = fitted.x;
      map.y = fitted.y;
      map.quadtree = d3.quadtree().x((i) => map.x[i]).y((i) => map.y[i]).addAll(d3.range(n));
      map.title.text(`${map.network.name} · ${shown.name}`);
      map.stats.text(`${shown.nodes.length} node${shown.nodes.length === 1 ? "" : "s"}; ${doc.k}-NN accuracy `
        + `${(100 * shown.knn_space).toFixed(1)}% in its space, ${(100 * shown.knn_map).toFixed(1)}% in the map`);
      map.loop.paint();
    }
    if (group) setGroup(state.group, false); // a group is kept by its box, in the new layer's maps
    if (drawing) placeDrawing(drawing.pixels);
    live.text(`${state.layer === layerIds[0] ? "pixels" : doc.layers.find((l) => l.id === state.layer).name} mapped`);
  }

  const wrong = (network, i) => network.predictions[i] !== labels[i];

  function paintMap(map, ctx = null, offset = [0, 0]) {
    if (!map.width) return;
    const onScreen = !ctx;
    ctx ??= clearedContext(map.base, map.width, map.height);
    const t = map.transform;
    const r = T.pointPx;
    ctx.save();
    ctx.translate(...offset);
    // Wrong predictions first, as black rings under the points.
    ctx.fillStyle = "#111";
    for (let i = 0; i < n; i++) {
      if (!wrong(map.network, i)) continue;
      ctx.beginPath();
      ctx.arc(t.applyX(map.x[i]), t.applyY(map.y[i]), r + 1.6, 0, 2 * Math.PI);
      ctx.fill();
    }
    for (let digit = 0; digit < 10; digit++) {
      ctx.fillStyle = DIGIT_COLORS[digit];
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (labels[i] !== digit) continue;
        const x = t.applyX(map.x[i]);
        const y = t.applyY(map.y[i]);
        ctx.moveTo(x + r, y);
        ctx.arc(x, y, r, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
    ctx.restore();
    if (onScreen) paintOverlay(map);
    else paintMarks(map, ctx, offset);
  }

  function paintOverlay(map) {
    if (!map.width) return;
    paintMarks(map, clearedContext(map.overlay, map.width, map.height), [0, 0]);
  }

  // The marks over the points: the group (its box and members), the drawing's star, the hovered
  // and the selected image.
  function paintMarks(map, ctx, offset) {
    const t = map.transform;
    ctx.save();
    ctx.translate(...offset);
    if (dragging?.map === map) {
      const [[x0, y0], [x1, y1]] = [dragging.from, dragging.to];
      ctx.fillStyle = "rgba(31, 95, 168, 0.08)";
      ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
      ctx.strokeStyle = "#1f5fa8";
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    }
    if (group) {
      if (group.network === map.network.id) {
        const [x0, y0, x1, y1] = group.box;
        ctx.strokeStyle = "#333";
        ctx.setLineDash([4, 3]);
        ctx.strokeRect(t.applyX(x0), t.applyY(y0), t.applyX(x1) - t.applyX(x0), t.applyY(y1) - t.applyY(y0));
        ctx.setLineDash([]);
      }
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 1.2;
      for (const i of group.members) {
        ctx.beginPath();
        ctx.arc(t.applyX(map.x[i]), t.applyY(map.y[i]), T.pointPx + 2.2, 0, 2 * Math.PI);
        ctx.stroke();
      }
    }
    const place = drawing?.places[map.network.id];
    if (place) {
      const [x, y] = [t.applyX(place.x), t.applyY(place.y)];
      ctx.font = "bold 26px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.lineWidth = 4;
      ctx.strokeStyle = "#fff";
      ctx.strokeText("★", x, y);
      ctx.fillStyle = "#111";
      ctx.fillText("★", x, y);
    }
    for (const [i, colour, radius] of [[selected, "#111", 9], [hovered, "#555", 7]]) {
      if (i < 0) continue;
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.arc(t.applyX(map.x[i]), t.applyY(map.y[i]), radius, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.restore();
  }

  function repaintMarks() {
    for (const map of maps) paintOverlay(map);
  }

  // ---- hit testing, hover and the tooltip
  function pointAt(map, [mx, my]) {
    if (!map.quadtree) return -1;
    const t = map.transform;
    const found = map.quadtree.find(t.invertX(mx), t.invertY(my), T.hoverPx / t.k);
    return found ?? -1;
  }

  function describe(i) {
    const verdicts = networks.map((x) => `${x.name} says ${x.predictions[i]}${wrong(x, i) ? " ✗" : ""}`);
    return { head: `test image #${doc.test_index[i]}: ${article(labels[i])} ${labels[i]}`, body: verdicts.join("; ") };
  }

  function hover(map, i) {
    if (i === hovered) return;
    hovered = i;
    repaintMarks();
    for (const m of maps) m.tooltip.attr("hidden", "");
    if (i < 0) return;
    const { head, body } = describe(i);
    const tip = map.tooltip.attr("hidden", null).html("");
    paintDigit(tip.append("canvas").attr("class", "fg-tsne-digit").node(), images.image(doc.test_index[i]));
    tip.append("div").text(head);
    tip.append("div").text(body);
    const t = map.transform;
    const [x, y] = [t.applyX(map.x[i]), t.applyY(map.y[i])];
    const tipNode = tip.node();
    const left = Math.min(Math.max(4, x + 12), map.width - tipNode.offsetWidth - 4);
    const top = y + 12 + tipNode.offsetHeight > map.height ? y - 12 - tipNode.offsetHeight : y + 12;
    tip.style("left", `${left}px`).style("top", `${Math.max(4, top)}px`);
  }

  // ---- a clicked image: its panel and its trace through the network's graph
  function setPoint(value) {
    const i = value === "" ? -1 : Number(value);
    state.point = i >= 0 && i < n ? String(i) : "";
    selected = state.point === "" ? -1 : i;
    repaintMarks();
    if (selected < 0) {
      panel.attr("hidden", "");
      traceHead.attr("hidden", "");
      trace?.flowgraph.destroy();
      trace = null;
      traceBox.selectAll("*").remove();
      return;
    }
    const { head, body } = describe(selected);
    panel.attr("hidden", null).html("");
    const row = panel.append("div").attr("class", "fg-tsne-panel-row");
    paintDigit(row.append("canvas").attr("class", "fg-tsne-digit fg-tsne-digit-large").node(), images.image(doc.test_index[selected]));
    const text = row.append("div");
    text.append("strong").text(head);
    text.append("p").text(body);
    const network = networks.find((x) => x.id === selectedNetwork);
    text.append("p").text(`Traced below through the ${network.name}'s graph.`);
    live.text(`${head}. ${body}`);
    showTrace(network, selected);
  }

  async function showTrace(network, i) {
    const pixels = images.image(doc.test_index[i]);
    const label = `test image #${doc.test_index[i]} (${article(labels[i])} ${labels[i]})`;
    traceHead.attr("hidden", null).text(`The ${network.name} on ${label}: every node's value, computed here from the `
      + "image's pixels; edge width is |weight × value carried|.");
    if (trace?.network !== network.id) {
      const graph = await data.load(network.flowgraph);
      if (selected !== i) return; // the reader has moved on
      trace?.flowgraph.destroy();
      traceBox.selectAll("*").remove();
      trace = { network: network.id, flowgraph: drawFlowgraph(traceBox.node(), { graph, compiled: compiledOf(network, graph), traces: null }, {
        output: "all", sample: "none", inputs: "pixels", caption: false, palette, onPalette: options.onPalette,
        onChange: () => {} }) };
    }
    trace.flowgraph.setInput(pixelInputs(pixels), { pixels, label });
    trace.label = label;
  }

  const compiled = new Map(); // network id -> compile() of its graph
  function compiledOf(network, graph) {
    if (!compiled.has(network.id)) compiled.set(network.id, compile(graph));
    return compiled.get(network.id);
  }

  // ---- a group: brushed in one map, its members marked in every map and shown as a grid
  function setBrushMode(on) {
    brushMode = on;
    selectButton.attr("aria-pressed", on ? "true" : "false").classed("fg-on", on)
      .text(on ? "Selecting: drag over a map" : "Select a group");
    root.classed("fg-tsne-brushing", on);
  }

  // In Select mode a drag on a map draws a box (painted on the overlay) instead of panning: the
  // stage keeps mousedown and touchstart from d3.zoom's listeners while selecting.
  let dragging = null; // {map, from: [x, y], to: [x, y]} in px of the stage
  function attachBrush(map) {
    const stage = map.stage;
    stage.addEventListener("mousedown", (event) => { if (brushMode) event.stopPropagation(); }, true);
    stage.addEventListener("touchstart", (event) => { if (brushMode) event.stopPropagation(); }, { capture: true, passive: true });
    stage.addEventListener("pointerdown", (event) => {
      if (!brushMode) return;
      const at = d3.pointer(event, stage);
      dragging = { map, from: at, to: at };
      stage.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    stage.addEventListener("pointermove", (event) => {
      if (dragging?.map !== map) return;
      dragging.to = d3.pointer(event, stage);
      paintOverlay(map);
    });
    const end = (event) => {
      if (dragging?.map !== map) return;
      const { from, to } = dragging;
      dragging = null;
      brushEnded = performance.now();
      if (event.type === "pointercancel" || Math.hypot(to[0] - from[0], to[1] - from[1]) < 4) { paintOverlay(map); return; }
      const t = map.transform;
      const xs = [t.invertX(from[0]), t.invertX(to[0])].sort((a, b) => a - b);
      const ys = [t.invertY(from[1]), t.invertY(to[1])].sort((a, b) => a - b);
      const box = [xs[0], ys[0], xs[1], ys[1]].map((v) => Math.round(v * 10) / 10);
      setBrushMode(false);
      setGroup(`${map.network.id}:${box.join(",")}`);
      publish();
    };
    stage.addEventListener("pointerup", end);
    stage.addEventListener("pointercancel", end);
  }

  function setGroup(value, announce = true) {
    const match = /^([a-z]+):(-?[\d.]+),(-?[\d.]+),(-?[\d.]+),(-?[\d.]+)$/.exec(value ?? "");
    const map = match && maps.find((m) => m.network.id === match[1]);
    state.group = map ? value : "";
    group = null;
    if (map) {
      const box = match.slice(2).map(Number);
      const members = [];
      for (let i = 0; i < n; i++) {
        if (map.x[i] >= box[0] && map.x[i] <= box[2] && map.y[i] >= box[1] && map.y[i] <= box[3]) members.push(i);
      }
      group = { network: map.network.id, box, members };
    }
    repaintMarks();
    showGroup(announce);
  }

  function showGroup(announce) {
    groupBox.html("");
    if (!group) { groupBox.attr("hidden", ""); return; }
    groupBox.attr("hidden", null);
    const counts = d3.rollups(group.members, (v) => v.length, (i) => labels[i]).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const network = networks.find((x) => x.id === group.network);
    const misses = group.members.filter((i) => wrong(network, i)).length;
    const text = `${group.members.length} image${group.members.length === 1 ? "" : "s"} selected in the ${network.name}'s `
      + `map: ${counts.map(([digit, count]) => `${count} × ${digit}`).join(", ") || "none"}; ${misses} wrong.`;
    groupBox.append("p").attr("class", "fg-tsne-group-text").text(text);
    const grid = groupBox.append("div").attr("class", "fg-tsne-grid");
    for (const i of group.members.slice(0, T.gridMax)) {
      const cell = grid.append("button").attr("type", "button").attr("class", "fg-tsne-cell")
        .classed("fg-wrong", wrong(network, i))
        .attr("title", `${describe(i).head}; ${describe(i).body}`).attr("aria-label", describe(i).head)
        .on("click", () => { selectedNetwork = group.network; setPoint(String(i)); publish(); });
      paintDigit(cell.append("canvas").attr("class", "fg-tsne-digit").node(), images.image(doc.test_index[i]));
    }
    if (group.members.length > T.gridMax) groupBox.append("p").text(`… and ${group.members.length - T.gridMax} more.`);
    if (announce) live.text(text);
  }

  // ---- the reader's drawing, placed from its nearest neighbours in the layer's own space
  const features = new Map(); // network id -> {g, layers: {layer id: {reference: Float32Array, d, columns}}}
  let drawnTimer = 0;
  function drawnSoon() {
    clearTimeout(drawnTimer);
    drawnTimer = setTimeout(() => { state.drawing = encodePixels(pad.pixels()); publish(); }, 400);
  }

  // Every layer's values on the mapped images, from one pass of the network's graph over them.
  async function networkFeatures(network) {
    if (!features.has(network.id)) {
      const graph = await data.load(network.flowgraph);
      const g = compiledOf(network, graph);
      const layers = {};
      for (const id of layerIds) {
        const columns = doc.maps[network.id][id].nodes.map((node) => g.index.get(node));
        layers[id] = { columns, d: columns.length, reference: new Float32Array(n * columns.length) };
      }
      for (let i = 0; i < n; i++) {
        const values = evaluate(g, pixelInputs(images.image(doc.test_index[i])));
        for (const { columns, d, reference } of Object.values(layers)) {
          for (let j = 0; j < d; j++) reference[i * d + j] = values[columns[j]];
        }
      }
      features.set(network.id, { g, layers });
    }
    return features.get(network.id);
  }

  let placing = 0;
  async function placeDrawing(pixels) {
    const ticket = ++placing;
    const places = {};
    drawNote.text("Placing your digit…");
    for (const network of networks) {
      const { g, layers } = await networkFeatures(network);
      if (ticket !== placing) return;
      const { reference, d, columns } = layers[state.layer];
      const values = evaluate(g, pixelInputs(pixels));
      const fitted = maps.find((m) => m.network.id === network.id);
      places[network.id] = placeByNeighbours(columns.map((c) => values[c]), reference, d, fitted.x, fitted.y, doc.k);
      places[network.id].prediction = d3.maxIndex(doc.maps[network.id][layerIds[layerIds.length - 1]].nodes
        .map((id) => values[g.index.get(id)]));
    }
    drawing = { pixels: Uint8Array.from(pixels), places };
    drawNote.text(`Placed at the mean position of its ${doc.k} nearest test images in each network's ${
      doc.layers.find((l) => l.id === state.layer).name} space. `
      + networks.map((x) => `The ${x.name} reads it as ${places[x.id].prediction}.`).join(" "));
    repaintMarks();
  }

  function clearDrawing() {
    placing += 1;
    drawing = null;
    state.drawing = "";
    pad.clear();
    drawNote.text(`Your digit appears as a star in each map, at the mean position of its ${doc.k} nearest test images `
      + "in that layer's own space.");
    repaintMarks();
  }

  // ---- keyboard: arrows walk to the nearest image in that direction, Enter traces it
  function handleKey(map, event) {
    if (map.zoom.handleKey(event)) return true;
    const directions = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (event.key === "Escape") {
      setPoint("");
      setGroup("");
      publish();
      return true;
    }
    if (event.key === "Enter" && hovered >= 0) {
      selectedNetwork = map.network.id;
      setPoint(String(hovered));
      publish();
      return true;
    }
    const step = directions[event.key];
    if (!step) return false;
    const from = hovered >= 0 ? hovered : selected >= 0 ? selected : nearestToCentre(map);
    hover(map, neighbourIn(map, from, step));
    map.zoom.keepInView([map.x[hovered], map.y[hovered]]);
    return true;
  }

  function nearestToCentre(map) {
    const t = map.transform;
    return map.quadtree.find(t.invertX(map.width / 2), t.invertY(map.height / 2)) ?? 0;
  }

  function neighbourIn(map, from, [dx, dy]) {
    let best = from;
    let bestScore = Infinity;
    for (let i = 0; i < n; i++) {
      const ex = map.x[i] - map.x[from];
      const ey = map.y[i] - map.y[from];
      const along = ex * dx + ey * dy;
      if (i === from || along <= 0) continue;
      const score = along + 2 * Math.abs(ex * dy - ey * dx); // ahead first, off the line costs double
      if (score < bestScore) { bestScore = score; best = i; }
    }
    return best;
  }

  // ---- state out and in
  function publish() {
    onChange({ layer: state.layer, network: state.network === "both" ? "" : state.network,
      point: state.point ? `${selectedNetwork}:${state.point}` : "", group: state.group, drawing: state.drawing });
  }

  function apply(next) {
    state.layer = layerIds.includes(next.layer) ? next.layer : state.layer;
    state.network = ["both", ...networks.map((x) => x.id)].includes(next.network) ? next.network : "both";
    layoutMaps();
    showLayer();
    const point = /^([a-z]+):(\d+)$/.exec(next.point ?? "");
    if (point && networks.some((x) => x.id === point[1])) selectedNetwork = point[1];
    if ((point ? point[2] : "") !== state.point) setPoint(point ? point[2] : "");
    if ((next.group ?? "") !== state.group) setGroup(next.group ?? "");
    if ((next.drawing ?? "") !== state.drawing) {
      const pixels = next.drawing ? decodePixels(next.drawing) : null;
      state.drawing = pixels ? next.drawing : "";
      if (pixels) {
        drawBox.attr("open", "");
        pad.showImage(pixels);
        placeDrawing(pixels);
      } else clearDrawing();
    }
  }

  apply({ ...options, layer: options.layer || state.layer });

  return {
    ready: Promise.resolve(),
    update(next = {}) { apply(next); },
    setPalette(name) { palette = name; trace?.flowgraph.setPalette?.(name); },
    inspect() {
      return { state: { ...state }, selected, selectedNetwork, hovered, group: group && { ...group },
        drawing: drawing && { places: drawing.places, pixels: Array.from(drawing.pixels) }, points: n,
        fitted: (network, i) => { const map = maps.find((m) => m.network.id === network); return [map.x[i], map.y[i]]; }, trace: trace ? { network: trace.network, label: trace.label, values: trace.flowgraph.inspect().values } : null,
        screen: (network, i) => {
          const map = maps.find((m) => m.network.id === network);
          const box = map.stage.getBoundingClientRect();
          return [box.left + map.transform.applyX(map.x[i]), box.top + map.transform.applyY(map.y[i])];
        } };
    },
    exports() {
      const shown = () => shownMaps().filter((m) => m.width);
      const picture = paintedPicture(
        () => [shown().reduce((a, m) => a + m.width, 0) + 16 * (shown().length - 1), Math.max(...shown().map((m) => m.height + 24))],
        (ctx) => {
          let x = 0;
          for (const map of shown()) {
            ctx.fillStyle = "#222";
            ctx.font = "12px sans-serif";
            ctx.fillText(`${map.title.text()}: ${map.stats.text()}`, x, 14);
            paintMap(map, ctx, [x, 24]);
            x += map.width + 16;
          }
        });
      const rows = () => d3.range(n).map((i) => ({
        test_index: doc.test_index[i], label: labels[i],
        ...Object.fromEntries(networks.flatMap((x) => [[`${x.id}_prediction`, x.predictions[i]],
          [`${x.id}_x`, doc.maps[x.id][state.layer].x[i]], [`${x.id}_y`, doc.maps[x.id][state.layer].y[i]]])),
      }));
      return {
        ...picture,
        json: () => ({ layer: state.layer, k: doc.k, perplexity: doc.perplexity, points: rows(),
          knn: Object.fromEntries(networks.map((x) => [x.id, { map: doc.maps[x.id][state.layer].knn_map,
            space: doc.maps[x.id][state.layer].knn_space }])) }),
        csv: () => toCsv(rows()),
      };
    },
    destroy() {
      for (const map of maps) { map.zoom.destroy(); map.loop.cancel(); }
      trace?.flowgraph.destroy();
      clearTimeout(drawnTimer);
    },
  };
}

