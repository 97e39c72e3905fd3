"""mkdocs hook: adds the build's site data and the front end to the site, builds the navigation
from the chapter registry, and expands placeholders.

Markdown stays Markdown; these placeholders are expanded here:
    [[fact NAME]]                  a number or sentence from the page's chapter (docs/<chapter>.md)
    [[fact CHAPTER.NAME]]          the same from any chapter, on any page
    [[figure ID]]                  a figure of the page's chapter; [[figure CHAPTER/ID]] any figure;
                                   `key=value` words after the id change the view it starts with
                                   ([[figure mnist-mlp-lth/flowgraph output=7 inputs=filters]]);
                                   `standalone` marks a figure's own page
    [[chapters]]                   the list of chapters with their headline numbers
    [[excerpt PATH]]               a real data file of this build (site-relative PATH), shortened,
                                   as a JSON code block: the schema page's examples
    [[cite]]                       a BibTeX entry for the report
Every chapter page ends with how its numbers were made (from data/build.json), and every page
that shows a figure carries link-preview tags (Open Graph, Twitter) with the figure's picture.
An unknown name fails the build loudly. The site data comes from FLOWGRAPH_SITE_DATA (set by the
build while it stages a new site) or else build/site, the last build's.
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

from generator.pipeline.paths import site_data_dir
from generator.site.palette import NAMES as SIGN_NAMES

SITE_SRC = Path(__file__).resolve().parent
ASSET_DIRS = ("js", "css", "vendor")
PLACEHOLDER = re.compile(r"\[\[(fact|figure|excerpt) ([A-Za-z0-9_./-]+)((?: [a-z]+=[A-Za-z0-9_.-]+)*)( standalone)?\]\]"
                         r"|\[\[chapters\]\]|\[\[cite\]\]")


def _data_dir() -> Path:
    override = os.environ.get("FLOWGRAPH_SITE_DATA")
    return Path(override) if override else site_data_dir()


_report: dict = {}


def on_config(config):
    # The published address (for the 404 page, the sitemap and link previews, which need absolute
    # URLs). Every other link stays relative, so the site works at any path without it.
    site_url = os.environ.get("FLOWGRAPH_SITE_URL", "").strip()
    if site_url:
        if not re.match(r"https?://[^/]+", site_url):
            raise PluginError(f"FLOWGRAPH_SITE_URL: expected an http(s) address such as "
                              f"https://user.github.io/repo/, got {site_url!r}")
        config["site_url"] = site_url if site_url.endswith("/") else site_url + "/"
    facts = _data_dir() / "data" / "facts.json"
    if not facts.exists():
        raise PluginError(f"{facts} is missing: run `make site` (python -m generator.build) first")
    _report.clear()
    _report.update(json.loads(facts.read_text()))
    _report["build"] = json.loads((_data_dir() / "data" / "build.json").read_text())
    _report["site_url"] = config.get("site_url") or ""
    # The navigation follows the chapter registry (generator/chapters/__init__.py).
    config["nav"] = ([{"Report": "index.md"}]
                     + [{chapter["title"]: f"{chapter['id']}.md"} for chapter in _report["chapters"]]
                     + [{"Figures": "figures/index.md"}, {"Data and schema": "schema.md"}])
    return config


def on_files(files, config):
    # A chapter this build left out (--only on a fresh build folder) has no page.
    for chapter_id in _report.get("omitted", []):
        page = files.get_file_from_path(f"{chapter_id}.md")
        if page is not None:
            files.remove(page)
    roots = [(SITE_SRC, [SITE_SRC / d for d in ASSET_DIRS]), (_data_dir(), [_data_dir()])]
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
    for path in [SITE_SRC / d for d in ASSET_DIRS] + [_data_dir()]:
        if path.exists():
            server.watch(str(path))
    return server


def _page_chapter(page) -> str | None:
    stem = page.file.src_uri.removesuffix(".md")
    return stem if any(c["id"] == stem for c in _report["chapters"]) else None


def _figure_html(global_id: str, slot: str, standalone: bool, page_url: str, options: dict) -> str:
    figure = _report["figures"][global_id]
    own_page = posixpath.relpath(f"figures/{global_id}", page_url or ".") + "/"   # page_url: "" or "a/b/"
    attrs = {
        "class": "fg-mount", "data-figure-id": slot, "data-kind": figure["kind"],
        "data-standalone": "true" if standalone else "false",
        "data-options": json.dumps({**figure["options"], **options}, sort_keys=True),
        **{f"data-{k}": v for k, v in figure["data"].items()},
    }
    # The picture of the first view, drawn at build time: what a reader without JavaScript (or
    # a crawler) sees; the page replaces it with the live figure.
    static = (f'<img class="fg-static" src="{posixpath.relpath(figure["snapshot"], page_url or ".")}" '
              f'alt="{html.escape(figure["title"], quote=True)} (the figure as it first appears)" loading="lazy">')
    note = ('<noscript><p class="fg-noscript">Without JavaScript this is a picture of the figure as it first '
            'appears; its controls need JavaScript.</p></noscript>')
    mount = ("<div " + " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items()) + ">"
             + static + note + "</div>")
    link = "" if standalone else f' <a class="fg-open" href="{own_page}">Open this figure on its own page →</a>'
    # The view sentence says what the figure shows now (output, input, counts); the page keeps
    # it up to date. The build's text describes the view the figure starts with.
    view = f' <span class="fg-view">{html.escape(figure.get("view", ""))}</span>'
    return (f'<figure class="fg-figure" id="fig-{slot}">\n{mount}\n'
            f'<figcaption><strong>{html.escape(figure["title"])}.</strong> '
            f'{_sign_words(html.escape(figure["caption"]))}{view}{link}</figcaption>\n</figure>')


def _sign_words(caption: str) -> str:
    """The colour words of "blue positive, orange negative" (generator/site/palette.py SIGNS)
    marked, so that the page renames them when the reader switches to the other palette."""
    for sign, css in (("positive", "fg-sign-pos"), ("negative", "fg-sign-neg")):
        caption = re.sub(rf"\b{SIGN_NAMES[sign]}(?= {sign}\b)", f'<span class="{css}">{SIGN_NAMES[sign]}</span>', caption)
    return caption


def _chapters_list() -> str:
    return "\n".join(f"{k}. [{c['title']}]({c['id']}.md): {c['headline']}."
                     for k, c in enumerate(_report["chapters"], start=1))


def on_page_markdown(markdown, page, config, files):
    chapter = _page_chapter(page)

    def unknown(kind: str, name: str, known) -> PluginError:
        return PluginError(f"{page.file.src_uri}: unknown {kind} {name!r}; known: {', '.join(sorted(known))}")

    def expand(match: re.Match) -> str:
        if match.group(0) == "[[chapters]]":
            return _chapters_list()
        if match.group(0) == "[[cite]]":
            return _citation(config)
        kind, name, standalone = match.group(1), match.group(2), bool(match.group(4))
        options = dict(word.split("=", 1) for word in match.group(3).split())
        if kind != "figure" and options:
            raise PluginError(f"{page.file.src_uri}: [[{kind} {name}]] takes no options")
        if kind == "excerpt":
            return _excerpt(name, page)
        owner = (name.rpartition(".")[0] if kind == "fact" and "." in name else
                 name.rpartition("/")[0] if kind == "figure" and "/" in name else chapter)
        if owner in _report.get("omitted", []):
            return _omitted(owner, kind)
        if kind == "fact":
            owner, _, fact = name.rpartition(".") if "." in name else (chapter, "", name)
            table = _report["facts"].get(owner) if owner else None
            if table is None or fact not in table:
                known = table if table is not None else [f"{c}.{f}" for c, t in _report["facts"].items() for f in t]
                raise unknown("fact", name, known)
            return html.escape(table[fact], quote=False)
        owner, _, local = name.rpartition("/") if "/" in name else (chapter, "", name)
        global_id = f"{owner}/{local}"
        if global_id not in _report["figures"]:
            raise unknown("figure", name, _report["figures"])
        # The figure's id on this page (its anchor and its prefix in the URL hash): plain on its
        # own chapter's page and its own page, qualified by the chapter elsewhere.
        slot = local if standalone or owner == chapter else f"{owner}-{local}"
        return _figure_html(global_id, slot, standalone, page.url, options)

    markdown = PLACEHOLDER.sub(expand, markdown)
    # A link to a chapter this build left out (--only) would be a broken link: its words stay.
    for omitted in _report.get("omitted", []):
        markdown = re.sub(rf"\[([^\]]+)\]\({re.escape(omitted)}\.md(#[^)]*)?\)", r"\1", markdown)
    if chapter:
        markdown += "\n\n" + _provenance(chapter, page)
    return markdown


def _shorten(value, depth: int = 0):
    """A JSON value with long lists (and objects with many keys) cut to their first items and a
    note of how many more there are."""
    if isinstance(value, list):
        if len(value) > 3 and depth > 0:
            return [_shorten(v, depth + 1) for v in value[:2]] + [f"... {len(value) - 2} more"]
        return [_shorten(v, depth + 1) for v in value[:6]] + ([f"... {len(value) - 6} more"] if len(value) > 6 else [])
    if isinstance(value, dict):
        items = list(value.items())
        if len(items) > 8 and depth > 0:
            return {**{k: _shorten(v, depth + 1) for k, v in items[:2]}, "...": f"{len(items) - 2} more"}
        return {k: _shorten(v, depth + 1) for k, v in items}
    if isinstance(value, float):
        return round(value, 4)
    return value


def _omitted(chapter_id: str, kind: str) -> str:
    """What stands where a fact or figure of a chapter this build left out would be."""
    if kind == "fact":
        return "(not built)"
    return (f'<p class="fg-omitted">This figure belongs to the chapter <code>{html.escape(chapter_id)}</code>, '
            f'which this build left out (it was built with <code>--only</code>).</p>')


def _excerpt(path: str, page) -> str:
    file = _data_dir() / path
    parts = path.split("/")
    if not file.is_file() and len(parts) > 2 and parts[1] in _report.get("omitted", []):
        return _omitted(parts[1], "excerpt")
    if not file.is_file():
        raise PluginError(f"{page.file.src_uri}: [[excerpt {path}]]: no such file in the build's site data")
    data = _shorten(json.loads(file.read_text()))
    if isinstance(data, dict):   # a few lists the reader needs whole to follow the example
        for key in ("layers",):
            if key in data:
                data[key] = json.loads(file.read_text())[key]
    return "```json\n" + json.dumps(data, indent=1, ensure_ascii=False) + "\n```"


def _provenance(chapter: str, page) -> str:
    """How this chapter's numbers were made: profile, settings, code, packages, date, times."""
    build = _report["build"]
    record = build["chapters"].get(chapter, {})
    # A Markdown link is relative to the Markdown file; mkdocs rewrites it for the page's URL.
    config_link = posixpath.relpath(f"data/{chapter}/config.json", posixpath.dirname(page.file.src_uri) or ".")
    code = (f"commit `{build['commit']}`" + (" with uncommitted changes" if build["dirty"] else "")
            if build["commit"] != "unknown" else "a copy outside git")
    packages = ", ".join(f"{name} {version}" for name, version in build["packages"].items())
    config = json.loads((_data_dir() / "data" / chapter / "config.json").read_text())
    rows = "\n".join(f"| `{key}` | {value} |" for key, value in _flatten(config))

    def when(entry: dict) -> str:
        if not entry:
            return "unknown"
        source = f"taken from the cache (computed {entry.get('date', '?')})" if entry.get("cached") else "computed in this build"
        return f"{entry.get('seconds', '?')} s, {source}"
    # one row per task and one for the assembly (a chapter without tasks has that row alone: no
    # blank line, which would end the table)
    runs = "\n".join([f"| {t['task']} | {when(t)} |" for t in record.get("tasks", [])]
                     + [f"| assembling the figures and documents | {when(record.get('assembly'))} |"])
    return (f'## How this was made {{ #how-this-was-made }}\n\n'
            f'Every number on this page comes from the build of {build["date"]} with the `{build["profile"]}` '
            f'profile, from {code}, on Python {build["python"]} with {packages}. '
            f'Its settings are below and in [config.json]({config_link}); `make site` makes it all again.\n\n'
            f'<details class="fg-provenance" markdown="1"><summary>Settings of this chapter</summary>\n\n'
            f'| setting | value |\n|---|---|\n{rows}\n\n</details>\n\n'
            f'| run | time |\n|---|---|\n{runs}\n')


