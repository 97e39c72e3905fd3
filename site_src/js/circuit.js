// A SPADE circuit for any image, computed in the page: the reader picks a test image (or draws a
// digit on the pad, or draws over a test image) and a worker (spade-worker.js) prunes the dense
// network for it exactly as the build does. The circuit is drawn as a flowgraph (flowgraph.js:
// zoom, node panel, keyboard, downloads) where its neurons sit in the dense network's layout, and
// evaluated on the image. For the images the build made circuits for, the page says whether its
// own circuit is the build's.

import { draw as drawFlowgraph } from "./flowgraph.js";
import { compile, pixelInputs } from "./graph.js";
import { createPad, decodePixels, encodePixels } from "./pad.js";
import { article } from "./images.js";
import { denseLayers } from "./spade.js";

// draw(element, {circuits, images, load}, {sample, drawing, node, zoom, onChange, palette, onPalette})
//   -> {ready, update, inspect, exports, setPalette, destroy}
export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  const doc = data.circuits;
  const images = data.images;
  const onChange = options.onChange ?? (() => {});
  const count = images.labels.length;
  const built = new Map(doc.samples.map((s) => [s.test_index, s]));
  const parseSample = (text) => {
    const i = /^t(\d+)$/.exec(text ?? "")?.[1];
    return i !== undefined && Number(i) < count ? Number(i) : null;
  };
  let state = { sample: options.sample ?? "none", drawing: options.drawing ?? "", node: options.node ?? "", zoom: options.zoom ?? "" };
  let palette = options.palette;
  let dense = null; // the dense network's flowgraph (positions, ids)
  let shown = null; // {id, input: {pixels, label, seed, testIndex}, result, graph}
  let flow = null;
  let requestId = 0;
  let lastSent = null;

  // ---- step: controls (a test image by number, a pad to draw on)
  const root = d3.select(element).append("div").attr("class", "fg-circuit");
  const controls = root.append("div").attr("class", "fg-controls");
  const pick = controls.append("label").call((l) => l.append("span").text("Test image #"));
  const number = pick.append("input").attr("type", "number").attr("class", "fg-circuit-index")
    .attr("min", 0).attr("max", count - 1).attr("step", 1).attr("aria-label", `test image number, 0 to ${count - 1}`)
    .on("change", () => {
      const i = Math.round(Number(number.property("value")));
      if (Number.isFinite(i) && i >= 0 && i < count) setSample(i, true);
    });
  controls.append("button").attr("type", "button").attr("class", "fg-button").text("◀").attr("aria-label", "previous test image")
    .on("click", () => setSample(Math.max(0, (currentIndex() ?? 1) - 1), true));
  controls.append("button").attr("type", "button").attr("class", "fg-button").text("▶").attr("aria-label", "next test image")
    .on("click", () => setSample(Math.min(count - 1, (currentIndex() ?? -1) + 1), true));
  controls.append("button").attr("type", "button").attr("class", "fg-button").text("Clear the pad to draw")
    .on("click", () => { pad.clear(); state.sample = "none"; state.drawing = ""; number.property("value", ""); status.text("Draw a digit on the pad."); publish(); });

  const row = root.append("div").attr("class", "fg-circuit-row");
  const padBox = row.append("div").attr("class", "fg-circuit-pad");
  const pad = createPad(padBox, { onInput: (pixels) => { state.sample = "none"; state.drawing = encodePixels(pixels); drawnSoon(); } });
  padBox.append("p").attr("class", "fg-note").text("Draw on the pad (over the test image, or after clearing it).");
  const text = row.append("div").attr("class", "fg-circuit-text");
  const status = text.append("p").attr("class", "fg-circuit-status").attr("aria-live", "polite").text("Loading the dense network…");
  const verdict = text.append("p").attr("class", "fg-circuit-verdict");
  const graphBox = root.append("div").attr("class", "fg-circuit-graph");

  // ---- step: the worker (sent the dense network's layers once the page has its graph)
  const worker = new Worker(new URL("./spade-worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data: message }) => {
    if (message.type === "circuit" && message.id === requestId) show(message);
    else if (message.type === "error") status.text(`The circuit could not be computed: ${message.message}`);
  };
  worker.onerror = (event) => status.text(`The worker failed: ${event.message ?? "unknown error"}`);

  function currentIndex() { return parseSample(state.sample); }

  // ---- step: ask for a circuit, draw it when it comes
  function request(input) {
    lastSent = input;
    requestId += 1;
    status.text(`Computing the circuit for ${input.label}…`);
    if (!dense) return; // the dense network is on its way: its arrival computes the current choice
    worker.postMessage({ type: "circuit", id: requestId, pixels: Array.from(input.pixels), seed: input.seed });
  }

  function setSample(i, fromControl) {
    state.sample = `t${i}`;
    state.drawing = "";
    number.property("value", i);
    const pixels = images.image(i);
    pad.showImage(pixels);
    request({ pixels, label: `test image #${i} (${article(images.labels[i])} ${images.labels[i]})`, seed: doc.config.seed + i, testIndex: i });
    if (fromControl) publish();
  }

  function setDrawing(pixels) {
    request({ pixels, label: "your drawing", seed: doc.config.seed, testIndex: null });
  }

  let drawnTimer = null;
  function drawnSoon() {
    number.property("value", "");
    clearTimeout(drawnTimer);
    drawnTimer = setTimeout(() => { setDrawing(pad.pixels()); publish(); }, 150);
  }

  function show(message) {
    const input = lastSent;
    const graph = circuitGraph(dense, message.layers);
    const neurons = graph.nodes.filter((d) => d.kind === "neuron").length;
    const total = dense.edges.length;
    const agreeing = message.prediction === message.densePrediction;
    status.text(`${capital(input.label)}: the circuit keeps ${message.kept.toLocaleString("en")} of the dense network's `
      + `${total.toLocaleString("en")} weights (${doc.config.densities.map((d) => `${+(100 * d).toFixed(2)}%`).join(", ")} `
      + `by layer) through ${neurons} hidden neurons. It predicts ${message.prediction}; the dense network predicts `
      + `${message.densePrediction}${agreeing ? " too" : ""}. They agree on ${message.agree} of the ${message.augmentations} `
      + `augmentations. Computed in ${Math.round(message.ms)} ms in a worker.`);
    const record = input.testIndex === null ? null : built.get(input.testIndex);
    verdict.text(record ? (sameAsBuild(record, message)
      ? "The build made this image's circuit too: the same kept weights, prediction and agreement."
      : "The build made this image's circuit too, and it differs from this one.") : "");
    shown = { input, result: message, graph };
    const previous = flow;
    const zoom = previous?.zoomState() || state.zoom;
    flow = drawFlowgraph(graphBox.node(), { graph, compiled: compile(graph), traces: null }, {
      output: "all", sample: "none", inputs: "pixels", node: state.node, caption: false, palette,
      onPalette: options.onPalette, deferPaint: true,
      onChange: (next) => {
        if ("node" in next) state.node = next.node ?? "";
        if ("zoom" in next) state.zoom = next.zoom ?? "";
        publish();
      },
    });
    previous?.destroy();
    if (zoom) flow.setZoomState(zoom);
    flow.setInput(pixelInputs(input.pixels), { pixels: input.pixels, label: input.label });
    element.dataset.circuit = String(requestId); // tests wait on it
  }

  function publish() {
    onChange({ sample: state.sample, drawing: state.drawing, node: state.node, zoom: state.zoom });
  }

  function apply(next) {
    if (next.drawing) {
      const pixels = decodePixels(next.drawing);
      if (pixels) {
        state.drawing = next.drawing;
        state.sample = "none";
        pad.showImage(pixels);
        number.property("value", "");
        setDrawing(pixels);
        return;
      }
    }
    const i = parseSample(next.sample);
    setSample(i ?? 0, false);
  }

  const ready = data.load(doc.dense_flowgraph).then((graph) => {
    dense = graph;
    worker.postMessage({ type: "dense", layers: denseLayers(graph), config: doc.config });
    state.node = options.node ?? "";
    apply(state);
  }).catch((error) => status.text(`The dense network could not be loaded: ${error.message}`));

  return {
    ready,
    update(next = {}) {
      state.node = next.node ?? "";
      state.zoom = next.zoom ?? "";
      if ((next.drawing ?? "") !== state.drawing || (!next.drawing && (next.sample ?? "none") !== state.sample)) {
        state = { ...state, sample: next.sample ?? "none", drawing: next.drawing ?? "" };
        if (dense) apply(state);
      }
    },
    setPalette(name) { palette = name; flow?.setPalette(name); },
    inspect() {
      return { state: { ...state }, request: requestId, circuit: shown && { label: shown.input.label, kept: shown.result.kept,
        prediction: shown.result.prediction, densePrediction: shown.result.densePrediction, agree: shown.result.agree,
        ms: shown.result.ms, layers: shown.result.layers.map((l) => ({ weight: Array.from(l.weight), bias: Array.from(l.bias) })),
        vertices: shown.graph.nodes.length, edges: shown.graph.edges.length }, flowgraph: flow?.inspect() ?? null,
        status: status.text(), verdict: verdict.text() };
    },
    exports() {
      return {
        svg: () => flow.exports().svg(),
        png: () => flow.exports().png(),
        json: () => ({ input: shown?.input.label, test_index: shown?.input.testIndex, seed: shown?.input.seed,
          config: doc.config, kept_weights: shown?.result.kept, prediction: shown?.result.prediction,
          dense_prediction: shown?.result.densePrediction, agreement: shown && [shown.result.agree, shown.result.augmentations],
          flowgraph: shown?.graph }),
      };
    },
    destroy() {
      worker.terminate();
      clearTimeout(drawnTimer);
      flow?.destroy();
    },
  };
}

