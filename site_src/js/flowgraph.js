// The pruned network as a flowgraph: every node and edge of flowgraph.json at the positions the
// build computed (no layout here). Without an input, edges show their weights; with one (a test
// image, a drawing, a state), the page evaluates the graph itself and edges show what each
// carries (weight × value). Edges and nodes are painted on a canvas (thousands stay fast), with
// a quadtree to find the node under the pointer; labels are never smaller than a readable size
// and are left out where they would overlap, until the reader zooms in.
//
// draw() is the list of steps; each piece lives in a shared module a new figure can compose:
// view.js (the state and the fit), scene.js (what is painted), paint.js and labels.js (painting
// it), canvas.js (once per frame), hit.js (what is under the pointer), keyboard.js (walking the
// graph), zoom.js, panel.js (a node's formula and tooltip), legend.js and download.js.

import { compile, deadNodes, firstLayerFilters } from "./graph.js";
import { DEFAULT_OPTIONS, FLOWGRAPH as C } from "./constants.js";
import { sampleChoice } from "./filters.js";
import { attachZoom } from "./zoom.js";
import { paintHighlight, paintScene } from "./paint.js";
import { nodeSummary, renderPanel, showTooltip } from "./panel.js";
import { showWitnesses } from "./witnesses.js";
import { showStimuli } from "./stimuli.js";
import { paintedPicture } from "./download.js";
import { chosenInput, flowgraphScene, positionsFor, viewSentence, visibleFor } from "./scene.js";
import { attachPointer, edgeAt, farEnd, nodeAt, nodeQuadtree } from "./hit.js";
import { graphKeys, neighbour } from "./keyboard.js";
import { fitFrame, fitTransform, formatZoom, glide, parseZoom, publicView, reducedMotion, resolveView,
  stageSizer } from "./view.js";
import { canvasStage, clearedContext, frameLoop, sizeCanvases } from "./canvas.js";
import { graphControls } from "./controls.js";
import { graphLegend } from "./legend.js";
import { signColors } from "./palette.js";

export { deadNodes }; // (it lived here first)

