"""Config validation, profile registry, and pinned hashes (a changed hash means a silently new cache)."""
import subprocess
import sys

import pytest

from generator.config import (PROFILES, ConfigError, DataConfig, Experiment, ModelConfig, PruneConfig,
                              TrainConfig, config_hash, get_profile)
from tests.conftest import REPO


def test_profile_hashes_are_pinned():
    assert config_hash(PROFILES["full"]) == "63004615c62f"
    assert config_hash(PROFILES["quick"]) == "4f3aecbd1139"


def test_equal_configs_share_a_hash_and_any_change_alters_it():
    assert config_hash(Experiment()) == config_hash(Experiment())
    assert config_hash(Experiment(seed=1)) != config_hash(Experiment())


@pytest.mark.parametrize("make, option", [
    (lambda: DataConfig(train_size=0), "data.train_size"),
    (lambda: DataConfig(validation_size=6000), "data.validation_size"),
    (lambda: ModelConfig(layer_sizes=(784, 0, 10)), "model.layer_sizes"),
    (lambda: ModelConfig(layer_sizes=(100, 10)), "model.layer_sizes"),
    (lambda: TrainConfig(learning_rate=-1.0), "train.learning_rate"),
    (lambda: TrainConfig(epochs_per_round=0), "train.epochs_per_round"),
    (lambda: PruneConfig(rates=(0.2, 1.5, 0.1)), "prune.rates"),
    (lambda: Experiment(prune=PruneConfig(rates=(0.2, 0.1))), "prune.rates"),
    (lambda: Experiment(seed=-3), "seed"),
])
def test_bad_config_values_name_the_option(make, option):
    with pytest.raises(ConfigError, match=option.replace(".", r"\.")):
        make()


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known: full, quick"):
        get_profile("fast")


def test_cli_bad_option_is_one_error_line_and_nonzero_exit():
    result = subprocess.run([sys.executable, "-m", "generator.build", "--profile", "fast"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: --profile: unknown profile 'fast'; known: full, quick"]
