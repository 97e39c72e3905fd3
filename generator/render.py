"""Render: everything the site needs from the build, written to a staging folder and swapped in
whole, so a failed build never leaves a half-new site. site_src/hooks.py merges it into mkdocs."""
from __future__ import annotations

import tempfile
from pathlib import Path

from . import charts
from .atomic import replace_dir, write_json_atomic, write_text_atomic
from .config import Experiment
from .export import flowgraph_document, manifest_document, traces_document
from .figures import FIGURES
from .flowgraph import ancestors, constant_outputs
from .paths import FACTS, SCHEMA_DIR, MANIFEST, chart_spec, experiment_files, site_data_dir


def subgraph_size(graph: dict, node_id: str) -> tuple[int, int]:
    keep = ancestors(graph, node_id)
    return len(keep), sum(1 for e in graph["edges"] if e["target"] in keep)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def describe_sample(sample: dict) -> str:
    verdict = "correct" if sample["label"] == sample["prediction"] else "wrong"
    return (f"test image #{sample['test_index']} (a {sample['label']}, predicted "
            f"{sample['prediction']}: {verdict})")


def constant_outputs_text(constants: dict[str, float]) -> str:
    if not constants:
        return "No output is constant: every class's logit depends on the image."
    parts = [f"output {c} is always {v:.2f}" for c, v in sorted(constants.items(), key=lambda kv: int(kv[0]))]
    return ("Pruning left some outputs with no inputs at all: " + "; ".join(parts)
            + ", whatever the image. Such a class can still be predicted when every other logit is lower.")


def report_facts(experiment: Experiment, rounds: list[dict], graph: dict, samples: list[dict],
                 exactness: dict, constants: dict[str, float], subgraph_class: int,
                 trace_sample: dict) -> dict[str, str]:
    """Every number the report's text quotes, formatted. The pages reference them by name."""
    selected = rounds[-1]
    dense = rounds[0]
    hidden = [sum(1 for n in graph["nodes"] if n["kind"] == "neuron" and n["layer"] == k)
              for k in range(1, len(experiment.model.layer_sizes) - 1)]
    sub_v, sub_e = subgraph_size(graph, f"y{subgraph_class}")
    wrong = [s for s in samples if s["label"] != s["prediction"]]
    relus = sum(1 for n in graph["nodes"] if n.get("activation") == "relu")
    identities = sum(1 for n in graph["nodes"] if n["kind"] == "neuron" and n["activation"] == "identity")
    return {
        "experiment": experiment.name,
        "architecture": "-".join(str(s) for s in experiment.model.layer_sizes),
        "dense_weights": f"{dense['weights']:,}",
        "rounds": str(experiment.prune.rounds),
        "rates": ", ".join(f"{100 * r:.2f}%" for r in experiment.prune.rates),
        "epochs_per_round": str(experiment.train.epochs_per_round),
        "final_epochs": str(experiment.train.final_epochs),
        "batch_size": str(experiment.train.batch_size),
        "learning_rate": f"{experiment.train.learning_rate:g}",
        "seed": str(experiment.seed),
        "train_size": f"{experiment.data.train_size:,}",
        "validation_size": f"{experiment.data.validation_size:,}",
        "test_size": f"{experiment.data.test_size:,}",
        "dense_test_accuracy": pct(dense["test_accuracy"]),
        "selected_round": str(selected["round"]),
        "selected_weights": f"{selected['weights']:,}",
        "selected_weights_per_layer": ", ".join(f"{n:,}" for n in selected["weights_per_layer"]),
        "selected_density": f"{100 * selected['weights'] / dense['weights']:.2f}%",
        "selected_test_accuracy": pct(selected["test_accuracy"]),
        "selected_validation_accuracy": pct(selected["validation_accuracy"]),
        "vertices": f"{len(graph['nodes']):,}",
        "edges": f"{len(graph['edges']):,}",
        "input_pixels": str(sum(1 for n in graph["nodes"] if n["kind"] == "input")),
        "hidden_1": str(hidden[0]) if hidden else "0",
        "hidden_per_layer": ", ".join(str(h) for h in hidden),
        "hidden_units": ", ".join(str(s) for s in experiment.model.layer_sizes[1:-1]),
        "relu_neurons": str(relus),
        "identity_neurons": str(identities),
        "constant_outputs_text": constant_outputs_text(constants),
        "max_logit_error": f"{exactness['max_logit_error']:.1e}",
        "prediction_agreement": f"{exactness['agreeing']:,} of {exactness['images']:,}",
        "samples": str(len(samples)),
        "misclassified_samples": str(len(wrong)),
        "subgraph_class": str(subgraph_class),
        "subgraph_vertices": str(sub_v),
        "subgraph_edges": str(sub_e),
        "trace_sample": describe_sample(trace_sample),
    }


