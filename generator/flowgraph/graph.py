"""The exact computation graph of a pruned network: plain data and free functions over it.

A flowgraph is the dict written to flowgraph.json (docs/schema.md): `nodes` in topological order
and `edges` with weights. The value of an input is what the network reads; the value of any other
node is
    activation(bias + Σ weight × value(source))   over the edges into it.
Linear layers give a node per unit; Conv2d layers are unrolled, a node per output channel and
position and an edge per multiply with a nonzero weight, so the graph computes exactly what the
convolution does. build → simplify (bounds) → evaluate; none of these knows about pages or layout.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from generator.pipeline.errors import BuildError


@dataclass
class Layer:
    matrix: sp.csr_matrix       # (n_out, n_in): the layer's weights, zeros left out
    bias: np.ndarray            # (n_out,) float64, exactly the float32 parameters
    activation: str             # "relu" or "identity"
    kind: str                   # "linear" or "conv"
    shape: tuple[int, ...]      # output shape: (n_out,) or (channels, rows, cols)


def _f64(array) -> np.ndarray:
    """float32 parameters as the float64 numbers they exactly equal."""
    return np.asarray(array, dtype=np.float32).astype(np.float64)


def _conv_matrix(weight: np.ndarray, in_shape: tuple[int, int, int]) -> tuple[sp.csr_matrix, tuple]:
    """The unrolled convolution (no padding, stride 1): one entry per multiply with a nonzero weight."""
    c_out, c_in, kh, kw = weight.shape
    _, h, w = in_shape
    oh, ow = h - kh + 1, w - kw + 1
    rows, cols = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    rows, cols = rows.ravel(), cols.ravel()
    targets, sources, values = [], [], []
    for o, i, dy, dx in zip(*np.nonzero(weight)):
        targets.append(o * oh * ow + rows * ow + cols)
        sources.append(i * h * w + (rows + dy) * w + (cols + dx))
        values.append(np.full(rows.size, weight[o, i, dy, dx], dtype=np.float64))
    n_out, n_in = c_out * oh * ow, c_in * h * w
    if not targets:
        return sp.csr_matrix((n_out, n_in)), (c_out, oh, ow)
    matrix = sp.coo_matrix((np.concatenate(values), (np.concatenate(targets), np.concatenate(sources))),
                           shape=(n_out, n_in)).tocsr()
    return matrix, (c_out, oh, ow)


def sequential_layers(model: nn.Sequential, n_inputs: int) -> list[Layer]:
    """The model's Linear and Conv2d layers as sparse matrices, each with the ReLU that follows it.
    Supported: Unflatten (to a channel image), Conv2d (stride 1, no padding, no groups), ReLU,
    Flatten, Linear."""
    modules = list(model)
    layers: list[Layer] = []
    shape: tuple[int, ...] = (n_inputs,)
    i = 0
    while i < len(modules):
        module = modules[i]
        where = f"module {i} ({type(module).__name__})"
        if isinstance(module, nn.Unflatten):
            shape = tuple(module.unflattened_size)
            i += 1
            continue
        if isinstance(module, nn.Flatten):
            shape = (int(np.prod(shape)),)
            i += 1
            continue
        if isinstance(module, nn.Linear):
            weight = module.weight.detach().to(torch.float32).numpy()
            if shape != (weight.shape[1],):
                raise BuildError(f"flowgraph: {where} expects {weight.shape[1]} inputs, gets shape {shape}")
            matrix, kind, shape = sp.csr_matrix(_f64(weight)), "linear", (weight.shape[0],)
        elif isinstance(module, nn.Conv2d):
            if (module.stride != (1, 1) or module.padding not in ((0, 0), "valid") or module.dilation != (1, 1)
                    or module.groups != 1):
                raise BuildError(f"flowgraph: {where} must have stride 1, no padding, dilation 1, groups 1")
            weight = module.weight.detach().to(torch.float32).numpy()
            if len(shape) != 3 or shape[0] != weight.shape[1]:
                raise BuildError(f"flowgraph: {where} expects {weight.shape[1]} channels, gets shape {shape}")
            matrix, shape = _conv_matrix(_f64(weight), shape)
            kind = "conv"
        else:
            raise BuildError(f"flowgraph: unsupported {where}; supported: Linear, Conv2d, Unflatten, "
                             f"Flatten, ReLU after a Linear or Conv2d")
        matrix.eliminate_zeros()
        if module.bias is not None:
            bias = _f64(module.bias.detach().to(torch.float32).numpy())
            if kind == "conv":
                bias = np.repeat(bias, shape[1] * shape[2])
        else:
            bias = np.zeros(matrix.shape[0])
        if not (np.isfinite(matrix.data).all() and np.isfinite(bias).all()):
            raise BuildError(f"flowgraph: {where} has NaN or infinite weights; expected finite numbers")
        relu = i + 1 < len(modules) and isinstance(modules[i + 1], nn.ReLU)
        layers.append(Layer(matrix, bias, "relu" if relu else "identity", kind, shape))
        i += 2 if relu else 1
    if not layers:
        raise BuildError("flowgraph: the model has no Linear or Conv2d layer")
    return layers


def flowgraph_from_sequential(model: nn.Sequential, input_bounds: list[tuple[float, float]],
                              input_names: list[str] | None = None,
                              output_names: list[str] | None = None) -> dict:
    """Every input, neuron and output a node; every nonzero weight (every used multiply) an edge.
    input_bounds: the interval each input lies in (the bounds and simplification hold there)."""
    n_inputs = len(input_bounds)
    layers = sequential_layers(model, n_inputs)
    nodes = []
    for j, (lo, hi) in enumerate(input_bounds):
        node = {"id": f"x{j}", "kind": "input", "layer": 0, "index": j, "bounds": [float(lo), float(hi)]}
        if input_names:
            node["name"] = input_names[j]
        nodes.append(node)
    edges = []
    source_ids = [node["id"] for node in nodes]
    for k, layer in enumerate(layers, start=1):
        last = k == len(layers)
        ids = []
        for u in range(layer.matrix.shape[0]):
            node = {"kind": "output" if last else "neuron", "layer": k, "unit": u,
                    "bias": float(layer.bias[u]), "activation": layer.activation}
            if last:
                node["id"] = f"y{u}"
                node["class"] = u
                if output_names:
                    node["name"] = output_names[u]
            elif layer.kind == "conv":
                channel, rest = divmod(u, layer.shape[1] * layer.shape[2])
                row, col = divmod(rest, layer.shape[2])
                node.update(id=f"c{k}_{channel}_{row}_{col}", channel=int(channel), row=int(row), col=int(col))
            else:
                node["id"] = f"h{k}_{u}"
            ids.append(node["id"])
            nodes.append(node)
        matrix = layer.matrix
        for u in range(matrix.shape[0]):
            for j, w in zip(matrix.indices[matrix.indptr[u]:matrix.indptr[u + 1]],
                            matrix.data[matrix.indptr[u]:matrix.indptr[u + 1]]):
                edges.append({"source": source_ids[j], "target": ids[u], "weight": float(w)})
        source_ids = ids
    return {"nodes": nodes, "edges": edges}


def _interval(bias: float, terms) -> tuple[float, float]:
    """Bounds of bias + Σ w·x for x in [lo, hi], summed exactly (fsum) before rounding."""
    lo_terms, hi_terms = [bias], [bias]
    for w, (lo, hi) in terms:
        lo_terms.append(w * (lo if w > 0 else hi))
        hi_terms.append(w * (hi if w > 0 else lo))
    return math.fsum(lo_terms), math.fsum(hi_terms)


def flowgraph_bounds(graph: dict) -> dict[str, tuple[float, float, float, float]]:
    """Interval arithmetic over the inputs' bounds: id → (pre_lo, pre_hi, lo, hi).
    pre_* bound bias + Σ w·x, lo/hi bound the node's value after its activation."""
    incoming = _in_edges(graph)
    bounds: dict[str, tuple[float, float, float, float]] = {}
    for node in graph["nodes"]:
        if node["kind"] == "input":
            lo, hi = node["bounds"]
            bounds[node["id"]] = (lo, hi, lo, hi)
            continue
        pre_lo, pre_hi = _interval(node["bias"], ((e["weight"], bounds[e["source"]][2:]) for e in incoming[node["id"]]))
        if node["activation"] == "relu":
            bounds[node["id"]] = (pre_lo, pre_hi, max(pre_lo, 0.0), max(pre_hi, 0.0))
        else:
            bounds[node["id"]] = (pre_lo, pre_hi, pre_lo, pre_hi)
    return bounds


