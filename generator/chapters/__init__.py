"""The chapters of the report, in report order (the order of the post they continue).
Adding an experiment: a module in this package, a line here, and a page docs/<id>.md."""
from __future__ import annotations

from generator.pipeline.chapter import Chapter
from generator.pipeline.errors import ConfigError
from generator.chapters import cartpole_dqn
from generator.chapters import clusterability
from generator.chapters import convergent_learning
from generator.chapters import deep_compression
from generator.chapters import dsd
from generator.chapters import mnist_cnn
from generator.chapters import mnist_mlp_lth
from generator.chapters import mnist_mlp_lth_dense_first
from generator.chapters import attributions
from generator.chapters import spade
from generator.chapters import robustness
from generator.chapters import spade_backdoor
from generator.chapters import sparse_training
from generator.chapters import stimuli
from generator.chapters import tradeoff
from generator.chapters import tsne

CHAPTERS: dict[str, Chapter] = {
    chapter.id: chapter for chapter in (
        mnist_mlp_lth.CHAPTER,
        mnist_mlp_lth_dense_first.CHAPTER,
        cartpole_dqn.CHAPTER,
        mnist_cnn.CHAPTER,
        tsne.CHAPTER,
        stimuli.CHAPTER,
        attributions.CHAPTER,
        spade.CHAPTER,
        spade_backdoor.CHAPTER,
        robustness.CHAPTER,
        deep_compression.CHAPTER,
        dsd.CHAPTER,
        sparse_training.CHAPTER,
        convergent_learning.CHAPTER,
        clusterability.CHAPTER,
        tradeoff.CHAPTER,
    )
}


def select(only: str | None) -> list[Chapter]:
    """The chapters named by --only (comma-separated ids), or all of them."""
    if only is None:
        return list(CHAPTERS.values())
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in CHAPTERS]
    if unknown or not names:
        raise ConfigError(f"--only: unknown chapter {', '.join(map(repr, unknown)) or '(none given)'}; "
                          f"known: {', '.join(CHAPTERS)}")
    return [chapter for chapter in CHAPTERS.values() if chapter.id in names]
