"""Runs the chapters: their tasks (training), then their assembly, each cached and checked.

1. Order the chapters by what they build on (an unknown name or a cycle is one error line) and
   ask each for its tasks, handing it the chapters it builds on.
2. Key every task by what it computes: its function, settings, code and the keys of the tasks
   it needs. Two chapters asking for the same network get one task, run once.
3. Load what the cache holds. A chapter's output is keyed by its config, its code, its tasks'
   keys and its upstream chapters' output keys, so a change upstream rebuilds exactly what lies
   downstream of it. Task results an assembly will read are verified against their model first.
4. Compute the missing tasks in dependency levels, one parallel map per level; then assemble
   the chapters, one map per level of the chapter graph. Calls name the cached entries they
   read and a local worker reads them itself (pipeline/stored.py): sent by value, the networks
   and documents cost more to pickle than the checks cost to run.
5. Check every output before it is published, cached or not (`Chapter.check`): its graphs
   against the networks its tasks hold, its facts against what they summarise. A cached output
   that fails is named in one warning line and assembled again.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
import sys
import types
from dataclasses import dataclass, field, is_dataclass
from datetime import date
from pathlib import Path

from generator.networks.config import config_hash, to_dict
from generator.pipeline import cache, stored
from generator.pipeline.chapter import Chapter, ChapterOutput, Task, TaskResult, Upstream
from generator.pipeline.errors import BuildError, ConfigError
from generator.pipeline.parallel import Workers
from generator.pipeline.stored import Names
from generator.pipeline.paths import SCHEMA_DIR, chapter_cache_dir, chapter_data, task_cache_dir


# ---- the chapter graph

def chapter_order(chapters: dict[str, Chapter]) -> list[Chapter]:
    """The chapters with every chapter after the ones it builds on (registry order otherwise)."""
    for chapter in chapters.values():
        unknown = [u for u in chapter.builds_on if u not in chapters]
        if unknown:
            raise ConfigError(f"chapter {chapter.id} builds on unknown chapter {', '.join(map(repr, unknown))}; "
                              f"known: {', '.join(chapters)}")
    order: list[Chapter] = []
    state: dict[str, str] = {}

    def visit(chapter: Chapter, path: list[str]) -> None:
        if state.get(chapter.id) == "done":
            return
        if state.get(chapter.id) == "visiting":
            cycle = path[path.index(chapter.id):] + [chapter.id]
            raise ConfigError(f"chapters build on each other in a cycle: {' → '.join(cycle)}")
        state[chapter.id] = "visiting"
        for upstream in chapter.builds_on:
            visit(chapters[upstream], path + [chapter.id])
        state[chapter.id] = "done"
        order.append(chapter)

    for chapter in chapters.values():
        visit(chapter, [])
    return order


def with_upstream(chapters: dict[str, Chapter], chosen: list[Chapter]) -> list[Chapter]:
    """The chosen chapters and every chapter they build on, directly or not, in build order."""
    needed: set[str] = set()
    stack = [c.id for c in chosen]
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(chapters[name].builds_on)
    return [c for c in chapter_order(chapters) if c.id in needed]


# ---- cache keys

def code_closure(obj) -> list[Path]:
    """The source files of obj's module and of every generator module it imports, directly or
    not: the code whose edits can change what a task computes."""
    seen: dict[str, Path] = {}
    stack = [inspect.getmodule(obj)]
    while stack:
        module = stack.pop()
        if module is None or module.__name__ in seen or not module.__name__.startswith("generator"):
            continue
        seen[module.__name__] = Path(module.__file__).resolve()
        for value in vars(module).values():
            stack.append(value if isinstance(value, types.ModuleType) else inspect.getmodule(value))
    return sorted(seen.values())


@functools.lru_cache(maxsize=None)
def code_key(obj) -> str:
    return cache.code_version(code_closure(obj))


def _settings(value):
    """A task argument as plain JSON: settings only (results arrive through `needs`)."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_settings(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise BuildError(f"a task's arguments must be settings (dataclasses, numbers, strings), got {type(value).__name__}")


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def task_key(task: Task) -> str:
    """`<function>-<settings and needs>-<code>`: what the task computes, whoever asks for it."""
    inputs = _digest({"args": _settings(task.args), "needs": [task_key(n) for n in task.needs]})
    return f"{task.function.__name__.replace('_', '-')}-{inputs}-{code_key(task.function)}"


def task_folder(task: Task) -> Path:
    return task_cache_dir(task_key(task))


def output_key_prefix(chapter: Chapter, config) -> str:
    return f"{chapter.id}-{config_hash(config)}-"


