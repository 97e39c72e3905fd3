"""Exact bounds: each node's true minimum and maximum over the input box, with the input that
attains each (its witness), by mixed-integer linear programming (generator/flowgraph/milp.py).

Interval arithmetic over-approximates: it lets every source of a node be at its worst at once,
though they share the same inputs. Here, node by node in topological order, the node's
pre-activation is minimised and maximised over the exact encoding of its ancestors, with the
big-M constants taken from the bounds already tightened. A first-layer node needs no program:
it is affine in the inputs, so its interval bounds are exact and its witness is a corner of
the box. A node whose ancestors hold more undecided ReLUs than the budget (or whose program
runs out of time) keeps interval bounds, over its sources' tightened ones, and says so: its
`bounds_kind` is `interval`.

Tighter bounds feed simplification (`tighten`): a ReLU that can never be positive is the
constant 0, one that is never negative is the identity, and simplify() folds them away. The
function the graph computes on its box is unchanged, so the bounds and witnesses stay true.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from generator.flowgraph.graph import Evaluator, _interval, simplify
from generator.flowgraph.milp import SIGN_MARGIN, encode, incoming_weights, input_vector, unstable


@dataclass(frozen=True)
class ExactConfig:
    max_binaries: int = 400        # undecided ReLUs among a node's ancestors; more: interval bounds
    time_limit: float = 30.0       # seconds per program (a node solves two); past it: interval bounds


@dataclass
class ExactBounds:
    """Per node id: valid bounds of the pre-activation (`pre`, for the solver and simplification:
    never inside the true range), the bounds a reader sees (`post`, the value after the
    activation: attained by the witnesses where `kind` is exact), and the witnesses."""
    pre: dict[str, tuple[float, float]] = field(default_factory=dict)
    post: dict[str, tuple[float, float]] = field(default_factory=dict)
    kind: dict[str, str] = field(default_factory=dict)
    witnesses: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    programs: int = 0
    seconds: float = 0.0


def _relu(lo: float, hi: float, node: dict) -> tuple[float, float]:
    return (max(lo, 0.0), max(hi, 0.0)) if node["activation"] == "relu" else (lo, hi)


def _loosen(value: float, direction: float) -> float:
    """value moved outward by the solver's tolerance, so that a bound from a solver is valid."""
    return value + direction * SIGN_MARGIN * (1.0 + abs(value))


def exact_bounds(graph: dict, base_input: np.ndarray, config: ExactConfig = ExactConfig()) -> ExactBounds:
    """Bounds of every node of `graph` over its inputs' box. base_input: a full input vector (what
    the network reads) for the inputs the graph does not read; witnesses are full vectors."""
    start = time.perf_counter()
    result = ExactBounds()
    nodes = graph["nodes"]
    incoming = incoming_weights(graph)
    ancestors: dict[str, list[str]] = {}    # in topological order, the node itself excluded
    position = {node["id"]: k for k, node in enumerate(nodes)}
    by_id = {node["id"]: node for node in nodes}
    solved: dict[str, tuple[float, float]] = {}   # the solver's optimum, to check the witnesses against
    for node in nodes:
        node_id = node["id"]
        if node["kind"] == "input":
            lo, hi = node["bounds"]
            result.pre[node_id] = result.post[node_id] = (lo, hi)
            result.kind[node_id] = "exact"
            ancestors[node_id] = []
            continue
        sources = incoming[node_id]
        found = set(sources)
        for source in sources:
            found.update(ancestors[source])
        ancestors[node_id] = sorted(found, key=position.__getitem__)
        interval = _interval(node["bias"], ((w, result.post[s]) for s, w in sources.items()))
        if all(by_id[s]["kind"] == "input" for s in sources):
            # affine in the inputs: the interval bounds are attained at a corner of the box
            low, high = np.array(base_input, dtype=np.float64), np.array(base_input, dtype=np.float64)
            for source, weight in sources.items():
                index, (lo, hi) = by_id[source]["index"], by_id[source]["bounds"]
                low[index], high[index] = (lo, hi) if weight > 0 else (hi, lo)
            result.pre[node_id], result.kind[node_id] = interval, "exact"
            result.witnesses[node_id] = (low, high)
            solved[node_id] = interval
            result.post[node_id] = _relu(*interval, node)
            continue
        members = [by_id[a] for a in ancestors[node_id]]
        binaries = sum(1 for m in members if m["kind"] != "input" and unstable(m, result.pre[m["id"]]))
        bounds = None
        if binaries <= config.max_binaries:
            bounds = _solve(graph, node, members, incoming, result, base_input, config)
        if bounds is None:
            result.pre[node_id], result.kind[node_id] = interval, "interval"
        else:
            (lo, hi), (x_lo, x_hi), optimum = bounds
            # never looser than the interval bounds (both are valid; the solver's may carry its tolerance)
            result.pre[node_id] = (max(lo, interval[0]), min(hi, interval[1]))
            result.kind[node_id] = "exact"
            result.witnesses[node_id] = (x_lo, x_hi)
            solved[node_id] = optimum
        result.post[node_id] = _relu(*result.pre[node_id], node)
    _attained(graph, result, solved)
    result.seconds = time.perf_counter() - start
    return result


