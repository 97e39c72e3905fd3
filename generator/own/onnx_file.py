"""An ONNX file read with the `onnx` package (never executed): a chain of supported operators
turned into the nn.Sequential the flowgraph reads. Supported: Gemm, MatMul (+ Add of a
constant), Relu, Conv (stride 1, no padding, one group), Flatten, Reshape (to flat, or from
flat to channels × rows × cols), Identity, Dropout, BatchNormalization (folded into the layer
before it). Anything else is one error line naming the operator."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from generator.own.layers import fold_batch_norm, normalise
from generator.pipeline.errors import ConfigError

SUPPORTED = ("Gemm, MatMul, Add (a constant bias after Gemm, MatMul or Conv), Relu, Conv (stride 1, no padding, "
             "one group), Flatten, Reshape, Identity, Dropout, BatchNormalization")


def _attributes(node) -> dict:
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def input_shape(model) -> tuple[int, ...]:
    """The shape of one input (the batch dimension left out)."""
    initialisers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initialisers]
    if len(inputs) != 1:
        raise ConfigError(f"expected one input, found {len(inputs)}")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) < 2 or any(d is None or d < 1 for d in dims[1:]):
        raise ConfigError(f"input {inputs[0].name!r} has shape {dims}; expected a batch dimension and fixed sizes")
    return tuple(int(d) for d in dims[1:])


def load_onnx(path: Path) -> tuple[nn.Sequential, tuple[int, ...]]:
    """(the model, the shape of one input)."""
    import onnx
    from onnx import numpy_helper
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as e:     # onnx raises its own and protobuf's errors for a file that is not ONNX
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{path}: not a readable ONNX model ({first})") from None
    try:
        shape = input_shape(model)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(_attributes(node)["value"])
    layers: list[nn.Module] = [nn.Unflatten(1, shape)] if len(shape) > 1 else []
    flat = len(shape) == 1
    current = next(i.name for i in model.graph.input if i.name not in constants)
    for node in model.graph.node:
        op, attrs = node.op_type, _attributes(node)
        where = f"{path}: node {node.name or node.output[0]!r} ({op})"
        if op == "Constant":
            continue
        data = [name for name in node.input if name and name not in constants]
        if data != [current]:
            raise ConfigError(f"{where}: reads {', '.join(data) or 'only constants'}; expected a chain of layers, "
                              f"each reading the one before ({current})")
        current = node.output[0]
        if op in ("Gemm", "MatMul"):
            weight = constants.get(node.input[1])
            if weight is None or attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0:
                raise ConfigError(f"{where}: expected a constant weight, no transA and alpha 1")
            weight = weight.T if op == "MatMul" or not attrs.get("transB", 0) else weight
            linear = nn.Linear(weight.shape[1], weight.shape[0])
            linear.weight = nn.Parameter(torch.tensor(np.ascontiguousarray(weight), dtype=torch.float32))
            bias = constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            beta = attrs.get("beta", 1.0)
            linear.bias = nn.Parameter(torch.tensor(beta * bias if bias is not None else np.zeros(weight.shape[0]),
                                                    dtype=torch.float32).reshape(-1))
            layers.append(linear)
        elif op == "Add":
            bias = constants.get(node.input[1], constants.get(node.input[0]))
            if bias is None or not layers or not isinstance(layers[-1], (nn.Linear, nn.Conv2d)):
                raise ConfigError(f"{where}: only a constant bias added after Gemm, MatMul or Conv is supported")
            layer = layers[-1]
            layer.bias = nn.Parameter(layer.bias.detach() + torch.tensor(bias, dtype=torch.float32).reshape(-1))
        elif op == "Conv":
            weight = constants.get(node.input[1])
            if (weight is None or any(s != 1 for s in attrs.get("strides", [1, 1])) or any(attrs.get("pads", [0]))
                    or attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1]))
                    or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID")):
                raise ConfigError(f"{where}: expected a constant weight, stride 1, no padding, dilation 1, one group")
            conv = nn.Conv2d(weight.shape[1], weight.shape[0], tuple(weight.shape[2:]))
            conv.weight = nn.Parameter(torch.tensor(weight, dtype=torch.float32))
            bias = constants.get(node.input[2]) if len(node.input) > 2 else None
            conv.bias = nn.Parameter(torch.tensor(bias if bias is not None else np.zeros(weight.shape[0]), dtype=torch.float32))
            layers.append(conv)
        elif op == "BatchNormalization":
            if not layers or not isinstance(layers[-1], (nn.Linear, nn.Conv2d)):
                raise ConfigError(f"{where}: must follow Gemm, MatMul or Conv, into which it is folded")
            gamma, beta, mean, var = (torch.tensor(constants[n], dtype=torch.float64) for n in node.input[1:5])
            scale = gamma / torch.sqrt(var + attrs.get("epsilon", 1e-5))
            layers[-1] = fold_batch_norm(layers[-1], scale, beta - mean * scale)
        elif op == "Relu":
            layers.append(nn.ReLU())
        elif op in ("Flatten", "Reshape"):
            target = constants.get(node.input[1]) if op == "Reshape" else None
            if op == "Flatten" or (target is not None and len(target) == 2):
                if not flat:
                    layers.append(nn.Flatten())
                flat = True
            elif target is not None and len(target) == 4 and flat:
                layers.append(nn.Unflatten(1, tuple(int(t) for t in target[1:])))
                flat = False
            else:
                raise ConfigError(f"{where}: only a reshape to one flat vector per sample, or from one to "
                                  f"channels × rows × cols, is supported")
        elif op in ("Identity", "Dropout"):
            continue
        else:
            raise ConfigError(f"{where}: operator {op} is not supported; supported: {SUPPORTED}")
    return normalise(nn.Sequential(*layers), str(path)), shape
