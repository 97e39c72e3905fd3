// The network in the reader's hands: draw a digit (or start from a test image) and the exact
// graph answers at every stroke; prune it with a threshold on |weight| and see its accuracy on
// all 10,000 test images (evaluated here, without retraining); step through the lottery rounds
// the build saved (which were retrained); find a node by name; pin nodes to see the paths
// between them. Every choice lives in the URL hash.

import { draw as drawFlowgraph } from "./flowgraph.js";
import { compactLayout, compile, pathsBetween, pixelInputs } from "./graph.js";
import { createPad, decodePixels, encodePixels } from "./pad.js";
import { sampleChoice } from "./filters.js";
import { format2 } from "./constants.js";
import { toCsv } from "./download.js";

const SIDE = 28;

// draw(element, {graph, compiled, traces, images (path), manifest (path), chapter, load(path)},
//      {sample, drawing, output, node, threshold, layer, round, pins, zoom, onChange, bus, palette, onPalette})
export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  const onChange = options.onChange ?? (() => {});
  const samples = data.traces?.samples ?? [];
  const entry = data.manifestJson.experiments[data.chapter];
  const rounds = entry.rounds;
  const roundPaths = entry.round_flowgraphs;
  let state = {
    sample: samples.some((s) => s.id === options.sample) ? options.sample : "none",
    drawing: options.drawing ?? "",
    threshold: Math.max(0, Number(options.threshold) || 0),
    layer: options.layer || "all",
    round: rounds.some((r) => String(r.round) === String(options.round)) ? Number(options.round) : entry.selected_round,
    output: options.output ?? "all",
    node: options.node ?? "",
    pins: options.pins ?? "",
    zoom: options.zoom ?? "",
  };
  let graph = data.graph;
  let g = data.compiled;
  let input = null; // {pixels, label}
  let mask = null;
  let labels = null; // the test images' labels, once the scorer has loaded the images (false: failed)
  let baseline = null; // accuracy of the unpruned graph of this round
  let graphKey = 0; // which graph the scorer holds
  const scorer = new Scorer(new URL(data.images, data.siteRoot).href);
  let flowgraph = null;
  let pinView = null;
  let palette = options.palette; // the page's sign palette (palette.js)

  // ---- step: controls
  const root = d3.select(element).append("div").attr("class", "fg-live");
  const controls = root.append("div").attr("class", "fg-controls");
  const sampleSelect = controls.append("label").call((l) => l.append("span").text("Start from "))
    .append("select").attr("class", "fg-sample");
  sampleSelect.selectAll("option").data([{ value: "none", text: "a blank pad" }, ...samples.map(sampleChoice)])
    .join("option").attr("value", (d) => d.value).text((d) => d.text);
  sampleSelect.on("change", () => {
    state.sample = sampleSelect.property("value");
    state.drawing = "";
    startFromSample();
    publish();
  });
  controls.append("button").attr("type", "button").attr("class", "fg-button fg-clear").text("Clear the pad")
    .on("click", () => { state.sample = "none"; state.drawing = ""; startFromSample(); publish(); });

  const roundBox = controls.append("span").attr("class", "fg-round");
  roundBox.append("span").attr("class", "fg-control-label").text("Round ");
  const prevRound = roundBox.append("button").attr("type", "button").attr("class", "fg-button").text("◀")
    .attr("aria-label", "previous round").on("click", () => stepRound(-1));
  const roundSelect = roundBox.append("select").attr("class", "fg-round-select").attr("aria-label", "lottery round");
  roundSelect.selectAll("option").data(rounds).join("option").attr("value", (r) => r.round)
    .text((r) => `${r.round}: ${r.weights.toLocaleString("en")} weights, ${(100 * r.test_accuracy).toFixed(1)}% test`);
  roundSelect.on("change", () => setRound(Number(roundSelect.property("value")), true));
  const nextRound = roundBox.append("button").attr("type", "button").attr("class", "fg-button").text("▶")
    .attr("aria-label", "next round").on("click", () => stepRound(1));

  const pruneBox = root.append("div").attr("class", "fg-controls fg-prune-controls");
  const sliderLabel = pruneBox.append("label").attr("class", "fg-slider-label");
  sliderLabel.append("span").text("Remove edges with |weight| below ");
  const slider = sliderLabel.append("input").attr("type", "range").attr("class", "fg-threshold")
    .attr("min", 0).attr("max", 1000).attr("step", 1)
    .on("input", () => { state.threshold = shortestThreshold(sliderToThreshold(+slider.property("value"))); applyPruning(); })
    .on("change", () => publish());
  const thresholdText = pruneBox.append("span").attr("class", "fg-threshold-text");
  const layerSelect = pruneBox.append("label").call((l) => l.append("span").text(" in "))
    .append("select").attr("class", "fg-prune-layer");
  const findBox = pruneBox.append("span").attr("class", "fg-find");
  const findInput = findBox.append("input").attr("type", "search").attr("class", "fg-find-input")
    .attr("aria-label", "find a node by name (any case)")
    .on("keydown", (event) => { if (event.key === "Enter") find(); });
  findBox.append("button").attr("type", "button").attr("class", "fg-button").text("Find").on("click", () => find());
  const findNote = findBox.append("span").attr("class", "fg-find-note").attr("aria-live", "polite");

  // ---- step: the pad, what the network sees, the logits; and the graph
  const body = root.append("div").attr("class", "fg-live-body");
  const left = body.append("div").attr("class", "fg-live-left");
  const pad = createPad(left, { onInput: (pixels) => { state.sample = "none"; setInput(pixels, "your drawing"); drawn(); } });
  const seen = left.append("div").attr("class", "fg-seen");
  seen.append("span").text("what the network reads:");
  const seenCanvas = seen.append("canvas").attr("width", SIDE).attr("height", SIDE).attr("class", "fg-seen-image").node();
  const logits = left.append("div").attr("class", "fg-logits").attr("aria-live", "polite");
  const graphBox = body.append("div").attr("class", "fg-live-graph");

  // ---- step: what pruning did, and the pinned paths
  const stats = root.append("div").attr("class", "fg-prune-stats").attr("aria-live", "polite");
  // What the threshold removed (edges, dead nodes), then one slot for the score: the accuracy of
  // the pruning shown, or a note that it is being scored, never a score of another pruning.
  const statLines = stats.append("div").attr("class", "fg-prune-lines");
  const scoreSlot = stats.append("div").attr("class", "fg-score-slot");
  const confusion = root.append("div").attr("class", "fg-confusion");
  root.append("p").attr("class", "fg-note").text("The threshold removes edges and evaluates what is left, without "
    + "retraining: the network does not adapt. The lottery rounds were each retrained after pruning.");
  const pinBox = root.append("div").attr("class", "fg-pins");

  let drawnTimer = null;
  function drawn() { // the URL follows the drawing once the pen rests
    clearTimeout(drawnTimer);
    drawnTimer = setTimeout(() => { state.drawing = encodePixels(pad.pixels()); publish(); }, 400);
  }

  // ---- step: the graph of the chosen round, with the reader's input and pruning
  let shownRound = null; // the round whose graph is drawn (state.round changes before it loads)
  // within: more to set on the new figure before it is first drawn (the starting input).
  function mountGraph(within = null) {
    shownRound = state.round;
    flowgraph?.destroy();
    graphBox.selectAll("*").remove();
    // The graph's own path (the selected round is the chapter's flowgraph.json): what the report
    // has on its nodes elsewhere is found by it.
    const path = state.round === entry.selected_round ? entry.flowgraph : roundPaths[rounds.findIndex((r) => r.round === state.round)];
    flowgraph = drawFlowgraph(graphBox.node(), { graph, compiled: g, traces: null, path, load: data.load, loadImages: data.loadImages }, {
      output: state.output, sample: "none", node: state.node, pins: state.pins, caption: false, deferPaint: true,
      palette, onPalette: options.onPalette,
      onChange: (next) => { Object.assign(state, next); publish(); },
      onPins: (list) => { state.pins = list.map((i) => graph.nodes[i].id).join(","); showPins(); publish(); },
    });
    if (state.zoom) flowgraph.setZoomState(state.zoom);
    flowgraph.onZoomChange(() => { state.zoom = flowgraph.zoomState(); publishSoon(); });
    layerSelect.selectAll("option").data(["all", ...new Set(graph.nodes.filter((d) => d.kind !== "input").map((d) => String(d.layer)))])
      .join("option").attr("value", (d) => d).text((d) => (d === "all" ? "every layer" : `layer ${d} only`));
    layerSelect.property("value", state.layer);
    layerSelect.on("change", () => { state.layer = layerSelect.property("value"); updateSlider(); applyPruning(); publish(); });
    findBox.select("datalist").remove();
    const list = findBox.append("datalist").attr("id", `fg-find-${data.chapter}`);
    list.selectAll("option").data(graph.nodes.filter((d) => d.kind !== "input")).join("option").attr("value", (d) => d.id);
    findInput.attr("list", `fg-find-${data.chapter}`).attr("placeholder", `find a node: ${findExamples(graph).join(", ")}`);
    graphKey += 1;
    baseline = null;
    scorer.setGraph(graph, graphKey);
    scoreBaseline();
    updateSlider();
    flowgraph.batch(() => {
      if (input) flowgraph.setInput(pixelInputs(input.pixels), { pixels: input.pixels, label: input.label });
      applyPruning();
      within?.();
    });
    showPins();
  }

  // Edges the threshold applies to (all, or those into one layer) and the largest |weight| there.
  function eligible(k) {
    return state.layer === "all" || String(graph.nodes[g.edgeTarget[k]].layer) === state.layer;
  }
  function maxWeight() {
    let max = 0;
    for (let k = 0; k < g.m; k++) if (eligible(k)) max = Math.max(max, Math.abs(g.edgeWeight[k]));
    return max || 1;
  }
  // The slider is finer near 0, where most weights are: threshold = max × (position / 1000)².
  function sliderToThreshold(position) { return maxWeight() * (position / 1000) ** 2; }
  // The shortest decimal that removes exactly the edges `threshold` removes (an edge goes when
  // |weight| < threshold): anything above the largest removed |weight| and up to the smallest kept
  // one. The slider lands on it, so the URL (which keeps it whole) reopens the same pruning.
  function shortestThreshold(threshold) {
    if (!(threshold > 0)) return 0;
    let removedMax = 0;
    let keptMin = Infinity;
    for (let k = 0; k < g.m; k++) {
      if (!eligible(k)) continue;
      const w = Math.abs(g.edgeWeight[k]);
      if (w < threshold) removedMax = Math.max(removedMax, w);
      else keptMin = Math.min(keptMin, w);
    }
    for (let digits = 1; digits <= 17; digits++) {
      const t = Number(threshold.toPrecision(digits));
      if (t > removedMax && t <= keptMin) return t;
    }
    return threshold;
  }
  function updateSlider() {
    slider.property("value", Math.round(1000 * Math.sqrt(Math.min(1, state.threshold / maxWeight()))));
  }

  let lastPruneMs = null;
  let lastMaskKey = null;
  let lastDead = null;
  function applyPruning() {
    const t0 = performance.now();
    mask = new Uint8Array(g.m);
    let removed = 0;
    for (let k = 0; k < g.m; k++) {
      if (eligible(k) && Math.abs(g.edgeWeight[k]) < state.threshold) { mask[k] = 1; removed++; }
    }
    // Redraw the graph only when the pruning changed (not when a score comes back).
    const maskKey = `${graphKey}|${state.layer}|${state.threshold}`;
    if (maskKey !== lastMaskKey) {
      lastMaskKey = maskKey;
      lastDead = flowgraph.setPruned(removed ? mask : null);
    }
    const dead = lastDead;
    const syncMs = performance.now() - t0;
    thresholdText.text(state.threshold ? format2Small(state.threshold) : "0 (nothing removed)");
    const deadNames = graph.nodes.filter((d, i) => dead[i] && d.kind !== "input").map((d) => d.id);
    const lines = [`${(g.m - removed).toLocaleString("en")} of ${g.m.toLocaleString("en")} edges kept`
      + (removed ? ` (${removed.toLocaleString("en")} removed)` : "") + "."];
    if (deadNames.length) {
      lines.push(`${deadNames.length} node${deadNames.length > 1 ? "s" : ""} went dead (no input left, or no output reached): `
        + `${deadNames.slice(0, 12).join(", ")}${deadNames.length > 12 ? ", …" : ""}.`);
    }
    statLines.selectAll("p").data(lines).join("p").text((line) => line);
    if (input) showLogits();
    if (labels === false) return showScoreNote("The test images could not be loaded.");
    if (!baseline) return showScoreNote("Scoring the graph on the 10,000 test images…");
    // Until this pruning's score is in, say so (the last score was another pruning's).
    if (scoredKey !== maskKey) showScoreNote("Scoring this pruning on the 10,000 test images…");
    // The accuracy comes from the scorer, off the main thread; only the latest request counts.
    const requested = performance.now();
    const weights = flowgraph.prunedWeights();
    const key = graphKey;
    return scorer.score(weights, key).then((predictions) => {
      // A score of a graph or pruning that is no longer shown (a request already running when
      // the reader moved on) is dropped.
      if (!predictions || key !== graphKey || maskKey !== lastMaskKey) return lastScore;
      const result = tally(predictions);
      lastScore = { ...result, ms: performance.now() - requested };
      lastPruneMs = lastScore.ms + syncMs;
      scoredKey = maskKey;
      scoreSlot.selectAll("*").remove();
      scoreSlot.append("p").attr("class", "fg-accuracy").text(`Test accuracy ${(100 * result.accuracy).toFixed(2)}% `
        + `(${result.correct.toLocaleString("en")} of ${labels.length.toLocaleString("en")} images)`
        + (removed && baseline ? `, against ${(100 * baseline.accuracy).toFixed(2)}% with every edge.` : "."));
      drawConfusion(result.confusion);
      confusion.style("opacity", null);
      return lastScore;
    });
  }
  let scoredKey = null; // the pruning the accuracy shown belongs to
  function showScoreNote(text) {
    scoreSlot.selectAll("*").remove();
    scoreSlot.append("p").attr("class", "fg-scoring").text(text);
    confusion.style("opacity", 0.35); // another pruning's matrix, until this one's is in
    return Promise.resolve(lastScore);
  }
  let lastScore = null;

  function tally(predictions) {
    const matrix = Array.from({ length: 10 }, () => new Array(10).fill(0));
    let correct = 0;
    for (let i = 0; i < labels.length; i++) {
      matrix[labels[i]][predictions[i]] += 1;
      if (predictions[i] === labels[i]) correct++;
    }
    return { correct, accuracy: correct / labels.length, confusion: matrix, predictions };
  }

  function drawConfusion(matrix) {
    confusion.selectAll("*").remove();
    confusion.append("div").attr("class", "fg-confusion-title").text("Confusion matrix: rows are the true digit, columns what the graph predicts.");
    const max = d3.max(matrix.flat()) || 1;
    const table = confusion.append("table").attr("class", "fg-confusion-table");
    const head = table.append("thead").append("tr");
    head.append("th").text("");
    for (let c = 0; c < 10; c++) head.append("th").text(c);
    const rows = table.append("tbody").selectAll("tr").data(matrix).join("tr");
    rows.append("th").text((row, r) => r);
    rows.selectAll("td").data((row, r) => row.map((count, c) => ({ count, diagonal: r === c }))).join("td")
      .attr("class", (d) => (d.diagonal ? "fg-diagonal" : null))
      .style("background", (d) => (d.count ? d3.interpolateRgb("#ffffff", d.diagonal ? "#9fc5e8" : "#f4a582")(Math.sqrt(d.count / max)) : null))
      .text((d) => d.count || "");
  }

  // ---- step: the input: a test image or the reader's drawing
  let lastInputMs = null; // how long the last input took to evaluate and draw (benchmarks/)
  function setInput(pixels, label) {
    const t0 = performance.now();
    input = { pixels: Uint8Array.from(pixels), label };
    const ctx = seenCanvas.getContext("2d");
    const image = ctx.createImageData(SIDE, SIDE);
    pixels.forEach((v, i) => { image.data.set([255 - v, 255 - v, 255 - v, 255], 4 * i); });
    ctx.putImageData(image, 0, 0);
    flowgraph.setInput(pixelInputs(input.pixels), { pixels: input.pixels, label });
    showLogits();
    lastInputMs = performance.now() - t0;
  }

  function showLogits() {
    const values = flowgraph.inspect().values;
    const outputs = graph.nodes.filter((d) => d.kind === "output").sort((a, b) => a.class - b.class);
    const numbers = outputs.map((d) => values[d.id]);
    const best = numbers.indexOf(Math.max(...numbers));
    const span = Math.max(...numbers.map(Math.abs)) || 1;
    logits.selectAll("div.fg-logit").data(outputs.map((d, k) => ({ d, v: numbers[k], best: k === best })))
      .join((enter) => {
        const row = enter.append("div").attr("class", "fg-logit");
        row.append("span").attr("class", "fg-logit-class");
        row.append("span").attr("class", "fg-logit-bar");
        row.append("span").attr("class", "fg-logit-value");
        return row;
      })
      .classed("fg-best", (x) => x.best)
      .call((row) => {
        row.select(".fg-logit-class").text((x) => x.d.class);
        row.select(".fg-logit-bar").style("width", (x) => `${(45 * Math.abs(x.v)) / span}%`)
          .style("margin-left", (x) => (x.v < 0 ? `${45 - (45 * Math.abs(x.v)) / span}%` : "45%"))
          .classed("fg-neg", (x) => x.v < 0);
        row.select(".fg-logit-value").text((x) => format2(x.v));
      });
    logits.attr("aria-label", `the graph predicts ${outputs[best].class}`);
  }

  function startFromSample() {
    sampleSelect.property("value", state.sample);
    const sample = samples.find((s) => s.id === state.sample);
    const drawing = state.drawing ? decodePixels(state.drawing) : null;
    if (drawing) {
      pad.showImage(drawing);
      setInput(drawing, "your drawing");
    } else if (sample) {
      pad.showImage(sample.pixels);
      setInput(sample.pixels, `test image #${sample.test_index}`);
    } else {
      pad.clear();
      setInput(new Uint8Array(SIDE * SIDE), "a blank image");
    }
  }

  // ---- step: lottery rounds, each graph fetched when first shown
  async function setRound(number, fromControl) {
    if (!rounds.some((r) => r.round === number)) return;
    state.round = number;
    roundSelect.property("value", number);
    prevRound.attr("disabled", number === rounds[0].round ? "" : null);
    nextRound.attr("disabled", number === rounds[rounds.length - 1].round ? "" : null);
    const path = roundPaths[rounds.findIndex((r) => r.round === number)];
    statLines.selectAll("p").data([`Loading round ${number}…`]).join("p").text((t) => t);
    const loaded = await data.load(path);
    if (state.round !== number) return; // the reader has already chosen another round
    graph = loaded;
    g = compile(graph);
    // Another round is another network: the reader's threshold (set for the last one) starts over.
    if (fromControl) state.threshold = 0;
    mountGraph();
    if (fromControl) publish();
  }
  function stepRound(delta) {
    const k = rounds.findIndex((r) => r.round === state.round) + delta;
    if (k >= 0 && k < rounds.length) setRound(rounds[k].round, true);
  }
  options.bus?.on(`round.live-${data.chapter}`, (event) => {
    if (event.spec?.startsWith(`data/${data.chapter}/`)) {
      setRound(event.round, true);
      element.closest("figure")?.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });

  // ---- step: find a node by name
  function find() {
    const text = findInput.property("value").trim();
    const pixel = text.match(/^x\s*\[\s*(\d+)\s*,\s*(\d+)\s*\]$/);
    const wanted = (pixel ? `x${Number(pixel[1]) * SIDE + Number(pixel[2])}` : text).toLowerCase();
    const id = graph.nodes.find((d) => d.id.toLowerCase() === wanted)?.id; // H1_5 finds h1_5
    const known = id !== undefined;
    findNote.text(known ? "" : `${text || "(nothing)"} is not in this graph${pixel ? ": the network does not read that pixel" : ""}.`);
    if (known) flowgraph.centerOn(id);
  }

  // ---- step: pinned nodes and the paths between them, as a second, compact graph
  function showPins() {
    pinView?.destroy();
    pinView = null;
    pinBox.selectAll("*").remove();
    const ids = state.pins.split(",").filter((id) => g.index.has(id));
    if (!ids.length) {
      pinBox.append("p").attr("class", "fg-note").text("Pin nodes (shift-click, or “pin” in a node's panel) to see the paths between them here.");
      return;
    }
    const keep = pathsBetween(g, ids);
    const subset = Uint8Array.from(graph.nodes, (d) => (keep.has(d.id) ? 1 : 0));
    pinBox.append("p").attr("class", "fg-pins-title").text(`Pinned: ${ids.join(", ")}. `
      + `${ids.length > 1 ? "The paths between them" : "It and its neighbours"}: ${keep.size} nodes.`);
    const holder = pinBox.append("div").attr("class", "fg-pins-graph");
    pinView = drawFlowgraph(holder.node(), { graph, compiled: g, traces: null },
      { output: "all", sample: "none", caption: false, subset, positions: compactLayout(graph, subset), palette,
        onChange: () => {} });
    if (input) pinView.setInput(pixelInputs(input.pixels), { pixels: input.pixels, label: input.label });
    if (mask) pinView.setPruned(mask);
  }

  // ---- step: the URL hash
  let publishTimer = null;
  function publishSoon() { clearTimeout(publishTimer); publishTimer = setTimeout(publish, 250); }
  function publish() {
    // The threshold whole: a rounded one can remove other edges (the slider keeps it short).
    onChange({ sample: state.sample, drawing: state.drawing, threshold: state.threshold ? String(state.threshold) : "",
      layer: state.layer === "all" ? "" : state.layer, round: String(state.round), output: state.output,
      node: state.node, pins: state.pins, zoom: state.zoom });
  }

  // ---- step: the test images, loaded and scored by a worker once the figure is drawn
  let loadStartedAt = null;
  let loadTimer = null;
  async function loadImages() {
    loadStartedAt = performance.now();
    labels = await scorer.load();
    if (labels) scoreBaseline();
    else applyPruning();
  }

  // The unpruned graph's accuracy, the yardstick for every threshold (not replaced by them).
  function scoreBaseline() {
    if (!labels) return;
    const key = graphKey;
    scorer.score(g.weights, key, false).then((predictions) => {
      if (!predictions || key !== graphKey) return;
      baseline = tally(predictions);
      applyPruning();
    });
  }

  const ready = (async () => {
    if (state.round !== entry.selected_round) {
      await setRound(state.round, false);
      startFromSample();
    } else {
      roundSelect.property("value", state.round);
      nextRound.attr("disabled", "");
      mountGraph(startFromSample); // drawn once, with its input
    }
    // A task of its own, so input that arrived while the figure was drawn is answered first.
    loadTimer = setTimeout(loadImages, 0);
  })();

  return {
    ready,
    exports() {
      const graphExports = flowgraph.exports();
      return {
        svg: graphExports.svg,
        png: graphExports.png,
        json: () => ({ view: { ...state }, input: input ? Array.from(input.pixels) : null,
          accuracy: lastScore?.accuracy ?? null, confusion: lastScore?.confusion ?? null, graph: graphExports.json() }),
        csv: () => toCsv((lastScore?.confusion ?? []).map((row, truth) => ({ truth, ...Object.fromEntries(row.map((n, p) => [`predicted ${p}`, n])) }))),
      };
    },
    update(next = {}) {
      if (next.round !== undefined && Number(next.round) !== state.round) setRound(Number(next.round), false);
      if ((next.drawing ?? "") !== state.drawing || (next.sample ?? "none") !== state.sample) {
        state.drawing = next.drawing ?? "";
        state.sample = next.sample ?? "none";
        startFromSample();
      }
      const threshold = Math.max(0, Number(next.threshold) || 0);
      if (threshold !== state.threshold || (next.layer || "all") !== state.layer) {
        state.threshold = threshold;
        state.layer = next.layer || "all";
        layerSelect.property("value", state.layer);
        updateSlider();
        applyPruning();
      }
    },
    inspect() {
      return { state: { ...state }, shownRound, input: input ? Array.from(input.pixels) : null, graph: flowgraph.inspect(),
        score: lastScore ? { correct: lastScore.correct, accuracy: lastScore.accuracy, ms: lastScore.ms,
          predictions: Array.from(lastScore.predictions) } : null,
        imagesLoaded: !!baseline, pinned: pinView ? pinView.inspect().visible : [],
        timings: { input: lastInputMs, preprocess: pad.preprocessMs(), prune: lastPruneMs, loadStartedAt } };
    },
    screenPosition: (id) => flowgraph.screenPosition(id),
    setPalette(name) {
      palette = name;
      flowgraph?.setPalette(name);
      pinView?.setPalette(name);
    },
    // For the tests and benchmarks: prune at a threshold (in |weight|), as the slider does;
    // resolves with the score once the worker has it.
    async setThreshold(threshold, layer = "all") {
      state.threshold = threshold;
      state.layer = layer;
      layerSelect.property("value", layer);
      updateSlider();
      const pending = applyPruning();
      publish();
      return pending;
    },
    destroy() {
      clearTimeout(drawnTimer);
      clearTimeout(loadTimer);
      clearTimeout(publishTimer);
      options.bus?.on(`round.live-${data.chapter}`, null);
      flowgraph?.destroy();
      pinView?.destroy();
      scorer.terminate();
      root.remove();
    },
  };
}

