"""What a chapter of the report is: one experiment, from its config to what it adds to the site.

A chapter module (generator/chapters/<name>.py) defines CHAPTER = Chapter(...):
- `configs`: one config per profile (`full`, `quick`);
- `builds_on`: the chapters whose networks it studies; they are built first and handed to it
  (`Upstream`: their config, tasks, task results and output), and it never trains them again;
- `tasks(config, upstream)`: the expensive pieces (e.g. one training run per seed), each a
  top-level function so that joblib can run it in another process or on a Dask worker. A task
  may need other tasks (its own chapter's or an upstream chapter's): their results are passed
  to it after its settings. A task is cached under what it computes (function, settings, code,
  and the keys of the tasks it needs), not under the chapter that asks, so a network is trained
  once however many chapters use it; `verify` checks a cached result before it is trusted;
- `assemble(config, results, upstream)`: from the task results to a ChapterOutput (facts,
  figures, JSON documents, manifest entry), also cached;
- `check(config, results, upstream, output)`: run before every publish, cached or not: the
  output's graphs against the networks the tasks hold, and its facts against what they summarise;
and the chapter is listed in generator/chapters/__init__.py with a docs/<id>.md page.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from generator.pipeline.atomic import dumps_json
from generator.pipeline.errors import BuildError


@dataclass
class TaskResult:
    record: dict                                              # plain JSON: what the run measured
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # weights, masks, states

    def to_files(self) -> dict[str, bytes]:
        buffer = io.BytesIO()
        np.savez(buffer, **self.arrays)
        return {"record.json": dumps_json(self.record).encode(), "arrays.npz": buffer.getvalue()}

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> "TaskResult":
        try:
            record = json.loads(files["record.json"])
            with np.load(io.BytesIO(files["arrays.npz"]), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except (KeyError, ValueError, OSError, EOFError) as e:
            raise BuildError(f"unreadable task result ({type(e).__name__}: {e})") from None
        return cls(record=record, arrays=arrays)


@dataclass(frozen=True, eq=False)
class Task:
    name: str                       # how its chapter names it, e.g. "seed-3"; unique within the chapter
    function: Callable              # function(*args, *results of needs) -> TaskResult; module level
    args: tuple                     # settings (dataclasses, numbers, strings): part of the cache key
    # verify(*args, *results of needs, result) raises BuildError if a cached result cannot be what
    # `function` made.
    verify: Callable | None = None
    needs: tuple["Task", ...] = ()  # tasks whose results this one reads
    # A guess at its seconds, used only to start the longest tasks first (no long one is then
    # left to run alone at the end of a level); not part of the cache key.
    cost: float = 0.0


@dataclass(frozen=True)
class Figure:
    """A figure of a chapter. kind: `altair` (a Vega-Lite spec) or a module in site_src/js."""
    kind: str
    title: str
    caption: str                    # a template over the chapter's facts
    options: dict = field(default_factory=dict)


@dataclass
class ChapterOutput:
    facts: dict[str, str]           # every number the chapter's text quotes, formatted
    figures: dict[str, dict]        # local figure id -> kind, title, caption, options, data paths
    documents: dict[str, object]    # site-relative path -> JSON document (schema-checked)
    manifest: dict                  # the chapter's entry in data/manifest.json
    files: dict[str, bytes] = field(default_factory=dict)   # site-relative path -> bytes (pictures)

    def to_files(self) -> dict[str, bytes]:
        # Figures as a list: their order is the page's, and JSON objects are written with sorted keys.
        index = {"facts": self.facts, "figures": [[k, v] for k, v in self.figures.items()],
                 "manifest": self.manifest, "documents": sorted(self.documents), "files": sorted(self.files)}
        files = {"output.json": dumps_json(index).encode()}
        for path, document in self.documents.items():
            files[f"documents/{path}"] = dumps_json(document).encode()
        for path, data in self.files.items():
            files[f"files/{path}"] = data
        return files

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> "ChapterOutput":
        try:
            index = json.loads(files["output.json"])
            documents = {path: json.loads(files[f"documents/{path}"]) for path in index["documents"]}
            return cls(facts=index["facts"], figures=dict(index["figures"]), documents=documents,
                       manifest=index["manifest"], files={path: files[f"files/{path}"] for path in index["files"]})
        except (KeyError, ValueError, TypeError) as e:
            raise BuildError(f"unreadable chapter output ({type(e).__name__}: {e})") from None


@dataclass
class Upstream:
    """What a chapter hands to the chapters that build on it."""
    config: object
    tasks: dict[str, Task]                                    # by name, to list in `needs`
    results: dict[str, TaskResult] = field(default_factory=dict)   # filled before assembly
    output: ChapterOutput | None = None


@dataclass(frozen=True)
class Chapter:
    id: str                         # also the docs page (docs/<id>.md) and the data folder
    title: str                      # the page's title in the navigation
    configs: dict[str, object]      # profile -> config
    tasks: Callable[[object, dict[str, Upstream]], list[Task]]
    assemble: Callable[[object, dict[str, TaskResult], dict[str, Upstream]], ChapterOutput]
    headline: str = ""              # landing-page line, a template over the chapter's facts
    key_figure: str = ""            # the figure the landing page shows for this chapter
    builds_on: tuple[str, ...] = () # ids of the chapters whose results this one receives
    # check(config, results, upstream, output) raises BuildError when the output does not say
    # what the task results hold (a graph that is not the network, a fact that is not the data).
    check: Callable | None = None


def figure_entries(figures: dict[str, Figure], facts: dict[str, str], data: dict[str, dict],
                   options: dict[str, dict] | None = None) -> dict[str, dict]:
    """What the mkdocs hook needs to draw each figure: captions filled in from the facts, the
    data paths each figure reads, and options that depend on the build (which output, sample)."""
    options = options or {}
    entries = {}
    for figure_id, figure in figures.items():
        try:
            caption = figure.caption.format(**facts)
        except KeyError as e:
            raise BuildError(f"figure {figure_id}: its caption names an unknown fact {e}") from None
        entries[figure_id] = {"kind": figure.kind, "title": figure.title, "caption": caption,
                              "options": {**figure.options, **options.get(figure_id, {})},
                              "data": data[figure_id]}
    return entries
