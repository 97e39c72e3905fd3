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