def output_key(chapter: Chapter, config, tasks: list[Task], upstream_keys: list[str]) -> str:
    from generator.site import snapshot
    code = cache.code_version(code_closure(chapter.assemble) + code_closure(snapshot)
                              + (code_closure(chapter.check) if chapter.check else [])
                              + sorted(SCHEMA_DIR.glob("*.json")))
    inputs = _digest({"tasks": sorted(task_key(t) for t in tasks), "upstream": upstream_keys})
    return output_key_prefix(chapter, config) + f"{code}-{inputs}"


# ---- reading the cache

def _load(folder: Path, parse, check=None):
    """A cached entry parsed and checked, or None (absent, or damaged: then reported and deleted)."""
    try:
        files = cache.read_entry(folder)
        if files is None:
            return None
        value = parse(files)
        if check is not None:
            check(value)
        return value
    except (BuildError, OSError, ValueError) as e:
        cache.discard(folder, str(e))
        return None


def _check_documents(output: ChapterOutput) -> None:
    from generator.flowgraph.export import validate
    for path, document in output.documents.items():
        name = next((n for n in ("flowgraph", "traces", "embedding", "stimuli", "attributions", "circuits") if path.endswith(f"/{n}.json")), None)
        if name:
            validate(document, name)


def _meta(files: dict[str, bytes]) -> dict:
    """When and how long an entry took to compute (meta.json, written with it)."""
    return json.loads(files.get("meta.json", b"{}"))


def _seconds(meta) -> float:
    """An entry's recorded seconds, or 0 (meta.json is a record, not checked: only a hint)."""
    seconds = meta.get("seconds") if isinstance(meta, dict) else None
    return float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else 0.0


def _timing(seconds: float) -> dict:
    return {"seconds": round(seconds, 1), "date": date.today().isoformat()}


def _stamp(seconds: float) -> bytes:
    return json.dumps(_timing(seconds)).encode()


def _load_output(folder: Path) -> tuple[ChapterOutput, dict] | None:
    """A cached chapter output whose documents still match their schemas, with its meta.json."""
    return _load(folder, lambda f: (ChapterOutput.from_files(f), _meta(f)), lambda value: _check_documents(value[0]))


# ---- the run

@dataclass
class _Plan:
    """Every task the chapters need, once each, with who asked first and what each chapter holds."""
    tasks: dict[str, Task] = field(default_factory=dict)          # key -> task
    asked_by: dict[str, tuple[str, str]] = field(default_factory=dict)   # key -> (chapter, task name)
    chapter_tasks: dict[str, list[Task]] = field(default_factory=dict)   # chapter -> its tasks
    upstream: dict[str, Upstream] = field(default_factory=dict)   # chapter -> what it hands on
    keys: dict[str, str] = field(default_factory=dict)            # chapter -> output key
    names: Names = field(default_factory=lambda: Names(by_name=False))   # entries read or written

    def result(self, task: Task, loaded: dict):
        """A task's result as a call receives it: named (local workers) or itself (Dask)."""
        return self.names.named(task_cache_dir(task_key(task)), "task", loaded[task_key(task)][0])

    def handed(self, chapter_id: str) -> Upstream:
        """What chapter_id hands on, with its results and output named for a call."""
        upstream = self.upstream[chapter_id]
        output = upstream.output
        return Upstream(config=upstream.config, tasks=upstream.tasks,
                        results={name: self.names.named(task_cache_dir(task_key(upstream.tasks[name])), "task", r)
                                 for name, r in upstream.results.items()},
                        output=None if output is None else
                        self.names.named(chapter_cache_dir(self.keys[chapter_id]), "output", output))

    def handed_to(self, chapter: Chapter) -> dict[str, Upstream]:
        return {u: self.handed(u) for u in chapter.builds_on}

    def add(self, chapter: Chapter, task: Task) -> None:
        for need in task.needs:
            self.add(chapter, need)
        key = task_key(task)
        if key not in self.tasks:
            self.tasks[key] = task
            self.asked_by[key] = (chapter.id, task.name)

    def upstream_of(self, chapter: Chapter) -> dict[str, Upstream]:
        """What the chapters `chapter` builds on hand it, by chapter id."""
        return {u: self.upstream[u] for u in chapter.builds_on}


