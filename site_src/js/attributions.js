// Attribution maps (attributions.json): for one test image, a row per network and a column per
// method (Captum's, computed at build time) plus the exact contributions, which this page
// computes from the network's graph (contributions.js) for any test image or drawing, with the
// identity Σ contributions + constant = logit shown beside them.
//
// draw(element, {attributions, images, load(path)}, {sample, output, drawing, onChange, palette})
//   -> {ready, update, exports, inspect, setPalette, destroy}

import { compile, pixelInputs } from "./graph.js";
import { article } from "./images.js";
import { exactContributions } from "./contributions.js";
import { sampleImage, signedImage } from "./filters.js";
import { signColors, signWord } from "./palette.js";
import { createPad, decodePixels, encodePixels } from "./pad.js";
import { format2, signed2 } from "./constants.js";
import { paintedPicture, toCsv } from "./download.js";

const UNSIGNED = ["#333333", "#333333"]; // a map with no sign (saliency): dark is large
// Column heads with soft hyphens where a phone's narrow column may break them.
const HEADS = { "guided-backprop": "guided back\u00adprop", occlusion: "oc\u00adclu\u00adsion",
  "integrated-gradients": "in\u00adte\u00adgrat\u00aded gra\u00addi\u00adents" };
const NONE = "this method ran when the report was built, on the test images and the logit each network predicts";

