// The flowgraph as plain data and free functions over it: no DOM, no d3. Mirrors the Python
// evaluation in docs/schema.md so the page can recompute every node from a sample's pixels.

// compile(flowgraphJson) -> typed arrays. Edges are grouped by target (CSR) for evaluation and
// by source for walking downstream. Node order is kept: it is topological (schema.md).
export function compile(flowgraph) {
  const nodes = flowgraph.nodes;
  const n = nodes.length;
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const bias = new Float64Array(n);
  const isRelu = new Uint8Array(n);
  const pixel = new Int32Array(n).fill(-1); // index into the 784 pixels, -1 for non-inputs
  nodes.forEach((node, i) => {
    if (node.kind === "input") pixel[i] = node.index;
    else {
      bias[i] = node.bias;
      isRelu[i] = node.activation === "relu" ? 1 : 0;
    }
  });

  const edges = flowgraph.edges;
  const m = edges.length;
  const edgeSource = new Int32Array(m);
  const edgeTarget = new Int32Array(m);
  edges.forEach((e, k) => {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined) throw new Error(`edge ${e.source}->${e.target}: unknown node`);
    if (s >= t) throw new Error(`edge ${e.source}->${e.target}: nodes are not in topological order`);
    edgeSource[k] = s;
    edgeTarget[k] = t;
  });

  const incoming = groupBy(edgeTarget, n); // offsets, order (edge indices grouped by target)
  const outgoing = groupBy(edgeSource, n);
  const sources = new Int32Array(m);
  const weights = new Float64Array(m);
  incoming.order.forEach((k, j) => {
    sources[j] = edgeSource[k];
    weights[j] = edges[k].weight;
  });

  const shape = flowgraph.input_shape ?? [28, 28];
  return {
    n, inputSize: shape[0] * shape[1], ids: nodes.map((node) => node.id), index, bias, isRelu, pixel,
    offsets: incoming.offsets, sources, weights, // CSR by target
    edgeSource, edgeTarget, // per edge, in flowgraph.edges order
    outOffsets: outgoing.offsets, outEdges: outgoing.order, // edge indices grouped by source
    inEdges: incoming.order, // edge indices grouped by target, aligned with sources/weights
  };
}

// Counting sort of edge indices by key: offsets has n + 1 entries.
function groupBy(keys, n) {
  const offsets = new Int32Array(n + 1);
  for (const key of keys) offsets[key + 1] += 1;
  for (let i = 0; i < n; i++) offsets[i + 1] += offsets[i];
  const fill = offsets.slice(0, n);
  const order = new Int32Array(keys.length);
  keys.forEach((key, k) => { order[fill[key]++] = k; });
  return { offsets, order };
}

// evaluate(compiled, pixels) -> Float64Array of node values in node order.
// pixels: 784 integers 0-255; an input's value is pixel / 255 (input_range [0, 1]).
export function evaluate(g, pixels) {
  const values = new Float64Array(g.n);
  for (let i = 0; i < g.n; i++) {
    if (g.pixel[i] >= 0) {
      values[i] = pixels[g.pixel[i]] / 255;
      continue;
    }
    let s = 0;
    for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) s += g.weights[j] * values[g.sources[j]];
    s += g.bias[i];
    values[i] = g.isRelu[i] && s < 0 ? 0 : s;
  }
  return values;
}

// ancestors / descendants: the ids of every node with a path to / from nodeId (not itself).
export function ancestors(g, nodeId) {
  return walk(g, nodeId, (i, visit) => {
    for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) visit(g.sources[j]);
  });
}

export function descendants(g, nodeId) {
  return walk(g, nodeId, (i, visit) => {
    for (let j = g.outOffsets[i]; j < g.outOffsets[i + 1]; j++) visit(g.edgeTarget[g.outEdges[j]]);
  });
}

function walk(g, nodeId, neighbours) {
  const start = g.index.get(nodeId);
  if (start === undefined) throw new Error(`unknown node ${nodeId}`);
  const seen = new Uint8Array(g.n);
  const stack = [start];
  const found = new Set();
  const visit = (i) => {
    if (!seen[i]) {
      seen[i] = 1;
      found.add(g.ids[i]);
      stack.push(i);
    }
  };
  while (stack.length) neighbours(stack.pop(), visit);
  return found;
}

// firstLayerFilters(compiled) -> [{id, index, weights: Float64Array(784)}], one per neuron fed
// directly by input nodes, in node order; weights has one entry per pixel (784), and pixels the neuron does not read have weight 0.
export function firstLayerFilters(g) {
  const filters = [];
  for (let i = 0; i < g.n; i++) {
    let weights = null;
    for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) {
      const p = g.pixel[g.sources[j]];
      if (p < 0) continue;
      weights ??= new Float64Array(g.inputSize);
      weights[p] += g.weights[j];
    }
    if (weights) filters.push({ id: g.ids[i], index: i, weights });
  }
  return filters;
}
