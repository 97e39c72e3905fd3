"""t-SNE maps of a network's layers, and k-NN accuracy in each map and in the layer's own space.

A layer's space is the values of that layer's nodes in the network's exact flowgraph: the pixels
the graph reads, the neurons of a hidden layer that take part in the computation, the logits.
Neurons the simplification folded away are constant over every image (dead or fixed), so leaving
them out changes no distance; a neuron that reaches no output is not part of what the network
computes. The page evaluates the same graph, so a drawing it places lands in the same space.
"""
from __future__ import annotations

import numpy as np

from generator.flowgraph.graph import Evaluator


def layer_columns(graph: dict) -> list[tuple[str, list[int]]]:
    """(name, node columns) per layer of the graph: "pixels", "layer 1", ..., "logits"."""
    nodes = graph["nodes"]
    depth = max(n["layer"] for n in nodes)
    layers = []
    for layer in range(depth + 1):
        columns = [k for k, n in enumerate(nodes) if n["layer"] == layer]
        if layer == depth:   # the logits in class order, so a column's place is its class
            columns.sort(key=lambda k: nodes[k].get("class", 0))
        name = "pixels" if layer == 0 else "logits" if layer == depth else f"layer {layer}"
        layers.append((name, columns))
    return layers


def layer_values(graph: dict, pixels: np.ndarray) -> list[tuple[str, list[str], np.ndarray]]:
    """(name, node ids, values (N, nodes)) for every layer, on images given as uint8 pixels
    (evaluated on pixel / 255 in float64, as the page does). Logits keep every output, constant
    or not, so a reader sees all ten."""
    values = Evaluator(graph).values(pixels / 255.0)
    ids = [n["id"] for n in graph["nodes"]]
    return [(name, [ids[k] for k in columns], values[:, columns]) for name, columns in layer_columns(graph)]


def embed(features: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    """The 2-D t-SNE map (openTSNE; one thread, so one seed gives the same map on every run)."""
    from openTSNE import TSNE
    # Constant columns carry no distance; without any varying column every point is one.
    varying = features[:, np.ptp(features, axis=0) > 0]
    if varying.shape[1] == 0:
        return np.zeros((len(features), 2))
    return np.asarray(TSNE(perplexity=perplexity, n_jobs=1, random_state=seed, verbose=False).fit(varying),
                      dtype=np.float64)


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Leave-one-out k-NN accuracy: each point takes the majority label of its k nearest other
    points (Euclidean; a tie goes to the smaller label)."""
    from sklearn.neighbors import NearestNeighbors
    points = np.asarray(points, dtype=np.float64)
    _, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    # The point itself is normally its own nearest neighbour; where duplicates tie with it, drop
    # whichever copy of its own index comes back, else the farthest neighbour.
    own = neighbours == np.arange(len(points))[:, None]
    drop = np.where(own.any(axis=1), own.argmax(axis=1), k)
    keep = np.ones_like(neighbours, dtype=bool)
    keep[np.arange(len(points)), drop] = False
    votes = labels[neighbours[keep].reshape(len(points), k)]
    counts = np.zeros((len(points), int(labels.max()) + 1), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(len(points)), k), votes.ravel()), 1)
    return float(np.mean(counts.argmax(axis=1) == labels))
