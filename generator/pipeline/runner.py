"""Runs the chapters: their tasks (training), then their assembly, each cached and checked.

For every chapter: if its cached output for this config and code is there and sound, use it.
Otherwise load or compute its tasks (cached results are checked: checksums, then the chapter's
own `verify`, which recomputes what the results claim), then assemble it. Tasks of all chapters
run in one parallel map, then the assemblies in another, so two cores stay busy.
"""
from __future__ import annotations

import inspect
import json
import sys
import types
from datetime import date
from pathlib import Path

from generator.pipeline import cache
from generator.pipeline.chapter import Chapter, ChapterOutput, Task, TaskResult
from generator.networks.config import config_hash
from generator.pipeline.errors import BuildError, ConfigError
from generator.flowgraph.export import validate
from generator.pipeline.parallel import Workers
from generator.pipeline.paths import GENERATOR, SCHEMA_DIR, chapter_cache_dir, chapter_data, task_cache_dir



def _module_file(obj) -> Path:
    return Path(inspect.getfile(obj)).resolve()


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


def task_folder(chapter: Chapter, task: Task, config) -> Path:
    code = cache.code_version(code_closure(task.function))
    return task_cache_dir(f"{chapter.id}-{task.name}-{config_hash(config)}-{code}")


def output_key_prefix(chapter: Chapter, config) -> str:
    return f"{chapter.id}-{config_hash(config)}-"


def output_folder(chapter: Chapter, config) -> Path:
    # Any shared module or schema can change what a chapter outputs, as can its own module.
    code = cache.code_version(sorted(p for p in GENERATOR.rglob("*.py") if p.parent.name != "chapters") + sorted(SCHEMA_DIR.glob("*.json"))
                              + [_module_file(chapter.assemble)])
    return chapter_cache_dir(output_key_prefix(chapter, config) + code)


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
    for path, document in output.documents.items():
        name = next((n for n in ("flowgraph", "traces") if path.endswith(f"/{n}.json")), None)
        if name:
            validate(document, name)


def _meta(files: dict[str, bytes]) -> dict:
    """When and how long an entry took to compute (meta.json, written with it)."""
    return json.loads(files.get("meta.json", b"{}"))


def _timing(seconds: float) -> dict:
    return {"seconds": round(seconds, 1), "date": date.today().isoformat()}


def _stamp(seconds: float) -> bytes:
    return json.dumps(_timing(seconds)).encode()


def _load_output(folder: Path) -> tuple[ChapterOutput, dict] | None:
    """A cached chapter output whose documents still match their schemas, with its meta.json."""
    return _load(folder, lambda f: (ChapterOutput.from_files(f), _meta(f)), lambda value: _check_documents(value[0]))


