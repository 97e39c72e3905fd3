"""The build, top to bottom: data → models → train → prune → flowgraph → export → render.

    python -m generator.build --profile full     # the report (make site)
    python -m generator.build --profile quick    # a small run for the tests

Bad input (data file, config, weights) is one `error:` line on stderr and exit status 1, with the
previous build's site data left as it was.
"""
from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager

import numpy as np
import torch

from .cache import cached_lottery
from .config import ConfigError, Experiment, get_profile
from .data import load_mnist
from .errors import BuildError
from .flowgraph import evaluate, flowgraph_from_sequential, output_logits, simplify
from .layout import layout_flowgraph
from .render import render_site
from .traces import sample_traces

EXACTNESS_TOLERANCE = 1e-4


def exact_flowgraph(model: torch.nn.Sequential, test_inputs: torch.Tensor) -> tuple[dict, np.ndarray, dict]:
    """Build and simplify the graph, then prove it is the network on every test image:
    same logits within EXACTNESS_TOLERANCE and the same predictions, or the build stops.
    Returns the graph, its prediction for each test image, and the check's figures."""
    graph = simplify(flowgraph_from_sequential(model, input_range=(0.0, 1.0)))
    values = evaluate(graph, test_inputs.numpy())
    with torch.no_grad():
        torch_logits = model(test_inputs).double().numpy()
    graph_logits = output_logits(graph, values)
    error = float(np.abs(graph_logits - torch_logits).max())
    agreeing = int((graph_logits.argmax(1) == torch_logits.argmax(1)).sum())
    if error > EXACTNESS_TOLERANCE or agreeing != len(torch_logits):
        raise BuildError(f"flowgraph is not exact: max logit error {error:.2e} (allowed "
                         f"{EXACTNESS_TOLERANCE:g}), {agreeing}/{len(torch_logits)} predictions agree")
    return graph, graph_logits.argmax(1), {"max_logit_error": error, "agreeing": agreeing, "images": len(torch_logits)}


@contextmanager
def timed(stage: str, timings: dict):
    start = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - start


def build(experiment: Experiment, timings: dict | None = None) -> None:
    timings = {} if timings is None else timings
    # One thread for all torch arithmetic: the float sums inside a matmul split differently with
    # the thread count, which changes the trained weights and the checked logits. Pinned, one seed
    # gives the same JSON on any machine, warm or cold (and batches of 64 through 32 units gain
    # nothing from a second thread).
    torch.set_num_threads(1)
    with timed("data", timings):
        mnist = load_mnist(experiment.data)
    with timed("train+prune", timings):
        lottery = cached_lottery(experiment, mnist)
    with timed("flowgraph", timings):
        graph, predictions, exactness = exact_flowgraph(lottery.model, mnist.test.inputs)
        graph = layout_flowgraph(graph)
    with timed("traces", timings):
        samples = sample_traces(graph, predictions, mnist.test, experiment)
    with timed("export+render", timings):
        render_site(experiment, lottery.rounds, graph, samples, exactness)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", help="experiment profile: full (default) or quick")
    args = parser.parse_args(argv)
    timings: dict[str, float] = {}
    try:
        build(get_profile(args.profile), timings)
    except (BuildError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if sys.stderr.isatty():
        print("built: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
