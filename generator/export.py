"""JSON documents the browser reads, checked against the JSON Schema files in generator/schema/."""
from __future__ import annotations

import json
from functools import cache

import jsonschema

from .errors import BuildError
from .paths import SCHEMA_DIR

SCHEMA_VERSION = 1


@cache
def schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


def validate(document: dict, name: str) -> dict:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema(name)).iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise BuildError(f"{name}.json does not match generator/schema/{name}.schema.json at {where}: {error.message}")
    return document


def flowgraph_document(experiment_name: str, round_number: int, graph: dict, kernel_weights: int,
                       constant_outputs: dict[str, float]) -> dict:
    return validate({
        "schema_version": SCHEMA_VERSION,
        "experiment": experiment_name,
        "round": round_number,
        "input_shape": [28, 28],
        "input_range": graph["input_range"],
        "layers": graph["layers"],
        "layout": graph["layout"],
        "nodes": graph["nodes"],
        "edges": graph["edges"],
        "stats": {"vertices": len(graph["nodes"]), "edges": len(graph["edges"]),
                  "kernel_weights": kernel_weights, "constant_outputs": constant_outputs},
    }, "flowgraph")


def traces_document(experiment_name: str, samples: list[dict]) -> dict:
    return validate({"schema_version": SCHEMA_VERSION, "experiment": experiment_name,
                     "flowgraph": "flowgraph.json", "samples": samples}, "traces")


def manifest_document(experiments: dict, figures: list[dict]) -> dict:
    return validate({"schema_version": SCHEMA_VERSION, "experiments": experiments, "figures": figures},
                    "manifest")
