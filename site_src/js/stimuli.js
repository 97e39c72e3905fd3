// The strongest stimuli of every hidden neuron (stimuli.json): per layer, a mosaic of each
// neuron's top test images, the dense network beside a pruned one; a click opens a neuron's
// images with its values and a link to it in its flowgraph. showStimuli() puts the same images in
// any flowgraph's node panel (panel.js) when the report has them for that graph.
//
// draw(element, {stimuli, images}, {layer, network, node, onChange}) -> {ready, update, exports, inspect, destroy}

import { article, paintDigit, SIDE } from "./images.js";
import { paintedPicture, toCsv } from "./download.js";

const SITE_ROOT = new URL("../", import.meta.url);

// A neuron's images as one canvas: `columns` per row, strongest first.
export function mosaic(images, testIndex, columns = 3) {
  const rows = Math.max(1, Math.ceil(testIndex.length / columns));
  const canvas = document.createElement("canvas");
  canvas.width = columns * SIDE;
  canvas.height = rows * SIDE;
  const ctx = canvas.getContext("2d");
  const one = document.createElement("canvas");
  testIndex.forEach((index, k) => {
    paintDigit(one, images.image(index));
    ctx.drawImage(one, (k % columns) * SIDE, Math.floor(k / columns) * SIDE);
  });
  return canvas;
}

// The most common digit among a neuron's images and how many of them it is.
export function commonDigit(labels) {
  const counts = new Array(10).fill(0);
  for (const label of labels) counts[label]++;
  const digit = counts.indexOf(Math.max(...counts));
  return { digit, count: counts[digit] };
}

// Where a neuron is drawn in the report: its chapter's flowgraph figure (the dense network is
// round 0 of the live figure).
export function neuronLink(network, neuron) {
  const page = new URL(`${network.chapter}/`, SITE_ROOT);
  page.hash = network.id === "dense" ? `fig-live&live.round=0&live.node=${neuron.id}`
    : `fig-flowgraph&flowgraph.node=${neuron.id}`;
  return page.href;
}

// A neuron 0 on every test image: its "strongest" images would merely be the first ones.
export const isSilent = (neuron) => !(neuron.values[0] > 0);

export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  const doc = data.stimuli;
  const images = data.images;
  const onChange = options.onChange ?? (() => {});
  const dense = doc.networks.find((n) => n.id === "dense") ?? doc.networks[0];
  const others = doc.networks.filter((n) => n !== dense);
  const layers = [...new Set(doc.networks.flatMap((n) => n.neurons.map((x) => String(x.layer))))].sort();
  const state = { layer: layers[0], network: others[0]?.id ?? "", node: "" };

  const root = d3.select(element).append("div").attr("class", "fg-stimuli");
  const controls = root.append("div").attr("class", "fg-controls");
  const layerSelect = controls.append("label").text("Layer ").append("select").attr("aria-label", "layer");
  layerSelect.selectAll("option").data(layers).join("option").attr("value", (d) => d).text((d) => `hidden layer ${d}`);
  layerSelect.on("change", () => { state.layer = layerSelect.property("value"); show(); publish(); });
  const networkSelect = controls.append("label").text("Beside the dense network ").append("select")
    .attr("aria-label", "pruned network");
  networkSelect.selectAll("option").data(others).join("option").attr("value", (d) => d.id).text((d) => d.name);
  networkSelect.on("change", () => { state.network = networkSelect.property("value"); show(); publish(); });
  const columns = root.append("div").attr("class", "fg-stimuli-columns");
  const panel = root.append("div").attr("class", "fg-panel fg-stimuli-panel").attr("hidden", "").attr("aria-live", "polite");

  const shownNetworks = () => [dense, others.find((n) => n.id === state.network) ?? others[0]].filter(Boolean);
  const neuronsOf = (network) => network.neurons.filter((x) => String(x.layer) === state.layer);

  function show() {
    layerSelect.property("value", state.layer);
    networkSelect.property("value", state.network);
    columns.selectAll("*").remove();
    for (const network of shownNetworks()) {
      const column = columns.append("section").attr("class", "fg-stimuli-column");
      const neurons = neuronsOf(network);
      column.append("h4").attr("class", "fg-stimuli-title")
        .text(`${network.name} · layer ${state.layer} · ${neurons.length} neuron${neurons.length === 1 ? "" : "s"}`);
      const grid = column.append("div").attr("class", "fg-stimuli-grid");
      for (const neuron of neurons) {
        const { digit, count } = commonDigit(neuron.labels);
        const quiet = isSilent(neuron);
        const card = grid.append("button").attr("type", "button").attr("class", "fg-stimuli-card")
          .attr("data-node", `${network.id}:${neuron.id}`)
          .classed("fg-on", state.node === `${network.id}:${neuron.id}`).classed("fg-silent", quiet)
          .attr("aria-label", quiet ? `${neuron.id}: 0 on every test image`
            : `${neuron.id}: ${count} of ${neuron.labels.length} strongest images are ${digit}s`)
          .on("click", () => { state.node = `${network.id}:${neuron.id}`; show(); publish(); });
        card.node().appendChild(mosaic(images, quiet ? [] : neuron.test_index)).classList.add("fg-stimuli-mosaic");
        card.append("span").attr("class", "fg-stimuli-name").text(neuron.id);
        card.append("span").attr("class", "fg-stimuli-digit").text(quiet ? "never > 0" : `${count}/${neuron.labels.length} are ${digit}`);
      }
      if (!neurons.length) column.append("p").text("No neuron of this layer is left in this network's graph.");
    }
    showPanel();
  }

  function showPanel() {
    const [networkId, nodeId] = state.node.split(":");
    const network = doc.networks.find((n) => n.id === networkId);
    const neuron = network?.neurons.find((x) => x.id === nodeId);
    panel.selectAll("*").remove();
    if (!neuron) { panel.attr("hidden", ""); return; }
    panel.attr("hidden", null);
    const head = panel.append("div").attr("class", "fg-panel-head");
    head.append("strong").text(isSilent(neuron) ? `${neuron.id} of the ${network.name}: 0 on every test image`
      : `${neuron.id} of the ${network.name}: its ${neuron.test_index.length} strongest test images`);
    head.append("button").attr("type", "button").attr("class", "fg-panel-close").attr("aria-label", "Close the panel")
      .text("×").on("click", () => { state.node = ""; show(); publish(); });
    if (isSilent(neuron)) {
      panel.append("p").text("No test image makes this neuron positive: after its ReLU it passes nothing on for any of "
        + `them. Its bounds in the flowgraph say whether some other image could.`);
    } else stimuliList(panel, neuron, images);
    panel.append("p").append("a").attr("href", neuronLink(network, neuron)).text(`Open ${neuron.id} in the ${network.name}'s flowgraph →`);
  }

  function publish() {
    onChange({ layer: state.layer === layers[0] ? "" : state.layer, network: state.network, node: state.node });
  }

  function apply(next) {
    state.layer = layers.includes(String(next.layer)) ? String(next.layer) : layers[0];
    state.network = others.some((n) => n.id === next.network) ? next.network : others[0]?.id ?? "";
    state.node = next.node ?? "";
    show();
  }
  apply(options);

  return {
    ready: Promise.resolve(),
    update: apply,
    inspect: () => ({ state: { ...state }, cards: root.selectAll(".fg-stimuli-card").nodes().map((n) => n.dataset.node),
      panel: panel.attr("hidden") === null ? panel.text() : null }),
    exports() {
      const cards = () => root.selectAll(".fg-stimuli-column").nodes();
      const picture = paintedPicture(() => [columns.node().clientWidth, columns.node().clientHeight], (ctx) => {
        const origin = columns.node().getBoundingClientRect();
        ctx.fillStyle = "#222";
        ctx.font = "12px sans-serif";
        for (const column of cards()) {
          const title = column.querySelector("h4").getBoundingClientRect();
          ctx.fillText(column.querySelector("h4").textContent, title.left - origin.left, title.bottom - origin.top - 4);
          for (const card of column.querySelectorAll(".fg-stimuli-card")) {
            const box = card.querySelector("canvas").getBoundingClientRect();
            ctx.drawImage(card.querySelector("canvas"), box.left - origin.left, box.top - origin.top, box.width, box.height);
            ctx.fillText(card.querySelector(".fg-stimuli-name").textContent, box.left - origin.left, box.bottom - origin.top + 12);
          }
        }
      });
      const rows = () => shownNetworks().flatMap((network) => neuronsOf(network).flatMap((neuron) =>
        neuron.test_index.map((index, rank) => ({ network: network.id, neuron: neuron.id, rank: rank + 1, test_index: index,
          label: neuron.labels[rank], value: neuron.values[rank] }))));
      return { ...picture, json: () => ({ layer: state.layer, top: doc.top, rows: rows() }), csv: () => toCsv(rows()) };
    },
    destroy() { root.remove(); },
  };
}