def _flatten(value, prefix: str = ""):
    if isinstance(value, dict):
        for key, inner in value.items():
            if key != "type":
                yield from _flatten(inner, f"{prefix}{key}.")
    else:
        # An empty list and None both read "none", the same word in every row.
        text = ", ".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
        yield prefix.rstrip("."), text or "none"


def _citation(config) -> str:
    build = _report["build"]
    year = build["date"][:4]
    # Where the report is published is known only when the build is told (FLOWGRAPH_SITE_URL);
    # an invented address would be worse than none.
    url = _report["site_url"]
    return ("```bibtex\n"
            f"@misc{{flowgraph_report_{year},\n"
            f"  title        = {{{config['site_name']}}},\n"
            f"  author       = {{{{The flowgraph-report authors}}}},\n"
            f"  year         = {{{year}}},\n"
            + (f"  howpublished = {{\\url{{{url}}}}},\n" if url else "")
            + f"  note         = {{Built on {build['date']} from commit {build['commit']}, profile {build['profile']}}}\n"
            "}\n```")


# ---- link previews: Open Graph and Twitter cards for pages that show a figure

def _page_figure(page):
    """The figure a page is best previewed by: its own (a figure page), the chapter's key figure,
    or the first chapter's on the landing page."""
    src = page.file.src_uri
    match = re.match(r"figures/([^/]+)/([^/]+)/index\.md$", src)
    if match:
        return f"{match.group(1)}/{match.group(2)}"
    chapter = _page_chapter(page)
    if chapter is None and src == "index.md" and _report["chapters"]:
        chapter = _report["chapters"][0]["id"]
    if chapter:
        summary = next(c for c in _report["chapters"] if c["id"] == chapter)
        return f"{chapter}/{summary['key_figure']}"
    return None