const capital = (s) => s[0].toUpperCase() + s.slice(1);

function sameAsBuild(record, message) {
  return record.kept_weights === message.kept && record.prediction === message.prediction
    && Math.abs(record.augmentation_agreement - message.agree / message.augmentations) < 1e-12;
}

// The circuit as a flowgraph: its kept weights as edges, the nodes that reach an output through
// them (in the dense graph's order and places), biases as the circuit has them, and interval
// bounds over the input range.
export function circuitGraph(dense, layers) {
  const byLayer = new Map();
  for (const d of dense.nodes) {
    if (!byLayer.has(d.layer)) byLayer.set(d.layer, []);
    byLayer.get(d.layer).push(d);
  }
  const order = (d) => d.index ?? d.unit ?? d.class;
  const columns = [...byLayer.keys()].sort((a, b) => a - b).map((k) => byLayer.get(k).slice().sort((p, q) => order(p) - order(q)));
  const edges = [];
  const reaches = new Set(columns[columns.length - 1].map((d) => d.id));
  for (let k = layers.length - 1; k >= 0; k--) {
    const sources = columns[k];
    const targets = columns[k + 1];
    const { weight } = layers[k];
    targets.forEach((t, j) => {
      if (!reaches.has(t.id)) return;
      sources.forEach((s, i) => {
        const w = weight[j * sources.length + i];
        if (w !== 0) { edges.push({ source: s.id, target: t.id, weight: w }); reaches.add(s.id); }
      });
    });
  }
  const bias = new Map();
  layers.forEach((layer, k) => columns[k + 1].forEach((d, j) => bias.set(d.id, layer.bias[j])));
  const nodes = dense.nodes.filter((d) => reaches.has(d.id)).map((d) => (d.kind === "input" ? { ...d } : { ...d, bias: bias.get(d.id) }));
  const position = new Map(nodes.map((d, i) => [d.id, i]));
  edges.sort((a, b) => position.get(a.target) - position.get(b.target) || position.get(a.source) - position.get(b.source));
  // Interval bounds, node by node in topological order.
  const [lo0, hi0] = dense.input_range ?? [0, 1];
  const bounds = new Map();
  const incoming = new Map();
  for (const e of edges) {
    if (!incoming.has(e.target)) incoming.set(e.target, []);
    incoming.get(e.target).push(e);
  }
  for (const d of nodes) {
    if (d.kind === "input") { bounds.set(d.id, [lo0, hi0]); continue; }
    let lo = d.bias;
    let hi = d.bias;
    for (const e of incoming.get(d.id) ?? []) {
      const [a, b] = bounds.get(e.source);
      lo += e.weight > 0 ? e.weight * a : e.weight * b;
      hi += e.weight > 0 ? e.weight * b : e.weight * a;
    }
    bounds.set(d.id, d.activation === "relu" ? [Math.max(0, lo), Math.max(0, hi)] : [lo, hi]);
    d.bounds = bounds.get(d.id);
  }
  return { ...dense, experiment: "spade", nodes, edges, subgraph_layouts: undefined,
    stats: { vertices: nodes.length, edges: edges.length, kernel_weights: edges.length, constant_outputs: {} } };
}