// A neuron's images in a row, each with its digit and the neuron's value on it.
export function stimuliList(container, neuron, images) {
  const list = container.append("div").attr("class", "fg-stimuli-list");
  neuron.test_index.forEach((index, rank) => {
    const item = list.append("div").attr("class", "fg-stimuli-item")
      .attr("title", `test image #${index}: ${article(neuron.labels[rank])} ${neuron.labels[rank]}; value ${neuron.values[rank].toFixed(2)}`);
    paintDigit(item.append("canvas").attr("class", "fg-tsne-digit").node(), images.image(index));
    item.append("span").text(`${neuron.labels[rank]} · ${neuron.values[rank].toFixed(2)}`);
  });
}

// ---- the node panel of any flowgraph: the neuron's strongest stimuli, where the report has them

let catalogue = null; // Promise of {byGraph: Map(graph path -> {network, doc}), images}
function loadCatalogue(load, loadImages) {
  catalogue ??= load("data/manifest.json").then(async (manifest) => {
    const entry = Object.values(manifest.experiments).find((e) => e.kind === "stimuli");
    if (!entry) return null;
    const doc = await load(entry.stimuli);
    const byGraph = new Map(doc.networks.map((network) => [network.flowgraph, { network, doc }]));
    return { byGraph, images: () => loadImages(doc.images) };
  }).catch(() => null);
  return catalogue;
}

// showStimuli(panel (d3 selection), graph path, node id, {load, loadImages}): appends the
// neuron's strongest stimuli to an open node panel, if the report has them for this graph.
export async function showStimuli(panel, graphPath, nodeId, { load, loadImages }) {
  const found = await loadCatalogue(load, loadImages);
  const entry = found?.byGraph.get(graphPath);
  const neuron = entry?.network.neurons.find((x) => x.id === nodeId);
  if (!neuron || isSilent(neuron) || panel.attr("data-node") !== nodeId) return;
  const images = await found.images();
  if (panel.attr("data-node") !== nodeId) return; // another node was opened meanwhile
  panel.selectAll(".fg-panel-stimuli").remove(); // the panel may have been drawn again meanwhile
  const box = panel.append("div").attr("class", "fg-panel-stimuli");
  box.append("div").attr("class", "fg-panel-stimuli-head")
    .text(`Its ${neuron.test_index.length} strongest test images (of ${entry.doc.test_images.toLocaleString("en")}), strongest first:`);
  stimuliList(box, neuron, images);
}
