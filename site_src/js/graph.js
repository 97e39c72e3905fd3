// The flowgraph as plain data and free functions over it: no DOM, no d3. Mirrors the Python
// evaluation in docs/schema.md, so the page can recompute every node from an input.

// compile(flowgraphJson) -> typed arrays. Edges are grouped by target (CSR) for evaluation and
// by source for walking downstream. Node order is kept: it is topological (schema.md).
export function compile(flowgraph) {
  const nodes = flowgraph.nodes;
  const n = nodes.length;
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const bias = new Float64Array(n);
  const isRelu = new Uint8Array(n);
  const input = new Int32Array(n).fill(-1); // index into the input vector, -1 for non-inputs
  nodes.forEach((node, i) => {
    if (node.kind === "input") input[i] = node.index;
    else {
      bias[i] = node.bias;
      isRelu[i] = node.activation === "relu" ? 1 : 0;
    }
  });

  const edges = flowgraph.edges;
  const m = edges.length;
  const edgeSource = new Int32Array(m);
  const edgeTarget = new Int32Array(m);
  const edgeWeight = new Float64Array(m);
  edges.forEach((e, k) => {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined) throw new Error(`edge ${e.source}->${e.target}: unknown node`);
    if (s >= t) throw new Error(`edge ${e.source}->${e.target}: nodes are not in topological order`);
    edgeSource[k] = s;
    edgeTarget[k] = t;
    edgeWeight[k] = e.weight;
  });

  const incoming = groupBy(edgeTarget, n); // offsets, order (edge indices grouped by target)
  const outgoing = groupBy(edgeSource, n);
  const sources = new Int32Array(m);
  const weights = new Float64Array(m);
  incoming.order.forEach((k, j) => {
    sources[j] = edgeSource[k];
    weights[j] = edgeWeight[k];
  });

  const shape = flowgraph.input_shape ?? [28, 28];
  return {
    n, m, shape, image: shape.length === 2, inputSize: shape.reduce((a, b) => a * b, 1),
    ids: nodes.map((node) => node.id), index, bias, isRelu, input,
    offsets: incoming.offsets, sources, weights, // CSR by target
    edgeSource, edgeTarget, edgeWeight, // per edge, in flowgraph.edges order
    inEdges: incoming.order, // edge indices grouped by target, aligned with sources/weights
    outOffsets: outgoing.offsets, outEdges: outgoing.order, // edge indices grouped by source
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

// evaluate(compiled, inputs, weights?) -> Float64Array of node values in node order.
// inputs: the network's input vector (for an image, pixel / 255); weights: CSR weights to use
// instead of the graph's (e.g. with pruned edges set to 0).
export function evaluate(g, inputs, weights = g.weights) {
  const values = new Float64Array(g.n);
  for (let i = 0; i < g.n; i++) {
    if (g.input[i] >= 0) {
      values[i] = inputs[g.input[i]];
      continue;
    }
    let s = 0;
    for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) s += weights[j] * values[g.sources[j]];
    s += g.bias[i];
    values[i] = g.isRelu[i] && s < 0 ? 0 : s;
  }
  return values;
}

// pixelInputs(pixels): an image's 0-255 pixels as the network reads them (input_range [0, 1]).
export function pixelInputs(pixels) {
  const x = new Float64Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i] / 255;
  return x;
}

export const evaluatePixels = (g, pixels, weights) => evaluate(g, pixelInputs(pixels), weights);

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

// Node indices reachable upstream (or downstream) of node index i, as a mask; i included.
export function reachMask(g, i, down = false) {
  const mask = new Uint8Array(g.n);
  const stack = [i];
  mask[i] = 1;
  while (stack.length) {
    const k = stack.pop();
    if (down) {
      for (let j = g.outOffsets[k]; j < g.outOffsets[k + 1]; j++) {
        const t = g.edgeTarget[g.outEdges[j]];
        if (!mask[t]) { mask[t] = 1; stack.push(t); }
      }
    } else {
      for (let j = g.offsets[k]; j < g.offsets[k + 1]; j++) {
        const s = g.sources[j];
        if (!mask[s]) { mask[s] = 1; stack.push(s); }
      }
    }
  }
  return mask;
}