def plan_chapters(order: list[Chapter], profile: str) -> _Plan:
    plan = _Plan()
    for chapter in order:
        config = chapter.configs[profile]
        tasks = chapter.tasks(config, plan.upstream_of(chapter))
        names = [t.name for t in tasks]
        if len(set(names)) != len(names):
            raise BuildError(f"chapter {chapter.id}: two tasks share a name")
        for task in tasks:
            plan.add(chapter, task)
        plan.chapter_tasks[chapter.id] = tasks
        plan.upstream[chapter.id] = Upstream(config=config, tasks={t.name: t for t in tasks})
        plan.keys[chapter.id] = output_key(chapter, config, tasks, [plan.keys[u] for u in chapter.builds_on])
    return plan


def _levels(tasks: list[Task]) -> list[list[Task]]:
    """Tasks in levels: each after the tasks it needs. A task goes in the last level it can (its
    height from the end), so that a long task nothing waits for (CartPole) runs beside the
    level with the most work instead of holding up the levels after it."""
    height: dict[int, int] = {}

    def h(task: Task) -> int:
        if id(task) not in height:
            users = [t for t in tasks if any(n is task or task_key(n) == task_key(task) for n in t.needs)]
            height[id(task)] = 1 + max((h(u) for u in users), default=-1)
        return height[id(task)]

    top = max((h(t) for t in tasks), default=0)
    levels: list[list[Task]] = [[] for _ in range(top + 1)]
    for task in tasks:
        levels[top - h(task)].append(task)
    return [level for level in levels if level]


def run_chapters(chapters: list[Chapter], profile: str, workers: Workers, keep: list[Chapter] = (),
                 log: list | None = None, record: dict | None = None,
                 registry: dict[str, Chapter] | None = None) -> dict[str, ChapterOutput]:
    """Outputs of `chapters` and of every chapter they build on (brought up to date), and of
    `keep` (their latest cached output for this profile, whatever code made it: --only; one that
    was never built is left out with a note). `log` gets a line per task and assembly run;
    `record` gets, per chapter, how long each task and the assembly took and whether it came from
    the cache (for the pages' "how this was made")."""
    from generator.chapters import CHAPTERS
    registry = registry or CHAPTERS
    log = [] if log is None else log
    record = {} if record is None else record
    started = workers.start()       # the workers import while this process reads the cache
    try:
        return _run(chapters, profile, workers, keep, log, record, registry, started)
    finally:
        started()


