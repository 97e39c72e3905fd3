"""The build as a user runs it: determinism, caching, the manifest, the mkdocs site and its text."""
import json
import re
import subprocess
import sys

from generator.chapters import CHAPTERS
from tests.conftest import REPO, json_files, run_build


def test_one_seed_gives_byte_identical_json_for_any_jobs(quick_build, tmp_path):
    result = run_build(tmp_path / "b", tmp_path / "s", "--jobs", "1")   # trains again, one process
    assert result.returncode == 0, result.stderr
    first, second = json_files(quick_build["data"]), json_files(tmp_path / "b" / "site" / "data")
    assert first.keys() == second.keys() and len(first) >= 5
    for name in first:
        assert first[name] == second[name], name


def test_rebuild_with_nothing_changed_uses_the_cache(quick_build, tmp_path):
    cached = sorted(p for p in (quick_build["build"] / "cache").rglob("*") if p.is_file())
    before = {p: p.stat().st_mtime_ns for p in cached}
    built = json_files(quick_build["data"])
    result = run_build(quick_build["build"], tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert {p: p.stat().st_mtime_ns for p in cached} == before      # nothing trained or assembled again
    assert json_files(quick_build["data"]) == built                  # and the same files as the cold build
    assert result.stderr == ""


def test_only_rebuilds_the_chosen_chapter_and_keeps_the_others(quick_build, tmp_path):
    chapter = next(iter(CHAPTERS))
    before = json_files(quick_build["data"])
    result = run_build(quick_build["build"], tmp_path / "site", "--only", chapter)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((quick_build["data"] / "manifest.json").read_text())
    assert [c["id"] for c in manifest["chapters"]] == list(CHAPTERS) and set(manifest["experiments"]) == set(CHAPTERS)
    assert json_files(quick_build["data"]) == before                 # the same files as the full build
    # --only on a fresh build folder: tests/test_chapter_links.py (what it needs is built first, a
    # chapter never built is left out with a note).


def test_manifest_lists_every_chapter_and_figure(manifest, flowgraph_json, quick_experiment):
    assert [c["id"] for c in manifest["chapters"]] == list(CHAPTERS)
    experiment = manifest["experiments"]["mnist-mlp-lth"]
    assert len(experiment["rounds"]) == quick_experiment.prune.rounds + 1
    assert experiment["selected_round"] == experiment["rounds"][-1]["round"] == flowgraph_json["round"]
    assert experiment["vertices"] == len(flowgraph_json["nodes"])
    assert experiment["edges"] == len(flowgraph_json["edges"])
    assert experiment["constant_outputs"] == flowgraph_json["stats"]["constant_outputs"]
    assert experiment["seeds"] == list(quick_experiment.seeds)
    ids = [f["id"] for f in manifest["figures"]]
    assert len(ids) == len(set(ids))
    assert {"mnist-mlp-lth/flowgraph", "mnist-mlp-lth/accuracy-vs-weights"} <= set(ids)
    for figure in manifest["figures"]:
        assert figure["interactive"] == f"figures/{figure['id']}/"


def test_the_selected_seed_is_the_best_on_validation(manifest, quick_build):
    from tests.conftest import cached_task
    entry = manifest["experiments"]["mnist-mlp-lth"]
    finals = {s: cached_task("mnist-mlp-lth", f"seed-{s}").record["rounds"][-1] for s in entry["seeds"]}
    best = max(finals, key=lambda s: (finals[s]["validation_accuracy"], -s))
    assert entry["selected_seed"] == best
    assert entry["rounds"][-1] == finals[best]
    final = [row for row in entry["seed_spread"] if row["round"] == entry["selected_round"] and row["split"] == "test"][0]
    tests = sorted(f["test_accuracy"] for f in finals.values())
    assert final["min"] == tests[0] and final["max"] == tests[-1]


def test_site_is_built_with_relative_urls_and_nothing_from_the_network(quick_build, manifest):
    site = quick_build["site"]
    assert (site / manifest["experiments"]["mnist-mlp-lth"]["flowgraph"]).exists()
    assert (site / "data" / "manifest.json").exists()
    for chapter in manifest["chapters"]:
        assert (site / chapter["page"] / "index.html").exists()
    for figure in manifest["figures"]:
        assert (site / figure["interactive"] / "index.html").exists()
    for page in site.rglob("*.html"):
        if page.name == "404.html":
            continue  # served at any missing path, so its links are rooted at site_url (test_reader)
        text = page.read_text()
        # What the browser loads by itself (scripts, styles, images, icons), not links a reader may
        # follow, nor the canonical address (which names the published site).
        loaded = re.findall(r'<(?:script|img|iframe|source)\b[^>]*\bsrc="([^"]*)"', text)
        loaded += [href for attrs, href in re.findall(r'<link\b([^>]*)\bhref="([^"]*)"', text) if 'rel="canonical"' not in attrs]
        external = [url for url in loaded if re.match(r"(https?:)?//", url)]
        assert external == [], (page, external)
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text
        assert not re.search(r'(?:src|href)="/(?!/)', text), page   # no root-absolute URL


def test_report_numbers_come_from_the_build(quick_build, manifest, facts):
    page = (quick_build["site"] / "mnist-mlp-lth" / "index.html").read_text()
    chapter = facts["facts"]["mnist-mlp-lth"]
    selected = manifest["experiments"]["mnist-mlp-lth"]["rounds"][-1]
    assert f"{selected['weights']:,}" in page and chapter["selected_test_accuracy"] in page
    assert f"{100 * selected['test_accuracy']:.1f}%" == chapter["selected_test_accuracy"]
    landing = (quick_build["site"] / "index.html").read_text()
    for summary in manifest["chapters"]:
        assert summary["headline"] in landing.replace("&amp;", "&")
    for html in quick_build["site"].rglob("*.html"):
        assert "[[" not in html.read_text(), html


def test_unknown_placeholder_fails_the_mkdocs_build(quick_build, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Report\n\n[[fact mnist-mlp-lth.no_such_number]]\n")
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\ndocs_dir: docs\nhooks:\n  - {REPO / 'site_src' / 'hooks.py'}\n")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(tmp_path / "mkdocs.yml")],
                            cwd=tmp_path, capture_output=True, text=True,
                            env={"FLOWGRAPH_BUILD_DIR": str(quick_build["build"]), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0 and "unknown fact 'mnist-mlp-lth.no_such_number'" in result.stderr
