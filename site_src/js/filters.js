// The first-layer filters: each neuron fed directly by pixels, drawn as a 28x28 image of its
// weights (positive and negative in the page's sign palette, neutral where it reads no pixel).
// With a sample, the input image once, and per filter the product filter ⊙ input and the
// neuron's value.
// Also exports the image helpers the flowgraph figure uses for its "filters" mode.

import { compile, firstLayerFilters } from "./graph.js";
import { svgToPng } from "./download.js";
import { COLORS, DEFAULT_OPTIONS, FILTERS, format2, formatBounds } from "./constants.js";
import { colorNames, paletteSwitch, signColors, signWord } from "./palette.js";

const SIDE = 28; // MNIST images; input_shape in flowgraph.json

// ---- image helpers -------------------------------------------------------------------------

function rgb(hex) {
  const h = hex.replace("#", "");
  const full = h.length === 3 ? [...h].map((c) => c + c).join("") : h;
  return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
}

function toCanvas(width, height, paint) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  paint(image.data);
  ctx.putImageData(image, 0, 0);
  return canvas;
}

// signedImage(values, side, palette) -> canvas: palette[0] for positive, palette[1] for negative
// (the default palette's without one), neutral for zero; intensity |v| / max|v|, per image, so
// that every filter uses its full range (the captions and the legend say so).
export function signedImage(values, side = SIDE, palette = null) {
  const pos = rgb(palette?.[0] ?? COLORS.positive);
  const neg = rgb(palette?.[1] ?? COLORS.negative);
  const neutral = rgb(COLORS.neutral);
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return toCanvas(side, side, (px) => {
    for (let i = 0; i < side * side; i++) {
      const v = values[i];
      const t = max > 0 ? Math.abs(v) / max : 0;
      const c = v > 0 ? pos : v < 0 ? neg : neutral;
      for (let ch = 0; ch < 3; ch++) px[4 * i + ch] = Math.round(neutral[ch] + (c[ch] - neutral[ch]) * t);
      px[4 * i + 3] = 255;
    }
  });
}

export const signedImageURL = (values, side = SIDE, palette = null) => signedImage(values, side, palette).toDataURL("image/png");

// sampleImage(pixels) -> canvas: the image as dark ink on white (pixel 255 = black).
export function sampleImage(pixels, side = SIDE) {
  return toCanvas(side, side, (px) => {
    for (let i = 0; i < side * side; i++) {
      const grey = 255 - pixels[i];
      px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = grey;
      px[4 * i + 3] = 255;
    }
  });
}

export const sampleImageURL = (pixels, side = SIDE) => sampleImage(pixels, side).toDataURL("image/png");

// productValues(weights, pixels): filter ⊙ input, the input scaled to [0, 1] as in the graph.
export function productValues(weights, pixels) {
  const out = new Float64Array(weights.length);
  for (let i = 0; i < weights.length; i++) out[i] = (weights[i] * pixels[i]) / 255;
  return out;
}

// ---- the figure ----------------------------------------------------------------------------