def _run(chapters, profile, workers, keep, log, record, registry, started) -> dict[str, ChapterOutput]:
    """run_chapters, once the workers are starting (`started()` waits for them)."""
    order = with_upstream(registry, list(chapters))
    outputs: dict[str, ChapterOutput] = {}
    for chapter in keep:
        if chapter.id in {c.id for c in order}:
            continue
        latest = _latest_output(chapter, profile)
        if latest is None:
            print(f"note: chapter {chapter.id} has never been built with profile {profile!r}; "
                  f"the site leaves it out (build it with --only {chapter.id}, or without --only)", file=sys.stderr)
            continue
        outputs[chapter.id], meta = latest
        record[chapter.id] = {"tasks": [], "assembly": {**meta, "cached": True}}

    plan = plan_chapters(order, profile)
    plan.names = Names(by_name=workers.backend == "loky")
    # Every task result is read (checksums checked).
    loaded: dict[str, tuple[TaskResult, dict]] = {}
    for key in plan.tasks:
        value = _load(task_cache_dir(key), lambda f: (TaskResult.from_files(f), {**_meta(f), "cached": True}))
        if value is not None:
            loaded[key] = value
            plan.names.hold(task_cache_dir(key), value[0])

    # Nothing cached is trusted on its checksums alone. Every task result is verified against the
    # model it holds (all of its stored arrays), and every chapter output is checked against the
    # networks of its tasks (schemas, quoted facts, each published graph on the test images),
    # all side by side on the workers. A task that fails is named, discarded and computed again,
    # and so is every task that needs it (unnamed: it is sound); an output is used only if its
    # tasks are sound and it passes (else named, unless a task already was, and assembled again).
    checked = [task for key, task in plan.tasks.items() if key in loaded and task.verify is not None
               and all(task_key(n) in loaded for n in task.needs)]
    calls = [(stored.call, (_verify, task.verify, (*task.args, *(plan.result(n, loaded) for n in task.needs),
                                                    plan.result(task, loaded))))
             for task in checked]
    cached_outputs: dict[str, tuple[ChapterOutput, dict]] = {}
    for chapter in order:
        tasks = plan.chapter_tasks[chapter.id]
        cached = _load(chapter_cache_dir(plan.keys[chapter.id]), lambda f: (ChapterOutput.from_files(f), _meta(f)))
        if cached is not None and all(task_key(t) in loaded for t in tasks):
            cached_outputs[chapter.id] = cached
            plan.names.hold(chapter_cache_dir(plan.keys[chapter.id]), cached[0])
            plan.upstream[chapter.id].results = {t.name: loaded[task_key(t)][0] for t in tasks}
            plan.upstream[chapter.id].output = cached[0]
    # A cached output is checked against its upstream chapters' outputs; one whose upstream has none
    # cached (assembled again below) is assembled again after it.
    checked_outputs = [chapter for chapter in order if chapter.id in cached_outputs
                       and all(u in cached_outputs for u in chapter.builds_on)]
    calls += [(stored.call, (_checked_output, chapter, profile, plan.handed(chapter.id), plan.handed_to(chapter)))
              for chapter in checked_outputs]
    # How long each entry took to make: a guess at how long its check takes (the CNN's first).
    costs = [_seconds(loaded[task_key(task)][1]) for task in checked]
    costs += [_seconds(cached_outputs[chapter.id][1]) for chapter in checked_outputs]
    started()
    errors = workers.map(calls, desc="checking", costs=costs)
    failed = {task_key(task) for task, error in zip(checked, errors) if error is not None}

    def after_a_failure(task: Task) -> bool:
        return any(task_key(n) in failed or after_a_failure(n) for n in task.needs)

    for task, error in zip(checked, errors):
        if error is not None:
            if after_a_failure(task):
                loaded.pop(task_key(task))    # checked against a damaged result: not its own fault
            else:
                cache.discard(task_cache_dir(task_key(task)), error)
                loaded.pop(task_key(task))

    def sound(task: Task) -> bool:
        if task_key(task) in loaded and not all([sound(n) for n in task.needs]):
            loaded.pop(task_key(task))
        return task_key(task) in loaded

    for task in plan.tasks.values():
        sound(task)

    output_errors = {chapter_id: "its upstream chapter is assembled again" for chapter_id in cached_outputs}
    output_errors.update(zip([c.id for c in checked_outputs], errors[len(checked):]))
    todo: list[Chapter] = []
    for chapter in order:
        record[chapter.id] = {"tasks": [], "assembly": None}
        plan.upstream[chapter.id].output = None
        cached = cached_outputs.get(chapter.id)
        if cached is not None and not all(task_key(t) in loaded for t in plan.chapter_tasks[chapter.id]):
            cached = None                   # a task was discarded (and named): assemble again
        elif cached is not None and output_errors[chapter.id] is not None:
            # Checked against an upstream output that is itself assembled again: not its own fault.
            if not any(upstream_id in {c.id for c in todo} for upstream_id in plan.upstream_of(chapter)):
                cache.discard(chapter_cache_dir(plan.keys[chapter.id]), output_errors[chapter.id])
            cached = None
        if cached is None:
            todo.append(chapter)
            continue
        outputs[chapter.id] = plan.upstream[chapter.id].output = cached[0]
        record[chapter.id]["assembly"] = {**cached[1], "cached": True}

    _compute([task for key, task in plan.tasks.items() if key not in loaded], loaded, workers, log, plan)

    for chapter in order:
        plan.upstream[chapter.id].results = {t.name: loaded[task_key(t)][0] for t in plan.chapter_tasks[chapter.id]}
        runs = {}
        for task in plan.chapter_tasks[chapter.id]:
            for t in (task, *task.needs):
                runs[t.name] = {"task": t.name, **loaded[task_key(t)][1]}
        record[chapter.id]["tasks"] = [runs[name] for name in sorted(runs)]
    _assemble(todo, profile, workers, plan, outputs, log, record)
    return outputs


def _verify(verify, args: tuple) -> str | None:
    """What is wrong with a cached task result (verify raised BuildError), or None. A worker's
    call: `args` are the task's arguments, the results of the tasks it needs, and its own."""
    try:
        verify(*args)
    except BuildError as e:
        return str(e)
    return None


def _checked_output(chapter: Chapter, profile: str, own: Upstream, upstream: dict[str, Upstream]) -> str | None:
    """What is wrong with a cached chapter output (`own.output`, beside its tasks' results), or
    None. A worker's call, as _verify is."""
    try:
        _check_documents(own.output)
        _check(chapter, profile, own.results, upstream, own.output)
    except BuildError as e:
        return f"it does not match its networks: {e}"
    return None


def _check(chapter: Chapter, profile: str, results: dict[str, TaskResult], upstream: dict[str, Upstream],
           output: ChapterOutput) -> None:
    if chapter.check is not None:
        chapter.check(chapter.configs[profile], results, upstream, output)


