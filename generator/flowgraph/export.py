"""JSON documents the browser reads, checked against the JSON Schema files in generator/flowgraph/schema/."""
from __future__ import annotations

import json
from functools import cache

import fastjsonschema
import jsonschema

from generator.pipeline.errors import BuildError
from generator.pipeline.paths import SCHEMA_DIR

SCHEMA_VERSION = 2


@cache
def schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


@cache
def _compiled(name: str):
    return fastjsonschema.compile(schema(name))


def validate(document: dict, name: str) -> dict:
    # fastjsonschema's compiled check first (20 to 40 times faster on a graph of 50,000 edges);
    # only a document it rejects goes through jsonschema, whose best match names the place.
    try:
        _compiled(name)(document)
        return document
    except fastjsonschema.JsonSchemaException:
        pass
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema(name)).iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise BuildError(f"{name}.json does not match generator/flowgraph/schema/{name}.schema.json at {where}: {error.message}")
    return document


def flowgraph_document(chapter_id: str, graph: dict, input_shape: list[int], kernel_weights: int,
                       constant_outputs: dict[str, float], round_number: int | None = None,
                       input_range: list[float] | None = None) -> dict:
    document = {
        "schema_version": SCHEMA_VERSION,
        "experiment": chapter_id,
        "input_shape": list(input_shape),
        "layers": graph["layers"],
        "layout": graph["layout"],
        # Bounds not tightened (generator/flowgraph/exact.py) are interval arithmetic's; an input's
        # bounds are its box, exact.
        "nodes": [node if "bounds_kind" in node else
                  {**node, "bounds_kind": "exact" if node["kind"] == "input" else "interval"} for node in graph["nodes"]],
        "edges": graph["edges"],
        "stats": {"vertices": len(graph["nodes"]), "edges": len(graph["edges"]),
                  "kernel_weights": kernel_weights, "constant_outputs": constant_outputs},
    }
    if "subgraph_layouts" in graph:
        document["subgraph_layouts"] = graph["subgraph_layouts"]
    if round_number is not None:
        document["round"] = round_number
    if input_range is not None:
        document["input_range"] = list(input_range)
    return validate(document, "flowgraph")


def witnesses_file(chapter_id: str, flowgraph: str, witnesses: dict) -> dict:
    """witnesses.json: for each node with exact bounds, the inputs that attain them."""
    return validate({"schema_version": SCHEMA_VERSION, "experiment": chapter_id, "flowgraph": flowgraph,
                     "witnesses": witnesses}, "witnesses")


def traces_document(chapter_id: str, flowgraph: str, samples: list[dict]) -> dict:
    return validate({"schema_version": SCHEMA_VERSION, "experiment": chapter_id,
                     "flowgraph": flowgraph, "samples": samples}, "traces")


def manifest_document(chapters: list[dict], experiments: dict, figures: list[dict], profile: str) -> dict:
    return validate({"schema_version": SCHEMA_VERSION, "profile": profile, "chapters": chapters,
                     "experiments": experiments, "figures": figures}, "manifest")
