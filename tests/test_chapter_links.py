"""Chapters that build on each other: a network is trained once however many chapters use it, a
change upstream rebuilds exactly what lies downstream, and one chapter can be built alone."""
from __future__ import annotations

import dataclasses
import re
import shutil

import pytest

from generator.chapters import CHAPTERS
from generator.pipeline.chapter import Chapter, ChapterOutput
from generator.pipeline.errors import ConfigError, report
from generator.pipeline.parallel import Workers
from generator.pipeline.runner import chapter_order, plan_chapters, run_chapters, task_key, with_upstream
from tests.conftest import cached_task, chapter_tasks, run_build

DOWNSTREAM, UPSTREAM = "mnist-mlp-lth-dense-first", "mnist-mlp-lth"


def _chapter(id: str, *builds_on: str) -> Chapter:
    return Chapter(id=id, title=id, configs={"quick": None}, tasks=lambda config, upstream: [],
                   assemble=lambda config, results, upstream: ChapterOutput({}, {}, {}, {}), builds_on=builds_on)


def test_chapters_are_ordered_after_what_they_build_on():
    registry = {c.id: c for c in (_chapter("c", "b"), _chapter("a"), _chapter("b", "a"))}
    assert [c.id for c in chapter_order(registry)] == ["a", "b", "c"]
    assert [c.id for c in with_upstream(registry, [registry["b"]])] == ["a", "b"]
    assert [c.id for c in chapter_order(CHAPTERS)].index(UPSTREAM) < [c.id for c in chapter_order(CHAPTERS)].index(DOWNSTREAM)


@pytest.mark.parametrize("registry, words", [
    ({"a": _chapter("a", "nowhere")}, "chapter a builds on unknown chapter 'nowhere'; known: a"),
    ({"a": _chapter("a", "b"), "b": _chapter("b", "c"), "c": _chapter("c", "a")},
     "chapters build on each other in a cycle: a → b → c → a"),
])
def test_an_unknown_upstream_or_a_cycle_is_one_error_line(registry, words, capsys):
    with pytest.raises(ConfigError) as error:
        chapter_order(registry)
    assert report(error.value, debug=False) == 1
    assert capsys.readouterr().err == f"error: {words}\n"


def test_a_network_is_trained_once_however_many_chapters_use_it(quick_build):
    """The dense MLP of each seed is one task: the first chapter's round 0 and the round 0 the
    dense-first chapter prunes, run once in the build (its log counts every run)."""
    runs = quick_build["runs"]
    keys = [run["key"] for run in runs if run["task"] != "assemble"]
    assert len(keys) == len(set(keys))                         # nothing computed twice
    upstream, downstream = chapter_tasks(UPSTREAM), chapter_tasks(DOWNSTREAM)
    seeds = CHAPTERS[UPSTREAM].configs["quick"].seeds
    for seed in seeds:
        dense = upstream[f"dense-{seed}"]
        assert downstream[f"dense-{seed}"] is not None and task_key(downstream[f"dense-{seed}"]) == task_key(dense)
        assert [run["key"] for run in runs].count(task_key(dense)) == 1
        assert task_key(dense) in next(run["needs"] for run in runs
                                       if run["key"] == task_key(downstream[f"seed-{seed}"]))
        # Round 0 of both chapters is that one network.
        mine, theirs = cached_task(DOWNSTREAM, f"seed-{seed}"), cached_task(UPSTREAM, f"seed-{seed}")
        assert mine.record["rounds"][0] == theirs.record["rounds"][0]
        for name, array in theirs.arrays.items():
            if name.startswith("r0."):
                assert (mine.arrays[name] == array).all()
    # the CNN's dense networks: its chapter's seeds and the pair convergent learning compares
    from generator.chapters.convergent_learning import pair
    cnn_seeds = CHAPTERS["mnist-cnn"].configs["quick"].seeds
    assert sum(run["key"].startswith("train-dense-") for run in runs) == len(seeds) + len(set(cnn_seeds) | set(pair(cnn_seeds)))