// draw(element, {graph, traces, compiled?}, {output, sample, inputs, node, pins, onChange, onPins,
//      caption, subset, positions, deferPaint, standalone, palette, onPalette})
//   -> {update, batch, setInput, inspect, setPruned, centerOn, zoomState, setZoomState,
//       onZoomChange, setSubset, setPalette, pins, prunedWeights, exports, screenPosition, destroy}
export function draw(element, data, options = {}) {
  const d3 = globalThis.d3;
  if (!d3) throw new Error("d3 is not loaded (vendor/d3.min.js)");

  // ---- step: the graph, its layouts and its inputs
  const fg = data.graph;
  const nodes = fg.nodes;
  const g = data.compiled ?? compile(fg);
  const samples = data.traces?.samples ?? [];
  const onChange = options.onChange ?? (() => {});
  const onPins = options.onPins ?? null;
  const outputs = nodes.filter((d) => d.kind === "output").sort((a, b) => a.class - b.class);
  const isConstant = nodes.map((d, i) => d.kind !== "input" && g.offsets[i] === g.offsets[i + 1]);
  const filters = firstLayerFilters(g);
  // filterImages: node index -> canvas of its weights, made when first shown
  const graph = { fg, g, nodes, outputs, isConstant, filters, filterImages: new Map() };
  const fullPositions = nodes.map((d) => ({ x: d.x, y: d.y }));
  const checked = (o) => resolveView(o, { outputs, samples, g, filters });
  let state = checked(options);
  let custom = null; // an input set by setInput(): {inputs, pixels?, label}
  let pruned = null; // Uint8Array over edges: 1 = removed by the reader's threshold (setPruned)
  let prunedWeights = g.weights; // CSR weights with the removed edges at 0
  let dead = new Uint8Array(g.n); // nodes that no longer take part: no input left, or no output reached
  let subset = options.subset ?? null; // Uint8Array over nodes: show only these (the pinned view)
  const pins = new Set(); // pinned node indices
  let palette = options.palette; // the sign palette's name (palette.js)
  let positions = options.positions ? options.positions.map((p) => ({ ...p }))
    : positionsFor(fg, state.output, fullPositions);

  // ---- step: controls and the legend
  const root = d3.select(element).append("div").attr("class", "fg-flowgraph");
  const controls = root.append("div").attr("class", "fg-controls");
  const choices = graphControls(controls, { outputs, isConstant: (d) => isConstant[g.index.get(d.id)], samples,
    sampleChoice, image: g.image, filters, onChoose: (choice) => setState(choice, true) });
  const toolbarRow = root.append("div").attr("class", "fg-toolbar-row");
  const legendRow = toolbarRow.append("div").attr("class", "fg-legend-row");
  const toolbar = toolbarRow.append("div").attr("class", "fg-toolbar");
  const legend = graphLegend(legendRow, palette, options.onPalette);

  // ---- step: the stage: canvases for the picture and the highlight, tooltip, live region
  const { stage, base, overlay, tooltip } = canvasStage(root, `${nodes.length} vertices and ${fg.edges.length} edges. `
    + "Arrow keys walk the graph, Enter opens a node, + and − zoom, 0 fits.");
  const live = root.append("div").attr("class", "fg-visually-hidden").attr("aria-live", "polite");
  const panel = root.append("div").attr("class", "fg-panel").attr("hidden", "");
  const caption = options.caption === false ? null : element.closest("figure")?.querySelector(".fg-view") ?? null;

  // ---- step: zoom and pan (the same convention as every figure: zoom.js)
  let transform = d3.zoomIdentity, userZoomed = false, zoomListener = null;
  const zoom = attachZoom(stage, {
    onZoom(t, event) {
      transform = t;
      if (event?.sourceEvent) userZoomed = true;
      frames.schedule();
      if (event?.sourceEvent || userZoomed) zoomListener?.();
    },
    fit: (animate) => fit(animate),
    toolbar: toolbar.node(),
  });
  const sizer = stageSizer(stage, { standalone: options.standalone });

  // ---- step: what is shown: visibility, values and the scene the painter draws (scene.js)
  let visible = null, values = null, scene = null, quadtree = null;
  let hovered = -1, focused = -1, selected = -1; // node indices, -1 for none

  function buildScene() {
    visible = visibleFor(g, nodes, outputs, { subset, output: state.output, inputs: state.inputs });
    const built = flowgraphScene(graph, { positions, visible, input: chosenInput(custom, samples, state.sample),
      weights: prunedWeights, pruned, dead, pins, filterMode: state.inputs === "filters", palette: signColors(palette) });
    ({ scene, values } = built);
    legend.show(built.maxAbs, values !== null);
    quadtree = nodeQuadtree(positions, visible);
    if (caption) caption.textContent = viewSentence({ ...built, g, outputs, visible, edgesVisible: scene.edges.visible, state });
  }

  // ---- step: painting, at most once per frame (canvas.js); the highlight on its own canvas
  let lastPaint = { labels: [] };
  let lastLit = null;
  const frames = frameLoop(() => {
    const width = stage.clientWidth;
    const height = stage.clientHeight;
    sizeCanvases([base, overlay], width, height);
    if (!width || !scene) return;
    lastPaint = paintScene(clearedContext(base, width, height), scene, transform, width, height);
    paintOverlay();
  });

  // What the hovered (or focused, or selected) node depends on and what depends on it stays lit.
  function paintOverlay() {
    const [width, height] = [stage.clientWidth, stage.clientHeight];
    const ctx = clearedContext(overlay, width, height);
    const center = hovered >= 0 ? hovered : focused >= 0 ? focused : selected;
    lastLit = scene ? paintHighlight(ctx, scene, transform, width, height, { g, positions, center, pins, selected, focused })
      : null;
  }

  // ---- step: fit the visible nodes (and their images and labels) into the stage (view.js)
  function fit(animate) {
    const width = stage.clientWidth;
    if (!width || !stage.clientHeight || !scene) return;
    const frame = fitFrame(scene, positions, { nodes, image: g.image, cell: fg.layout.pixel_cell ?? 12 }, width);
    if (!frame) return;
    if (frame.phone) sizer.phone(frame.x1 - frame.x0, frame.y1 - frame.y0);
    else sizer.wide(frame.neededHeight);
    const t = fitTransform(frame, width, stage.clientHeight);
    userZoomed = false;
    zoom.set(d3.zoomIdentity.translate(t.x, t.y).scale(t.k), animate);
  }

  const resizeObserver = new ResizeObserver(() => {
    if (!userZoomed) fit(false);
    frames.schedule();
  });
  resizeObserver.observe(stage);

  // ---- step: pointer: hover lights up a node's paths, a click or tap opens its panel (hit.js)
  const edgesShown = () => scene.edges.visible.reduce((a, b) => a + b, 0);
  attachPointer(stage, {
    find: (point) => nodeAt(quadtree, transform, point, { radiusPx: C.hoverRadiusPx, minRadius: C.nodeRadius }),
    hover(i, point) {
      if (i !== hovered) { hovered = i; paintOverlay(); }
      showTooltip(tooltip, nodes[i] ?? null, g.shape, i >= 0 && values ? values[i] : null, point,
        [stage.clientWidth, stage.clientHeight]);
    },
    leave() {
      hovered = -1;
      tooltip.attr("hidden", "");
      paintOverlay();
    },
    click(i, point, event) {
      if (i >= 0 && event.shiftKey && onPins) { togglePin(i); return; }
      if (i >= 0) { focused = -1; select(i); return; }
      const k = scene ? edgeAt(scene.edges, transform, point, { curved: edgesShown() <= C.curveEdgesUpTo }) : -1;
      if (k >= 0) { // an edge: go to its far end from where it was clicked
        const far = farEnd(g.edgeSource[k], g.edgeTarget[k], positions, transform.invert(point)[0]);
        select(far);
        focus(far, true);
        return;
      }
      if (selected >= 0) select(-1);
    },
  });
  d3.select(stage)
    .on("dblclick", () => fit(true))
    .on("keydown", graphKeys({ zoom, scale: () => transform.k, walk, open: () => { if (focused >= 0) select(focused); },
      close: () => { if (selected >= 0) select(-1); } }))
    .on("focus", () => { if (focused < 0) focus(selected >= 0 ? selected : firstOutput(), false); })
    .on("blur", () => { focused = -1; paintOverlay(); });

  // ---- step: keyboard: arrows walk along edges (keyboard.js), the walked-to node stays in view
  const firstOutput = () => g.index.get(outputs.find((d) => visible?.[g.index.get(d.id)])?.id) ?? -1;

  function walk(key) {
    const next = neighbour(g, focused >= 0 ? focused : selected, key, { visible, values, nodes, positions, start: firstOutput() });
    if (next >= 0) focus(next, true);
  }

  function focus(i, announce) {
    focused = i ?? -1;
    if (focused >= 0) {
      zoom.keepInView([positions[focused].x, positions[focused].y]);
      if (announce) live.text(nodeSummary(nodes[focused], g.shape, values ? values[focused] : null));
    }
    paintOverlay();
  }

  // ---- step: the node panel (panel.js) and pins
  function select(i, quiet = false) {
    selected = i;
    if (i < 0) {
      panel.attr("hidden", "").attr("data-node", "").selectAll("*").remove();
    } else {
      renderPanel(panel, { node: nodes[i], index: i, g, nodes, shape: g.shape, values, weights: prunedWeights,
        onGo: (j) => { select(j); focus(j, true); stage.focus(); },
        onClose: () => { select(-1); stage.focus(); },
        pinned: onPins ? pins.has(i) : null, onPin: onPins ? () => { togglePin(i); select(i, true); } : null });
      panel.attr("data-node", nodes[i].id);
      if (nodes[i].kind === "neuron" && data.path && data.load && data.loadImages) {
        showStimuli(panel, data.path, nodes[i].id, data);
      }
      if (data.witnesses && data.load) showWitnesses(panel, data, nodes[i], nodes, g.shape);
      if (!visible[i]) setState({ output: "all" });
    }
    paintOverlay();
    if (!quiet) {
      state = { ...state, node: i >= 0 ? nodes[i].id : "" };
      onChange(publicState());
    }
  }

  function togglePin(i) {
    if (pins.has(i)) pins.delete(i); else pins.add(i);
    buildScene();
    frames.paint();
    state = { ...state, pins: [...pins].map((j) => nodes[j].id).join(",") };
    onPins?.([...pins]);
    onChange(publicState());
  }

  // ---- step: state, as the URL hash and the selects see it (view.js)
  const publicState = () => publicView(state, { custom: !!custom, withPins: !!onPins });

  function setState(next, fromControl = false, animate = true) {
    const merged = checked({ ...state, ...next });
    const relayout = merged.output !== state.output;
    const refit = relayout || merged.inputs !== state.inputs;
    if (merged.sample !== state.sample && fromControl) custom = null;
    const old = positions;
    state = merged;
    syncControls();
    if (relayout) tweenPositions(old, positionsFor(fg, state.output, fullPositions), animate); // fits to where nodes go
    else buildScene();
    if (refit && !(relayout && animate && !reducedMotion())) fit(animate);
    frames.schedule();
    const nodeIndex = state.node ? g.index.get(state.node) : -1;
    if (nodeIndex !== selected) select(nodeIndex, true);
    else if (selected >= 0) select(selected, true); // its values changed
    if (fromControl) onChange(publicState());
  }

  const syncControls = () => choices.sync(state, custom);

  // Moving between the full layout and an output's compact one: nodes glide to their places.
  function tweenPositions(from, to, animate) {
    positions = to;
    buildScene(); // the fit (called next) uses the final positions
    if (!animate || reducedMotion()) return;
    fit(true);
    positions = from;
    glide(from, to, (now) => { positions = now; buildScene(); frames.paint(); });
  }

  // ---- step: the first drawing
  for (const id of state.pins.split(",").filter(Boolean)) pins.add(g.index.get(id));
  syncControls();
  buildScene();
  fit(false);
  // A caller about to set an input or a pruning at once (the live figure) lets those draw it.
  if (options.deferPaint) frames.schedule();
  else frames.paint();
  if (state.node) select(g.index.get(state.node), true);
  if (pins.size) onPins?.([...pins]);

  // ---- step: what the page, the live figure and the tests may ask of the figure
  const redraw = () => {
    buildScene();
    frames.paint();
    if (selected >= 0) select(selected, true);
  };
  const idsOf = (mask) => nodes.filter((d, i) => mask[i]).map((d) => d.id);
  const idOf = (i) => (i >= 0 ? nodes[i].id : null);
  const valuesById = () => (values ? Object.fromEntries(nodes.map((d, i) => [d.id, values[i]])) : null);
  return {
    update: (next = {}) => setState({ ...DEFAULT_OPTIONS, ...next }),
    // Run fn with painting held, then paint once if anything asked to.
    batch: (fn) => frames.batch(fn),
    // An input from outside (a drawing, a simulator state): values follow it at once.
    setInput(inputs, meta = {}) {
      custom = { inputs: Float64Array.from(inputs), pixels: meta.pixels ?? null, label: meta.label };
      syncControls();
      redraw();
      return values;
    },
    // For tests and the curious: what is on screen now.
    inspect() {
      return {
        state: publicState(),
        transform: { k: transform.k, x: transform.x, y: transform.y },
        labels: lastPaint.labels.map((l) => ({ id: nodes[l.node].id, px: l.px, lines: l.lines, text: l.text })),
        visible: idsOf(visible),
        edges: edgesShown(),
        values: valuesById(),
        edgeWidths: Array.from(scene.edges.px).filter((_, k) => scene.edges.visible[k]),
        dead: idsOf(dead),
        pins: [...pins].map(idOf), selected: idOf(selected), focused: idOf(focused), hovered: idOf(hovered),
        lit: lastLit ? idsOf(lastLit) : [],
        caption: caption?.textContent ?? null,
      };
    },
    // Prune by the reader's threshold: mask over edges (1 = removed), evaluated without them (no
    // retraining). Returns the nodes that no longer take part.
    setPruned(mask) {
      pruned = mask;
      prunedWeights = mask ? g.weights.map((w, j) => (mask[g.inEdges[j]] ? 0 : w)) : g.weights;
      dead = deadNodes(g, mask);
      redraw();
      return dead;
    },
    // Centre a node at the current zoom (at least 1.5), light it and open its panel.
    centerOn(id) {
      const i = g.index.get(id);
      if (i === undefined) return false;
      if (!visible[i]) setState({ output: "all", inputs: nodes[i].kind === "input" ? "pixels" : state.inputs });
      zoom.centerOn([positions[i].x, positions[i].y], Math.max(transform.k, 1.5));
      userZoomed = true;
      select(i);
      focus(i, true);
      return true;
    },
    // The zoom as a short string for the URL, and back.
    zoomState: () => (userZoomed ? formatZoom(transform) : ""),
    setZoomState(text) {
      const t = parseZoom(text);
      if (t) { userZoomed = true; zoom.set(d3.zoomIdentity.translate(t.x, t.y).scale(t.k), false); }
    },
    onZoomChange(callback) { zoomListener = callback; },
    // The sign colours of the page's palette (by name), in the picture, the legend and the downloads.
    setPalette(name) {
      palette = name;
      graph.filterImages.clear();
      legend.setPalette(name);
      redraw();
    },
    setSubset(mask, layoutPositions) {
      subset = mask;
      if (layoutPositions) positions = layoutPositions.map((p) => ({ ...p }));
      buildScene();
      fit(false);
      frames.paint();
    },
    pins: () => [...pins].map(idOf),
    prunedWeights: () => prunedWeights,
    // The current view (zoom, output, input, pruning) for the download menu: SVG with text as
    // text, PNG at twice the screen's size, and the data behind it.
    exports() {
      return {
        ...paintedPicture(() => [stage.clientWidth, stage.clientHeight],
          (ctx) => paintScene(ctx, scene, transform, stage.clientWidth, stage.clientHeight)),
        json: () => {
          const input = chosenInput(custom, samples, state.sample);
          return { view: publicState(), input: input ? { label: input.label ?? input.sample?.id, values: Array.from(input.inputs) } : null,
            values: valuesById(), removed_edges: pruned ? fg.edges.filter((e, k) => pruned[k]) : [], flowgraph: fg };
        },
      };
    },
    // Where a node is drawn, in px from the stage's top left corner.
    screenPosition(id) {
      const i = g.index.get(id);
      return transform.apply([positions[i].x, positions[i].y]);
    },
    destroy() {
      frames.cancel();
      resizeObserver.disconnect();
      zoom.destroy();
      root.remove();
    },
  };
}
