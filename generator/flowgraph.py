"""The exact computation graph of a pruned network: plain data and free functions over it.

A flowgraph is the dict written to flowgraph.json (docs/schema.md): `nodes` in topological order
and `edges` with weights. The value of a non-input node is
    activation(bias + Σ weight × value(source)).
build → bounds → simplify → evaluate; none of these knows about pages or layout.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .errors import BuildError


def _float(x) -> float:
    """A float32 parameter as the float64 it exactly equals."""
    return float(np.float32(x))


def sequential_layers(model: nn.Sequential) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(kernel, bias, activation) per Linear layer of an nn.Sequential of Linear and ReLU."""
    modules = list(model)
    layers = []
    i = 0
    while i < len(modules):
        module = modules[i]
        if not isinstance(module, nn.Linear):
            raise BuildError(f"flowgraph: unsupported module {type(module).__name__} at position {i} "
                             f"of the model; supported: Linear, each optionally followed by ReLU")
        relu = i + 1 < len(modules) and isinstance(modules[i + 1], nn.ReLU)
        weight = module.weight.detach().to(torch.float32).numpy()
        bias = (module.bias.detach().to(torch.float32).numpy() if module.bias is not None
                else np.zeros(weight.shape[0], dtype=np.float32))
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise BuildError(f"flowgraph: Linear layer {len(layers) + 1} (module {i}) has NaN or "
                             f"infinite weights; expected finite numbers")
        if layers and layers[-1][0].shape[0] != weight.shape[1]:
            raise BuildError(f"flowgraph: Linear layer {len(layers) + 1} expects {weight.shape[1]} "
                             f"inputs but the previous layer has {layers[-1][0].shape[0]} outputs")
        layers.append((weight, bias, "relu" if relu else "identity"))
        i += 2 if relu else 1
    if not layers:
        raise BuildError("flowgraph: the model has no Linear layer")
    return layers


def flowgraph_from_sequential(model: nn.Sequential, input_range=(0.0, 1.0)) -> dict:
    """Every input, neuron and output a node; every nonzero kernel weight an edge."""
    layers = sequential_layers(model)
    lo, hi = float(input_range[0]), float(input_range[1])
    n_inputs = layers[0][0].shape[1]
    nodes = [{"id": f"x{j}", "kind": "input", "layer": 0, "index": j, "bounds": [lo, hi]}
             for j in range(n_inputs)]
    edges = []
    source_ids = [node["id"] for node in nodes]
    for k, (weight, bias, activation) in enumerate(layers, start=1):
        last = k == len(layers)
        ids = [f"y{u}" if last else f"h{k}_{u}" for u in range(weight.shape[0])]
        for u, node_id in enumerate(ids):
            node = {"id": node_id, "kind": "output" if last else "neuron", "layer": k, "unit": u,
                    "bias": _float(bias[u]), "activation": activation}
            if last:
                node["class"] = u
            nodes.append(node)
            for j in np.flatnonzero(weight[u]):
                edges.append({"source": source_ids[j], "target": node_id, "weight": _float(weight[u, j])})
        source_ids = ids
    return {"input_range": [lo, hi], "nodes": nodes, "edges": edges}


def _in_edges(graph: dict) -> dict[str, list[dict]]:
    incoming = {node["id"]: [] for node in graph["nodes"]}
    for edge in graph["edges"]:
        incoming[edge["target"]].append(edge)
    return incoming


def flowgraph_bounds(graph: dict) -> dict[str, tuple[float, float, float, float]]:
    """Interval arithmetic over inputs in input_range: id → (pre_lo, pre_hi, lo, hi).
    pre_* bound bias + Σ w·x, lo/hi bound the node's value after its activation."""
    incoming = _in_edges(graph)
    bounds: dict[str, tuple[float, float, float, float]] = {}
    in_lo, in_hi = graph["input_range"]
    for node in graph["nodes"]:
        if node["kind"] == "input":
            bounds[node["id"]] = (in_lo, in_hi, in_lo, in_hi)
            continue
        lo_terms, hi_terms = [node["bias"]], [node["bias"]]
        for edge in incoming[node["id"]]:
            w = edge["weight"]
            _, _, s_lo, s_hi = bounds[edge["source"]]
            lo_terms.append(w * (s_lo if w > 0 else s_hi))
            hi_terms.append(w * (s_hi if w > 0 else s_lo))
        pre_lo, pre_hi = math.fsum(lo_terms), math.fsum(hi_terms)
        if node["activation"] == "relu":
            bounds[node["id"]] = (pre_lo, pre_hi, max(pre_lo, 0.0), max(pre_hi, 0.0))
        else:
            bounds[node["id"]] = (pre_lo, pre_hi, pre_lo, pre_hi)
    return bounds