def test_editing_the_upstream_config_rebuilds_the_downstream_chapter_and_nothing_else(quick_build, tmp_path, monkeypatch):
    shutil.copytree(quick_build["build"] / "cache", tmp_path / "cache")
    monkeypatch.setenv("FLOWGRAPH_BUILD_DIR", str(tmp_path))
    upstream = CHAPTERS[UPSTREAM]
    config = upstream.configs["quick"]
    edited = dataclasses.replace(config, prune=dataclasses.replace(config.prune, rates=(0.5, 0.3, 0.2)))
    registry = {**CHAPTERS, UPSTREAM: dataclasses.replace(upstream, configs={**upstream.configs, "quick": edited})}
    # Brought up to date first: the cache is the session build's, as the code is now.
    # The chapters downstream that train nothing of their own stand for the others (stimuli builds
    # on both MLP chapters); mnist-cnn is unrelated: it must not run at all.
    chosen = [UPSTREAM, DOWNSTREAM, "stimuli", "mnist-cnn"]
    run_chapters([CHAPTERS[c] for c in chosen], "quick", Workers(jobs=1))
    log: list[dict] = []
    outputs = run_chapters([registry[c] for c in chosen], "quick", Workers(jobs=1), log=log, registry=registry)
    ran = sorted((run["chapter"], run["task"]) for run in log)
    # What runs again: the upstream's pruning (its dense networks are the same), the tasks
    # downstream that read it (the t-SNE maps), and the assembly of every chapter downstream.
    before, after = (plan_chapters(with_upstream(r, [r[c] for c in chosen]), "quick") for r in (CHAPTERS, registry))
    changed = sorted((chapter_id, task.name) for chapter_id, tasks in after.chapter_tasks.items() for task in tasks
                     if task_key(task) not in before.tasks)
    downstream = [c.id for c in with_upstream(registry, [registry[c] for c in chosen]) if c.id == UPSTREAM
                  or UPSTREAM in {u.id for u in with_upstream(registry, [c])}]
    assert ran == sorted(changed + [(c, "assemble") for c in downstream])
    assert set(changed) >= {(UPSTREAM, f"seed-{s}") for s in config.seeds}
    assert {chapter for chapter, _ in ran}.isdisjoint({"cartpole-dqn", "mnist-cnn"}) and "stimuli" in downstream
    assert DOWNSTREAM in downstream and not any(re.fullmatch(r"dense-\d+", name) for _, name in changed)
    assert outputs[UPSTREAM].manifest["rounds"][-1]["weights"] != \
        cached_task(UPSTREAM, f"seed-{outputs[UPSTREAM].manifest['selected_seed']}").record["rounds"][-1]["weights"]


def test_only_a_downstream_chapter_on_a_fresh_build_folder(tmp_path):
    """`--only DOWNSTREAM` with nothing built: what it builds on is built first; the chapters it
    does not need are left out of the site with one note each."""
    result = run_build(tmp_path / "build", tmp_path / "site", "--only", DOWNSTREAM)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    needed = {c.id for c in with_upstream(CHAPTERS, [CHAPTERS[DOWNSTREAM]])}
    left_out = [c for c in CHAPTERS if c not in needed]
    assert len(notes) == len(left_out) and all(c in note for c, note in zip(left_out, notes)), result.stderr
    assert "cartpole-dqn" in left_out and "tsne" in left_out
    site = tmp_path / "site"
    assert (site / DOWNSTREAM / "index.html").exists() and (site / UPSTREAM / "index.html").exists()
    assert not (site / "cartpole-dqn").exists() and not (site / "mnist-cnn").exists()
    assert "cartpole-dqn" not in (site / "index.html").read_text().split("<article", 1)[1].split("Cite this report")[0] \
        or "left out" in (site / "index.html").read_text()
