"""Which task starts first: the longest (a cost guess on each task, outside its cache key), so
that a long task does not start last and run alone while the other workers wait; the results
still come back in the order of the calls, whatever order they ran in."""
from generator.chapters import CHAPTERS
from generator.pipeline import runner
from generator.pipeline.parallel import Workers

STARTED: list[str] = []


def _note(name: str) -> str:
    STARTED.append(name)
    return name


def test_the_dearest_call_starts_first_and_results_keep_the_calls_order():
    STARTED.clear()
    calls = [(_note, (name,)) for name in "abcd"]
    assert Workers(jobs=1).map(calls, desc=None, costs=[1.0, 5.0, 0.0, 3.0]) == list("abcd")
    assert STARTED == list("bdac")
    STARTED.clear()
    assert Workers(jobs=1).map(calls, desc=None) == list("abcd") and STARTED == list("abcd")


def test_a_cost_is_not_part_of_the_cache_key():
    task = runner.plan_chapters([CHAPTERS["cartpole-dqn"]], "quick").chapter_tasks["cartpole-dqn"][0]
    cheaper = type(task)(task.name, task.function, task.args, task.verify, task.needs, cost=0.0)
    assert task.cost > 0 and runner.task_key(cheaper) == runner.task_key(task)


def test_in_the_full_report_the_longest_training_tasks_start_first():
    """CartPole's one task and the CNN's seeds, then the MLP's, in the level where they all run."""
    order = runner.with_upstream(CHAPTERS, [CHAPTERS[c] for c in ("mnist-mlp-lth", "mnist-mlp-lth-dense-first",
                                                                  "cartpole-dqn", "mnist-cnn")])
    plan = runner.plan_chapters(order, "full")
    level = runner._levels(list(plan.tasks.values()))[-1]
    first = [plan.asked_by[runner.task_key(t)][0] for t in sorted(level, key=lambda t: -t.cost)]
    assert first[:4] == ["cartpole-dqn"] + ["mnist-cnn"] * 3
    assert set(first[4:9]) == {"mnist-mlp-lth"} and set(first[9:]) == {"mnist-mlp-lth-dense-first"}
