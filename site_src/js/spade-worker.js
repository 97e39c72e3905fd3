// A worker that computes SPADE circuits (spade.js) so the page never waits on one: it fetches the
// dense network's flowgraph itself, then answers each image with its circuit's parameters.

import { circuit, denseLayers } from "./spade.js";

let dense = null;
let config = null;

onmessage = async ({ data }) => {
  try {
    if (data.type === "dense") {
      const response = await fetch(data.url);
      if (!response.ok) throw new Error(`${data.url}: HTTP ${response.status}`);
      dense = denseLayers(await response.json());
      config = data.config;
      postMessage({ type: "ready" });
    } else if (data.type === "circuit") {
      const t0 = performance.now();
      const found = circuit(dense, data.pixels, data.seed, config);
      const layers = found.network.map((layer) => ({ weight: layer.weight, bias: layer.bias }));
      postMessage({ type: "circuit", id: data.id, ms: performance.now() - t0, layers, kept: found.kept,
        prediction: found.prediction, densePrediction: found.densePrediction, agree: found.agree,
        augmentations: found.augmentations },
      layers.flatMap((layer) => [layer.weight.buffer, layer.bias.buffer]));
    }
  } catch (error) {
    postMessage({ type: "error", id: data.id, message: `${data.type}: ${error.message}` });
  }
};
