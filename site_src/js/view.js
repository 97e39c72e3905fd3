// A graph figure's view: the state a reader chooses (output, sample, inputs, node, pins), checked
// against the data as it comes from the URL hash or the controls; where the camera goes to fit
// what is shown; how tall the stage should be; and nodes gliding between two layouts. Plain
// functions, except stageSizer, which sets the stage's height.

import { FLOWGRAPH as C } from "./constants.js";

// resolveView(options, {outputs, samples, g, filters}) -> the state with every key known to be
// valid for this graph: unknown outputs, samples or nodes fall back to the defaults.
export function resolveView(o, { outputs, samples, g, filters }) {
  const output = outputs.some((d) => String(d.class) === String(o.output)) ? String(o.output) : "all";
  const sample = samples.some((s) => s.id === o.sample) ? o.sample : "none";
  const inputs = o.inputs === "filters" && g.image && filters.length ? "filters" : "pixels";
  const node = o.node && g.index.has(o.node) ? o.node : "";
  const pinList = String(o.pins ?? "").split(",").filter((id) => g.index.has(id));
  return { output, sample, inputs, node, pins: pinList.join(",") };
}

// The state as the URL hash keeps it: an input set from outside is no sample; pins only where
// the figure offers pinning.
export function publicView(state, { custom = false, withPins = false } = {}) {
  return { output: state.output, sample: custom ? "none" : state.sample, inputs: state.inputs, node: state.node,
    ...(withPins ? { pins: state.pins } : {}) };
}

// The zoom as a short string for the URL ("k,x,y"), and back (null when it is not one).
export const formatZoom = (t) => `${t.k.toFixed(3)},${t.x.toFixed(0)},${t.y.toFixed(0)}`;
export function parseZoom(text) {
  const [k, x, y] = String(text ?? "").split(",").map(Number);
  return [k, x, y].every(Number.isFinite) && k > 0 ? { k, x, y } : null;
}

// ---- fitting what is shown into the stage

// fitFrame(scene, positions, {nodes, image, cell}, width) -> the visible nodes' and images'
// bounds (layout units) and the room kept around them (px), or null when nothing is visible.
// Room: for the rightmost column's labels (on a phone, for the short first line only; never
// more than a quarter of the width), for the layer titles, and for named inputs' labels on the
// left (on a phone they may not eat a fifth of the width: they take the other side, or wait
// for the reader to zoom).
export function fitFrame(scene, positions, { nodes, image, cell }, width) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  const grow = (ax, ay, bx, by) => {
    x0 = Math.min(x0, ax); y0 = Math.min(y0, ay); x1 = Math.max(x1, bx); y1 = Math.max(y1, by);
  };
  let labelled = 0; // characters of the longest label in the rightmost column
  let leftLabels = 0;
  nodes.forEach((d, i) => {
    if (!scene.visible[i]) return;
    const p = positions[i];
    const r = d.kind === "input" && image ? cell / 2 : C.nodeRadius;
    grow(p.x - r, p.y - r, p.x + r, p.y + r);
    if (scene.nodes[i].label && p.x >= x1 - r) labelled = Math.max(labelled, scene.nodes[i].label[0].length);
    if (scene.nodes[i].labelSide === "left") leftLabels = Math.max(leftLabels, scene.nodes[i].label[0].length);
  });
  for (const im of scene.images) grow(im.x, im.y, im.x + im.w, im.y + im.h);
  if (x0 === Infinity) return null;
  const pad = C.fitPadding;
  const phone = width < C.phoneWidth;
  const labelRoom = Math.min(width * 0.25, C.labelPx * 0.61 * Math.min(labelled + 14, phone ? 12 : 40) + 6);
  const titleRoom = C.titlePx * 2.5;
  const leftRoom = Math.min(width * (phone ? 0.08 : 0.22), leftLabels * C.labelPx * 0.61 + 8);
  const kWidth = Math.min((width - 2 * pad - labelRoom - leftRoom) / Math.max(1, x1 - x0), C.fitMaxScale);
  return { x0, y0, x1, y1, pad, phone, labelRoom, titleRoom, leftRoom, kWidth,
    neededHeight: kWidth * (y1 - y0) + 2 * pad + titleRoom };
}

// The transform {k, x, y} that centres the frame in a stage of this size.
export function fitTransform(f, width, height) {
  const k = Math.min(f.kWidth, (height - 2 * f.pad - f.titleRoom) / Math.max(1, f.y1 - f.y0));
  return { k,
    x: f.pad + f.leftRoom + (width - 2 * f.pad - f.labelRoom - f.leftRoom - k * (f.x1 - f.x0)) / 2 - k * f.x0,
    y: f.pad + f.titleRoom + (height - 2 * f.pad - f.titleRoom - k * (f.y1 - f.y0)) / 2 - k * f.y0 };
}

// How tall the stage is. On a phone, as tall as the graph needs at the column's width, not a
// fixed height with empty bands above and below. On a wider screen a wide, short graph
// (CartPole's) gets a figure no taller than it needs, decided once per width from the first
// view, so that choosing an output or a sample never makes the page jump. A figure's own page
// and full screen keep the stylesheet's height.
export function stageSizer(stage, { standalone = false } = {}) {
  let shortenedFor = null;
  const natural = () => standalone || document.fullscreenElement;
  return {
    phone(w, h) {
      if (natural()) {
        stage.style.height = null;
        return;
      }
      const height = Math.round(Math.max(260, Math.min(C.reportHeight, (stage.clientWidth - 100) * (h / w) + 90)));
      stage.style.height = `${height}px`;
    },
    wide(needed) {
      if (natural()) {
        stage.style.height = null;
        shortenedFor = null;
        return;
      }
      if (shortenedFor === stage.clientWidth) return;
      stage.style.height = null;
      const height = Math.round(Math.max(C.shortestStage, needed));
      if (height < stage.clientHeight) stage.style.height = `${height}px`;
      shortenedFor = stage.clientWidth;
    },
  };
}

// ---- moving between two layouts

export const reducedMotion = () => matchMedia("(prefers-reduced-motion: reduce)").matches;

// Nodes glide from one layout to another: onFrame(positions) once per animation frame.
export function glide(from, to, onFrame, duration = C.transitionMs) {
  const d3 = globalThis.d3;
  const start = performance.now();
  const stepFrame = (now) => {
    const u = Math.min(1, (now - start) / duration);
    const e = d3.easeCubicInOut(u);
    onFrame(from.map((p, i) => ({ x: p.x + (to[i].x - p.x) * e, y: p.y + (to[i].y - p.y) * e })));
    if (u < 1) requestAnimationFrame(stepFrame);
  };
  requestAnimationFrame(stepFrame);
}
