"""`flowgraph-report model PATH ...` and its Python twin `report(model, ...)`: what the user gives
(a file or a model in memory, the input's shape and range, data, names) turned into the
settings and samples of a model report, and the report written (generator/own/report.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from torch import nn

from generator.flowgraph.exact import ExactConfig
from generator.own.layers import normalise
from generator.own.report import (ModelReportConfig, Samples, infer_shape, load_samples, model_graph, model_output,
                                  parse_range, parse_shape, prune_model, write_model_site)
from generator.pipeline.errors import ConfigError
from generator.pipeline.progress import bar

STEPS = ("load", "prune", "flowgraph", "exact bounds", "exactness", "layout", "figures and site")


def load_names(path: str | None) -> dict:
    """--names FILE: JSON {"inputs": [...], "outputs": [...]} (either may be left out)."""
    if not path:
        return {}
    try:
        names = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"--names {path}: not a readable JSON file ({e})") from None
    if (not isinstance(names, dict) or set(names) - {"inputs", "outputs"}
            or not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in names.values())):
        raise ConfigError(f"--names {path}: expected {{\"inputs\": [names], \"outputs\": [names]}}")
    return names


def load_model_file(path: Path):
    """(the model as a Sequential, the shape of one input if the file says it, the ONNX file or None)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; expected an ONNX file (.onnx) or a torch file (.pt, .pth)")
    if path.suffix.lower() == ".onnx":
        from generator.own.onnx_file import load_onnx
        model, shape = load_onnx(path)
        return model, shape, path
    if path.suffix.lower() in (".pt", ".pth"):
        from generator.own.torch_file import load_torch
        return load_torch(path), None, None
    raise ConfigError(f"{path}: unknown kind of file {path.suffix or '(no suffix)'}; expected .onnx, .pt or .pth")


def data_shape(data: str | tuple) -> tuple[int, ...] | None:
    """One input's shape as the data has it (an image's (1, 28, 28)), when --inputs does not say."""
    if isinstance(data, tuple):
        shape = np.shape(data[0])[1:]
    elif data == "mnist":
        return (28, 28)
    elif data:
        try:
            with np.load(data, allow_pickle=False) as npz:
                shape = npz["x"].shape[1:] if "x" in npz.files else ()
        except (OSError, ValueError):
            return None      # load_samples says what is wrong with the file
    else:
        return None
    return tuple(int(s) for s in shape) if len(shape) >= 2 else None


def report(model: nn.Module | str | Path, out: str | Path, *, inputs: str | tuple[int, ...] | None = None,
           input_range: str | tuple[float, float] = (0.0, 1.0), data: str | tuple = "", prune: float = 0.0,
           names: str | dict | None = None, title: str | None = None, exact_relus: int = 300) -> Path:
    """Write the exact report of `model` (an nn.Sequential in memory, or an ONNX or torch file) to
    the folder `out`; returns it. data: "mnist", an .npz path, or (x, y) arrays (y may be None).
    exact_relus: exact bounds for graphs with at most this many ReLUs after simplification (each
    node's programs deciding at most as many), interval bounds for larger ones."""
    if not isinstance(exact_relus, int) or exact_relus < 0:
        raise ConfigError(f"--exact-relus {exact_relus}: expected an integer ≥ 0")
    steps = bar(STEPS, desc="model report", unit="step", leave=False)
    step = iter(steps)

    def advance(name: str) -> None:
        steps.set_postfix_str(name)
        next(step, None)

    advance("load")
    onnx_path, source = None, ""
    if isinstance(model, (str, Path)):
        source = str(model)
        model, file_shape, onnx_path = load_model_file(Path(model))
    else:
        model, file_shape = normalise(model, "the model"), None
    shape = (parse_shape(inputs) if isinstance(inputs, str) else tuple(inputs) if inputs else file_shape
             or data_shape(data) or infer_shape(model))
    if file_shape and int(np.prod(file_shape)) != int(np.prod(shape)):
        raise ConfigError(f"--inputs {inputs}: the file's input has shape {file_shape}")
    box = parse_range(input_range) if isinstance(input_range, str) else tuple(float(v) for v in input_range)
    if isinstance(data, tuple):
        x = np.asarray(data[0], dtype=np.float64).reshape(len(data[0]), -1)
        samples = Samples(x, None if data[1] is None else np.asarray(data[1]).astype(np.int64))
        data_name = "arrays given in Python"
    else:
        samples, data_name = load_samples(data, shape, box), data
    config = ModelReportConfig(source=source, title=title or (Path(source).stem if source else "Your model"),
                               input_shape=shape, input_range=box, data=data_name, prune=float(prune),
                               exact=ExactConfig(max_binaries=exact_relus), max_exact_relus=exact_relus)
    advance("prune")
    model = prune_model(model, config.prune)
    result = model_graph(model, config, samples, names if isinstance(names, dict) else load_names(names),
                         onnx_path, step=advance)
    advance("figures and site")
    site = write_model_site(config, model_output(config, result, samples), Path(out))
    steps.close()
    return site
