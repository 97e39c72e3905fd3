"""Structure and compression, part 2: dense-sparse-dense training (Han et al. 2017) of the MNIST
MLP chapter's dense networks, against the same networks trained on for as many epochs without
the sparse phase. Whatever the sign of the difference, it is reported with its spread over seeds."""
from __future__ import annotations

from dataclasses import dataclass

from generator.chapters.structure import LOTTERY, dense_task, points, seeds_phrase, spread
from generator.compress.dsd import DSDConfig, DSDRun, final, run_dsd, verify_dsd
from generator.pipeline.chapter import Chapter, ChapterOutput, Figure, Task, TaskResult, Upstream, figure_entries
from generator.pipeline.errors import BuildError
from generator.pipeline.paths import chapter_data
from generator.site import structure_charts
from generator.pipeline.threads import one_thread

ID = "dsd"


@dataclass(frozen=True)
class DSDChapter:
    dsd: DSDConfig = DSDConfig()


CONFIGS = {
    # Half of each layer's weights removed (DSD's sparsities were 30-50%), 4 epochs sparse, 4
    # epochs dense again at a tenth of the rate: 8 epochs after the dense network's 3.
    "full": DSDChapter(),
    "quick": DSDChapter(DSDConfig(sparse_epochs=1, redense_epochs=1)),
}


def dsd_run(config: DSDChapter, lottery, seed: int) -> DSDRun:
    return DSDRun(data=lottery.data, model=lottery.model, dense_epochs=lottery.train.epochs_per_round,
                  dsd=config.dsd, seed=seed)


def tasks(config: DSDChapter, upstream: dict[str, Upstream]) -> list[Task]:
    lottery = upstream[LOTTERY].config
    return [Task(f"dsd-{seed}", run_dsd, (dsd_run(config, lottery, seed),), verify=verify_dsd,
                 needs=(dense_task(upstream, seed),)) for seed in lottery.seeds]


FIGURES = {
    "curves": Figure(
        "altair", "Dense, sparse, dense again",
        "Test accuracy after every epoch, from the dense network (epoch {dense_epochs}) on: DSD and the baseline trained "
        "on without pruning, at the same learning rates. The line is the median over {seeds_phrase}, the band the lowest "
        "to the highest seed; shaded, the sparse phase."),
}


def per_seed(config: DSDChapter, results: dict[str, TaskResult], seeds) -> list[dict]:
    rows = []
    for seed in seeds:
        record = results[f"dsd-{seed}"].record
        rows.append({"seed": seed, "dense": record["curve"][0]["test_accuracy"],
                     "baseline": final(record, "baseline")["test_accuracy"], "dsd": final(record, "dsd")["test_accuracy"]})
    return rows


@one_thread
def assemble(config: DSDChapter, results: dict[str, TaskResult], upstream: dict[str, Upstream]) -> ChapterOutput:
    lottery = upstream[LOTTERY].config
    seeds = list(lottery.seeds)
    rows = per_seed(config, results, seeds)
    difference = [r["dsd"] - r["baseline"] for r in rows]
    better = sum(d > 0 for d in difference)
    d = config.dsd
    facts = {
        "seeds_phrase": seeds_phrase(seeds), "sparsity": f"{100 * d.sparsity:g}%",
        "sparse_epochs": str(d.sparse_epochs), "redense_epochs": str(d.redense_epochs),
        "dense_epochs": str(lottery.train.epochs_per_round),
        "total_epochs": str(lottery.train.epochs_per_round + d.sparse_epochs + d.redense_epochs),
        "learning_rate": f"{d.train.learning_rate:g}", "redense_learning_rate": f"{d.train.learning_rate * d.redense_lr_factor:g}",
        "dense_accuracy": spread([r["dense"] for r in rows]),
        "baseline_accuracy": spread([r["baseline"] for r in rows]), "dsd_accuracy": spread([r["dsd"] for r in rows]),
        "difference": points(difference), "better_seeds": f"{better} of {len(rows)}",
        "verdict": ("DSD ends above the baseline on every seed." if better == len(rows) else
                    "DSD ends below the baseline on every seed." if better == 0 and all(x < 0 for x in difference) else
                    "The sign of the difference changes from seed to seed: within the spread of seeds, DSD and the "
                    "baseline end level."),
    }
    curve = [{**row, "seed": str(seed)} for seed in seeds for row in results[f"dsd-{seed}"].record["curve"]]
    path = chapter_data(ID, "curves.vl.json")
    first = lottery.train.epochs_per_round
    documents = {path: structure_charts.dsd_curves(curve, (first, first + d.sparse_epochs))}
    manifest = {"kind": "dsd", "seeds": seeds, "per_seed": rows, "pruned_share": d.sparsity,
                "epochs": {"dense": first, "sparse": d.sparse_epochs, "redense": d.redense_epochs}}
    return ChapterOutput(facts=facts, figures=figure_entries(FIGURES, facts, {"curves": {"spec": path}}),
                         documents=documents, manifest=manifest)


def check(config: DSDChapter, results: dict[str, TaskResult], upstream: dict[str, Upstream], output: ChapterOutput) -> None:
    if output.manifest.get("per_seed") != per_seed(config, results, upstream[LOTTERY].config.seeds):
        raise BuildError("the manifest's accuracies are not the task records'")


CHAPTER = Chapter(
    id=ID,
    title="Structure: dense-sparse-dense",
    configs=CONFIGS,
    tasks=tasks,
    assemble=assemble,
    check=check,
    builds_on=(LOTTERY,),
    headline="DSD against training on: {dsd_accuracy} against {baseline_accuracy}, a difference of {difference}",
    key_figure="curves",
)
