"""mkdocs hook: adds the build's output and the front end to the site, and expands placeholders.

Markdown stays Markdown; two placeholders are expanded here:
    [[fact NAME]]              a number or sentence from the build (build/site/data/facts.json)
    [[figure ID]]              a figure (add `standalone` on its own page)
An unknown name fails the build loudly.
"""
from __future__ import annotations

import html
import json
import os
import posixpath
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

SITE_SRC = Path(__file__).resolve().parent
ASSET_DIRS = ("js", "css", "vendor")
PLACEHOLDER = re.compile(r"\[\[(fact|figure) ([A-Za-z0-9_.-]+)( standalone)?\]\]")


def _build_site_dir() -> Path:
    build = Path(os.environ.get("FLOWGRAPH_BUILD_DIR", SITE_SRC.parent / "build"))
    return build.resolve() / "site"


_report: dict = {}


def on_config(config):
    facts = _build_site_dir() / "data" / "facts.json"
    if not facts.exists():
        raise PluginError(f"{facts} is missing: run `make build` (python -m generator.build) before mkdocs")
    _report.clear()
    _report.update(json.loads(facts.read_text()))
    return config


def on_files(files, config):
    roots = [(SITE_SRC, [SITE_SRC / d for d in ASSET_DIRS]), (_build_site_dir(), [_build_site_dir()])]
    for root, folders in roots:
        for folder in folders:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                if root == SITE_SRC and path.suffix == ".md":
                    continue  # notes for developers (vendor/VERSIONS.md), not pages
                rel = path.relative_to(root).as_posix()
                files.append(File(rel, str(root), config["site_dir"], config["use_directory_urls"]))
    return files


def on_serve(server, config, builder):
    # `mkdocs serve` rebuilds when the front end or a new build's output changes. (Not `watch:` in
    # mkdocs.yml: that fails when build/ does not exist yet, as in a fresh clone's test run.)
    for path in [SITE_SRC / d for d in ASSET_DIRS] + [_build_site_dir()]:
        if path.exists():
            server.watch(str(path))
    return server


def _figure_html(figure_id: str, standalone: bool, page_url: str) -> str:
    figure = _report["figures"][figure_id]
    own_page = posixpath.relpath(f"figures/{figure_id}", page_url or ".") + "/"   # page_url: "" or "a/b/"
    attrs = {
        "class": "fg-mount", "data-figure-id": figure_id, "data-kind": figure["kind"],
        "data-standalone": "true" if standalone else "false",
        "data-options": json.dumps(figure["options"], sort_keys=True),
        **{f"data-{k}": v for k, v in figure["data"].items()},
    }
    mount = "<div " + " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items()) + "></div>"
    link = "" if standalone else f' <a class="fg-open" href="{own_page}">Open this figure on its own page →</a>'
    return (f'<figure class="fg-figure" id="fig-{figure_id}">\n{mount}\n'
            f'<figcaption><strong>{html.escape(figure["title"])}.</strong> '
            f'{html.escape(figure["caption"])}{link}</figcaption>\n</figure>')


def on_page_markdown(markdown, page, config, files):
    def expand(match: re.Match) -> str:
        kind, name, standalone = match.group(1), match.group(2), bool(match.group(3))
        table = _report["facts"] if kind == "fact" else _report["figures"]
        if name not in table:
            raise PluginError(f"{page.file.src_uri}: unknown {kind} {name!r}; known: {', '.join(sorted(table))}")
        if kind == "fact":
            return html.escape(table[name], quote=False)
        return _figure_html(name, standalone, page.url)

    return PLACEHOLDER.sub(expand, markdown)
