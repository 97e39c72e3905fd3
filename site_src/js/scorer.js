// A worker that scores a graph on the 10,000 test images, so that the page never waits on it:
// it fetches and unpacks the images itself, builds the evaluator for each graph it is sent, and
// answers each request with every image's predicted class.

import { batchEvaluator, compile } from "./graph.js";
import { loadTestImages } from "./images.js";

let images = null;
let graph = null;
let evaluator = null; // built for `graph` when first needed
let classes = null;

async function load(url) {
  images = await loadTestImages(url);
  return images.labels.slice();
}

onmessage = async ({ data }) => {
  try {
    if (data.type === "images") {
      const labels = await load(data.url);
      postMessage({ type: "images", labels }, [labels.buffer]);
    } else if (data.type === "graph") {
      graph = data.graph;
      evaluator = null;
      classes = graph.nodes.filter((d) => d.kind === "output").sort((a, b) => a.class - b.class).map((d) => d.class);
    } else if (data.type === "score") {
      const t0 = performance.now();
      evaluator ??= batchEvaluator(compile(graph), images);
      const predictions = evaluator.predict(data.weights, classes);
      postMessage({ type: "score", id: data.id, key: data.key, predictions, ms: performance.now() - t0 },
        [predictions.buffer]);
    }
  } catch (error) {
    postMessage({ type: "error", message: `${data.type}: ${error.message}` });
  }
};
