// SPADE in the page: the circuit of one image, by the same steps as generator/inside/spade.py
// and in the same arithmetic order (every sum term by term, first to last), so that a test image
// gets the very circuit the build made for it, to the last bit. Plain functions over typed
// arrays: the worker (spade-worker.js) runs them, node's tests import them.

const SIDE = 28;
const CENTRE = (SIDE - 1) / 2;

// mulberry32 (Tommy Ettinger): floats in [0, 1), as generator/inside/spade.py draws them.
export function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The image (784 values 0..255) and count − 1 variants: rotated (tan of half the angle up to
// ± turn / 2), scaled by 1 ± scale, shifted by ± shift pixels, uniform noise ± noise, clipped.
export function augment(pixels, count, seed, { turn, scale, shift, noise }) {
  const image = Float64Array.from(pixels, (p) => p / 255);
  const out = [image];
  const rand = mulberry32(seed);
  for (let k = 1; k < count; k++) {
    const t = (rand() - 0.5) * turn;
    const c = (1 - t * t) / (1 + t * t);
    const s = (2 * t) / (1 + t * t);
    const zoom = 1 + (rand() - 0.5) * 2 * scale;
    const dx = (rand() - 0.5) * 2 * shift;
    const dy = (rand() - 0.5) * 2 * shift;
    const moved = new Float64Array(SIDE * SIDE);
    for (let row = 0; row < SIDE; row++) {
      for (let col = 0; col < SIDE; col++) {
        const x = col - CENTRE - dx;
        const y = row - CENTRE - dy;
        const sx = Math.floor((c * x + s * y) / zoom + CENTRE + 0.5);
        const sy = Math.floor((c * y - s * x) / zoom + CENTRE + 0.5);
        if (sx >= 0 && sx < SIDE && sy >= 0 && sy < SIDE) moved[row * SIDE + col] = image[sy * SIDE + sx];
      }
    }
    for (let i = 0; i < SIDE * SIDE; i++) moved[i] = Math.min(1, Math.max(0, moved[i] + (rand() - 0.5) * 2 * noise));
    out.push(moved);
  }
  return out;
}

// x Wᵀ + b for rows x (arrays of `inputs` values), W (outputs × inputs, row-major).
function affine(xs, weight, bias, inputs) {
  const outputs = bias.length;
  return xs.map((x) => {
    const y = new Float64Array(outputs);
    for (let j = 0; j < outputs; j++) {
      let total = 0;
      const row = j * inputs;
      for (let i = 0; i < inputs; i++) total += x[i] * weight[row + i];
      y[j] = total + bias[j];
    }
    return y;
  });
}

const relu = (xs) => xs.map((x) => x.map((v) => (v > 0 ? v : 0)));

// Python's round(): halves to even.
function roundHalfEven(v) {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// The pruned layers [{weight, bias}] of dense layers [{weight, bias, inputs, relu}] for one
// image's augmentations: per layer, the round(density × size) weights with the largest
// |w| · ‖x‖ (ties to the earlier weight), each neuron's kept weights and bias refitted by ridge
// least squares to the dense layer's values on the augmentations.
export function pruneForSample(layers, augmentations, densities, ridge) {
  let x = augmentations;
  let xDense = augmentations;
  const pruned = [];
  layers.forEach((layer, k) => {
    const { weight, bias, inputs } = layer;
    const outputs = bias.length;
    const target = affine(xDense, weight, bias, inputs);
    const norms = new Float64Array(inputs);
    for (const row of x) for (let i = 0; i < inputs; i++) norms[i] = norms[i] + row[i] * row[i];
    for (let i = 0; i < inputs; i++) norms[i] = Math.sqrt(norms[i]);
    const score = new Float64Array(weight.length);
    for (let w = 0; w < weight.length; w++) score[w] = Math.abs(weight[w]) * norms[w % inputs];
    const keep = Math.max(1, roundHalfEven(densities[k] * weight.length));
    const order = Array.from(score.keys()).sort((a, b) => score[b] - score[a] || a - b);
    const kept = new Uint8Array(weight.length);
    for (let r = 0; r < keep; r++) kept[order[r]] = 1;
    const newWeight = new Float64Array(weight.length);
    const newBias = new Float64Array(outputs);
    for (let j = 0; j < outputs; j++) {
      const columns = [];
      for (let i = 0; i < inputs; i++) if (kept[j * inputs + i]) columns.push(i);
      const solution = refit(x, columns, target.map((t) => t[j]), ridge);
      columns.forEach((i, c) => { newWeight[j * inputs + i] = solution[c]; });
      newBias[j] = solution[columns.length];
    }
    pruned.push({ weight: newWeight, bias: newBias });
    x = affine(x, newWeight, newBias, inputs);
    if (layer.relu) x = relu(x);
    xDense = layer.relu ? relu(target) : target;
  });
  return pruned;
}

// Weights (one per column of x) and a bias minimising ‖x w + b − y‖² + ridge ‖w‖², by the normal
// equations.
export function refit(x, columns, y, ridge) {
  const k = columns.length;
  const size = k + 1;
  const a = Array.from({ length: size }, () => new Float64Array(size));
  const b = new Float64Array(size);
  const design = new Float64Array(size);
  x.forEach((row, n) => {
    columns.forEach((i, c) => { design[c] = row[i]; });
    design[k] = 1;
    for (let p = 0; p < size; p++) {
      for (let q = 0; q < size; q++) a[p][q] = a[p][q] + design[p] * design[q];
      b[p] = b[p] + design[p] * y[n];
    }
  });
  for (let p = 0; p < k; p++) a[p][p] += ridge;
  return solve(a, b);
}

// a x = b by Gaussian elimination with partial pivoting (a and b are overwritten).
export function solve(a, b) {
  const n = b.length;
  for (let i = 0; i < n; i++) {
    let p = i;
    for (let r = i + 1; r < n; r++) if (Math.abs(a[r][i]) > Math.abs(a[p][i])) p = r;
    if (p !== i) {
      [a[i], a[p]] = [a[p], a[i]];
      [b[i], b[p]] = [b[p], b[i]];
    }
    if (a[i][i] === 0) continue;
    for (let r = i + 1; r < n; r++) {
      const f = a[r][i] / a[i][i];
      if (f !== 0) {
        for (let c = i; c < n; c++) a[r][c] -= f * a[i][c];
        b[r] -= f * b[i];
      }
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let done = 0;
    for (let j = i + 1; j < n; j++) done += a[i][j] * x[j];
    x[i] = a[i][i] === 0 ? 0 : (b[i] - done) / a[i][i];
  }
  return x;
}

// The dense network's layers, read off its exact flowgraph (every weight present: the build
// checks that the graph it points the page at is the whole dense network).
export function denseLayers(flowgraph) {
  const nodes = flowgraph.nodes;
  const depth = Math.max(...nodes.map((d) => d.layer));
  const columns = Array.from({ length: depth + 1 }, (_, k) => nodes.filter((d) => d.layer === k)
    .sort((p, q) => (p.index ?? p.unit ?? p.class) - (q.index ?? q.unit ?? q.class)));
  const place = new Map();
  columns.forEach((column) => column.forEach((d, i) => place.set(d.id, i)));
  const layerOf = new Map(nodes.map((d) => [d.id, d.layer]));
  const layers = columns.slice(1).map((column, k) => ({
    inputs: columns[k].length, ids: column.map((d) => d.id), sources: columns[k].map((d) => d.id),
    weight: new Float64Array(column.length * columns[k].length), bias: Float64Array.from(column, (d) => d.bias),
    relu: column[0].activation === "relu",
  }));
  for (const e of flowgraph.edges) {
    const layer = layers[layerOf.get(e.target) - 1];
    layer.weight[place.get(e.target) * layer.inputs + place.get(e.source)] = e.weight;
  }
  return layers;
}

// Predicted class of each input row through layers [{weight, bias, inputs, relu}] (the first
// largest logit).
export function predict(layers, xs) {
  let x = xs;
  for (const layer of layers) {
    x = affine(x, layer.weight, layer.bias, layer.inputs);
    if (layer.relu) x = relu(x);
  }
  return x.map((logits) => logits.reduce((best, v, i) => (v > logits[best] ? i : best), 0));
}

// One image's circuit, with what the page reports about it: the pruned layers, their
// parameters as float32 (the circuit is that network, as its flowgraph stores it), its
// prediction and the dense network's, and how often they agree on the augmentations.
export function circuit(dense, pixels, seed, config) {
  const augmentations = augment(pixels, config.augmentations, seed, config);
  const pruned = pruneForSample(dense, augmentations, config.densities, config.ridge);
  const network = pruned.map((p, k) => ({ ...dense[k], weight: p.weight.map(Math.fround), bias: p.bias.map(Math.fround) }));
  const mine = predict(network, augmentations);
  const theirs = predict(dense, augmentations);
  const agree = mine.filter((c, i) => c === theirs[i]).length;
  const kept = pruned.reduce((total, p) => total + p.weight.reduce((n, w) => n + (w !== 0 ? 1 : 0), 0), 0);
  return { pruned, network, kept, prediction: mine[0], densePrediction: theirs[0], agree, augmentations: mine.length };
}