# Marks the page as scripted before it first paints, so that the build-time pictures meant for
# readers without JavaScript are never drawn (a dense graph's SVG costs a long paint) and the
# figures' places are kept while they load.
EARLY_SCRIPT = '<script>document.documentElement.classList.add("fg-js")</script>'


def _page_description(page, figure: dict, config) -> str:
    """What a link preview says about the page: a figure page, its figure's caption; a chapter,
    its own headline; the landing page, the site's description."""
    if page.file.src_uri.startswith("figures/"):
        return figure["caption"]
    chapter = _page_chapter(page)
    if chapter:
        headline = next(c for c in _report["chapters"] if c["id"] == chapter)["headline"]
        return headline[:1].upper() + headline[1:] + "."
    return config.get("site_description") or figure["caption"]


def on_post_page(output, page, config):
    output = output.replace("</head>", EARLY_SCRIPT + "</head>", 1)
    figure_id = _page_figure(page)
    if not figure_id or figure_id not in _report["figures"]:
        return output
    figure = _report["figures"][figure_id]
    base = _report["site_url"]
    image = (base + figure["preview"]) if base else posixpath.relpath(figure["preview"], page.url or ".")
    url = (base + page.url) if base else ""
    title = figure["title"] if page.file.src_uri.startswith("figures/") else (page.title or config["site_name"])
    description = " ".join(_page_description(page, figure, config).split())[:300]
    tags = {"og:type": "article", "og:site_name": config["site_name"], "og:title": title,
            "og:description": description, "og:image": image, "og:image:width": "1200", "og:image:height": "630",
            "og:image:alt": figure["title"], "twitter:card": "summary_large_image", "twitter:title": title,
            "twitter:description": description, "twitter:image": image}
    if url:
        tags["og:url"] = url
    meta = "".join(f'<meta {"name" if k.startswith("twitter:") else "property"}="{k}" '
                   f'content="{html.escape(v, quote=True)}">' for k, v in tags.items())
    return output.replace("</head>", meta + "</head>", 1)
