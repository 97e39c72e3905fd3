// Unit tests of the looking-inside figures' plain functions on cases computed by hand: exact
// contributions (they add up with the region's constant to the logit), the t-SNE map's fit and
// the placement of a drawing among its nearest neighbours, a mosaic's most common digit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

globalThis.d3 = createRequire(import.meta.url)("../../site_src/vendor/d3.min.js");
const { compile } = await import("../../site_src/js/graph.js");
const { exactContributions } = await import("../../site_src/js/contributions.js");
const { fitPoints, placeByNeighbours } = await import("../../site_src/js/tsne.js");
const { commonDigit } = await import("../../site_src/js/stimuli.js");
const { augment, mulberry32, pruneForSample, solve } = await import("../../site_src/js/spade.js");
const { circuitGraph } = await import("../../site_src/js/circuit.js");

const close = (a, b, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} is not ${b}`);

// x0, x1 -> h0 = relu(2 x0 + 0.5 x1 − 1), h1 = relu(−3 x0 + 1) -> y0 = h0 − 0.25 h1 + 0.1
const graph = compile({
  input_shape: [2],
  nodes: [{ id: "x0", kind: "input", index: 0 }, { id: "x1", kind: "input", index: 1 },
    { id: "h0", kind: "neuron", bias: -1, activation: "relu" }, { id: "h1", kind: "neuron", bias: 1, activation: "relu" },
    { id: "y0", kind: "output", class: 0, bias: 0.1, activation: "identity" }],
  edges: [{ source: "x0", target: "h0", weight: 2 }, { source: "x1", target: "h0", weight: 0.5 },
    { source: "x0", target: "h1", weight: -3 }, { source: "h0", target: "y0", weight: 1 },
    { source: "h1", target: "y0", weight: -0.25 }],
});

test("exact contributions follow the active paths and add up to the logit", () => {
  // x = (1, 0.4): h0 = 2 + 0.2 − 1 = 1.2 (on), h1 = −3 + 1 < 0 (off); y0 = 1.2 + 0.1 = 1.3.
  const found = exactContributions(graph, [1, 0.4], 4);
  close(found.logit, 1.3);
  close(found.contributions[0], 2 * 1);     // x0 only through h0: 2 × 1 × 1
  close(found.contributions[1], 0.5 * 0.4);
  close(found.constant, -1 + 0.1);          // h0's bias through h0, plus y0's; h1 is off
  close(found.contributions[0] + found.contributions[1] + found.constant, found.logit);
  // x = (0.1, 0): h0 off, h1 = 0.7 on: only h1's path and its bias count.
  const other = exactContributions(graph, [0.1, 0], 4);
  close(other.contributions[0], -3 * -0.25 * 0.1);
  close(other.constant, -0.25 * 1 + 0.1);
  close(other.contributions[0] + other.contributions[1] + other.constant, other.logit);
});

test("a map is fitted into the unit box keeping its shape, y up", () => {
  const { x, y } = fitPoints([0, 10, 5], [0, 5, 5]);
  assert.deepEqual(x, [0, 1000, 500]);
  assert.deepEqual(y, [750, 250, 250]);
});

test("a drawing lands at the mean position of its k nearest points in the layer's space", () => {
  const reference = Float32Array.from([0, 0, 1, 0, 0, 1, 5, 5]); // four points in 2-D
  const place = placeByNeighbours([0.2, 0.1], reference, 2, [10, 20, 30, 40], [1, 2, 3, 4], 2);
  assert.deepEqual(place.neighbours, [0, 1]);
  close(place.x, 15);
  close(place.y, 1.5);
});

test("a mosaic's most common digit and how many of its images are that digit", () => {
  assert.deepEqual(commonDigit([3, 3, 8, 3, 8]), { digit: 3, count: 3 });
  assert.deepEqual(commonDigit([5, 2, 2, 5]), { digit: 2, count: 2 }); // a tie: the smaller digit
});

test("SPADE's generator is mulberry32 and its solver solves", () => {
  const rand = mulberry32(1); // the values generator/inside/spade.py's test pins too
  [0.627073940588, 0.00273572118, 0.52744703996].forEach((v) => close(rand(), v, 1e-12));
  const x = solve([[0, 2, 1], [1, 1, 0], [3, 0, 1]].map((r) => Float64Array.from(r)), Float64Array.from([1, 2, 3]));
  // 2 x1 + x2 = 1, x0 + x1 = 2, 3 x0 + x2 = 3 (the first pivot is 0: rows must swap)
  close(2 * x[1] + x[2], 1);
  close(x[0] + x[1], 2);
  close(3 * x[0] + x[2], 3);
});

test("an image's first augmentation is itself, the others stay in [0, 1]", () => {
  const pixels = Array.from({ length: 784 }, (_, i) => (i * 37) % 256);
  const found = augment(pixels, 4, 7, { turn: 0.2, scale: 0.1, shift: 2, noise: 0.05 });
  assert.equal(found.length, 4);
  assert.deepEqual(Array.from(found[0]), pixels.map((p) => p / 255));
  for (const row of found) assert.ok(row.every((v) => v >= 0 && v <= 1));
});

test("a circuit keeps round(density × size) weights per layer, halves to even, refitted exactly", () => {
  // One linear layer 2 -> 1: y = 2 x0 + 0.1 x1 + 0.5. Keeping 1 weight (density 0.5 of 2) keeps
  // x0's, and the refit on inputs where x1 varies little recovers the best line through x0 alone.
  const layers = [{ weight: Float64Array.from([2, 0.1]), bias: Float64Array.from([0.5]), inputs: 2, relu: false }];
  const xs = [[0, 1], [1, 1], [2, 1], [3, 1]].map((r) => Float64Array.from(r));
  const [pruned] = pruneForSample(layers, xs, [0.5], 0);
  assert.equal(pruned.weight[1], 0);
  close(pruned.weight[0], 2, 1e-9);
  close(pruned.bias[0], 0.6, 1e-9); // 0.1 × 1 folded into the bias
  // 0.25 × 2 = 0.5 weights rounds to 0 (half to even), and at least one is kept.
  const [one] = pruneForSample(layers, xs, [0.25], 0);
  assert.equal(one.weight.filter((w) => w !== 0).length, 1);
});

test("a circuit's graph keeps what reaches an output, with interval bounds", () => {
  const dense = { input_range: [0, 1], edges: [], nodes: [
    { id: "x0", kind: "input", index: 0, layer: 0 }, { id: "x1", kind: "input", index: 1, layer: 0 },
    { id: "h1_0", kind: "neuron", unit: 0, layer: 1, bias: 0, activation: "relu" },
    { id: "h1_1", kind: "neuron", unit: 1, layer: 1, bias: 0, activation: "relu" },
    { id: "y0", kind: "output", class: 0, layer: 2, bias: 0, activation: "identity" }] };
  // h1_0 = relu(2 x0 − 1); h1_1 = relu(x1) reaches nothing; y0 = −h1_0 + 0.5
  const graph = circuitGraph(dense, [{ weight: [2, 0, 0, 1], bias: [-1, 0] }, { weight: [-1, 0], bias: [0.5] }]);
  assert.deepEqual(graph.nodes.map((d) => d.id), ["x0", "h1_0", "y0"]);
  assert.deepEqual(graph.edges.map((e) => [e.source, e.target, e.weight]), [["x0", "h1_0", 2], ["h1_0", "y0", -1]]);
  assert.deepEqual(graph.nodes[1].bounds, [0, 1]);
  assert.deepEqual(graph.nodes[2].bounds, [-0.5, 0.5]);
});