// Names a reader can type into the search, from the graph shown: a first-layer neuron, an
// output, and the pixel nearest the image's centre that the network reads.
export function findExamples(graph) {
  const neuron = graph.nodes.find((d) => d.kind === "neuron" && d.layer === 1) ?? graph.nodes.find((d) => d.kind === "neuron");
  const output = graph.nodes.find((d) => d.kind === "output");
  const distance = (i) => (Math.floor(i / SIDE) - 13.5) ** 2 + ((i % SIDE) - 13.5) ** 2;
  const pixels = graph.nodes.filter((d) => d.kind === "input" && /^x\d+$/.test(d.id)).map((d) => Number(d.id.slice(1)));
  const centre = pixels.length ? pixels.reduce((a, b) => (distance(b) < distance(a) ? b : a)) : null;
  return [neuron?.id, output?.id, centre === null ? null : `x[${Math.floor(centre / SIDE)},${centre % SIDE}]`].filter(Boolean);
}

function format2Small(v) {
  return v >= 0.01 ? format2(v) : v.toPrecision(2);
}

// The page's side of scorer.js: one request at a time; a request made while another is running
// replaces any that was waiting, so a dragged slider is scored at its latest position.
class Scorer {
  constructor(url) {
    this.url = url;
    this.worker = new Worker(new URL("./scorer.js", import.meta.url), { type: "module" });
    this.waiting = new Map();
    this.nextId = 0;
    this.busy = false;
    this.queue = []; // requests not yet sent; a replaceable one gives way to the next
    this.worker.onmessage = ({ data }) => this.receive(data);
  }

