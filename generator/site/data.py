"""The site data: every chapter's documents plus what ties them together (manifest, facts, figure
pages), written into a staging folder that the build then hands to mkdocs and swaps in whole.
site_src/hooks.py reads facts.json to expand placeholders and build the navigation."""
from __future__ import annotations

from pathlib import Path

from generator.pipeline.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic
from generator.pipeline.chapter import Chapter, ChapterOutput
from generator.pipeline.errors import BuildError
from generator.flowgraph.export import manifest_document
from generator.networks.config import to_dict
from generator.pipeline.paths import BUILD, DOCS_DIR, FACTS, MANIFEST, SCHEMA_DIR, chapter_data, figure_page


def chapter_page(chapter: Chapter) -> str:
    """The chapter's page, relative to the site root (use_directory_urls)."""
    return f"{chapter.id}/"


def figure_page_markdown(chapter: Chapter, figure_id: str, figure: dict) -> str:
    title = figure["title"].replace('"', "'")
    return (f"---\ntitle: \"{title}\"\nhide:\n  - navigation\n  - toc\n---\n\n# {figure['title']}\n\n"
            f"[[figure {chapter.id}/{figure_id} standalone]]\n\n"
            f"[← Back to this figure in “{chapter.title}”](../../../{chapter.id}.md#fig-{figure_id}){{ .fg-back }}\n")


def write_site_data(folder: Path, chapters: list[Chapter], outputs: dict[str, ChapterOutput], profile: str,
                    build: dict, docs_dir: Path = DOCS_DIR) -> None:
    for chapter in chapters:
        if not (docs_dir / f"{chapter.id}.md").exists():
            raise BuildError(f"docs/{chapter.id}.md is missing: every chapter in generator/chapters needs a page")
    # A chapter never built (--only on a fresh build folder) is left out of the site.
    omitted = [chapter.id for chapter in chapters if chapter.id not in outputs]
    chapters = [chapter for chapter in chapters if chapter.id in outputs]
    summaries, figures, facts, figure_entries, experiments, written = [], [], {}, {}, {}, {}
    for chapter in chapters:
        output = outputs[chapter.id]
        try:
            headline = chapter.headline.format(**output.facts)
        except KeyError as e:
            raise BuildError(f"chapter {chapter.id}: its headline names an unknown fact {e}") from None
        summaries.append({"id": chapter.id, "title": chapter.title, "page": chapter_page(chapter),
                          "headline": headline, "key_figure": chapter.key_figure})
        facts[chapter.id] = output.facts
        experiments[chapter.id] = output.manifest
        for figure_id, figure in output.figures.items():
            figure_entries[f"{chapter.id}/{figure_id}"] = figure
            figures.append({"id": f"{chapter.id}/{figure_id}", "chapter": chapter.id, "title": figure["title"],
                            "page": f"{chapter_page(chapter)}#fig-{figure_id}",
                            "interactive": figure_page(chapter.id, figure_id),
                            "snapshot": figure["snapshot"], "preview": figure["preview"]})
        for path, document in output.documents.items():
            write_json_atomic(folder / path, document)
        for path, data in output.files.items():
            if path in written and written[path] != data:
                raise BuildError(f"chapters write different files to {path}; a shared file must be the same")
            written[path] = data
            write_bytes_atomic(folder / path, data)
        # The settings the chapter ran with, for readers to check (linked from its page).
        write_json_atomic(folder / chapter_data(chapter.id, "config.json"), to_dict(chapter.configs[profile]))
    write_json_atomic(folder / MANIFEST, manifest_document(summaries, experiments, figures, profile))
    write_json_atomic(folder / BUILD, build)
    write_json_atomic(folder / FACTS, {"profile": profile, "chapters": summaries, "facts": facts,
                                       "figures": figure_entries, "omitted": omitted})
    for schema_file in sorted(SCHEMA_DIR.glob("*.schema.json")):   # so tools can validate what they fetch
        write_text_atomic(folder / "data" / "schema" / schema_file.name, schema_file.read_text())
    index = ["# Figures\n", "Every figure of the report on a page of its own, to link a reader to.\n"]
    for chapter in chapters:
        index.append(f"\n## {chapter.title}\n")
        for figure_id, figure in outputs[chapter.id].figures.items():
            write_text_atomic(folder / "figures" / chapter.id / figure_id / "index.md",
                              figure_page_markdown(chapter, figure_id, figure))
            index.append(f"- [{figure['title']}]({chapter.id}/{figure_id}/index.md)")
    write_text_atomic(folder / "figures" / "index.md", "\n".join(index) + "\n")