export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  const doc = data.attributions;
  const images = data.images;
  const onChange = options.onChange ?? (() => {});
  let palette = options.palette;
  const state = { sample: "0", output: "", drawing: "" };
  const graphs = new Map(); // flowgraph path -> {g, outputs: node index per class}

  const root = d3.select(element).append("div").attr("class", "fg-attributions");
  const strip = root.append("div").attr("class", "fg-attr-strip").attr("role", "group").attr("aria-label", "test images");
  doc.images.forEach((image, k) => {
    const button = strip.append("button").attr("type", "button").attr("class", "fg-attr-pick").attr("data-sample", k)
      .attr("aria-label", `test image #${image.test_index}, ${article(image.label)} ${image.label}`)
      .on("click", () => { state.sample = String(k); state.drawing = ""; show(); publish(); });
    button.node().appendChild(sampleImage(images.image(image.test_index))).classList.add("fg-tsne-digit");
  });
  const drawBox = root.append("details").attr("class", "fg-tsne-draw");
  drawBox.append("summary").text("Draw your own digit");
  const drawRow = drawBox.append("div").attr("class", "fg-tsne-draw-row");
  let drawnTimer = 0;
  const pad = createPad(drawRow, { onInput: (pixels) => {
    state.drawing = "pending";
    drawing = Uint8Array.from(pixels);
    show();
    clearTimeout(drawnTimer);
    drawnTimer = setTimeout(() => { state.drawing = encodePixels(drawing); publish(); }, 400);
  } });
  drawRow.append("p").attr("class", "fg-tsne-draw-note").text("The methods of the middle columns ran when the report "
    + "was built, on its test images; for your digit only the exact contributions can be computed here, and they are. "
    + "SPADE's circuits were made for the report's test images: the SPADE chapter makes one for your digit.");
  let drawing = null;

  const controls = root.append("div").attr("class", "fg-controls");
  const outputSelect = controls.append("label").text("Attribute the logit of ").append("select").attr("aria-label", "logit");
  outputSelect.selectAll("option").data(["", ...d3.range(10).map(String)]).join("option").attr("value", (d) => d)
    .text((d) => (d === "" ? "the class each network predicts" : `class ${d}`));
  outputSelect.on("change", () => { state.output = outputSelect.property("value"); show(); publish(); });
  const legend = controls.append("span").attr("class", "fg-attr-legend");

  const grid = root.append("div").attr("class", "fg-attr-grid").attr("role", "table");
  const sums = root.append("div").attr("class", "fg-attr-sums").attr("aria-live", "polite");

  async function graphOf(network, path) {
    if (!graphs.has(path)) {
      const json = await data.load(path);
      const g = compile(json);
      const outputs = [];
      json.nodes.forEach((node, i) => { if (node.kind === "output") outputs[node.class] = i; });
      graphs.set(path, { g, outputs });
    }
    return graphs.get(path);
  }

  let shown = null; // what is drawn now: {pixels, label, rows: [{network, target, exact, maps}]}
  let ticket = 0;
  async function show() {
    const mine = ++ticket;
    const k = Number(state.sample);
    const fromTest = !drawing || state.drawing === "";
    const image = doc.images[k] ?? doc.images[0];
    const pixels = fromTest ? images.image(image.test_index) : drawing;
    const label = fromTest ? `test image #${image.test_index} (${article(image.label)} ${image.label})` : "your drawing";
    strip.selectAll(".fg-attr-pick").classed("fg-on", (_, j) => fromTest && j === k);
    outputSelect.property("value", state.output);
    const rows = [];
    for (const network of doc.networks) {
      // A network per image (SPADE's circuits) exists for the report's test images only.
      if (network.flowgraphs && !fromTest) { rows.push({ network, target: null, exact: null, maps: doc.methods.map(() => null) }); continue; }
      const { g, outputs } = await graphOf(network, network.flowgraphs ? network.flowgraphs[k] : network.flowgraph);
      if (mine !== ticket) return;
      const inputs = pixelInputs(pixels);
      const predicted = exactContributions(g, inputs, outputs[0]).values;
      const target = state.output !== "" ? Number(state.output)
        : d3.maxIndex(outputs, (i) => predicted[i]);
      const exact = exactContributions(g, inputs, outputs[target]);
      // The build's maps are of the predicted logit of a test image; for another logit or a
      // drawing only the exact column can be computed here.
      const built = fromTest && target === network.targets[k];
      const maps = doc.methods.map((method) => (method.id === "exact" ? Array.from(exact.contributions)
        : built ? doc.maps[network.id][method.id][k] : null));
      rows.push({ network, target, exact, maps });
    }
    shown = { pixels, label, rows, index: fromTest ? k : null };
    paint();
  }

  function paint() {
    if (!shown) return;
    const colors = signColors(palette);
    legend.html(`${signWord("positive", palette)} positive, ${signWord("negative", palette)} negative; `
      + "each map scaled to its own largest |value|");
    grid.selectAll("*").remove();
    grid.style("grid-template-columns", `repeat(${doc.methods.length + 1}, minmax(0, 1fr))`);
    grid.append("div").attr("class", "fg-attr-head").attr("role", "columnheader").text("input");
    for (const method of doc.methods) {
      grid.append("div").attr("class", "fg-attr-head").attr("role", "columnheader").text(HEADS[method.id] ?? method.name);
    }
    let missing = false;
    for (const row of shown.rows) {
      grid.append("div").attr("class", "fg-attr-row-head").attr("role", "rowheader")
        .text(row.exact ? `${row.network.name}, logit ${row.target}` : `${row.network.name}: made for the report's test images`);
      grid.append("div").attr("class", "fg-attr-cell").node().appendChild(sampleImage(shown.pixels));
      row.maps.forEach((values, j) => {
        const cell = grid.append("div").attr("class", "fg-attr-cell").attr("data-method", doc.methods[j].id)
          .attr("data-network", row.network.id);
        if (values) cell.node().appendChild(signedImage(values, 28, doc.methods[j].signed ? colors : UNSIGNED));
        else {
          cell.append("span").attr("class", "fg-attr-none").attr("title", NONE).attr("aria-label", NONE).text("—");
          missing = true;
        }
      });
    }
    sums.selectAll("*").remove();
    if (missing) sums.append("p").attr("class", "fg-attr-note").text(`—: ${NONE}.`);
    sums.append("p").text(`On ${shown.label}:`);
    for (const row of shown.rows.filter((r) => r.exact)) {
      const total = row.exact.contributions.reduce((a, b) => a + b, 0);
      sums.append("p").attr("class", "fg-attr-sum").attr("data-network", row.network.id)
        .text(`${row.network.name}: logit ${row.target} = ${format2(total)} from the pixels ${signed2(row.exact.constant)} `
          + `constant = ${format2(row.exact.logit)} (the two sides differ by ${Math.abs(total + row.exact.constant - row.exact.logit).toExponential(1)}).`);
    }
  }

  function publish() {
    onChange({ sample: state.sample, output: state.output, drawing: state.drawing === "pending" ? "" : state.drawing });
  }

  function apply(next) {
    state.sample = doc.images[Number(next.sample)] ? String(Number(next.sample)) : "0";
    state.output = /^[0-9]$/.test(next.output ?? "") ? next.output : "";
    const pixels = next.drawing ? decodePixels(next.drawing) : null;
    if (pixels) {
      drawing = pixels;
      state.drawing = next.drawing;
      drawBox.attr("open", "");
      pad.showImage(pixels);
    } else if (state.drawing !== "pending") {
      drawing = null;
      state.drawing = "";
    }
    show();
  }
  apply({ ...options, output: options.output === "all" ? "" : options.output });

  return {
    ready: Promise.resolve(),
    update(next) { apply({ ...next, output: next.output === "all" ? "" : next.output }); },
    setPalette(name) { palette = name; paint(); },
    inspect: () => ({ state: { ...state }, label: shown?.label ?? null,
      rows: (shown?.rows ?? []).filter((row) => row.exact).map((row) => ({ network: row.network.id, target: row.target, constant: row.exact.constant,
        logit: row.exact.logit, contributions: Array.from(row.exact.contributions),
        built: row.maps.map((m, j) => (m && doc.methods[j].id !== "exact" ? doc.methods[j].id : null)).filter(Boolean) })) }),
    exports() {
      const cells = () => grid.selectAll(".fg-attr-cell canvas, .fg-attr-head, .fg-attr-row-head").nodes();
      const picture = paintedPicture(() => [grid.node().clientWidth, grid.node().clientHeight], (ctx) => {
        const origin = grid.node().getBoundingClientRect();
        ctx.fillStyle = "#222";
        ctx.font = "11px sans-serif";
        for (const node of cells()) {
          const box = node.getBoundingClientRect();
          if (node.tagName === "CANVAS") ctx.drawImage(node, box.left - origin.left, box.top - origin.top, box.width, box.height);
          else ctx.fillText(node.textContent, box.left - origin.left, box.top - origin.top + 12);
        }
      });
      const rows = () => (shown?.rows ?? []).flatMap((row) => row.maps.flatMap((values, j) => (values ?? []).map((v, p) => ({
        network: row.network.id, logit: row.target, method: doc.methods[j].id, pixel: p, row: Math.floor(p / 28), col: p % 28,
        value: v }))));
      return { ...picture, json: () => ({ image: shown?.label, rows: rows() }), csv: () => toCsv(rows()) };
    },
    destroy() { clearTimeout(drawnTimer); root.remove(); },
  };
}
