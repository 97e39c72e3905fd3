// A worker that computes SPADE circuits (spade.js) so the page never waits on one: the page sends
// the dense network's layers once (read off the flowgraph it has loaded anyway), then each image;
// the worker answers with the image's circuit.

import { circuit } from "./spade.js";

let dense = null;
let config = null;

onmessage = ({ data }) => {
  try {
    if (data.type === "dense") {
      dense = data.layers;
      config = data.config;
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
