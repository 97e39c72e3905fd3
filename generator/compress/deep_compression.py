"""Deep Compression (Han, Mao and Dally 2016) of an MNIST MLP: magnitude pruning with retraining
(no rewinding: the survivors keep their trained values), per-layer weight sharing with the
shared values retrained, and Huffman coding of the weight codes and the index gaps. One seed's
run starts from the dense network its task is handed and ends with the compressed file."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from generator.compress import compressed_file
from generator.compress.weight_sharing import retrain_centroids, share, shared_weights
from generator.networks.config import DataConfig, MLPConfig, PruneConfig, TrainConfig, require
from generator.networks.data import load_mnist
from generator.networks.models import make_model, prunable_layers
from generator.networks.prune import baked, kernel, load_layers, prune_lottery_round, scores, weights_per_layer
from generator.networks.train import train_epochs
from generator.pipeline.chapter import TaskResult
from generator.pipeline.errors import BuildError
from generator.pipeline.threads import one_thread


@dataclass(frozen=True)
class CompressionConfig:
    targets: tuple[int, ...] = (1200, 250, 110)   # kernel weights each layer keeps
    prune_steps: int = 5                          # pruned towards the targets on a cubic schedule
    epochs_per_step: int = 2                      # retraining after each pruning step
    final_epochs: int = 10                        # and after the last, longer
    bits: tuple[int, ...] = (5, 5, 5)             # per layer: 2^bits shared values
    gap_bits: int = 5                             # the relative index's width (Han et al.: 5 for FC)
    centroid_epochs: int = 2
    train: TrainConfig = TrainConfig(batch_size=128, learning_rate=1e-3, final_schedule="cosine")

    def __post_init__(self):
        require(isinstance(self.targets, tuple) and all(isinstance(t, int) and t >= 1 for t in self.targets),
                "compression.targets", "a tuple of positive integers (one per layer)", self.targets)
        require(isinstance(self.bits, tuple) and all(isinstance(b, int) and 1 <= b <= 8 for b in self.bits),
                "compression.bits", "a tuple of integers in 1..8 (one per layer)", self.bits)
        require(len(self.bits) == len(self.targets), "compression.bits", f"{len(self.targets)} entries, as targets",
                self.bits)
        require(isinstance(self.gap_bits, int) and 2 <= self.gap_bits <= 8, "compression.gap_bits",
                "an integer in 2..8", self.gap_bits)
        for name in ("prune_steps", "epochs_per_step", "final_epochs", "centroid_epochs"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, f"compression.{name}", "an integer >= 1", value)


@dataclass(frozen=True)
class CompressionRun:
    """What one compressed network is (its cache key): the dense network's settings and the method's."""
    data: DataConfig
    model: MLPConfig
    dense_epochs: int
    compression: CompressionConfig
    seed: int


def layer_arrays(model, prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}.{k}.{name}": getattr(layer, name).detach().numpy().copy() if name == "bias"
            else kernel(layer).detach().numpy().copy()
            for k, layer in enumerate(prunable_layers(model)) for name in ("weight", "bias")}


@one_thread
def compress(run: CompressionRun, dense: TaskResult) -> TaskResult:
    """Prune and retrain, share and retrain the shared values, encode; the record holds each
    stage's test accuracy (the last computed from the decoded file) and each part's bytes."""
    config = run.compression
    mnist = load_mnist(run.data)
    train_x, train_y = mnist.train.inputs, mnist.train.targets
    model = make_model(run.model, run.seed)
    load_layers(model, dense, f"e{run.dense_epochs}")
    stages = [{"stage": "dense", **stage_scores(model, mnist)}]
    schedule = PruneConfig(rounds=config.prune_steps, targets=config.targets)
    for step in range(1, config.prune_steps + 1):
        prune_lottery_round(model, schedule, step)
        epochs = config.final_epochs if step == config.prune_steps else config.epochs_per_step
        train_epochs(model, train_x, train_y, config.train, epochs, seed=run.seed * 1000 + step, desc=f"prune step {step}",
                     final=step == config.prune_steps)
    plain = baked(model)
    stages.append({"stage": "pruned", **stage_scores(plain, mnist)})
    pruned = layer_arrays(plain, "pruned")

    layers = []
    for k, (layer, bits) in enumerate(zip(prunable_layers(plain), config.bits)):
        weight = layer.weight.detach().numpy()
        positions = np.flatnonzero(weight)
        centroids, codes = share(weight, bits)
        layers.append({"shape": tuple(weight.shape), "positions": positions, "codes": codes, "centroids": centroids,
                       "initial_centroids": centroids.copy(), "bits": bits, "gap_bits": config.gap_bits})
    set_shared(plain, layers)
    stages.append({"stage": "shared", **stage_scores(plain, mnist)})
    retrain_centroids(plain, layers, train_x, train_y, config.train, config.centroid_epochs, seed=run.seed * 1000 + 99)
    for layer, module in zip(layers, prunable_layers(plain)):
        layer["bias"] = module.bias.detach().numpy().astype(np.float32)
    data, costs = compressed_file.encode(layers)
    decoded = decoded_model(run, data)
    stages.append({"stage": "retrained and coded", **stage_scores(decoded, mnist)})
    arrays = {"compressed": np.frombuffer(data, dtype=np.uint8).copy(), **pruned}
    for k, layer in enumerate(layers):
        arrays[f"centroids.{k}.initial"] = layer["initial_centroids"]
        arrays[f"centroids.{k}.retrained"] = layer["centroids"]
    dense_bytes = 4 * sum(int(np.prod(layer["shape"])) + layer["shape"][0] for layer in layers)
    record = {"seed": run.seed, "stages": stages, "weights_per_layer": weights_per_layer(decoded),
              "layer_bytes": costs, "compressed_bytes": len(data), "dense_bytes": dense_bytes}
    return TaskResult(record=record, arrays=arrays)


def stage_scores(model, mnist) -> dict:
    validation_accuracy, _ = scores(model, mnist.validation.inputs, mnist.validation.targets)
    test_accuracy, test_loss = scores(model, mnist.test.inputs, mnist.test.targets)
    return {"validation_accuracy": validation_accuracy, "test_accuracy": test_accuracy, "test_loss": test_loss}


def set_shared(model, layers: list[dict]) -> None:
    with torch.no_grad():
        for layer, module in zip(layers, prunable_layers(model)):
            module.weight.copy_(torch.from_numpy(shared_weights(layer["shape"], layer["positions"], layer["centroids"],
                                                                layer["codes"])))


def decoded_model(run: CompressionRun, data: bytes):
    """The network the file holds, from the decoder alone."""
    model = make_model(run.model, 0)
    try:
        layers = compressed_file.decode(data)
    except ValueError as e:
        raise BuildError(f"the compressed file does not decode: {e}") from None
    modules = prunable_layers(model)
    if [tuple(m.weight.shape) for m in modules] != [layer["weight"].shape for layer in layers]:
        raise BuildError("the compressed file's layers are not the model's")
    with torch.no_grad():
        for layer, module in zip(layers, modules):
            module.weight.copy_(torch.from_numpy(layer["weight"]))
            module.bias.copy_(torch.from_numpy(layer["bias"]))
    return model.eval()


@one_thread
def verify_compress(run: CompressionRun, dense: TaskResult, result: TaskResult) -> None:
    """A cached run is trusted if its file decodes to a network that scores what the record says
    and its byte counts are the file's."""
    data = result.arrays.get("compressed")
    if data is None or data.dtype != np.uint8:
        raise BuildError("the compressed file is missing")
    if result.record.get("compressed_bytes") != len(data) or result.record.get("seed") != run.seed:
        raise BuildError("the record's size or seed is not the file's")
    model = decoded_model(run, data.tobytes())
    last = result.record["stages"][-1]
    found = stage_scores(model, load_mnist(run.data))
    if found["test_accuracy"] != last.get("test_accuracy") or abs(found["test_loss"] - last.get("test_loss", -1)) > 1e-6:
        raise BuildError(f"the decoded network scores {found}, the record says {last}")
