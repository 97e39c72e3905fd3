// Exact contributions: on one input a ReLU network is one affine function (the neurons that are
// on stay on, the others off), so a logit is exactly Σ contribution(input) + constant, where
// contribution(input) = input × (sum over its paths through the active neurons of the product of
// their weights) and the constant is that same affine function on a zero input. Mirrors
// generator/inside/attributions.py exact_contributions; the tests compare the two.

import { evaluate } from "./graph.js";

// exactContributions(compiled, inputs, outputNode) -> {contributions: Float64Array(inputSize),
// constant, logit, values}. outputNode: the node index of the logit.
export function exactContributions(g, inputs, outputNode) {
  const values = evaluate(g, inputs);
  const on = (i) => (g.isRelu[i] ? values[i] > 0 : true);
  // Backward in reverse node order (node order is topological): how much one unit more at each
  // node moves the logit, through active neurons only.
  const grad = new Float64Array(g.n);
  grad[outputNode] = 1;
  for (let i = g.n - 1; i >= 0; i--) {
    if (g.input[i] >= 0 || !grad[i] || !on(i)) continue;
    for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) grad[g.sources[j]] += g.weights[j] * grad[i];
  }
  const contributions = new Float64Array(g.inputSize);
  for (let i = 0; i < g.n; i++) if (g.input[i] >= 0) contributions[g.input[i]] = grad[i] * inputs[g.input[i]];
  // The region's affine function on a zero input: every neuron keeps its on/off state.
  const zero = new Float64Array(g.n);
  for (let i = 0; i < g.n; i++) {
    if (g.input[i] >= 0) continue;
    let s = g.bias[i];
    for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) s += g.weights[j] * zero[g.sources[j]];
    zero[i] = on(i) ? s : 0;
  }
  return { contributions, constant: zero[outputNode], logit: values[outputNode], values };
}
