// The pruned network as a flowgraph: every node and edge of flowgraph.json, at the positions the
// build computed (no layout here). Without a sample, edges show their weights; with one, the page
// evaluates the graph on the sample's pixels and edges show what each carries (weight × value).

import { compile, evaluate, ancestors, descendants, firstLayerFilters } from "./graph.js";
import { COLORS, DEFAULT_OPTIONS, FLOWGRAPH as C, format2, formatBounds } from "./constants.js";
import { productValues, sampleChoice, sampleImageURL, signedImageURL } from "./filters.js";

const SIDE = 28;

// draw(element, {graph, traces, compiled?}, {output, sample, inputs, onChange}) -> {update, destroy}
export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  if (!d3) throw new Error("d3 is not loaded (vendor/d3.min.js)");
  const fg = data.graph;
  const nodes = fg.nodes;
  const edges = fg.edges;
  const g = data.compiled ?? compile(fg);
  const samples = data.traces?.samples ?? [];
  const onChange = options.onChange ?? (() => {});
  const outputs = nodes.filter((d) => d.kind === "output");
  const cell = fg.layout.pixel_cell;
  const [ox, oy] = fg.layout.pixel_origin;
  let state = resolve(options);

  // ---- step: positions. Inputs sit on the 28x28 grid (the cell of their pixel); others at x, y.
  const pos = nodes.map((d) => (d.kind === "input"
    ? { x: ox + ((d.index % SIDE) + 0.5) * cell, y: oy + (Math.floor(d.index / SIDE) + 0.5) * cell }
    : { x: d.x, y: d.y }));
  const isConstant = nodes.map((d, i) => d.kind !== "input" && g.offsets[i] === g.offsets[i + 1]);

  // ---- step: sizes, in layout units: scaled with the layout, labels no taller than the spacing
  const S = sizes();
  function sizes() {
    const u = (fg.layout.width || C.referenceWidth) / C.referenceWidth;
    let gap = Infinity;
    const byX = d3.group(nodes.filter((d) => d.kind !== "input"), (d) => d.x);
    for (const column of byX.values()) {
      const ys = d3.sort(column.map((d) => d.y));
      for (let i = 1; i < ys.length; i++) if (ys[i] > ys[i - 1]) gap = Math.min(gap, ys[i] - ys[i - 1]);
    }
    const labelSize = Math.max(4, Math.min(C.labelSize * u, C.labelSpacing * gap));
    return {
      labelSize,
      nodeRadius: C.nodeRadius * labelSize,
      filterScaleMax: C.filterScaleMax * u,
      edgeWidthMax: C.edgeWidthMax * u,
      edgeWidthMin: C.edgeWidthMin * u,
      hairline: C.hairline * u,
      filterGap: C.filterGap * u,
    };
  }

  // ---- step: controls
  const root = d3.select(element).append("div").attr("class", "fg-flowgraph");
  const controls = root.append("div").attr("class", "fg-controls");
  const outputSelect = addSelect(controls, "fg-output", "Output", [
    { value: "all", text: "all outputs" },
    ...outputs.map((d, k) => ({
      value: String(d.class),
      text: `class ${d.class}${isConstant[g.index.get(d.id)] ? " (constant)" : ""}`,
      k,
    })),
  ]);
  const sampleSelect = addSelect(controls, "fg-sample", "Sample",
    [{ value: "none", text: "no sample" }, ...samples.map(sampleChoice)]);
  const inputsSelect = addSelect(controls, "fg-inputs", "Inputs", [
    { value: "pixels", text: "pixels" },
    { value: "filters", text: "first-layer filters" },
  ]);
  controls.append("span").attr("class", "fg-legend")
    .html('<span class="fg-swatch fg-pos"></span>positive '
      + '<span class="fg-swatch fg-neg"></span>negative '
      + '<span class="fg-swatch fg-zero"></span>zero');

  function addSelect(parent, className, label, choices) {
    const wrap = parent.append("label");
    wrap.append("span").text(`${label} `);
    const select = wrap.append("select").attr("class", className);
    select.selectAll("option").data(choices).join("option")
      .attr("value", (d) => d.value).text((d) => d.text);
    return select;
  }

  for (const [select, key] of [[outputSelect, "output"], [sampleSelect, "sample"], [inputsSelect, "inputs"]]) {
    select.on("change", () => {
      const next = resolve({ ...state, [key]: select.property("value") });
      const refit = next.output !== state.output || next.inputs !== state.inputs;
      state = next;
      render();
      if (refit) fit(true);
      onChange({ output: state.output, sample: state.sample, inputs: state.inputs });
    });
  }

  // ---- step: svg and zoom layers
  const svg = root.append("svg").attr("class", "fg-svg")
    .attr("role", "img").attr("aria-label", "flowgraph of the pruned network");
  const view = svg.append("g").attr("class", "fg-view");
  const edgeLayer = view.append("g").attr("class", "fg-edges");
  const gridLayer = view.append("g").attr("class", "fg-grid"); // over the edges: they leave its edge
  const filterLayer = view.append("g").attr("class", "fg-filter-layer");
  const nodeLayer = view.append("g").attr("class", "fg-nodes");
  const titleLayer = view.append("g").attr("class", "fg-layer-titles");

  // ---- step: the input grid: an opaque backing that hides where edges start (each pixel is its
  // square), and the whole sample image faintly beneath the pixels the graph reads
  const gridSize = SIDE * cell;
  gridLayer.append("rect").attr("class", "fg-grid-frame")
    .attr("x", ox).attr("y", oy).attr("width", gridSize).attr("height", gridSize);
  const gridImage = gridLayer.append("image").attr("class", "fg-grid-image")
    .attr("x", ox).attr("y", oy).attr("width", gridSize).attr("height", gridSize)
    .attr("preserveAspectRatio", "none");

  // ---- step: layer titles, on one line above the highest node
  const top = d3.min(nodes, (d, i) => pos[i].y - (d.kind === "input" ? cell : S.nodeRadius));
  const titleY = Math.min(top, oy) - 2.5 * S.labelSize;
  const layerTitles = titleLayer.selectAll("text").data(fg.layers ?? []).join("text")
    .attr("class", "fg-layer-title")
    .attr("x", (d) => (d.layer === 0 ? ox + gridSize / 2 : d.x))
    .attr("y", titleY)
    .attr("font-size", S.labelSize * 1.15)
    .text((d) => d.name);

  // ---- step: edges, a horizontal cubic from source to target
  const edgeSel = edgeLayer.selectAll("path.edge").data(edges).join("path")
    .attr("class", "edge")
    .attr("d", (e, k) => {
      const s = pos[g.edgeSource[k]];
      const t = pos[g.edgeTarget[k]];
      const mx = (s.x + t.x) / 2;
      return `M${s.x},${s.y}C${mx},${s.y} ${mx},${t.y} ${t.x},${t.y}`;
    });
  edgeSel.append("title");
  const maxAbsWeight = d3.max(edges, (e) => Math.abs(e.weight)) || 1;

  // ---- step: nodes: pixel squares, neuron and output circles, labels, tooltips
  const nodeSel = nodeLayer.selectAll("g.node").data(nodes).join("g")
    .attr("class", (d, i) => `node ${d.kind}${isConstant[i] ? " constant" : ""}`)
    .attr("data-id", (d) => d.id)
    .attr("transform", (d, i) => `translate(${pos[i].x},${pos[i].y})`);
  const half = cell / 2 - C.inputInset;
  nodeSel.filter((d) => d.kind === "input").append("rect")
    .attr("x", -half).attr("y", -half).attr("width", 2 * half).attr("height", 2 * half);
  const unitSel = nodeSel.filter((d) => d.kind !== "input");
  unitSel.append("circle").attr("r", S.nodeRadius);
  const labelSel = unitSel.append("text").attr("class", "fg-label")
    .attr("font-size", S.labelSize);
  nodeSel.append("title");

  // ---- step: first-layer filter images (inputs = filters), left of each first-layer neuron.
  // Neighbouring neurons alternate between two columns of images, so each image may be twice as
  // tall as the spacing of the neurons; a thin line leads from the far column to its neuron.
  const filters = firstLayerFilters(g);
  const column = new Map(); // filter id -> 0 (next to its neuron) or 1 (one image further left)
  for (const group of d3.group(filters, (f) => pos[f.index].x).values()) {
    d3.sort(group, (f) => pos[f.index].y).forEach((f, rank) => column.set(f.id, rank % 2));
  }
  const filterSize = SIDE * filterPixelScale(filters);
  const filterSel = filterLayer.selectAll("g.fg-filter").data(filters).join("g")
    .attr("class", "fg-filter")
    .attr("data-id", (f) => f.id);
  const filterLink = filterSel.append("line").attr("class", "fg-filter-link")
    .attr("y1", filterSize / 2).attr("y2", filterSize / 2).attr("stroke-width", S.hairline);
  filterSel.append("image").attr("class", "fg-filter-weights")
    .attr("width", filterSize).attr("height", filterSize).attr("preserveAspectRatio", "none")
    .attr("href", (f) => signedImageURL(f.weights))
    .append("title").text((f) => `weights of ${f.id} (green positive, red negative)`);
  filterSel.append("image").attr("class", "fg-filter-product")
    .attr("x", -filterSize - S.filterGap)
    .attr("width", filterSize).attr("height", filterSize).attr("preserveAspectRatio", "none")
    .append("title");

  // Where a filter's images go: one image (or two, with the product) per column.
  function placeFilters(withProduct) {
    const step = (withProduct ? 2 : 1) * (filterSize + S.filterGap);
    const left = (f) => pos[f.index].x - S.nodeRadius - S.filterGap - filterSize - column.get(f.id) * step;
    filterSel.attr("transform", (f) => `translate(${left(f)},${pos[f.index].y - filterSize / 2})`);
    filterLink.attr("x1", filterSize).attr("x2", (f) => pos[f.index].x - S.nodeRadius - left(f))
      .style("display", (f) => (column.get(f.id) ? null : "none"));
    return (f) => left(f) - (withProduct ? filterSize + S.filterGap : 0); // leftmost x, for fit()
  }

  // Images in one column must not overlap: the scale follows the closest pair in a column.
  function filterPixelScale(list) {
    let gap = Infinity;
    for (const group of d3.group(list, (f) => pos[f.index].x, (f) => column.get(f.id)).values()) {
      for (const col of group.values()) {
        const ys = d3.sort(col.map((f) => pos[f.index].y));
        for (let i = 1; i < ys.length; i++) if (ys[i] > ys[i - 1]) gap = Math.min(gap, ys[i] - ys[i - 1]);
      }
    }
    const s = (0.85 * gap) / SIDE;
    return Math.max(C.filterScaleMin, Math.min(S.filterScaleMax, Number.isFinite(s) ? s : S.filterScaleMax));
  }

  // ---- step: zoom and pan; fit the visible nodes until the reader zooms by hand
  let userZoomed = false;
  const zoom = d3.zoom().scaleExtent(C.zoomExtent)
    .on("zoom", (event) => {
      view.attr("transform", event.transform);
      if (event.sourceEvent) userZoomed = true;
    });
  svg.call(zoom).on("dblclick.zoom", null);
  svg.on("dblclick", () => { userZoomed = false; fit(true); });

  let visible = null; // Uint8Array over nodes, set by render()
  // The longest each label can get (with a sample), so a fit leaves room for it.
  const widestLabel = nodes.map((d, i) => (d.kind === "input" ? 0
    : d3.max(labelLines(d, i, "[-00.00]", true), (line) => line.length)));

  // The lines of a neuron's or output's label: its value on the sample (if any) above its bounds;
  // outputs start with their class, constant outputs say what they always are.
  function labelLines(d, i, valueText, predicted) {
    if (isConstant[i]) return [`class ${d.class}`, `always ${format2(d.bias)}`];
    const bounds = formatBounds(d.bounds);
    if (d.kind === "output") {
      return [[`class ${d.class}`, valueText, predicted ? "◀ predicted" : null].filter(Boolean).join(" "), bounds];
    }
    return valueText ? [valueText, bounds] : [bounds];
  }

  function fit(animate) {
    const { clientWidth: w, clientHeight: h } = svg.node();
    if (!w || !h || !visible) return; // hidden (e.g. a closed tab): the ResizeObserver refits later
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const grow = (ax, ay, bx, by) => {
      x0 = Math.min(x0, ax); y0 = Math.min(y0, ay); x1 = Math.max(x1, bx); y1 = Math.max(y1, by);
    };
    const filterMode = state.inputs === "filters";
    const withProduct = filterMode && state.sample !== "none";
    nodes.forEach((d, i) => {
      if (!visible[i]) return;
      const { x, y } = pos[i];
      if (d.kind === "input") { grow(ox, oy, ox + gridSize, oy + gridSize); return; }
      const labelWidth = 0.62 * S.labelSize * widestLabel[i];
      grow(x - S.nodeRadius, y - 1.3 * S.labelSize, x + S.nodeRadius * 1.5 + labelWidth, y + 1.3 * S.labelSize);
    });
    if (filterMode) {
      const leftmost = placeFilters(withProduct);
      for (const f of filters) {
        if (!visible[f.index]) continue;
        const { x, y } = pos[f.index];
        grow(leftmost(f), y - filterSize / 2, x, y + filterSize / 2);
      }
    }
    if (x0 === Infinity) return;
    grow(x0, titleY - S.labelSize * 1.2, x1, y1); // keep the layer titles in view
    const pad = C.fitPadding;
    const k = Math.min(w / (x1 - x0 + 2 * pad), h / (y1 - y0 + 2 * pad), C.fitMaxScale);
    const t = d3.zoomIdentity.translate(w / 2 - (k * (x0 + x1)) / 2, h / 2 - (k * (y0 + y1)) / 2).scale(k);
    userZoomed = false;
    if (animate) svg.transition().duration(C.transitionMs).call(zoom.transform, t);
    else svg.call(zoom.transform, t);
  }

  const resizeObserver = new ResizeObserver(() => { if (!userZoomed) fit(false); });
  resizeObserver.observe(svg.node());

  // ---- step: hover highlights the hovered node's ancestors and descendants
  const nodeIndex = (id) => g.index.get(id);
  nodeSel
    .on("mouseenter", (event, d) => highlight(d.id))
    .on("mouseleave", () => highlight(null));

  function highlight(id) {
    svg.classed("fg-hovering", id !== null);
    if (id === null) {
      nodeSel.classed("fg-lit", false);
      edgeSel.classed("fg-lit", false);
      filterSel.classed("fg-lit", false);
      return;
    }
    const up = ancestors(g, id);
    const down = descendants(g, id);
    const lit = new Uint8Array(g.n);
    for (const a of up) lit[nodeIndex(a)] = 1;
    for (const b of down) lit[nodeIndex(b)] = 1;
    const self = nodeIndex(id);
    lit[self] = 1;
    nodeSel.classed("fg-lit", (d, i) => lit[i] === 1);
    filterSel.classed("fg-lit", (f) => lit[f.index] === 1);
    // An edge is on a path through the node when it runs into it from above or out of it below.
    edgeSel.classed("fg-lit", (e, k) => {
      const s = g.edgeSource[k];
      const t = g.edgeTarget[k];
      const above = (t === self || up.has(g.ids[t])) && up.has(g.ids[s]);
      const below = (s === self || down.has(g.ids[s])) && down.has(g.ids[t]);
      return above || below;
    });
  }

  // ---- step: apply the state (visibility, values, edge widths and colours, labels)
  const subgraphs = new Map(); // output class -> Uint8Array of visible nodes
  function visibleFor(output) {
    if (output === "all") return new Uint8Array(g.n).fill(1);
    if (!subgraphs.has(output)) {
      const out = outputs.find((d) => String(d.class) === output);
      const mask = new Uint8Array(g.n);
      mask[nodeIndex(out.id)] = 1;
      for (const a of ancestors(g, out.id)) mask[nodeIndex(a)] = 1;
      subgraphs.set(output, mask);
    }
    return subgraphs.get(output);
  }

  function render() {
    outputSelect.property("value", state.output);
    sampleSelect.property("value", state.sample);
    inputsSelect.property("value", state.inputs);
    const sample = samples.find((s) => s.id === state.sample) ?? null;
    const values = sample ? evaluate(g, sample.pixels) : null;
    const filterMode = state.inputs === "filters";

    // visibility
    visible = visibleFor(state.output).slice();
    if (filterMode) nodes.forEach((d, i) => { if (d.kind === "input") visible[i] = 0; });
    nodeSel.style("display", (d, i) => (visible[i] ? null : "none"));
    edgeSel.style("display", (e, k) => (visible[g.edgeSource[k]] && visible[g.edgeTarget[k]] ? null : "none"));
    gridLayer.style("display", filterMode ? "none" : null);
    filterSel.style("display", (f) => (filterMode && visible[f.index] ? null : "none"));
    layerTitles.style("display", (layer) => (nodes.some((d, i) => visible[i] && d.layer === layer.layer
      && !(filterMode && d.kind === "input")) ? null : "none"));

    // edges: weight alone, or what the edge carries on this sample
    const carried = values ? edges.map((e, k) => e.weight * values[g.edgeSource[k]]) : null;
    const maxAbs = carried ? d3.max(carried, Math.abs) || 1 : maxAbsWeight;
    edgeSel
      .attr("stroke", (e, k) => {
        const v = carried ? carried[k] : e.weight;
        return v > 0 ? COLORS.positive : v < 0 ? COLORS.negative : COLORS.zero;
      })
      .attr("stroke-width", (e, k) => {
        const v = Math.abs(carried ? carried[k] : e.weight);
        return v === 0 ? S.hairline : S.edgeWidthMin + ((S.edgeWidthMax - S.edgeWidthMin) * v) / maxAbs;
      })
      .classed("fg-zero", (e, k) => (carried ? carried[k] : e.weight) === 0);
    edgeSel.select("title").text((e, k) => `${e.source} → ${e.target}\nweight ${e.weight}`
      + (carried ? `\ncarries ${format2(carried[k])} (weight × ${format2(values[g.edgeSource[k]])})` : ""));

    // nodes: data-value for tests, fill by value, labels, tooltips
    nodeSel.attr("data-value", values ? (d, i) => String(values[i]) : null);
    nodeSel.classed("predicted", (d) => !!sample && d.kind === "output" && d.class === sample.prediction);
    nodeSel.classed("label", (d) => !!sample && d.kind === "output" && d.class === sample.label);
    nodeSel.filter((d) => d.kind === "input").select("rect")
      .attr("fill", values ? (d) => d3.rgb(...Array(3).fill(255 - sample.pixels[d.index])).formatHex() : null);
    unitSel.select("circle").attr("fill", (d) => {
      const i = nodeIndex(d.id);
      if (!values || isConstant[i]) return null;
      const span = Math.max(Math.abs(d.bounds[0]), Math.abs(d.bounds[1])) || 1;
      const t = Math.min(1, Math.abs(values[i]) / span);
      return d3.interpolateRgb(COLORS.nodeFill, values[i] >= 0 ? COLORS.positive : COLORS.negative)(t);
    });
    labelSel.selectAll("tspan")
      .data((d) => {
        const i = nodeIndex(d.id);
        return labelLines(d, i, values ? `[${format2(values[i])}]` : null,
          !!sample && d.kind === "output" && d.class === sample.prediction);
      })
      .join("tspan")
      .attr("x", S.nodeRadius * 1.5)
      .attr("dy", (line, j, all) => (j > 0 ? "1.1em" : all.length > 1 ? "-0.2em" : "0.35em"))
      .text((line) => line);
    nodeSel.select("title").text((d, i) => tooltip(d, i, values, sample));

    gridImage.style("display", sample ? null : "none")
      .attr("href", sample ? sampleImageURL(sample.pixels) : null);

    // filter mode: the filter ⊙ input image beside each filter when a sample is chosen
    placeFilters(filterMode && !!sample);
    filterSel.select(".fg-filter-product")
      .style("display", filterMode && sample ? null : "none")
      .attr("href", filterMode && sample ? (f) => signedImageURL(productValues(f.weights, sample.pixels)) : null)
      .select("title").text(sample ? (f) => `weights of ${f.id} ⊙ input` : "");
  }

  function tooltip(d, i, values, sample) {
    const lines = [];
    if (d.kind === "input") {
      lines.push(`${d.id}: pixel row ${Math.floor(d.index / SIDE)}, column ${d.index % SIDE}`);
    } else {
      lines.push(`${d.id}: ${d.kind === "output" ? `output, class ${d.class}` : "neuron"} (${d.activation})`);
      lines.push(`bias ${d.bias}`);
      if (isConstant[i]) lines.push(`no inputs: always ${d.bias}`);
    }
    lines.push(`bounds ${formatBounds(d.bounds)}`);
    if (values) {
      lines.push(`value ${values[i]}`
        + (d.kind === "input" ? ` (pixel ${sample.pixels[d.index]} / 255)` : ""));
    }
    return lines.join("\n");
  }

  // Unknown values (a stale link) fall back to the defaults instead of failing.
  function resolve(o) {
    const output = outputs.some((d) => String(d.class) === String(o.output)) ? String(o.output) : "all";
    const sample = samples.some((s) => s.id === o.sample) ? o.sample : "none";
    const inputs = o.inputs === "filters" ? "filters" : "pixels";
    return { output, sample, inputs };
  }

  render();
  fit(false);

  return {
    update(next = {}) {
      const merged = resolve({ ...DEFAULT_OPTIONS, ...next });
      const refit = merged.output !== state.output || merged.inputs !== state.inputs;
      const changed = refit || merged.sample !== state.sample;
      state = merged;
      if (changed) render();
      if (refit) fit(true);
    },
    destroy() {
      resizeObserver.disconnect();
      svg.interrupt().on(".zoom", null);
      root.remove();
    },
  };
}