def simplify(graph: dict) -> dict:
    """Remove what cannot change an output, without changing any output's value on inputs within
    their bounds. One pass in topological order, where every node's sources are final:
    - a ReLU whose pre-activation is ≤ 0 on every input is the constant 0;
    - a node with no incoming edge is the constant activation(bias);
    - a constant neuron is folded into its consumers' biases and removed (a constant output
      stays, with no inputs, its value as its bias);
    - a ReLU whose pre-activation is ≥ 0 on every input is the identity.
    Then nodes with no path to an output are removed; they cannot change the bounds of any node
    that remains, since every ancestor of a remaining node remains."""
    nodes = {node["id"]: dict(node) for node in graph["nodes"]}
    order = [node["id"] for node in graph["nodes"]]
    incoming: dict[str, dict[str, float]] = {i: {} for i in order}
    outgoing: dict[str, dict[str, None]] = {i: {} for i in order}   # dicts keep insertion order
    for e in graph["edges"]:
        incoming[e["target"]][e["source"]] = e["weight"]
        outgoing[e["source"]][e["target"]] = None
    post: dict[str, tuple[float, float]] = {}
    for node_id in order:
        node = nodes[node_id]
        if node["kind"] == "input":
            post[node_id] = tuple(node["bounds"])
            continue
        sources = incoming[node_id]
        pre_lo, pre_hi = _interval(node["bias"], ((w, post[s]) for s, w in sources.items()))
        relu = node["activation"] == "relu"
        constant = None
        if relu and pre_hi <= 0.0:
            constant = 0.0
        elif not sources:
            constant = max(node["bias"], 0.0) if relu else node["bias"]
        elif relu and pre_lo >= 0.0:
            node["activation"] = "identity"
            relu = False
        if constant is None:
            post[node_id] = (max(pre_lo, 0.0), max(pre_hi, 0.0)) if relu else (pre_lo, pre_hi)
            continue
        for s in sources:
            del outgoing[s][node_id]
        incoming[node_id] = {}
        if node["kind"] == "output":
            node.update(bias=constant, activation="identity")
            post[node_id] = (constant, constant)
            continue
        for t in outgoing[node_id]:
            nodes[t]["bias"] += incoming[t].pop(node_id) * constant
        del nodes[node_id], incoming[node_id], outgoing[node_id]
    reachable = {i for i, n in nodes.items() if n["kind"] == "output"}
    for node_id in reversed(order):
        if node_id in reachable:
            reachable.update(incoming[node_id])
    kept = [i for i in order if i in reachable]
    position = {node_id: k for k, node_id in enumerate(kept)}
    edges = [{"source": s, "target": t, "weight": w} for t in kept for s, w in incoming[t].items()]
    edges.sort(key=lambda e: (position[e["target"]], position[e["source"]]))
    result = {**{k: v for k, v in graph.items() if k not in ("nodes", "edges")},
              "nodes": [nodes[i] for i in kept], "edges": edges}
    bounds = flowgraph_bounds(result)
    for node in result["nodes"]:
        node["bounds"] = [bounds[node["id"]][2], bounds[node["id"]][3]]
    return result


