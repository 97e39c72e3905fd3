"""Per-sample traces: the value of every flowgraph node on chosen test images."""
from __future__ import annotations

import numpy as np

from generator.networks.data import Split
from generator.flowgraph.graph import evaluate


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
    samples = []
    for i, node_values in zip(chosen, values):
        samples.append({
            "id": f"t{i}",
            "test_index": int(i),
            "label": int(test.labels[i]),
            "prediction": int(predictions[i]),
            "pixels": test.pixels[i].tolist(),
            # 10 decimals: far below the 1e-5 the browser check allows, and a third of the bytes.
            "values": [round(float(v), 10) for v in node_values],
        })
    return samples