// firstLayerFilters(compiled) -> [{id, index, weights: Float64Array(inputSize)}], one per neuron
// fed directly by an image's pixels, in node order; pixels the neuron does not read weigh 0.
export function firstLayerFilters(g) {
  const filters = [];
  if (!g.image) return filters;
  for (let i = 0; i < g.n; i++) {
    let weights = null;
    for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) {
      const p = g.input[g.sources[j]];
      if (p < 0) continue;
      weights ??= new Float64Array(g.inputSize);
      weights[p] += g.weights[j];
    }
    if (weights) filters.push({ id: g.ids[i], index: i, weights });
  }
  return filters;
}

// The name a reader sees: x[row,col] for a pixel (the post's notation), the input's name for a
// state vector, the id otherwise.
export function displayName(node, shape) {
  if (node.kind === "input") {
    if (node.name) return node.name;
    if (shape && shape.length === 2) return `x[${Math.floor(node.index / shape[1])},${node.index % shape[1]}]`;
  }
  if (node.kind === "output" && node.name) return `${node.id} ${node.name}`;
  return node.id;
}

// batchEvaluator(compiled, images) -> {predict(weights) -> Int32Array of argmax classes}.
// images: {count, pixels: Uint8Array(count × inputSize)}. MNIST images are mostly black, so the
// inputs' contributions are scattered from each image's nonzero pixels only (about a fifth);
// the rest of the graph is evaluated node by node as evaluate() does.
export function batchEvaluator(g, images) {
  const { count, pixels } = images;
  const size = g.inputSize;
  // Each image's nonzero pixels, as one list: offsets, pixel indices, values (pixel / 255).
  const offsets = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) {
    let nonzero = 0;
    for (let p = i * size; p < (i + 1) * size; p++) if (pixels[p]) nonzero++;
    offsets[i + 1] = offsets[i] + nonzero;
  }
  const where = new Int32Array(offsets[count]);
  const amount = new Float64Array(offsets[count]);
  for (let i = 0, k = 0; i < count; i++) {
    for (let p = 0; p < size; p++) {
      const v = pixels[i * size + p];
      if (v) { where[k] = p; amount[k++] = v / 255; }
    }
  }
  const inputNode = new Int32Array(size).fill(-1); // pixel -> its input node, if the graph reads it
  for (let i = 0; i < g.n; i++) if (g.input[i] >= 0) inputNode[g.input[i]] = i;
  const outputs = [];
  for (let i = 0; i < g.n; i++) {
    if (g.input[i] < 0 && g.outOffsets[i] === g.outOffsets[i + 1]) outputs.push(i);
  }

  // Per non-input node, its CSR entries whose source is not an input (the inputs are scattered).
  const rest = [];
  const restOffsets = new Int32Array(g.n + 1);
  for (let i = 0; i < g.n; i++) {
    if (g.input[i] < 0) for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) if (g.input[g.sources[j]] < 0) rest.push(j);
    restOffsets[i + 1] = rest.length;
  }
  const restIndex = Int32Array.from(rest);
  const computed = []; // non-input nodes, in order
  for (let i = 0; i < g.n; i++) if (g.input[i] < 0) computed.push(i);

  return {
    count,
    // Predicted class of every image, with these CSR weights (pruned edges at 0).
    predict(weights = g.weights, classes = null) {
      const perEdge = new Float64Array(g.m);
      for (let j = 0; j < g.m; j++) perEdge[g.inEdges[j]] = weights[j];
      const values = new Float64Array(g.n);
      const pre = new Float64Array(g.n);
      const predictions = new Int32Array(count);
      const outputClass = classes ?? outputs.map((i, k) => k);
      for (let image = 0; image < count; image++) {
        for (let k = offsets[image]; k < offsets[image + 1]; k++) {
          const node = inputNode[where[k]];
          if (node < 0) continue;
          const v = amount[k];
          values[node] = v;
          for (let j = g.outOffsets[node]; j < g.outOffsets[node + 1]; j++) {
            const e = g.outEdges[j];
            pre[g.edgeTarget[e]] += perEdge[e] * v;
          }
        }
        for (const i of computed) {
          let s = pre[i];
          for (let q = restOffsets[i]; q < restOffsets[i + 1]; q++) {
            const j = restIndex[q];
            s += weights[j] * values[g.sources[j]];
          }
          s += g.bias[i];
          values[i] = g.isRelu[i] && s < 0 ? 0 : s;
          pre[i] = 0;
        }
        let best = 0;
        for (let k = 1; k < outputs.length; k++) if (values[outputs[k]] > values[outputs[best]]) best = k;
        predictions[image] = outputClass[best];
        for (let k = offsets[image]; k < offsets[image + 1]; k++) { // back to zeros for the next image
          const node = inputNode[where[k]];
          if (node >= 0) values[node] = 0;
        }
      }
      return predictions;
    },
  };
}