def run_chapters(chapters: list[Chapter], profile: str, workers: Workers, keep: list[Chapter] = (),
                 log: list | None = None, record: dict | None = None) -> dict[str, ChapterOutput]:
    """Outputs of `chapters` (brought up to date) and of `keep` (their latest cached output for
    this profile, whatever code made it: --only). `log` gets a line per task and assembly run;
    `record` gets, per chapter, how long each task and the assembly took and whether it came from
    the cache (for the pages' "how this was made")."""
    log = [] if log is None else log
    record = {} if record is None else record
    outputs: dict[str, ChapterOutput] = {}
    for chapter in keep:
        outputs[chapter.id], meta = _latest_output(chapter, profile)
        record[chapter.id] = {"tasks": [], "assembly": {**meta, "cached": True}}
    todo = []
    results: dict[tuple[str, str], TaskResult] = {}
    missing: list[tuple[Chapter, Task]] = []
    for chapter in chapters:
        config = chapter.configs[profile]
        record[chapter.id] = {"tasks": [], "assembly": None}
        loaded = _load_output(output_folder(chapter, config))
        if loaded is None:
            todo.append(chapter)
        else:
            outputs[chapter.id] = loaded[0]
            record[chapter.id]["assembly"] = {**loaded[1], "cached": True}
        # Cached task results are read (and their checksums checked) even when the output needs
        # none of them, so that a damaged entry is reported, not found by surprise later; those
        # an assembly needs are also verified against the model, once.
        for task in chapter.tasks(config):
            folder = task_folder(chapter, task, config)
            if loaded is not None:
                meta = _load(folder, _meta)
            else:
                verify = (lambda value, t=task: t.verify(*t.args, value[0])) if task.verify else None
                result = _load(folder, lambda f: (TaskResult.from_files(f), _meta(f)), verify)
                if result is None:
                    missing.append((chapter, task))
                    continue
                results[(chapter.id, task.name)], meta = result
            if meta is not None:
                record[chapter.id]["tasks"].append({"task": task.name, **meta, "cached": True})

    where: list[dict] = []
    computed = workers.map([(task.function, task.args) for _, task in missing], desc="training", log=where)
    log.extend({"chapter": c.id, "task": t.name, **w} for (c, t), w in zip(missing, where))
    for (chapter, task), result, run in zip(missing, computed, where):
        cache.write_entry(task_folder(chapter, task, chapter.configs[profile]),
                          {**result.to_files(), "meta.json": _stamp(run["seconds"])})
        results[(chapter.id, task.name)] = result
        record[chapter.id]["tasks"].append({"task": task.name, **_timing(run["seconds"]), "cached": False})

    calls = []
    for chapter in todo:
        config = chapter.configs[profile]
        mine = {task.name: results[(chapter.id, task.name)] for task in chapter.tasks(config)}
        calls.append((assemble_chapter, (chapter.id, config, mine)))
    where = []
    assembled = workers.map(calls, desc="chapters", log=where)
    log.extend({"chapter": c.id, "task": "assemble", **w} for c, w in zip(todo, where))
    for chapter, output, run in zip(todo, assembled, where):
        cache.write_entry(output_folder(chapter, chapter.configs[profile]),
                          {**output.to_files(), "meta.json": _stamp(run["seconds"])})
        outputs[chapter.id] = output
        record[chapter.id]["assembly"] = {**_timing(run["seconds"]), "cached": False}
    for chapter_record in record.values():
        chapter_record["tasks"].sort(key=lambda t: t["task"])
    return outputs


def assemble_chapter(chapter_id: str, config, results: dict[str, TaskResult]) -> ChapterOutput:
    """A chapter's output, with a static picture (SVG) and a preview (PNG) of every figure's first
    view: what the page shows without JavaScript, and what a shared link's card shows."""
    from generator.chapters import CHAPTERS
    from generator.site.snapshot import figure_snapshot, preview_png

    output = CHAPTERS[chapter_id].assemble(config, results)
    for figure_id, figure in output.figures.items():
        svg = figure_snapshot(figure, output.documents)
        figure["snapshot"] = chapter_data(chapter_id, f"snapshots/{figure_id}.svg")
        figure["preview"] = chapter_data(chapter_id, f"snapshots/{figure_id}.png")
        output.files[figure["snapshot"]] = svg.encode()
        output.files[figure["preview"]] = preview_png(svg)
    return output


def _latest_output(chapter: Chapter, profile: str) -> tuple[ChapterOutput, dict]:
    prefix = output_key_prefix(chapter, chapter.configs[profile])
    root = chapter_cache_dir(prefix).parent
    candidates = sorted((p for p in root.glob(f"{prefix}*") if p.is_dir()),
                        key=lambda p: p.stat().st_mtime_ns, reverse=True) if root.is_dir() else []
    for folder in candidates:
        loaded = _load_output(folder)
        if loaded is not None:
            if folder != output_folder(chapter, chapter.configs[profile]):
                print(f"note: keeping chapter {chapter.id} as last built (its code has changed since)",
                      file=sys.stderr)
            return loaded
    raise ConfigError(f"--only: chapter {chapter.id} has never been built with profile {profile!r}; "
                      f"build it too (add it to --only or drop --only)")