def _in_edges(graph: dict) -> dict[str, list[dict]]:
    incoming = {node["id"]: [] for node in graph["nodes"]}
    for edge in graph["edges"]:
        incoming[edge["target"]].append(edge)
    return incoming


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


def subgraph_size(graph: dict, node_id: str) -> tuple[int, int]:
    keep = ancestors(graph, node_id)
    return len(keep), sum(1 for e in graph["edges"] if e["target"] in keep)


def constant_outputs(graph: dict) -> dict[str, float]:
    fed = {edge["target"] for edge in graph["edges"]}
    return {str(node["class"]): node["bias"] for node in graph["nodes"]
            if node["kind"] == "output" and node["id"] not in fed}


def ignored_inputs(graph_before: dict, graph_after: dict) -> list[str]:
    """Inputs of the unsimplified graph that the simplified one dropped: no path to an output."""
    kept = {n["id"] for n in graph_after["nodes"]}
    return [n["id"] for n in graph_before["nodes"] if n["kind"] == "input" and n["id"] not in kept]


class Evaluator:
    """Evaluates a flowgraph on many inputs at once: one sparse matrix product per layer."""

    def __init__(self, graph: dict):
        nodes = graph["nodes"]
        self.n = len(nodes)
        column = {node["id"]: k for k, node in enumerate(nodes)}
        self.input_columns = np.array([k for k, n in enumerate(nodes) if n["kind"] == "input"], dtype=np.int64)
        self.input_index = np.array([n["index"] for n in nodes if n["kind"] == "input"], dtype=np.int64)
        self.output_columns = np.array([k for _, k in sorted((n["class"], k) for k, n in enumerate(nodes)
                                                             if n["kind"] == "output")], dtype=np.int64)
        by_target: dict[int, list[tuple[int, float]]] = {}
        for e in graph["edges"]:
            by_target.setdefault(column[e["target"]], []).append((column[e["source"]], e["weight"]))
        self.layers = []
        for layer in sorted({n["layer"] for n in nodes if n["kind"] != "input"}):
            rows = np.array([k for k, n in enumerate(nodes) if n["kind"] != "input" and n["layer"] == layer])
            r, c, w = [], [], []
            for i, k in enumerate(rows):
                for source, weight in by_target.get(int(k), []):
                    r.append(i), c.append(source), w.append(weight)
            matrix = sp.csr_matrix((w, (r, c)), shape=(len(rows), self.n))
            bias = np.array([nodes[k]["bias"] for k in rows])
            relu = np.array([nodes[k]["activation"] == "relu" for k in rows])
            self.layers.append((rows, matrix, bias, relu))

    def values(self, inputs: np.ndarray) -> np.ndarray:
        """(N, n_nodes) values for inputs (N, n_inputs) within the inputs' bounds. Computed node
        by row (a view is returned): the sparse product then reads the values as they lie,
        where sample by row made scipy copy them at every layer (the sums are the same)."""
        inputs = np.asarray(inputs)     # float32 or float64: the graph's own columns become float64
        values = np.zeros((self.n, inputs.shape[0]))
        values[self.input_columns] = inputs[:, self.input_index].T
        for rows, matrix, bias, relu in self.layers:
            pre = matrix @ values + bias[:, None]
            values[rows] = np.where(relu[:, None], np.maximum(pre, 0.0), pre)
        return values.T

    def outputs(self, inputs: np.ndarray, batch: int = 1000) -> np.ndarray:
        """(N, n_outputs) output values in class order, in batches (big graphs, many inputs)."""
        return np.concatenate([self.values(inputs[i:i + batch])[:, self.output_columns]
                               for i in range(0, len(inputs), batch)])