// Nodes a pruning mask (over edges, 1 = removed) leaves out: those (not inputs) whose every
// incoming edge is removed, and those no output can be reached from, repeated until nothing
// changes. Returns a mask over nodes (all 0 without a mask).
export function deadNodes(g, mask) {
  const dead = new Uint8Array(g.n);
  if (!mask) return dead;
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = 0; i < g.n; i++) {
      if (dead[i]) continue;
      let fed = g.input[i] >= 0 || g.offsets[i] === g.offsets[i + 1]; // inputs and constant outputs stay
      for (let j = g.offsets[i]; j < g.offsets[i + 1] && !fed; j++) fed = !mask[g.inEdges[j]] && !dead[g.sources[j]];
      let feeds = g.outOffsets[i] === g.outOffsets[i + 1] && g.input[i] < 0; // an output
      for (let j = g.outOffsets[i]; j < g.outOffsets[i + 1] && !feeds; j++) {
        const k = g.outEdges[j];
        feeds = !mask[k] && !dead[g.edgeTarget[k]];
      }
      if (!fed || !feeds) { dead[i] = 1; changed = true; }
    }
  }
  return dead;
}

// The nodes on a path from one of `ids` to another (one id alone: it and its neighbours): what a
// pinned view shows.
export function pathsBetween(g, ids) {
  const keep = new Set(ids);
  const up = new Map(); // id -> its ancestors, walked once
  for (const a of ids) {
    const down = descendants(g, a);
    for (const b of ids) {
      if (a === b || !down.has(b)) continue;
      if (!up.has(b)) up.set(b, ancestors(g, b));
      for (const id of down) if (up.get(b).has(id)) keep.add(id);
    }
  }
  if (ids.length === 1) {
    const i = g.index.get(ids[0]);
    for (let j = g.offsets[i]; j < g.offsets[i + 1]; j++) keep.add(g.ids[g.sources[j]]);
    for (let j = g.outOffsets[i]; j < g.outOffsets[i + 1]; j++) keep.add(g.ids[g.edgeTarget[g.outEdges[j]]]);
  }
  return keep;
}

// A compact layout for a handful of nodes: each layer a column (in the full layout's order, at
// its x), its nodes spread evenly.
export function compactLayout(graph, subset) {
  const byLayer = new Map();
  graph.nodes.forEach((d, i) => {
    if (!subset[i]) return;
    if (!byLayer.has(d.layer)) byLayer.set(d.layer, []);
    byLayer.get(d.layer).push(i);
  });
  const positions = graph.nodes.map((d) => ({ x: d.x, y: d.y }));
  const layers = [...byLayer.keys()].sort((a, b) => a - b);
  layers.forEach((layer, column) => {
    const members = byLayer.get(layer).sort((a, b) => graph.nodes[a].y - graph.nodes[b].y || graph.nodes[a].x - graph.nodes[b].x);
    members.forEach((i, k) => { positions[i] = { x: column * 260, y: (k - (members.length - 1) / 2) * 56 }; });
  });
  return positions;
}
