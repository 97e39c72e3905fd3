"""Training results cached by the hash of the experiment config and of the code that trains.

A rebuild with nothing changed loads the pruned model instead of retraining (open_lth's pattern:
the description's hash names the folder, and a stage returns early when its output is there).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from . import config, data, models, prune, train
from .atomic import write_json_atomic
from .config import Experiment, config_hash
from .data import MNIST
from .models import make_model
from .paths import cache_dir
from .prune import LotteryResult, run_lottery

# Any edit to these modules can change what training produces, so it invalidates the cache.
TRAINING_CODE = (config, data, models, train, prune)


def code_version() -> str:
    h = hashlib.sha256()
    for module in TRAINING_CODE:
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:8]


def experiment_cache_dir(experiment: Experiment) -> Path:
    return cache_dir(experiment.name, f"{config_hash(experiment)}-{code_version()}")


def cached_lottery(experiment: Experiment, mnist: MNIST) -> LotteryResult:
    folder = experiment_cache_dir(experiment)
    record, weights = folder / "lottery.json", folder / "model.pt"
    if record.exists() and weights.exists():
        model = make_model(experiment.model, experiment.seed)
        state = torch.load(weights, weights_only=True)
        model.load_state_dict(state["model"])
        return LotteryResult(rounds=json.loads(record.read_text())["rounds"], model=model, masks=state["masks"])
    result = run_lottery(experiment, mnist)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = weights.with_suffix(".pt.tmp")
    torch.save({"model": result.model.state_dict(), "masks": result.masks}, tmp)
    tmp.replace(weights)
    # Written last: its presence means the folder is complete.
    write_json_atomic(record, {"experiment": experiment.to_dict(), "rounds": result.rounds})
    return result
