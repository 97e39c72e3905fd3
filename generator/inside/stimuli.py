"""Strongest stimuli (Zeiler and Fergus's view of a unit): for every hidden neuron of a network's
exact flowgraph, the test images that drive it hardest."""
from __future__ import annotations

import numpy as np

from generator.flowgraph.graph import Evaluator


def strongest_stimuli(graph: dict, pixels: np.ndarray, top: int, batch: int = 2_000) -> dict[str, dict]:
    """{neuron id: {"test_index": [...], "values": [...]}}: the `top` images (uint8 pixels, in
    test-set order) with the largest value of each hidden neuron, largest first; ties go to the
    earlier image. Values are the neuron's output (after its ReLU), as the graph computes it."""
    evaluator = Evaluator(graph)
    columns = [k for k, n in enumerate(graph["nodes"]) if n["kind"] == "neuron"]
    values = np.concatenate([evaluator.values(pixels[i:i + batch] / 255.0)[:, columns]
                             for i in range(0, len(pixels), batch)])
    stimuli = {}
    for j, k in enumerate(columns):
        # A stable sort of -value keeps test-set order among equal values.
        order = np.argsort(-values[:, j], kind="stable")[:top]
        stimuli[graph["nodes"][k]["id"]] = {"test_index": order.tolist(),
                                           "values": [round(float(v), 6) for v in values[order, j]]}
    return stimuli