def simplify(graph: dict) -> dict:
    """Remove what cannot change an output, without changing any output's value:
    dead ReLUs (pre-activation ≤ 0 always), constant neurons (folded into consumers' biases),
    nodes with no path to an output; a ReLU that is never negative becomes the identity.
    Repeats until nothing changes, since each step can enable another."""
    nodes = {node["id"]: dict(node) for node in graph["nodes"]}
    order = [node["id"] for node in graph["nodes"]]
    weights = {(e["source"], e["target"]): e["weight"] for e in graph["edges"]}
    changed = True
    while changed:
        changed = False
        current = {"input_range": graph["input_range"], "nodes": [nodes[i] for i in order if i in nodes],
                   "edges": [{"source": s, "target": t, "weight": w} for (s, t), w in weights.items()]}
        bounds = flowgraph_bounds(current)
        sources: dict[str, list[str]] = {i: [] for i in nodes}
        targets: dict[str, list[str]] = {i: [] for i in nodes}
        for s, t in weights:
            sources[t].append(s)
            targets[s].append(t)
        for node_id in [i for i in order if i in nodes]:
            node = nodes[node_id]
            if node["kind"] == "input":
                continue
            pre_lo, pre_hi, _, _ = bounds[node_id]
            constant = None
            if node["activation"] == "relu" and pre_hi <= 0.0:
                constant = 0.0
            elif not sources[node_id]:
                constant = max(node["bias"], 0.0) if node["activation"] == "relu" else node["bias"]
            elif node["activation"] == "relu" and pre_lo >= 0.0:
                node["activation"] = "identity"
                changed = True
            if constant is None:
                continue
            if node["kind"] == "output":
                # An output stays, as a constant: no inputs, its value is its bias.
                if sources[node_id] or node["activation"] != "identity" or node["bias"] != constant:
                    for s in sources[node_id]:
                        del weights[(s, node_id)]
                    node.update(bias=constant, activation="identity")
                    changed = True
                continue
            for s in sources[node_id]:
                del weights[(s, node_id)]
            for t in targets[node_id]:
                nodes[t]["bias"] += weights.pop((node_id, t)) * constant
            del nodes[node_id]
            changed = True
            break  # adjacency changed: recompute from the new graph
        if changed:
            continue
        # Nodes with no path to an output: walk backwards from the outputs.
        reachable = {i for i, n in nodes.items() if n["kind"] == "output"}
        for node_id in reversed(order):
            if node_id in reachable:
                reachable.update(sources.get(node_id, []))
        for node_id in [i for i in nodes if i not in reachable]:
            for s in sources[node_id]:
                weights.pop((s, node_id), None)
            del nodes[node_id]
            changed = True
    result = {"input_range": graph["input_range"], "nodes": [nodes[i] for i in order if i in nodes],
              "edges": [{"source": s, "target": t, "weight": w} for (s, t), w in weights.items()]}
    bounds = flowgraph_bounds(result)
    for node in result["nodes"]:
        node["bounds"] = [bounds[node["id"]][2], bounds[node["id"]][3]]
    position = {node_id: k for k, node_id in enumerate(order)}
    result["edges"].sort(key=lambda e: (position[e["target"]], position[e["source"]]))
    return result


def ancestors(graph: dict, node_id: str) -> set[str]:
    """node_id and every node with a path to it: the subgraph that decides its value."""
    incoming = _in_edges(graph)
    seen, stack = {node_id}, [node_id]
    while stack:
        for edge in incoming[stack.pop()]:
            if edge["source"] not in seen:
                seen.add(edge["source"])
                stack.append(edge["source"])
    return seen


def constant_outputs(graph: dict) -> dict[str, float]:
    fed = {edge["target"] for edge in graph["edges"]}
    return {str(node["class"]): node["bias"] for node in graph["nodes"]
            if node["kind"] == "output" and node["id"] not in fed}


def evaluate(graph: dict, inputs: np.ndarray) -> np.ndarray:
    """Values of every node, (N, len(nodes)), for inputs (N, n_inputs) already in input_range.
    Needs nothing but the graph dict: this is what the exactness test runs on the JSON file."""
    inputs = np.asarray(inputs, dtype=np.float64)
    column = {node["id"]: k for k, node in enumerate(graph["nodes"])}
    values = np.zeros((inputs.shape[0], len(graph["nodes"])))
    incoming = _in_edges(graph)
    for k, node in enumerate(graph["nodes"]):
        if node["kind"] == "input":
            values[:, k] = inputs[:, node["index"]]
            continue
        edges = incoming[node["id"]]
        total = np.full(inputs.shape[0], node["bias"])
        if edges:
            src = [column[e["source"]] for e in edges]
            total = total + values[:, src] @ np.array([e["weight"] for e in edges])
        values[:, k] = np.maximum(total, 0.0) if node["activation"] == "relu" else total
    return values


def output_logits(graph: dict, values: np.ndarray) -> np.ndarray:
    """(N, n_classes) logits from evaluate()'s values, columns in class order."""
    outputs = sorted((node["class"], k) for k, node in enumerate(graph["nodes"]) if node["kind"] == "output")
    return values[:, [k for _, k in outputs]]
