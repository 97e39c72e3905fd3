"""Config validation, the chapter registry, and pinned hashes (a changed hash means a silently new cache)."""
import subprocess
import sys

import pytest

from generator.chapters import CHAPTERS, select
from generator.networks.config import (CNNConfig, ConfigError, DataConfig, LotteryExperiment, MLPConfig, PruneConfig,
                              TrainConfig, check_profile, config_hash)
from tests.conftest import REPO


def test_profile_hashes_are_pinned():
    hashes = {chapter_id: {p: config_hash(c.configs[p]) for p in ("full", "quick")} for chapter_id, c in CHAPTERS.items()}
    assert hashes == {
        "mnist-mlp-lth": {"full": "67b9c7518133", "quick": "b35569c06b4c"},
        "mnist-mlp-lth-dense-first": {"full": "713e9e393a27", "quick": "0fec1ad5b4f3"},
        "cartpole-dqn": {"full": "cda6c57a899b", "quick": "42d0968cccc6"},
        "mnist-cnn": {"full": "2651bab1cc88", "quick": "7099a3616d2a"},
        "tsne": {"full": "f6b81fec51d5", "quick": "2927aae559b4"},
        "stimuli": {"full": "785247711db6", "quick": "785247711db6"},
        "attributions": {"full": "e5dcd97f4363", "quick": "024358caa26b"},
        "spade": {"full": "849abefaf471", "quick": "642720e59f84"},
        "spade-backdoor": {"full": "51cdc1abf838", "quick": "fc6c73e5f9dc"},
        "robustness": {"full": "809869857ab7", "quick": "269d24308443"},
        "deep-compression": {"full": "8b5545934953", "quick": "448ebd7f8a81"},
        "dsd": {"full": "b007880c457d", "quick": "b073178f412d"},
        "sparse-training": {"full": "b8000400ee3f", "quick": "a8446cd1194b"},
        "convergent-learning": {"full": "7ceba1271151", "quick": "13671b7eacc9"},
        "clusterability": {"full": "95c9cf08d992", "quick": "31d1edc6e019"},
        "tradeoff": {"full": "5fc5a694b39b", "quick": "5fc5a694b39b"},
    }


def test_every_chapter_has_both_profiles_and_a_page():
    for chapter in CHAPTERS.values():
        assert set(chapter.configs) == {"full", "quick"}
        assert (REPO / "docs" / f"{chapter.id}.md").exists()


def test_equal_configs_share_a_hash_and_any_change_alters_it():
    assert config_hash(LotteryExperiment()) == config_hash(LotteryExperiment())
    assert config_hash(LotteryExperiment(seeds=(1,))) != config_hash(LotteryExperiment())
    assert config_hash(DataConfig()) != config_hash(TrainConfig())


@pytest.mark.parametrize("make, option", [
    (lambda: DataConfig(train_size=0), "data.train_size"),
    (lambda: DataConfig(validation_size=6000), "data.validation_size"),
    (lambda: MLPConfig(layer_sizes=(784, 0, 10)), "model.layer_sizes"),
    (lambda: CNNConfig(channels=(6, -1)), "model.channels"),
    (lambda: TrainConfig(learning_rate=-1.0), "train.learning_rate"),
    (lambda: TrainConfig(epochs_per_round=0), "train.epochs_per_round"),
    (lambda: PruneConfig(rates=(0.2, 1.5, 0.1)), "prune.rates"),
    (lambda: LotteryExperiment(prune=PruneConfig(rates=(0.2, 0.1))), "prune.rates"),
    (lambda: LotteryExperiment(seeds=(-3,)), "seeds"),
    (lambda: LotteryExperiment(seeds=(1, 1)), "seeds"),
    (lambda: LotteryExperiment(prune=PruneConfig(rewind_epochs=3)), "prune.rewind_epochs"),
])
def test_bad_config_values_name_the_option(make, option):
    with pytest.raises(ConfigError, match=option.replace(".", r"\.")):
        make()


def test_unknown_profile_and_chapter_list_the_known_ones():
    with pytest.raises(ConfigError, match="known: full, quick"):
        check_profile("fast")
    with pytest.raises(ConfigError, match="known: " + ", ".join(CHAPTERS)):
        select("mnist-mlp-lth,nope")
    assert [c.id for c in select("mnist-mlp-lth")] == ["mnist-mlp-lth"]


@pytest.mark.parametrize("args, message", [
    (["--profile", "fast"], "error: --profile: unknown profile 'fast'; known: full, quick"),
    (["--jobs", "two"], "error: argument --jobs: invalid int value: 'two' (see --help)"),
    (["--jobs", "0"], "error: --jobs: expected an integer >= 1, got 0"),
    (["--bogus"], "error: unrecognized arguments: --bogus (see --help)"),
    (["--backend", "dask"], "error: --scheduler: expected the address of a Dask scheduler with --backend dask"),
])
def test_cli_bad_option_is_one_error_line_and_exit_1(args, message, tmp_path):
    result = subprocess.run([sys.executable, "-m", "generator.build", *args], cwd=REPO, capture_output=True,
                            text=True, env={"FLOWGRAPH_BUILD_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [message]
