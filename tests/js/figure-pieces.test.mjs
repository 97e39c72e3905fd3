// Unit tests of the figures' shared pieces that are plain functions (hit testing, the keyboard
// walk, label placement, dead nodes, the view's zoom string and fit), on tiny cases computed by
// hand. Run: node --experimental-detect-module --test tests/js/  (tests/test_js_units.py does).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

globalThis.d3 = createRequire(import.meta.url)("../../site_src/vendor/d3.min.js");
const { bezierDistance, edgeAt, farEnd, nodeAt, nodeQuadtree, segmentDistance } = await import("../../site_src/js/hit.js");
const { graphKeys, neighbour, panStep } = await import("../../site_src/js/keyboard.js");
const { placeLabels } = await import("../../site_src/js/labels.js");
const { compile, deadNodes } = await import("../../site_src/js/graph.js");
const { fitTransform, formatZoom, parseZoom, resolveView } = await import("../../site_src/js/view.js");

const identity = { k: 1, x: 0, y: 0 };
const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} is not ${b}`);

// x0, x1 -> h0, h1 -> y0 in three columns (x = 0, 100, 200):
//   x0→h0: 2   x0→h1: −3   x1→h0: 0.5   h0→y0: 1   h1→y0: −0.25
function tinyGraph() {
  const node = (id, kind, layer, x, y, extra = {}) => ({ id, kind, layer, x, y, bias: 0, bounds: [0, 1], ...extra });
  const nodes = [
    node("x0", "input", 0, 0, 0, { index: 0 }), node("x1", "input", 0, 0, 100, { index: 1 }),
    node("h0", "neuron", 1, 100, 0, { activation: "relu" }), node("h1", "neuron", 1, 100, 100, { activation: "relu" }),
    node("y0", "output", 2, 200, 50, { activation: "identity", class: 0 }),
  ];
  const edge = (source, target, weight) => ({ source, target, weight });
  const edges = [edge("x0", "h0", 2), edge("x0", "h1", -3), edge("x1", "h0", 0.5), edge("h0", "y0", 1),
    edge("h1", "y0", -0.25)];
  return { nodes, edges, input_shape: [2] };
}
const X0 = 0, X1 = 1, H0 = 2, H1 = 3, Y0 = 4;
const all = new Uint8Array(5).fill(1);

// ---- hit.js

test("segment distance: perpendicular in the middle, to the nearer end beyond it", () => {
  close(segmentDistance(5, 3, 0, 0, 10, 0), 3);
  close(segmentDistance(13, 4, 0, 0, 10, 0), 5); // 3-4-5 from the end (10, 0)
  close(segmentDistance(1, 1, 2, 2, 2, 2), Math.SQRT2); // a segment that is a point
});

test("the painter's curve: straight when both ends are level, through the middle point otherwise", () => {
  close(bezierDistance(5, 3, 0, 0, 10, 0), 3, 1e-6);
  assert.ok(bezierDistance(50, 50, 0, 0, 100, 100) < 1e-9); // the cubic is symmetric about its middle
  // Near an end the curve runs level (control points at the middle x), unlike the straight line.
  assert.ok(bezierDistance(10, 10, 0, 0, 100, 100) > 5);
  assert.ok(segmentDistance(10, 10, 0, 0, 100, 100) < 1e-9);
});

test("edgeAt: the nearest visible edge within the tolerance, in screen px under the zoom", () => {
  const edges = { sx: [0, 0, 0], sy: [0, 10, 20], tx: [100, 100, 100], ty: [0, 10, 20], visible: [1, 0, 1] };
  assert.equal(edgeAt(edges, identity, [50, 2], { curved: true }), 0);
  assert.equal(edgeAt(edges, identity, [50, 16], { curved: true }), 2); // edge 1 (10 px) is hidden
  assert.equal(edgeAt(edges, identity, [50, 10], { curved: true }), -1); // 10 px from both visible ones
  assert.equal(edgeAt(edges, identity, [120, 0], { curved: false }), -1); // beyond the ends
  // Zoomed ×2 and moved by (10, 5): edge 2 is at y = 45 on screen.
  assert.equal(edgeAt(edges, { k: 2, x: 10, y: 5 }, [110, 44], { curved: false }), 2);
  assert.equal(edgeAt(edges, identity, [50, 7], { curved: true, tolerance: 2 }), -1);
});

test("nodeAt: the nearest visible node within a radius of screen px (at least minRadius layout units)", () => {
  const positions = [{ x: 0, y: 0 }, { x: 100, y: 0 }, { x: 50, y: 0 }];
  const tree = nodeQuadtree(positions, [1, 1, 0]);
  const options = { radiusPx: 14, minRadius: 9 };
  assert.equal(nodeAt(tree, identity, [10, 0], options), 0);
  assert.equal(nodeAt(tree, identity, [92, 3], options), 1);
  assert.equal(nodeAt(tree, identity, [50, 0], options), -1); // node 2 is hidden, the others too far
  // Zoomed out ×0.1, 14 px are 140 layout units: node 2's place now finds a neighbour.
  assert.notEqual(nodeAt(tree, { k: 0.1, x: 0, y: 0 }, [5, 0], options), -1);
  // Zoomed in ×10, 14 px are 1.4 units, but minRadius keeps 9.
  assert.equal(nodeAt(tree, { k: 10, x: 0, y: 0 }, [85, 0], options), 0);
  assert.equal(nodeAt(null, identity, [0, 0], options), -1);
});

test("farEnd: a click near one end of an edge goes to the other", () => {
  const positions = [{ x: 0 }, { x: 100 }];
  assert.equal(farEnd(0, 1, positions, 10), 1);
  assert.equal(farEnd(0, 1, positions, 90), 0);
});

// ---- keyboard.js

test("neighbour: right and left follow the strongest edge, by weight or by what it carries", () => {
  const fg = tinyGraph();
  const g = compile(fg);
  const walk = (i, key, extra = {}) => neighbour(g, i, key, { visible: all, nodes: fg.nodes,
    positions: fg.nodes, ...extra });
  assert.equal(walk(X0, "ArrowRight"), H1); // |−3| > |2|
  assert.equal(walk(H0, "ArrowLeft"), X0); // |2| > |0.5|
  assert.equal(walk(Y0, "ArrowLeft"), H0); // |1| > |−0.25|
  // With values: into y0, h0 carries 1 × 0.1, h1 carries −0.25 × 4.
  const values = Float64Array.from([1, 1, 0.1, 4, 0]);
  assert.equal(walk(Y0, "ArrowLeft", { values }), H1);
  // Hidden nodes are skipped; a node with nowhere to go gives −1.
  assert.equal(walk(X0, "ArrowRight", { visible: Uint8Array.from([1, 1, 1, 0, 1]) }), H0);
  assert.equal(walk(Y0, "ArrowRight"), -1);
  assert.equal(walk(-1, "ArrowRight", { start: Y0 }), Y0); // from nowhere: the start
});

test("neighbour: up and down move within the layer, by position, and stop at its ends", () => {
  const fg = tinyGraph();
  const g = compile(fg);
  const walk = (i, key) => neighbour(g, i, key, { visible: all, nodes: fg.nodes, positions: fg.nodes });
  assert.equal(walk(H0, "ArrowDown"), H1);
  assert.equal(walk(H1, "ArrowDown"), H1);
  assert.equal(walk(H1, "ArrowUp"), H0);
  assert.equal(walk(Y0, "ArrowUp"), Y0);
});

test("graphKeys: zoom keys first, Shift+arrows pan, arrows walk, Enter opens, Escape closes", () => {
  const calls = [];
  const zoom = { handleKey: (e) => e.key === "+", panBy: (dx, dy) => calls.push(["pan", dx, dy]) };
  const onKey = graphKeys({ zoom, scale: () => 2, walk: (key) => calls.push(["walk", key]),
    open: () => calls.push(["open"]), close: () => calls.push(["close"]) });
  const press = (key, shiftKey = false) => {
    const event = { key, shiftKey, prevented: false, preventDefault() { this.prevented = true; } };
    onKey(event);
    return event.prevented;
  };
  assert.equal(press("+"), true);
  assert.equal(press("ArrowLeft", true), true);
  assert.equal(press("ArrowDown"), true);
  assert.equal(press("Enter"), true);
  assert.equal(press(" "), true);
  assert.equal(press("Escape"), false); // Escape also leaves the figure's zoom mode: not swallowed
  assert.equal(press("a"), false);
  assert.deepEqual(calls, [["pan", 30, 0], ["walk", "ArrowDown"], ["open"], ["open"], ["close"]]);
  assert.deepEqual(panStep("ArrowUp", 0.5), [0, 120]);
  assert.deepEqual(panStep("ArrowRight", 1), [-60, 0]);
});

// ---- labels.js

const sizes = { width: 400, height: 300, charWidth: 6, lineHeight: 10 };
const candidate = (i, x, y, label, extra = {}) => ({ i, x, y, r: 5, label, ...extra });

test("placeLabels: labels that would overlap a label placed before them are left out", () => {
  const placed = placeLabels([candidate(0, 100, 100, ["first"]), candidate(1, 100, 104, ["second"]),
    candidate(2, 100, 130, ["third"])], sizes);
  assert.deepEqual(placed.map((l) => l.i), [0, 2]);
  // To the right of the node (x + r + 4), centred on it, as wide as its longest line.
  assert.deepEqual(placed[0].box, { x: 109, y: 95, w: 30, h: 10, node: 0 });
});

test("placeLabels: a second line only where there is room for it, after every first line", () => {
  const placed = placeLabels([candidate(0, 100, 100, ["a", "⟨0, 1⟩"]), candidate(1, 100, 112, ["b", "⟨0, 2⟩"]),
    candidate(2, 100, 200, ["c", "⟨0, 3⟩"])], sizes);
  assert.deepEqual(placed.map((l) => l.lines.length), [1, 1, 2]); // a's second line would cover b
});

test("placeLabels: named inputs may change sides, others may not; short labels stand in; obstacles count", () => {
  const left = placeLabels([candidate(0, 20, 100, ["a long name"], { labelSide: "left" })], sizes);
  assert.ok(left[0].box.x > 20); // no room on the left: it moved right
  const right = placeLabels([candidate(0, 380, 100, ["a long name"])], sizes);
  assert.equal(right.length, 0); // no room on the right, and no side to move to
  const short = placeLabels([candidate(0, 330, 100, ["y7 [1.00] ◀ predicted"], { shortLabel: "y7 [1.00]" })], sizes);
  assert.deepEqual(short[0].lines, ["y7 [1.00]"]);
  const blocked = placeLabels([candidate(0, 100, 100, ["a"])], { ...sizes, obstacles: [{ x: 105, y: 90, w: 20, h: 20 }] });
  assert.equal(blocked.length, 0);
  const own = placeLabels([candidate(0, 100, 100, ["a"])], { ...sizes, obstacles: [{ x: 95, y: 95, w: 20, h: 10, node: 0 }] });
  assert.equal(own.length, 1); // a node's own disc does not count against its label
  assert.equal(placeLabels([candidate(0, 100, 400, ["off"])], sizes).length, 0); // off the stage
});

// ---- graph.js: dead nodes

test("deadNodes: a node with every input removed dies, and so does what only it fed or only fed it", () => {
  const fg = tinyGraph();
  const g = compile(fg);
  const ids = (dead) => fg.nodes.filter((d, i) => dead[i]).map((d) => d.id);
  assert.deepEqual(ids(deadNodes(g, null)), []);
  const edgeMask = (...ks) => Uint8Array.from(fg.edges, (e, k) => (ks.includes(k) ? 1 : 0));
  assert.deepEqual(ids(deadNodes(g, edgeMask(1))), ["h1"]); // x0→h1 was h1's only input
  assert.deepEqual(ids(deadNodes(g, edgeMask(3))), ["x1", "h0"]); // h0 reaches no output; x1 fed only h0
  assert.deepEqual(ids(deadNodes(g, edgeMask(0, 2))), ["x1", "h0"]);
});

// ---- view.js

test("the zoom round-trips through its URL form, and bad text is no zoom", () => {
  assert.equal(formatZoom({ k: 1.23456, x: 10.4, y: -3.6 }), "1.235,10,-4");
  assert.deepEqual(parseZoom("1.235,10,-4"), { k: 1.235, x: 10, y: -4 });
  for (const bad of ["", "1,2", "0,1,1", "-1,0,0", "a,b,c", null]) assert.equal(parseZoom(bad), null);
});

test("fitTransform centres the frame in the room left by the labels and titles", () => {
  const frame = { x0: 0, y0: 0, x1: 100, y1: 50, pad: 10, leftRoom: 0, labelRoom: 20, titleRoom: 30, kWidth: 2 };
  const t = fitTransform(frame, 240, 500);
  assert.equal(t.k, 2); // the width decides: (240 − 20 − 20) / 100
  assert.equal(t.x, 10); // no room to spare across
  assert.equal(t.y, 10 + 30 + (500 - 20 - 30 - 100) / 2); // centred in the height left
});

test("resolveView: unknown outputs, samples, nodes and pins fall back", () => {
  const fg = tinyGraph();
  const g = compile(fg);
  const known = { outputs: [fg.nodes[Y0]], samples: [{ id: "t1" }], g, filters: [] };
  assert.deepEqual(resolveView({ output: "0", sample: "t1", inputs: "filters", node: "h1", pins: "h0,zz,y0" }, known),
    { output: "0", sample: "t1", inputs: "pixels", node: "h1", pins: "h0,y0" });
  assert.deepEqual(resolveView({ output: "7", sample: "t9", node: "zz" }, known),
    { output: "all", sample: "none", inputs: "pixels", node: "", pins: "" });
});

test("a two-line label's halos are drawn before its text, so no halo covers the line above (h1_8)", async () => {
  const { paintScene } = await import("../../site_src/js/paint.js");
  const calls = [];
  const ctx = new Proxy({}, {
    get: (target, prop) => (prop in target ? target[prop] : (...args) => { calls.push([prop, ...args]); return { width: 10 }; }),
    set: (target, prop, value) => { target[prop] = value; return true; },
  });
  const scene = { nodes: [{ x: 100, y: 100, r: 4, label: ["h1_8", "⟨0, 1⟩"], priority: 1, shape: "circle" }],
    visible: [true], edges: { sx: [], visible: [] }, images: [], labelPx: 12, palette: [], radiusPx: [3, 8],
    titles: [], titlePx: 12 };
  const { labels } = paintScene(ctx, scene, identity, 400, 400);
  assert.equal(labels[0].lines, 2);
  const text = calls.filter((c) => c[0] === "strokeText" || c[0] === "fillText").map((c) => `${c[0]} ${c[1]}`);
  assert.deepEqual(text, ["strokeText h1_8", "strokeText ⟨0, 1⟩", "fillText h1_8", "fillText ⟨0, 1⟩"]);
});
