"""The build as a user runs it: determinism, caching, bad input, the manifest, the mkdocs site."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

from generator.data import FILES
from generator.paths import mnist_dir
from tests.conftest import REPO, run_build


def json_files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.json"))}


def test_one_seed_gives_byte_identical_json(quick_build, tmp_path):
    result = run_build(tmp_path)                       # a second, independent build: trains again
    assert result.returncode == 0, result.stderr
    first, second = json_files(quick_build["data"]), json_files(tmp_path / "site" / "data")
    assert first.keys() == second.keys() and len(first) >= 5
    for name in first:
        assert first[name] == second[name], name


def test_rebuild_with_nothing_changed_uses_the_cache(quick_build):
    model = next((quick_build["build"] / "cache").glob("*/model.pt"))
    before, built = model.stat().st_mtime_ns, json_files(quick_build["data"])
    start = time.perf_counter()
    result = run_build(quick_build["build"])
    assert result.returncode == 0, result.stderr
    assert model.stat().st_mtime_ns == before            # not retrained
    assert json_files(quick_build["data"]) == built      # and the same files as the cold build
    assert time.perf_counter() - start < 60


def test_corrupt_data_is_one_error_line_and_leaves_the_built_site_alone(quick_build, tmp_path):
    for name in FILES.values():
        shutil.copy(mnist_dir() / name, tmp_path / name)
    bad = tmp_path / FILES["train_images"]
    bad.write_bytes(bad.read_bytes()[:-100])            # truncated
    before = json_files(quick_build["data"])
    result = run_build(quick_build["build"], env_extra={"MNIST_DIR": str(tmp_path)})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad) in lines[0]
    assert json_files(quick_build["data"]) == before


def test_manifest_describes_rounds_graph_and_figures(manifest, flowgraph_json, quick_experiment):
    experiment = manifest["experiments"]["mnist-mlp-lth"]
    assert len(experiment["rounds"]) == quick_experiment.prune.rounds + 1
    assert experiment["selected_round"] == experiment["rounds"][-1]["round"] == flowgraph_json["round"]
    assert experiment["vertices"] == len(flowgraph_json["nodes"])
    assert experiment["edges"] == len(flowgraph_json["edges"])
    assert experiment["constant_outputs"] == flowgraph_json["stats"]["constant_outputs"]
    ids = [f["id"] for f in manifest["figures"]]
    assert {"flowgraph", "accuracy-vs-weights", "first-layer-filters", "sample-trace"} <= set(ids)
    for figure in manifest["figures"]:
        assert figure["interactive"] == f"figures/{figure['id']}/"


def test_site_is_built_with_relative_urls_and_nothing_from_the_network(quick_build, manifest):
    site = quick_build["site"]
    assert (site / manifest["experiments"]["mnist-mlp-lth"]["flowgraph"]).exists()
    assert (site / "data" / "manifest.json").exists()
    for figure in manifest["figures"]:
        assert (site / figure["interactive"] / "index.html").exists()
    for page in site.rglob("*.html"):
        if page.name == "404.html":
            continue  # served at any missing path, so mkdocs roots its links at site_url ("/")
        text = page.read_text()
        # What the browser loads by itself (scripts, styles, images, icons), not links a reader may follow.
        loaded = re.findall(r'<(?:script|img|iframe|source)\b[^>]*\bsrc="([^"]*)"', text)
        loaded += re.findall(r'<link\b[^>]*\bhref="([^"]*)"', text)
        external = [url for url in loaded if re.match(r"(https?:)?//", url)]
        assert external == [], (page, external)
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text
        assert not re.search(r'(?:src|href)="/(?!/)', text), page   # no root-absolute URL


def test_report_numbers_come_from_the_build(quick_build, manifest):
    facts = json.loads((quick_build["data"] / "facts.json").read_text())["facts"]
    page = (quick_build["site"] / "index.html").read_text()
    selected = manifest["experiments"]["mnist-mlp-lth"]["rounds"][-1]
    assert f"{selected['weights']:,}" in page and facts["selected_test_accuracy"] in page
    assert f"{100 * selected['test_accuracy']:.1f}%" == facts["selected_test_accuracy"]
    assert "[[" not in page


def test_unknown_placeholder_fails_the_mkdocs_build(quick_build, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Report\n\n[[fact no_such_number]]\n")
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\ndocs_dir: docs\nhooks:\n  - {REPO / 'site_src' / 'hooks.py'}\n")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(tmp_path / "mkdocs.yml")],
                            cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "FLOWGRAPH_BUILD_DIR": str(quick_build["build"])})
    assert result.returncode != 0 and "unknown fact 'no_such_number'" in result.stderr
