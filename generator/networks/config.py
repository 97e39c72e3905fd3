"""Settings are small frozen dataclasses; the hash of a chapter's config names its cache folders.

Every chapter has one config per profile: `full` builds the report, `quick` is a small run for
the tests. The dataclasses here are the shared ones (data, models, training, lottery pruning);
a chapter with settings of its own keeps them in its module.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from generator.pipeline.errors import ConfigError

PROFILES = ("full", "quick")


def require(ok: bool, option: str, expected: str, value) -> None:
    if not ok:
        raise ConfigError(f"config option {option}: expected {expected}, got {value!r}")


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class DataConfig:
    train_size: int = 55_000       # first N images of the MNIST training set
    validation_size: int = 5_000   # the last N images of the training set
    test_size: int = 10_000        # first N images of the test set

    def __post_init__(self):
        require(_is_int(self.train_size) and 1 <= self.train_size <= 55_000,
                "data.train_size", "an integer in 1..55000", self.train_size)
        require(_is_int(self.validation_size) and 1 <= self.validation_size <= 5_000,
                "data.validation_size", "an integer in 1..5000", self.validation_size)
        require(_is_int(self.test_size) and 1 <= self.test_size <= 10_000,
                "data.test_size", "an integer in 1..10000", self.test_size)


@dataclass(frozen=True)
class MLPConfig:
    name: str = "mlp"
    layer_sizes: tuple[int, ...] = (784, 32, 32, 10)

    def __post_init__(self):
        sizes = self.layer_sizes
        require(isinstance(sizes, tuple) and len(sizes) >= 2 and all(_is_int(s) and s > 0 for s in sizes),
                "model.layer_sizes", "a tuple of at least two positive integers", sizes)


@dataclass(frozen=True)
class CNNConfig:
    """Conv2d layers (no padding, stride 1, each followed by ReLU), then one Linear layer."""
    name: str = "cnn"
    input_side: int = 28
    channels: tuple[int, ...] = (6, 6, 6)
    kernel_size: int = 3
    classes: int = 10

    def __post_init__(self):
        require(isinstance(self.channels, tuple) and len(self.channels) >= 1
                and all(_is_int(c) and c > 0 for c in self.channels),
                "model.channels", "a tuple of positive integers", self.channels)
        require(_is_int(self.kernel_size) and 1 <= self.kernel_size <= 7,
                "model.kernel_size", "an integer in 1..7", self.kernel_size)
        require(self.input_side - len(self.channels) * (self.kernel_size - 1) >= 1,
                "model.channels", "few enough layers to leave a feature map", self.channels)

    @property
    def feature_side(self) -> int:
        return self.input_side - len(self.channels) * (self.kernel_size - 1)


@dataclass(frozen=True)
class TrainConfig:
    epochs_per_round: int = 3
    final_epochs: int = 30         # the last round trains longer: its mask is the ticket shown
    batch_size: int = 64
    learning_rate: float = 1e-3
    # The last round's learning rate (default: learning_rate); "cosine" decays it to 0 per step.
    final_learning_rate: float | None = None
    final_schedule: str = "constant"

    def __post_init__(self):
        require(_is_int(self.epochs_per_round) and self.epochs_per_round >= 1,
                "train.epochs_per_round", "an integer >= 1", self.epochs_per_round)
        require(_is_int(self.final_epochs) and self.final_epochs >= 1,
                "train.final_epochs", "an integer >= 1", self.final_epochs)
        require(_is_int(self.batch_size) and self.batch_size >= 1,
                "train.batch_size", "an integer >= 1", self.batch_size)
        require(isinstance(self.learning_rate, float) and 0 < self.learning_rate < 1,
                "train.learning_rate", "a float in (0, 1)", self.learning_rate)
        require(self.final_learning_rate is None or (isinstance(self.final_learning_rate, float)
                                                     and 0 < self.final_learning_rate < 1),
                "train.final_learning_rate", "None or a float in (0, 1)", self.final_learning_rate)
        require(self.final_schedule in ("constant", "cosine"), "train.final_schedule",
                "constant or cosine", self.final_schedule)


@dataclass(frozen=True)
class PruneConfig:
    """Lottery-ticket iterative magnitude pruning of the kernels (biases are never pruned).

    Each round prunes every prunable layer (Linear or Conv2d, in order) by magnitude, then resets
    the survivors to their values at `rewind_epochs` into the dense training (0: the initial
    values, as Frankle & Carbin 2019; k > 0: "late resetting", Frankle et al. 2020) and retrains.
    How much each round removes:
    - `rates` (geometric): rates[i] of the weights still alive in layer i (0 leaves it dense);
    - `targets` (cubic): layer i keeps round(T + (N − T)(1 − r/R)³) after round r of R, so it
      reaches targets[i] at the last round, removing most early (Zhu & Gupta's gradual schedule).
    Layers listed in `balanced` keep the same number of weights in every output unit (the
    remainder going to the units with the largest next weight), so no output loses all inputs.
    """
    rounds: int = 20
    rates: tuple[float, ...] = (0.1935, 0.1016, 0.0700)
    targets: tuple[int, ...] = ()
    balanced: tuple[int, ...] = ()
    rewind_epochs: int = 0

    def __post_init__(self):
        # Round 0 is the dense network (shared with other chapters); at least one round prunes it.
        require(_is_int(self.rounds) and 1 <= self.rounds <= 100,
                "prune.rounds", "an integer in 1..100", self.rounds)
        if self.targets:
            require(isinstance(self.targets, tuple) and all(_is_int(t) and t >= 1 for t in self.targets),
                    "prune.targets", "a tuple of integers >= 1, one per prunable layer", self.targets)
        else:
            require(isinstance(self.rates, tuple) and len(self.rates) > 0
                    and all(isinstance(r, float) and 0.0 <= r < 1.0 for r in self.rates),
                    "prune.rates", "a tuple of floats in [0, 1), one per prunable layer", self.rates)
        require(isinstance(self.balanced, tuple) and all(_is_int(b) and b >= 0 for b in self.balanced),
                "prune.balanced", "a tuple of prunable-layer indices", self.balanced)
        require(_is_int(self.rewind_epochs) and self.rewind_epochs >= 0,
                "prune.rewind_epochs", "an integer >= 0", self.rewind_epochs)

    @property
    def per_layer(self) -> tuple:
        return self.targets or self.rates


@dataclass(frozen=True)
class DenseTraining:
    """Everything a dense training run depends on and nothing else, so that every chapter asking
    for "the dense network of seed s" names the same cache entry (the lottery's round 0)."""
    data: DataConfig
    model: MLPConfig | CNNConfig
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int

    def __post_init__(self):
        require(_is_int(self.epochs) and self.epochs >= 1, "train.epochs_per_round", "an integer >= 1", self.epochs)
        require(_is_int(self.seed) and self.seed >= 0, "seeds", "integers >= 0", self.seed)


@dataclass(frozen=True)
class LotteryExperiment:
    """An MNIST network pruned by the lottery-ticket procedure, once per seed."""
    seeds: tuple[int, ...] = (0,)
    data: DataConfig = field(default_factory=DataConfig)
    model: MLPConfig | CNNConfig = field(default_factory=MLPConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    samples_per_class: int = 2      # correctly classified test images traced per class
    misclassified_samples: int = 6  # plus this many the network gets wrong

    def __post_init__(self):
        require(isinstance(self.seeds, tuple) and len(self.seeds) >= 1
                and all(_is_int(s) and s >= 0 for s in self.seeds) and len(set(self.seeds)) == len(self.seeds),
                "seeds", "a tuple of distinct integers >= 0", self.seeds)
        layers = (len(self.model.layer_sizes) - 1 if isinstance(self.model, MLPConfig)
                  else len(self.model.channels) + 1)
        require(len(self.prune.per_layer) == layers, "prune.targets" if self.prune.targets else "prune.rates",
                f"one value per prunable layer ({layers})", self.prune.per_layer)
        require(all(b < layers for b in self.prune.balanced), "prune.balanced",
                f"indices below {layers}", self.prune.balanced)
        require(self.prune.rewind_epochs < self.train.epochs_per_round, "prune.rewind_epochs",
                f"fewer than train.epochs_per_round ({self.train.epochs_per_round})", self.prune.rewind_epochs)
        require(_is_int(self.samples_per_class) and self.samples_per_class >= 1,
                "samples_per_class", "an integer >= 1", self.samples_per_class)
        require(_is_int(self.misclassified_samples) and self.misclassified_samples >= 0,
                "misclassified_samples", "an integer >= 0", self.misclassified_samples)

    def dense(self, seed: int) -> DenseTraining:
        """The dense training its round 0 is (shuffled by seed × 1000, as every round r by seed × 1000 + r)."""
        return DenseTraining(data=self.data, model=self.model, epochs=self.train.epochs_per_round,
                             batch_size=self.train.batch_size, learning_rate=self.train.learning_rate, seed=seed)


def to_dict(config) -> dict:
    return {"type": type(config).__name__, **dataclasses.asdict(config)}


def config_hash(config) -> str:
    """Stable hash of every setting (and the config's type): equal configs share a cache folder."""
    text = json.dumps(to_dict(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def check_profile(name: str) -> str:
    if name not in PROFILES:
        raise ConfigError(f"--profile: unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return name
