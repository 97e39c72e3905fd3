"""Structure and compression, part 4: convergent learning (Li et al. 2016, and the lecture's
"identifying channel correspondences"). Two networks that differ only in their seed, the MNIST
MLP chapter's dense networks of its first two seeds and the CNN chapter's dense networks of two
seeds: do their units match one to one, and how well is each unit of one a linear function of
the other's? Nothing is trained here but the CNN's second seed when its chapter runs only one."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from generator.chapters.structure import LOTTERY
from generator.compress.convergence import bipartite_matching, correlations, regression, semi_matching
from generator.networks.config import require
from generator.networks.data import load_mnist
from generator.networks.models import prunable_layers
from generator.networks.prune import dense_model, train_dense, verify_dense
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, Task, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data
from generator.site import structure_charts
from generator.pipeline.threads import one_thread

ID = "convergent-learning"
CNN = "mnist-cnn"


@dataclass(frozen=True)
class ConvergentConfig:
    lasso_alpha: float = 0.05
    mlp_images: int = 10_000        # test images the MLPs' units are compared on
    cnn_images: int = 1000          # test images whose every position is a sample of a conv channel

    def __post_init__(self):
        require(isinstance(self.lasso_alpha, float) and self.lasso_alpha > 0, "lasso_alpha", "a float > 0", self.lasso_alpha)
        require(isinstance(self.cnn_images, int) and self.cnn_images >= 10, "cnn_images", "an integer >= 10", self.cnn_images)


CONFIGS = {"full": ConvergentConfig(), "quick": ConvergentConfig(mlp_images=2000, cnn_images=200)}


def pair(seeds) -> tuple[int, int]:
    return (seeds[0], seeds[1]) if len(seeds) > 1 else (seeds[0], seeds[0] + 1)


def tasks(config: ConvergentConfig, upstream: dict[str, Upstream]) -> list[Task]:
    """The dense networks compared, as tasks of their own chapters compute them (the same cache
    entries: a network is trained once however many chapters ask for it)."""
    out = []
    for prefix, chapter in (("mlp", LOTTERY), ("cnn", CNN)):
        experiment = upstream[chapter].config
        for seed in pair(experiment.seeds):
            out.append(Task(f"{prefix}-{seed}", train_dense, (experiment.dense(seed),), verify=verify_dense))
    return out


def activations(model, inputs: torch.Tensor, layers: int) -> list[np.ndarray]:
    """Post-ReLU values of the first `layers` ReLUs, one row per sample (a conv channel's every
    position is a sample of that channel)."""
    out, x = [], inputs
    with torch.inference_mode():
        for module in model:
            x = module(x)
            if isinstance(module, torch.nn.ReLU):
                value = x.numpy()
                if value.ndim == 4:                       # (N, C, H, W) -> (N·H·W, C)
                    value = value.transpose(0, 2, 3, 1).reshape(-1, value.shape[1])
                out.append(value.astype(np.float64))
                if len(out) == layers:
                    break
    return out


def compare(a: np.ndarray, b: np.ndarray, alpha: float) -> dict:
    corr = correlations(a, b)
    semi, partner = semi_matching(corr), bipartite_matching(corr)
    rows = np.arange(len(corr))
    return {"correlation": corr, "semi": semi, "partner": partner,
            "semi_mean": float(corr[rows, semi].mean()), "bipartite_mean": float(corr[rows, partner].mean()),
            "regression": regression(a, b, alpha)}


FIGURES = {
    "matching": Figure(
        "altair", "Unit against unit, MLP layer 1",
        "The correlation over the {test_images} test images between each first-layer unit of the seed-{seed_a} network "
        "(rows) and of the seed-{seed_b} network (columns), the columns in the order of the best one-to-one matching, so "
        "matched pairs lie on the diagonal. Click a cell to see the two units' filters side by side."),
    "matching-layer-2": Figure(
        "altair", "Unit against unit, MLP layer 2",
        "The same for the second hidden layer, whose units read the first layer's, not pixels: no filters to show."),
    "matching-cnn": Figure(
        "altair", "Channel against channel, CNN conv 1",
        "The same for the first convolution's {cnn_channels} channels of two CNNs (seeds {cnn_seed_a} and {cnn_seed_b}), "
        "every position of {cnn_images} test images a sample; click a cell for the two 3×3 kernels."),
    "summary": Figure(
        "altair", "How well the units match",
        "Mean correlation of each unit with its partner: its best partner (semi-matching, partners may repeat) and its "
        "partner in the best one-to-one matching (bipartite), per layer."),
}


@one_thread
def assemble(config: ConvergentConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    lottery, cnn = upstream[LOTTERY].config, upstream[CNN].config
    test = load_mnist(lottery.data).test
    (a, b), (ca, cb) = pair(lottery.seeds), pair(cnn.seeds)
    mlp = {s: dense_model(lottery.dense(s), results[f"mlp-{s}"], lottery.train.epochs_per_round) for s in (a, b)}
    hidden = len(lottery.model.layer_sizes) - 2
    acts = {s: activations(mlp[s], test.inputs[:config.mlp_images], hidden) for s in (a, b)}
    layers = {f"MLP layer {k + 1}": compare(acts[a][k], acts[b][k], config.lasso_alpha) for k in range(hidden)}
    cnn_models = {s: dense_model(cnn.dense(s), results[f"cnn-{s}"], cnn.train.epochs_per_round) for s in (ca, cb)}
    cnn_test = load_mnist(cnn.data).test.inputs[:config.cnn_images]
    cnn_acts = {s: activations(cnn_models[s], cnn_test, 1)[0] for s in (ca, cb)}
    layers["CNN conv 1"] = compare(cnn_acts[ca], cnn_acts[cb], config.lasso_alpha)

    filters_a = prunable_layers(mlp[a])[0].weight.detach().numpy()
    filters_b = prunable_layers(mlp[b])[0].weight.detach().numpy()
    kernels_a = prunable_layers(cnn_models[ca])[0].weight.detach().numpy().reshape(-1, 9)
    kernels_b = prunable_layers(cnn_models[cb])[0].weight.detach().numpy().reshape(-1, 9)
    paths = {name: chapter_data(ID, f"{name}.vl.json") for name in FIGURES}
    documents = {
        paths["matching"]: structure_charts.matching_heatmap(layers["MLP layer 1"], filters_a, filters_b, 28, f"seed {a}", f"seed {b}"),
        paths["matching-layer-2"]: structure_charts.matching_heatmap(layers["MLP layer 2"], None, None, 0, f"seed {a}", f"seed {b}"),
        paths["matching-cnn"]: structure_charts.matching_heatmap(layers["CNN conv 1"], kernels_a, kernels_b, 3, f"seed {ca}", f"seed {cb}"),
        paths["summary"]: structure_charts.matching_summary([{"layer": name, "matching": kind, "correlation": c[f"{key}_mean"]}
                                                   for name, c in layers.items()
                                                   for kind, key in (("semi-matching", "semi"), ("bipartite", "bipartite"))],
                                                  list(layers)),
    }
    facts = {"seed_a": str(a), "seed_b": str(b), "cnn_seed_a": str(ca), "cnn_seed_b": str(cb),
             "test_images": f"{min(config.mlp_images, len(test.labels)):,}", "cnn_images": f"{config.cnn_images:,}",
             "cnn_channels": str(len(kernels_a)), "lasso_alpha": f"{config.lasso_alpha:g}"}
    manifest_layers = {}
    for name, c in layers.items():
        key = name.lower().replace(" ", "_")
        r = c["regression"]
        rows = np.arange(len(c["partner"]))
        facts.update({f"{key}_semi": f"{c['semi_mean']:.3f}", f"{key}_bipartite": f"{c['bipartite_mean']:.3f}",
                      f"{key}_units": str(len(rows)), f"{key}_repeats": str(len(rows) - len(set(c["semi"].tolist()))),
                      f"{key}_ls_mse": f"{r['least_squares_mse']:.3f}", f"{key}_ls_units": str(r["least_squares_units"]),
                      f"{key}_lasso_mse": f"{r['lasso_mse']:.3f}", f"{key}_lasso_units": f"{r['lasso_units']:.1f}",
                      f"{key}_strong": str(int((c["correlation"][rows, c["partner"]] > 0.9).sum()))})
        manifest_layers[name] = {"semi_matching_mean": c["semi_mean"], "bipartite_mean": c["bipartite_mean"],
                                 "partner": c["partner"].tolist(), **{k: v for k, v in r.items()}}
    manifest = {"kind": "convergent-learning", "mlp_seeds": [a, b], "cnn_seeds": [ca, cb], "layers": manifest_layers}
    data = {name: {"spec": path} for name, path in paths.items()}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, data), documents=documents, manifest=manifest)


def check(config: ConvergentConfig, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    """The matchings it publishes are one-to-one."""
    for name, layer in output.manifest["layers"].items():
        partner = layer["partner"]
        if sorted(partner) != list(range(len(partner))):
            raise BuildError(f"{name}: the bipartite matching is not one-to-one")


CHAPTER = Chapter(
    id=ID,
    title="Structure: convergent learning",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(LOTTERY, CNN),
    headline="two seeds' first layers: mean matched correlation {mlp_layer_1_bipartite} (MLP), {cnn_conv_1_bipartite} (CNN); "
             "a unit from the other net's: squared error {mlp_layer_1_ls_mse}, {mlp_layer_1_lasso_mse} with {mlp_layer_1_lasso_units} units",
    key_figure="matching",
)