def _solve(graph, node, members, incoming, result: ExactBounds, base_input, config: ExactConfig):
    """Minimum and maximum of the node's pre-activation over its ancestors' exact encoding:
    ((valid lo, valid hi), (witness of lo, witness of hi), (optimum lo, optimum hi)), or None
    when a program did not reach its optimum in time."""
    program = encode(members, incoming, result.pre, result.post)
    objective = {program.columns[s]: w for s, w in incoming[node["id"]].items()}
    found = []
    for sign in (1.0, -1.0):
        solution = program.solve({k: sign * w for k, w in objective.items()}, config.time_limit)
        result.programs += 1
        if solution.status != 0 or solution.x is None:
            return None
        optimum = sign * solution.fun + node["bias"]
        dual = sign * solution.mip_dual_bound + node["bias"] if solution.mip_dual_bound is not None else optimum
        valid = _loosen(min(optimum, dual), -1.0) if sign > 0 else _loosen(max(optimum, dual), 1.0)
        found.append((valid, input_vector(graph, program, solution.x, base_input), optimum))
    (lo, x_lo, opt_lo), (hi, x_hi, opt_hi) = found
    return (lo, hi), (x_lo, x_hi), (opt_lo, opt_hi)


def _attained(graph: dict, result: ExactBounds, solved: dict[str, tuple[float, float]]) -> None:
    """The bounds a reader sees are the values the graph computes at the witnesses (so that each
    witness attains its bound exactly). A witness whose value misses the solver's optimum by
    more than the solver's tolerance is not trusted: the node keeps its valid bounds, as
    interval bounds."""
    if not result.witnesses:
        return
    ids = list(result.witnesses)
    inputs = np.stack([result.witnesses[i][0] for i in ids] + [result.witnesses[i][1] for i in ids])
    values = Evaluator(graph).values(inputs)
    column = {node["id"]: k for k, node in enumerate(graph["nodes"])}
    incoming = incoming_weights(graph)
    by_id = {node["id"]: node for node in graph["nodes"]}
    for k, node_id in enumerate(ids):
        node = by_id[node_id]
        pre = [node["bias"] + sum(w * values[row, column[s]] for s, w in incoming[node_id].items())
               for row in (k, k + len(ids))]
        optimum = solved[node_id]
        if any(abs(p - o) > 1e-5 * (1.0 + abs(o)) for p, o in zip(pre, optimum)):
            result.kind[node_id] = "interval"
            del result.witnesses[node_id]
            continue
        result.post[node_id] = _relu(pre[0], pre[1], node)


def tighten(graph: dict, bounds: ExactBounds) -> dict:
    """The graph simplified again with the exact bounds: ReLUs that are never positive become the
    constant 0 (folded into their consumers), ReLUs never negative the identity; each remaining
    node carries its bounds and `bounds_kind`. Same function on the box."""
    nodes, edges = [], []
    dead = set()
    for node in graph["nodes"]:
        node = dict(node)
        lo, hi = bounds.pre[node["id"]]
        if node["kind"] != "input" and node["activation"] == "relu":
            if hi <= 0.0:
                dead.add(node["id"])
                node["bias"] = -1.0     # no sources and a negative bias: simplify folds it as 0
            elif lo >= 0.0:
                node["activation"] = "identity"
        nodes.append(node)
    edges = [dict(e) for e in graph["edges"] if e["target"] not in dead]
    simpler = simplify({**graph, "nodes": nodes, "edges": edges})
    fed = {e["target"] for e in simpler["edges"]}
    for node in simpler["nodes"]:
        node_id = node["id"]
        if node["kind"] == "output" and node_id not in fed:
            node["bounds_kind"] = "exact"       # a constant: its one value is its bounds
            continue
        node["bounds"] = [float(v) for v in bounds.post[node_id]]
        node["bounds_kind"] = bounds.kind[node_id]
    return simpler


def witnesses_document(graph: dict, bounds: ExactBounds) -> dict[str, dict]:
    """node id → {"lo": input, "hi": input} for the exact nodes of `graph` (after tighten) that
    depend on the input."""
    fed = {e["target"] for e in graph["edges"]}
    return {node["id"]: {"lo": [float(v) for v in bounds.witnesses[node["id"]][0]],
                         "hi": [float(v) for v in bounds.witnesses[node["id"]][1]]}
            for node in graph["nodes"]
            if node["kind"] != "input" and node["id"] in fed and node.get("bounds_kind") == "exact"
            and node["id"] in bounds.witnesses}


def tightening_stats(interval: dict, tightened: dict, bounds: ExactBounds) -> dict:
    """What the exact bounds changed, for a chapter's text: the graph's size and ReLUs before and
    after, how many nodes have exact bounds, and each output's interval and exact range."""
    def relus(graph):
        return sum(1 for n in graph["nodes"] if n["kind"] != "input" and n["activation"] == "relu")
    kinds = [n["bounds_kind"] for n in tightened["nodes"] if n["kind"] != "input"]
    return {"seconds": round(bounds.seconds, 3), "programs": bounds.programs,
            "exact_nodes": kinds.count("exact"), "interval_nodes": kinds.count("interval"),
            "vertices": [len(interval["nodes"]), len(tightened["nodes"])],
            "edges": [len(interval["edges"]), len(tightened["edges"])],
            "relus": [relus(interval), relus(tightened)],
            "outputs": {n["id"]: {"interval": n["bounds"], "exact": [float(v) for v in bounds.post[n["id"]]]}
                        for n in interval["nodes"] if n["kind"] == "output"}}
