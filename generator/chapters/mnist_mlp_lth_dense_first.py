"""Pruning once more: the same MLP with its first layer left dense and the last two kernels
pruned harder. The first layer reads as 28×28 filters whatever its sparsity, so its weights cost
little readability; the rest of the graph gets much smaller. Compared with the all-layers ticket
of the first chapter, side by side."""
from __future__ import annotations

from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, TaskResult, Upstream
from generator.networks.config import DataConfig, LotteryExperiment, PruneConfig, TrainConfig
from generator.chapters.mnist_lottery import EXACT, profile_of, check_lottery_output, LIVE_FIGURE, analyse, lottery_tasks, mlp_chapter_output

ID = "mnist-mlp-lth-dense-first"

CONFIGS = {
    # Layers 2 and 3 lose 30% and 20% of their surviving weights per round (the rates of the
    # reference runs); survivors restart from their values after one epoch of dense training
    # ("late resetting", better than resetting to init here on validation), and the last mask
    # trains longer. Settings chosen on validation: benchmarks/tune_dense_first.py. Batches of
    # 128 at 1.5e-3, as the dense networks it prunes (mnist-mlp-lth's) are trained: validation
    # 0.9624 and 0.9596 for seeds 0 and 1 (at 64: 0.9636 and 0.9580), in 15 CPU s a seed, not 22.
    "full": LotteryExperiment(seeds=(0, 1, 2, 3, 4),
                              train=TrainConfig(epochs_per_round=3, final_epochs=15, batch_size=128,
                                                learning_rate=1.5e-3),
                              prune=PruneConfig(rounds=9, rates=(0.0, 0.30, 0.20), rewind_epochs=1)),
    "quick": LotteryExperiment(seeds=(0, 1),
                               data=DataConfig(train_size=10_000, validation_size=2_000, test_size=10_000),
                               train=TrainConfig(epochs_per_round=2, final_epochs=2),
                               prune=PruneConfig(rounds=3, rates=(0.0, 0.5, 0.4), rewind_epochs=1)),
}

# Figures of the 2020 post this chapter reproduces (shared/seeds/000), quoted in the text.
POST = {"post_test_accuracy": "93.5%", "post_constant_output": "2"}

FIGURES = {
    "accuracy-vs-weights": Figure(
        "altair", "Accuracy as layers 2 and 3 are pruned",
        "Test and validation accuracy after each of the {rounds} rounds against the weights left in "
        "layers 2 and 3 (log scale; layer 1 keeps all {layer_1_weights}): median over {seeds_phrase}, "
        "band from the lowest to the highest. The ringed point is round {selected_round}, drawn below."),
    "flowgraph": Figure(
        "flowgraph", "The network with a dense first layer",
        "The {vertices} vertices and {edges} edges of round {selected_round}, drawn with the first layer as "
        "filters (the {input_pixels} pixels folded into them). Switch the first layer to pixels and edges to see "
        "them all.",
        {"output": "all", "sample": "none", "inputs": "filters"}),
    "output-subgraph": Figure(
        "flowgraph", "Everything that decides one output, first layer dense",
        "The part of the graph that one output depends on, first layer as filters. It starts on output "
        "{subgraph_class}, the one that needs the fewest vertices; pick another above.",
        {"sample": "none", "inputs": "filters"}),
    "sample-trace": Figure(
        "flowgraph", "The network with a dense first layer on one test image",
        "The graph evaluated on one test image, the first layer as filters with filter ⊙ input beside each. "
        "It starts on {trace_sample}. Edge width is |weight × value carried|; choose another image above.",
        {"output": "all", "inputs": "filters"}),
    "live": LIVE_FIGURE,
}


def post_constant_comparison(constants: dict) -> str:
    """How the constant outputs found here compare with the post's one."""
    post = (f"in its network the logit of digit {POST['post_constant_output']} was a constant, a reference "
            "point that every other class had to beat")
    if constants:
        return f"The post found the same kind of thing: {post}."
    return f"Here the post's network differed: {post}. This pruning kept every class tied to the image."


def tasks(config: LotteryExperiment, upstream: dict[str, Upstream]):
    # The dense networks are the first chapter's (its round 0): pruned here, never trained again.
    return lottery_tasks(config, dense=upstream["mnist-mlp-lth"].tasks)


def assemble(config: LotteryExperiment, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    run = analyse(config, results, EXACT[profile_of(CONFIGS, config)])
    per_layer = run.selected["weights_per_layer"]
    facts = {**POST, "layer_1_weights": f"{per_layer[0]:,}", "layer_2_3_weights": f"{sum(per_layer[1:]):,}",
             "post_constant_comparison": post_constant_comparison(run.constants)}
    # Layer 1 does not change from round to round: no chart of weights per layer.
    return mlp_chapter_output(ID, run, FIGURES, facts, layer_chart=False)


CHAPTER = Chapter(
    id=ID,
    title="Pruning once more: first layer dense",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check_lottery_output,
    builds_on=("mnist-mlp-lth",),
    headline="the first layer left dense and layers 2–3 pruned to {layer_2_3_weights} weights: "
             "{selected_test_accuracy} test accuracy (median {test_accuracy_median} over {seeds_phrase}), "
             "{edges_after_filters} edges after the filters",
    key_figure="output-subgraph",
)