def _compute(missing: list[Task], loaded: dict, workers: Workers, log: list, plan: _Plan) -> None:
    """Run the missing tasks, level after level; each result is cached as soon as its level ends."""
    for level in _levels(missing):
        calls = [(stored.call, (task.function, *task.args, *(plan.result(n, loaded) for n in task.needs)))
                 for task in level]
        where: list[dict] = []
        computed = workers.map(calls, desc="training", log=where, costs=[task.cost for task in level])
        for task, result, run in zip(level, computed, where):
            key = task_key(task)
            chapter_id, name = plan.asked_by[key]
            log.append({"chapter": chapter_id, "task": name, "key": key,
                        "needs": [task_key(n) for n in task.needs], **run})
            meta = {**_timing(run["seconds"]), "cached": False}
            cache.write_entry(task_cache_dir(key), {**result.to_files(), "meta.json": _stamp(run["seconds"])})
            loaded[key] = (result, meta)
            plan.names.hold(task_cache_dir(key), result)


def _assemble(todo: list[Chapter], profile: str, workers: Workers, plan: _Plan, outputs: dict,
              log: list, record: dict) -> None:
    """Assemble the chapters level by level of the chapter graph (a chapter after its upstream),
    check each output, then cache it."""
    while todo:
        ready = [c for c in todo if all(u in outputs for u in c.builds_on)]
        if not ready:
            raise BuildError("chapters left that build on chapters with no output: "
                             + ", ".join(c.id for c in todo))
        calls = []
        for chapter in ready:
            calls.append((stored.call, (assemble_chapter, chapter.id, chapter.configs[profile],
                                        plan.handed(chapter.id).results, plan.handed_to(chapter))))
        where: list[dict] = []
        assembled = workers.map(calls, desc="chapters", log=where)
        for chapter, output, run in zip(ready, assembled, where):
            log.append({"chapter": chapter.id, "task": "assemble", "key": plan.keys[chapter.id],
                        "needs": sorted(task_key(t) for t in plan.chapter_tasks[chapter.id]) +
                                 [plan.keys[u] for u in chapter.builds_on], **run})
            # A fresh output that fails is a bug: an error.
            _check(chapter, profile, plan.upstream[chapter.id].results, plan.upstream_of(chapter), output)
            cache.write_entry(chapter_cache_dir(plan.keys[chapter.id]),
                              {**output.to_files(), "meta.json": _stamp(run["seconds"])})
            plan.names.hold(chapter_cache_dir(plan.keys[chapter.id]), output)
            outputs[chapter.id] = output
            plan.upstream[chapter.id].output = output
            record[chapter.id]["assembly"] = {**_timing(run["seconds"]), "cached": False}
        todo = [c for c in todo if c not in ready]


def assemble_chapter(chapter_id: str, config, results: dict[str, TaskResult],
                     upstream: dict[str, Upstream]) -> ChapterOutput:
    """A chapter's output, with a static picture (SVG) and a preview (PNG) of every figure's first
    view: what the page shows without JavaScript, and what a shared link's card shows."""
    from generator.chapters import CHAPTERS

    # A figure may draw an upstream chapter's document (the graph whose traces it shows).
    published = {path: document for u in upstream.values() if u.output is not None
                 for path, document in u.output.documents.items()}
    return add_snapshots(chapter_id, CHAPTERS[chapter_id].assemble(config, results, upstream), published)


def add_snapshots(chapter_id: str, output: ChapterOutput, upstream_documents: dict | None = None) -> ChapterOutput:
    """Each figure's static picture (SVG) and preview (PNG), added to the output's files."""
    from generator.site.snapshot import figure_snapshot, preview_png

    documents = {**(upstream_documents or {}), **output.documents}
    for figure_id, figure in output.figures.items():
        svg = figure_snapshot(figure, documents, output.files)
        figure["snapshot"] = chapter_data(chapter_id, f"snapshots/{figure_id}.svg")
        figure["preview"] = chapter_data(chapter_id, f"snapshots/{figure_id}.png")
        output.files[figure["snapshot"]] = svg.encode()
        output.files[figure["preview"]] = preview_png(svg)
    return output


def _latest_output(chapter: Chapter, profile: str) -> tuple[ChapterOutput, dict] | None:
    """The newest cached output of this chapter and profile, whatever code made it, or None."""
    prefix = output_key_prefix(chapter, chapter.configs[profile])
    root = chapter_cache_dir(prefix).parent
    candidates = sorted((p for p in root.glob(f"{prefix}*") if p.is_dir()),
                        key=lambda p: p.stat().st_mtime_ns, reverse=True) if root.is_dir() else []
    for folder in candidates:
        loaded = _load_output(folder)
        if loaded is not None:
            return loaded
    return None
