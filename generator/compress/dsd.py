"""Dense-sparse-dense training (Han et al. 2017): from a trained dense network, prune each layer
by magnitude and retrain with the mask (sparse), then let the pruned weights back in at zero and
retrain everything at a tenth of the learning rate (dense again). The baseline is the same
network trained on for as many epochs at the same learning rates without the sparse phase, so
the one difference between the two is the pruning."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from generator.networks.config import DataConfig, MLPConfig, PruneConfig, TrainConfig, require
from generator.networks.data import load_mnist
from generator.networks.models import make_model, prunable_layers
from generator.networks.prune import baked, load_layers, prune_lottery_round, scores
from generator.networks.train import train_epochs
from generator.pipeline.chapter import TaskResult
from generator.pipeline.errors import BuildError
from generator.pipeline.threads import one_thread


@dataclass(frozen=True)
class DSDConfig:
    sparsity: float = 0.5          # share of each layer's kernel weights removed in the sparse phase
    sparse_epochs: int = 4
    redense_epochs: int = 4
    redense_lr_factor: float = 0.1
    train: TrainConfig = TrainConfig(batch_size=128, learning_rate=1.5e-3)

    def __post_init__(self):
        require(isinstance(self.sparsity, float) and 0 < self.sparsity < 1, "dsd.sparsity", "a float in (0, 1)",
                self.sparsity)
        for name in ("sparse_epochs", "redense_epochs"):
            require(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, f"dsd.{name}", "an integer >= 1",
                    getattr(self, name))
        require(isinstance(self.redense_lr_factor, float) and 0 < self.redense_lr_factor <= 1, "dsd.redense_lr_factor",
                "a float in (0, 1]", self.redense_lr_factor)


@dataclass(frozen=True)
class DSDRun:
    data: DataConfig
    model: MLPConfig
    dense_epochs: int
    dsd: DSDConfig
    seed: int


@one_thread
def run_dsd(run: DSDRun, dense: TaskResult) -> TaskResult:
    """Both arms from the same dense network, test and validation accuracy after every epoch
    (`curve`), and both final networks' weights (`dsd.<layer>.*`, `baseline.<layer>.*`)."""
    config = run.dsd
    mnist = load_mnist(run.data)
    x, y = mnist.train.inputs, mnist.train.targets
    low = replace(config.train, learning_rate=config.train.learning_rate * config.redense_lr_factor)
    curve, arrays = [], {}

    def start():
        model = make_model(run.model, run.seed)
        load_layers(model, dense, f"e{run.dense_epochs}")
        return model

    def scored(model, arm: str, phase: str, epoch: int) -> None:
        validation, _ = scores(model, mnist.validation.inputs, mnist.validation.targets)
        test, loss = scores(model, mnist.test.inputs, mnist.test.targets)
        curve.append({"arm": arm, "phase": phase, "epoch": epoch, "validation_accuracy": validation,
                      "test_accuracy": test, "test_loss": loss})

    for arm in ("baseline", "dsd"):
        model = start()
        scored(model, arm, "dense", run.dense_epochs)
        if arm == "dsd":
            rate = (config.sparsity,) * len(prunable_layers(model))
            prune_lottery_round(model, PruneConfig(rounds=1, rates=rate), 1)
        first = run.dense_epochs
        train_epochs(model, x, y, config.train, config.sparse_epochs, seed=run.seed * 1000 + 1,
                     after_epoch=lambda k: scored(model, arm, "sparse" if arm == "dsd" else "dense", first + k))
        if arm == "dsd":
            model = baked(model)         # the pruned weights come back, at zero
        second = first + config.sparse_epochs
        train_epochs(model, x, y, low, config.redense_epochs, seed=run.seed * 1000 + 2,
                     after_epoch=lambda k: scored(model, arm, "re-dense" if arm == "dsd" else "dense", second + k))
        for k, layer in enumerate(prunable_layers(model)):
            arrays[f"{arm}.{k}.weight"] = layer.weight.detach().numpy().copy()
            arrays[f"{arm}.{k}.bias"] = layer.bias.detach().numpy().copy()
    return TaskResult(record={"seed": run.seed, "curve": curve}, arrays=arrays)


def final(record: dict, arm: str) -> dict:
    return [row for row in record["curve"] if row["arm"] == arm][-1]


def arm_model(run: DSDRun, result: TaskResult, arm: str):
    model = make_model(run.model, 0)
    load_layers(model, result, arm)
    return model.eval()


@one_thread
def verify_dsd(run: DSDRun, dense: TaskResult, result: TaskResult) -> None:
    mnist = load_mnist(run.data)
    if result.record.get("seed") != run.seed:
        raise BuildError("the record is of another seed")
    for arm in ("baseline", "dsd"):
        if not all(np.isfinite(result.arrays.get(f"{arm}.{k}.weight", np.array([np.nan]))).all() for k in range(len(run.model.layer_sizes) - 1)):
            raise BuildError(f"the {arm} network's weights are missing or not finite")
        test, loss = scores(arm_model(run, result, arm), mnist.test.inputs, mnist.test.targets)
        last = final(result.record, arm)
        if test != last["test_accuracy"] or abs(loss - last["test_loss"]) > 1e-6 * max(1.0, loss):
            raise BuildError(f"the {arm} network scores {test}, its record says {last['test_accuracy']}")