  load() {
    return new Promise((resolve) => {
      this.onImages = resolve;
      this.worker.postMessage({ type: "images", url: this.url });
    });
  }

  setGraph(graph, key) {
    this.queue = this.queue.filter((r) => (r.key === key ? true : (r.resolve(null), false)));
    this.worker.postMessage({ type: "graph", graph, key });
  }

  score(weights, key, replaceable = true) {
    return new Promise((resolve) => {
      const last = this.queue[this.queue.length - 1];
      if (replaceable && last?.replaceable) { last.resolve(null); this.queue.pop(); }
      this.queue.push({ weights: Float64Array.from(weights), key, resolve, replaceable });
      this.pump();
    });
  }

  pump() {
    if (this.busy || !this.queue.length || !this.ready) return;
    const { weights, key, resolve } = this.queue.shift();
    this.busy = true;
    const id = this.nextId++;
    this.waiting.set(id, resolve);
    this.worker.postMessage({ type: "score", id, key, weights }, [weights.buffer]);
  }

  receive(data) {
    if (data.type === "images") {
      this.ready = true;
      this.onImages(data.labels);
      this.pump();
    } else if (data.type === "score") {
      this.busy = false;
      this.waiting.get(data.id)?.(data.predictions);
      this.waiting.delete(data.id);
      this.pump();
    } else if (data.type === "error") {
      console.error(`the test-image scorer: ${data.message}`);
      this.busy = false;
      if (data.message.startsWith("images")) this.onImages(false);
      for (const resolve of this.waiting.values()) resolve(null);
      this.waiting.clear();
      this.pump();
    }
  }

  terminate() {
    this.worker.terminate();
  }
}