def choose_subgraph_class(graph: dict, constants: dict[str, float]) -> int:
    """The non-constant output with the smallest subgraph: the clearest one to show first."""
    classes = [n["class"] for n in graph["nodes"] if n["kind"] == "output" and str(n["class"]) not in constants]
    return min(classes or [0], key=lambda c: (subgraph_size(graph, f"y{c}")[0], c))


def figure_page(figure_id: str, title: str) -> str:
    return (f"---\ntitle: \"{title}\"\nhide:\n  - navigation\n  - toc\n---\n\n# {title}\n\n"
            f"[[figure {figure_id} standalone]]\n\n"
            f"[← Back to this figure in the report](../../index.md#fig-{figure_id})\n")


def render_site(experiment: Experiment, rounds: list[dict], graph: dict, samples: list[dict],
                exactness: dict) -> Path:
    files = experiment_files(experiment.name)
    constants = constant_outputs(graph)
    kernel_weights = rounds[-1]["weights"]
    subgraph_class = choose_subgraph_class(graph, constants)
    trace_sample = next((s for s in samples if s["label"] == subgraph_class == s["prediction"]), samples[0])
    facts = report_facts(experiment, rounds, graph, samples, exactness, constants, subgraph_class, trace_sample)
    build_options = {"output-subgraph": {"output": str(subgraph_class)},
                     "sample-trace": {"sample": trace_sample["id"]},
                     "sample-filters": {"sample": trace_sample["id"]}}
    layer_names = [f"layer {k} ({a}→{b})" for k, (a, b) in
                   enumerate(zip(experiment.model.layer_sizes[:-1], experiment.model.layer_sizes[1:]), start=1)]
    specs = {"accuracy-vs-weights": charts.accuracy_vs_weights(rounds, rounds[-1]["round"]),
             "weights-per-layer": charts.weights_per_layer(rounds, layer_names)}

    figures_for_hook = {}
    for figure_id, figure in FIGURES.items():
        data = ({"spec": chart_spec(figure_id)} if figure.kind == "altair"
                else {"flowgraph": files["flowgraph"], "traces": files["traces"]})
        figures_for_hook[figure_id] = {
            "kind": figure.kind, "title": figure.title, "caption": figure.caption.format(**facts),
            "options": {**figure.options, **build_options.get(figure_id, {})}, "data": data}

    documents = {
        files["flowgraph"]: flowgraph_document(experiment.name, rounds[-1]["round"], graph, kernel_weights, constants),
        files["traces"]: traces_document(experiment.name, samples),
        MANIFEST: manifest_document(
            {experiment.name: {"rounds": rounds, "selected_round": rounds[-1]["round"],
                               "flowgraph": files["flowgraph"], "traces": files["traces"],
                               "vertices": len(graph["nodes"]), "edges": len(graph["edges"]),
                               "constant_outputs": constants}},
            [{"id": fid, "title": f.title, "page": f"index.html#fig-{fid}", "interactive": f"figures/{fid}/"}
             for fid, f in FIGURES.items()]),
        FACTS: {"facts": facts, "figures": figures_for_hook},
        **{chart_spec(fid): spec for fid, spec in specs.items()},
    }

    target = site_data_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".site-staging-"))
    for relative, document in documents.items():
        write_json_atomic(staging / relative, document)
    for schema_file in sorted(SCHEMA_DIR.glob("*.schema.json")):   # so tools can validate what they fetch
        write_text_atomic(staging / "data" / "schema" / schema_file.name, schema_file.read_text())
    for figure_id, figure in FIGURES.items():
        write_text_atomic(staging / "figures" / figure_id / "index.md", figure_page(figure_id, figure.title))
    index = ["# Figures\n", "Every figure of the report on a page of its own, to link a reader to.\n"]
    index += [f"- [{f.title}]({fid}/index.md)" for fid, f in FIGURES.items()]
    write_text_atomic(staging / "figures" / "index.md", "\n".join(index) + "\n")
    replace_dir(staging, target)
    return target
