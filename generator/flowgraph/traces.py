"""Per-sample traces: the value of every flowgraph node on chosen test images."""
from __future__ import annotations

import numpy as np

from generator.networks.data import Split
from generator.flowgraph.graph import evaluate, output_logits


def choose_samples(labels: np.ndarray, predictions: np.ndarray, per_class: int, misclassified: int) -> list[int]:
    """The first `per_class` correct test images of each class, then the first `misclassified`
    wrong ones, in test-set order within each group."""
    chosen = []
    for c in range(10):
        correct = np.flatnonzero((labels == c) & (predictions == c))
        chosen.extend(correct[:per_class].tolist())
    wrong = np.flatnonzero(labels != predictions)
    chosen.extend(wrong[:misclassified].tolist())
    return chosen


def sample_traces(graph: dict, predictions: np.ndarray, test: Split, per_class: int, misclassified: int) -> list[dict]:
    """`predictions` come from the build's exactness check over the whole test set. Values are
    evaluated on pixel / 255 in float64, exactly what the browser computes from `pixels`."""
    chosen = choose_samples(test.labels, predictions, per_class, misclassified)
    values = evaluate(graph, test.pixels[chosen] / 255.0)
    return [trace(f"t{i}", int(i), int(test.labels[i]), int(predictions[i]), test.pixels[i], node_values)
            for i, node_values in zip(chosen, values)]


def trace(sample_id: str, test_index: int, label: int, prediction: int, pixels: np.ndarray,
          values: np.ndarray, note: str | None = None) -> dict:
    """One sample of traces.json: a test image (as shipped: uint8 pixels, perhaps changed, which
    `note` says) and every node's value on it."""
    sample = {"id": sample_id, "test_index": test_index, "label": label, "prediction": prediction,
              "pixels": [int(p) for p in pixels],
              # 10 decimals: far below the 1e-5 the browser check allows, and a third of the bytes.
              "values": [round(float(v), 10) for v in values]}
    return {**sample, "note": note} if note else sample


def graph_trace(graph: dict, sample_id: str, test_index: int, label: int, pixels: np.ndarray,
                note: str | None = None) -> dict:
    """trace() of one image through `graph`, its prediction the graph's own."""
    values = evaluate(graph, pixels[None, :] / 255.0)
    prediction = int(output_logits(graph, values)[0].argmax())
    return trace(sample_id, test_index, label, prediction, pixels, values[0], note)