export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  if (!d3) throw new Error("d3 is not loaded (vendor/d3.min.js)");
  const nodes = data.graph.nodes;
  const g = data.compiled ?? compile(data.graph);
  const samples = data.traces?.samples ?? [];
  const onChange = options.onChange ?? (() => {});
  const filters = firstLayerFilters(g);
  const size = SIDE * FILTERS.pixelSize;
  let state = { sample: resolveSample(options.sample) };
  let palette = options.palette; // the sign palette's name (palette.js)
  const weightsURL = (values) => signedImageURL(values, SIDE, signColors(palette));

  function resolveSample(id) {
    return samples.some((s) => s.id === id) ? id : "none";
  }

  // step: controls
  const root = d3.select(element).append("div").attr("class", "fg-filters");
  const controls = root.append("div").attr("class", "fg-controls");
  const sampleLabel = controls.append("label");
  sampleLabel.append("span").text("Test image ");
  const sampleSelect = sampleLabel.append("select").attr("class", "fg-sample");
  sampleSelect.selectAll("option")
    .data([{ value: "none", text: "none" }, ...samples.map(sampleChoice)])
    .join("option").attr("value", (d) => d.value).text((d) => d.text);
  sampleSelect.on("change", () => {
    state = { sample: sampleSelect.property("value") };
    render();
    onChange({ ...state });
  });
  const legend = controls.append("span").attr("class", "fg-legend")
    .html(`<span><span class="fg-swatch fg-pos"></span> positive (${signWord("positive", palette)})</span>`
      + `<span><span class="fg-swatch fg-neg"></span> negative (${signWord("negative", palette)});</span>`
      + "<span>each image is scaled to its own largest |value|, so stronger colour is larger |w| within one image</span>");
  const toggle = options.onPalette ? paletteSwitch(controls, palette, options.onPalette) : null;
  const caption = element.closest("figure")?.querySelector(".fg-view") ?? null;

  // step: the input image, shown once when a sample is chosen
  const inputPanel = root.append("div").attr("class", "fg-filter-input");

  // step: one card per filter: id, bias, bounds, filter image (+ product and value with a sample)
  const grid = root.append("div").attr("class", "fg-filter-grid");
  const cards = grid.selectAll("div.fg-filter-card").data(filters).join("div")
    .attr("class", "fg-filter-card").attr("data-id", (f) => f.id);
  const heads = cards.append("div").attr("class", "fg-filter-heads");
  heads.append("span").text("w");
  heads.append("span").attr("class", "fg-filter-product-head").text("w ⊙ x");
  const images = cards.append("div").attr("class", "fg-filter-images");
  images.append("img").attr("class", "fg-filter-weights")
    .attr("width", size).attr("height", size)
    .attr("alt", (f) => `weights of ${f.id}`)
    .attr("title", (f) => `weights of ${f.id}`)
    .attr("src", (f) => weightsURL(f.weights));
  images.append("img").attr("class", "fg-filter-product")
    .attr("width", size).attr("height", size);
  const text = cards.append("div").attr("class", "fg-filter-text");
  text.append("div").attr("class", "fg-filter-id").text((f) => f.id);
  text.append("div").text((f) => `bias ${format2(nodes[f.index].bias)}`);
  text.append("div").text((f) => `bounds ${formatBounds(nodes[f.index].bounds)}`);
  const valueLine = text.append("div").attr("class", "fg-filter-value");

  // step: apply the state
  function render() {
    sampleSelect.property("value", state.sample);
    const sample = samples.find((s) => s.id === state.sample);
    inputPanel.selectAll("*").remove();
    inputPanel.style("display", sample ? null : "none");
    if (sample) {
      inputPanel.append("img").attr("width", size).attr("height", size)
        .attr("alt", `input image ${sample.id}`).attr("src", sampleImageURL(sample.pixels));
      const about = inputPanel.append("div");
      about.append("div").attr("class", "fg-filter-id").text(`input #${sample.test_index}: label ${sample.label}, `
        + `predicted ${sample.prediction}${sample.label !== sample.prediction ? " ✗" : ""}`);
      about.append("div").text("Each neuron below: its weights (left) and the weights ⊙ this input (right).");
    }
    images.select(".fg-filter-product")
      .style("display", sample ? null : "none")
      .attr("src", sample ? (f) => weightsURL(productValues(f.weights, sample.pixels)) : null)
      .attr("alt", sample ? (f) => `weights of ${f.id} times the input` : null)
      .attr("title", sample ? (f) => `weights of ${f.id} ⊙ input` : null);
    valueLine.selectAll("div").data(sample ? (f) => {
      const node = nodes[f.index];
      let dot = 0;
      for (let i = 0; i < f.weights.length; i++) dot += (f.weights[i] * sample.pixels[i]) / 255;
      const pre = dot + node.bias;
      const post = node.activation === "relu" ? Math.max(0, pre) : pre;
      // filter·input + bias is the whole pre-activation only for neurons fed by pixels alone
      return [`w·x + b = ${format2(pre)}`, node.activation === "relu" ? `ReLU → ${format2(post)}` : "(no ReLU)"];
    } : () => []).join("div").text((line) => line);
    cards.classed("fg-has-sample", !!sample);
    heads.select(".fg-filter-product-head").style("display", sample ? null : "none");
    if (caption) {
      caption.textContent = sample ? `Input: test image #${sample.test_index}, a ${sample.label}, predicted `
        + `${sample.prediction} (${sample.label === sample.prediction ? "correct" : "wrong"}).` : "No input chosen.";
    }
  }
  render();

  // The grid as SVG: each filter (and its product with the input), its id, bias and bounds as text.
  function gridSvg() {
    const sample = samples.find((s) => s.id === state.sample);
    const cardWidth = sample ? 2 * size + 18 : size + 12;
    const perRow = 6, cardHeight = size + 56;
    const width = perRow * cardWidth + 12, height = Math.ceil(filters.length / perRow) * cardHeight + 12;
    const parts = filters.map((f, k) => {
      const x = 12 + (k % perRow) * cardWidth, y = 12 + Math.floor(k / perRow) * cardHeight;
      const node = nodes[f.index];
      const images = [`<image x="${x}" y="${y}" width="${size}" height="${size}" style="image-rendering:pixelated" href="${weightsURL(f.weights)}"/>`];
      if (sample) images.push(`<image x="${x + size + 6}" y="${y}" width="${size}" height="${size}" style="image-rendering:pixelated" href="${weightsURL(productValues(f.weights, sample.pixels))}"/>`);
      return images.join("") + `<text x="${x}" y="${y + size + 16}" font-size="11" font-family="monospace" font-weight="700">${f.id}</text>`
        + `<text x="${x}" y="${y + size + 30}" font-size="10" font-family="monospace">bias ${format2(node.bias)}</text>`
        + `<text x="${x}" y="${y + size + 44}" font-size="10" font-family="monospace">bounds ${formatBounds(node.bounds).replace(/[⟨⟩]/g, (c) => (c === "⟨" ? "&lt;" : "&gt;"))}</text>`;
    });
    return { svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`
      + `<rect width="100%" height="100%" fill="#fff"/>${parts.join("")}</svg>`, width, height };
  }

  return {
    exports() {
      return {
        svg: () => gridSvg().svg,
        png: () => { const { svg, width, height } = gridSvg(); return svgToPng(svg, width, height); },
        json: () => ({ view: { ...state }, filters: filters.map((f) => ({ id: f.id, bias: nodes[f.index].bias,
          bounds: nodes[f.index].bounds, weights: Array.from(f.weights) })) }),
      };
    },
    // The sign colours of the page's palette (by name): every image is drawn again.
    setPalette(name) {
      palette = name;
      images.select(".fg-filter-weights").attr("src", (f) => weightsURL(f.weights));
      legend.select(".fg-sign-pos").text(colorNames(name).positive);
      legend.select(".fg-sign-neg").text(colorNames(name).negative);
      toggle?.set(name);
      render();
    },
    update(next = {}) {
      const sample = resolveSample(next.sample ?? DEFAULT_OPTIONS.sample);
      if (sample === state.sample) return;
      state = { sample };
      render();
    },
    destroy() {
      root.remove();
    },
  };
}

export function sampleChoice(s) {
  const wrong = s.prediction !== s.label;
  return {
    value: s.id,
    text: `#${s.test_index}: ${s.label === 8 ? "an" : "a"} ${s.label}${s.note ? ` ${s.note}` : ""}, predicted ${s.prediction}${wrong ? " ✗ wrong" : ""}`, // "an 8"
  };
}