def evaluate(graph: dict, inputs: np.ndarray) -> np.ndarray:
    """Values of every node, (N, len(nodes)). Needs nothing but the graph dict: this is what the
    exactness tests run on the JSON file."""
    return Evaluator(graph).values(inputs)


def output_logits(graph: dict, values: np.ndarray) -> np.ndarray:
    """(N, n_outputs) from evaluate()'s values, columns in class order."""
    outputs = sorted((node["class"], k) for k, node in enumerate(graph["nodes"]) if node["kind"] == "output")
    return values[:, [k for _, k in outputs]]


EXACTNESS_TOLERANCE = 1e-4


def check_exact(graph: dict, model: nn.Module, inputs: torch.Tensor, batch: int = 100) -> tuple[np.ndarray, dict]:
    """Prove the graph is the network on these inputs: the same outputs within EXACTNESS_TOLERANCE
    and the same argmax, or the build stops. Returns the graph's outputs and the check's figures.
    (The model runs in batches of `batch`: small ones keep a CNN's feature maps in cache.)"""
    evaluator = Evaluator(graph)
    graph_out = evaluator.outputs(inputs.numpy())
    with torch.inference_mode():
        model.eval()
        torch_out = torch.cat([model(inputs[i:i + batch]) for i in range(0, len(inputs), batch)]).double().numpy()
    error = float(np.abs(graph_out - torch_out).max())
    agreeing = int((graph_out.argmax(1) == torch_out.argmax(1)).sum())
    if error > EXACTNESS_TOLERANCE or agreeing != len(torch_out):
        raise BuildError(f"flowgraph is not exact: max output error {error:.2e} (allowed "
                         f"{EXACTNESS_TOLERANCE:g}), {agreeing}/{len(torch_out)} argmaxes agree")
    return graph_out, {"max_logit_error": error, "agreeing": agreeing, "images": len(torch_out)}
