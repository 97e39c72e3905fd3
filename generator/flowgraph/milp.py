"""A flowgraph as a mixed-integer linear program (scipy's `milp`, HiGHS): what exact bounds and
exact robustness share.

Every node of a chosen set of nodes (closed under ancestors) gets a variable for its value:
inputs lie in their box; an identity node, or a ReLU known to be active, equals its
pre-activation bias + Σ w·value(source); a ReLU known to be dead is 0; a ReLU whose
pre-activation can take either sign (L < 0 < U) gets a binary z and the big-M constraints
    v ≥ 0,  v ≥ pre,  v ≤ pre − L·(1 − z),  v ≤ U·z,
which hold with v = relu(pre) and nothing else. The encoding is exact when L and U are valid
bounds of the pre-activation (looser ones only make the program slower).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

# A node's value may leave its bounds by the solver's feasibility tolerance (1e-7 in HiGHS); a
# bound declared dead or active with this margin is so even then.
SIGN_MARGIN = 1e-6


@dataclass
class Program:
    """Variables: one per node in `columns` (by id), then the binaries; rows of A·v in [lo, hi]."""
    columns: dict[str, int]
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)

    def variable(self, lo: float, hi: float, integer: bool = False) -> int:
        self.lower.append(lo)
        self.upper.append(hi)
        self.integer.append(1 if integer else 0)
        return len(self.lower) - 1

    def row(self, coefficients: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((coefficients, lo, hi))

    def solve(self, objective: dict[int, float], time_limit: float):
        """Minimise Σ objective[k]·v_k. Returns scipy's OptimizeResult."""
        n = len(self.lower)
        c = np.zeros(n)
        for k, w in objective.items():
            c[k] += w
        constraints = []
        if self.rows:
            r, k, w = [], [], []
            for i, (coefficients, _, _) in enumerate(self.rows):
                for column, weight in coefficients.items():
                    r.append(i), k.append(column), w.append(weight)
            matrix = sp.csr_matrix((w, (r, k)), shape=(len(self.rows), n))
            constraints.append(LinearConstraint(matrix, [lo for _, lo, _ in self.rows], [hi for _, _, hi in self.rows]))
        return milp(c, integrality=np.array(self.integer), bounds=Bounds(self.lower, self.upper),
                    constraints=constraints,
                    options={"time_limit": time_limit, "mip_rel_gap": 1e-9, "presolve": True})


def encode(nodes: list[dict], incoming: dict[str, dict[str, float]],
           pre: dict[str, tuple[float, float]], post: dict[str, tuple[float, float]]) -> Program:
    """The program whose solutions are exactly the values the graph takes on its input box,
    restricted to `nodes` (topological order, every source of a node among them).
    pre/post: valid bounds of each node's pre-activation and value."""
    program = Program(columns={})
    for node in nodes:
        node_id = node["id"]
        lo, hi = post[node_id]
        column = program.variable(lo, hi)
        program.columns[node_id] = column
        if node["kind"] == "input":
            continue
        # pre = bias + Σ w·v_s, as the row  v − Σ w·v_s  against the bias
        linear = {column: 1.0}
        for source, weight in incoming[node_id].items():
            linear[program.columns[source]] = linear.get(program.columns[source], 0.0) - weight
        bias = node["bias"]
        pre_lo, pre_hi = pre[node_id]
        if node["activation"] != "relu" or pre_lo >= 0.0:
            program.row(linear, bias, bias)                     # v = pre
        elif pre_hi <= 0.0:
            program.lower[column] = program.upper[column] = 0.0  # v = 0
        else:
            z = program.variable(0.0, 1.0, integer=True)
            program.row(linear, bias, np.inf)                                    # v ≥ pre
            program.row({**linear, z: -pre_lo}, -np.inf, bias - pre_lo)          # v ≤ pre − L(1 − z)
            program.row({column: 1.0, z: -pre_hi}, -np.inf, 0.0)                 # v ≤ U·z
    return program


def unstable(node: dict, pre: tuple[float, float]) -> bool:
    """A ReLU whose pre-activation can take either sign: the one kind of node that needs a binary."""
    return node["activation"] == "relu" and pre[0] < 0.0 < pre[1]


def incoming_weights(graph: dict) -> dict[str, dict[str, float]]:
    incoming: dict[str, dict[str, float]] = {node["id"]: {} for node in graph["nodes"]}
    for edge in graph["edges"]:
        incoming[edge["target"]][edge["source"]] = edge["weight"]
    return incoming


def input_vector(graph: dict, program: Program, solution: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The full input the network reads from a solution: the solved inputs, clipped to their box
    and snapped onto it within 1e-9 (a solver's 0.9999999998 is the 1 it means); inputs the
    program leaves free (not among its nodes) at their lower bound, and those the graph does not
    read at all as in `base`."""
    x = np.array(base, dtype=np.float64)
    for node in graph["nodes"]:
        if node["kind"] != "input":
            continue
        lo, hi = node["bounds"]
        column = program.columns.get(node["id"])
        value = lo if column is None else float(np.clip(solution[column], lo, hi))
        if abs(value - lo) < 1e-9:
            value = lo
        elif abs(value - hi) < 1e-9:
            value = hi
        x[node["index"]] = value
    return x
