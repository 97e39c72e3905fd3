"""Structure and compression (issue 20): the pieces each chapter rests on, checked on small cases
whose answer is known, and the chapters' published networks checked against the quick build."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from generator.compress import compressed_file, huffman
from generator.compress.clusterability import clustered_n_cut, n_cut, shuffled, weight_graph
from generator.compress.convergence import bipartite_matching, correlations, semi_matching
from generator.compress.sparse_training import keep_largest, kept_at
from generator.compress.weight_sharing import share, shared_weights
from generator.flowgraph.graph import evaluate, output_logits
from tests.conftest import cached_task, chapter_config


@pytest.mark.parametrize("message", [[3], [0, 0, 0, 0], [1, 2, 2, 3, 3, 3, 3, 0, 7, 7], list(np.random.default_rng(0).integers(0, 32, 500))])
def test_huffman_round_trip(message):
    message = [int(s) for s in message]
    lengths = huffman.code_lengths(message, 32)
    assert huffman.decode(huffman.encode(message, lengths), lengths, len(message)) == message
    # a Huffman code is complete and prefix-free: the Kraft sum is 1 (or 1/2 for a lone symbol)
    kraft = sum(2.0 ** -n for n in lengths if n)
    assert kraft == (0.5 if len(set(message)) == 1 else 1.0)
    # and never longer than the fixed-width code
    assert len(huffman.encode(message, lengths)) <= (5 * len(message) + 7) // 8 + 1


def test_huffman_refuses_a_truncated_stream():
    message = [1, 2, 3, 1, 1, 0]
    lengths = huffman.code_lengths(message, 4)
    with pytest.raises(ValueError):
        huffman.decode(huffman.encode(message, lengths)[:0], lengths, len(message))


def test_kmeans_codes_decode_to_the_shared_weights_and_the_file_to_the_evaluated_ones():
    rng = np.random.default_rng(1)
    weight = rng.normal(size=(7, 90)).astype(np.float32) * (rng.random((7, 90)) < 0.1)
    positions = np.flatnonzero(weight)
    centroids, codes = share(weight, 3)
    assert centroids.shape == (8,) and codes.shape == positions.shape
    shared = shared_weights(weight.shape, positions, centroids, codes)
    assert np.array_equal(shared.flat[positions], centroids[codes])
    # each weight went to its nearest shared value (k-means' assignment)
    kept = weight.flat[positions]
    assert np.array_equal(np.abs(kept[:, None] - centroids[None, :]).argmin(1), codes)
    # long gaps need filler symbols; the file round-trips the layer exactly
    layer = {"shape": weight.shape, "positions": positions, "codes": codes, "centroids": centroids,
             "bias": rng.normal(size=7).astype(np.float32), "bits": 3, "gap_bits": 3}
    data, costs = compressed_file.encode([layer])
    assert len(data) == 6 + sum(costs[0].values())
    decoded = compressed_file.decode(data)[0]
    assert np.array_equal(decoded["weight"], shared) and np.array_equal(decoded["bias"], layer["bias"])
    with pytest.raises(ValueError):
        compressed_file.decode(data[:-1])


def test_the_shipped_file_decodes_to_the_published_graph_and_its_accuracy(quick_build, manifest, mnist_quick):
    from generator.chapters.deep_compression import compression_run
    from generator.compress.deep_compression import decoded_model
    entry = manifest["experiments"]["deep-compression"]
    data = (quick_build["build"] / "site" / entry["compressed_file"]).read_bytes()
    assert len(data) == entry["compressed_bytes"] and entry["ratio"] == entry["dense_bytes"] / len(data)
    model = decoded_model(compression_run(chapter_config("deep-compression"), chapter_config("mnist-mlp-lth"),
                                          entry["selected_seed"]), data)
    graph = json.loads((quick_build["build"] / "site" / entry["flowgraph"]).read_text())
    test = mnist_quick.test
    with torch.no_grad():
        expected = model(test.inputs).double().numpy()
    logits = output_logits(graph, evaluate(graph, test.pixels / 255.0))
    assert np.abs(logits - expected).max() < 1e-4
    assert round(float((expected.argmax(1) == test.labels).mean()), 6) == entry["accuracy_per_stage"]["retrained and coded"]


def test_matchings_agree_with_brute_force_on_a_5_by_5_case():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(200, 5))
    b = a[:, [2, 0, 4, 1, 3]] + 0.8 * rng.normal(size=(200, 5))
    corr = correlations(a, b)
    assert np.allclose(corr, np.corrcoef(a.T, b.T)[:5, 5:])
    best = max(itertools.permutations(range(5)), key=lambda p: sum(corr[i, p[i]] for i in range(5)))
    assert list(bipartite_matching(corr)) == list(best)
    assert list(semi_matching(corr)) == [int(np.argmax(row)) for row in corr]


def test_the_n_cut_of_two_disconnected_cliques_is_zero_and_clustering_finds_them():
    # a 2-2-2 "network" whose first two neurons of each layer only talk to each other: two cliques
    kernels = [np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[3.0, 0.0], [0.0, 1.5]])]
    adjacency, kept = weight_graph(kernels)
    assert adjacency.shape == (6, 6) and list(kept) == list(range(6))
    cut, labels, _ = clustered_n_cut(kernels, 2)
    assert cut == 0.0 and labels[0] == labels[2] == labels[4] and labels[1] == labels[3] == labels[5] != labels[0]
    assert n_cut(adjacency, np.array([0, 0, 0, 1, 1, 1])) > 0       # a worse split costs something
    # a shuffle keeps each layer's weights and, on the same wiring, its zeros
    rng = np.random.default_rng(0)
    for w, s in zip(kernels, shuffled(kernels, rng)):
        assert sorted(w.ravel()) == sorted(s.ravel()) and np.array_equal(w == 0, s == 0)


def test_the_sparse_training_mask_keeps_exactly_the_requested_counts(quick_build, manifest):
    layer = torch.nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -1.0, 1.0, 0.5]] * 3))      # ties
    keep_largest(layer, 5)
    assert int(torch.count_nonzero(layer.weight)) == 5
    assert kept_at(1, 100, 1000, 10, 0.5) < 1000 and kept_at(50, 100, 1000, 10, 0.5) == 10 == kept_at(100, 100, 1000, 10, 0.5)
    from generator.chapters.structure import layer_sizes, schedule_counts
    lottery = chapter_config("mnist-mlp-lth")
    targets = schedule_counts(lottery.prune, layer_sizes(lottery.model))
    ticket = manifest["experiments"]["mnist-mlp-lth"]["rounds"][-1]["weights_per_layer"]
    assert targets == ticket
    entry = manifest["experiments"]["sparse-training"]
    for seed in entry["seeds"]:
        assert cached_task("sparse-training", f"sparse-{seed}").record["weights_per_layer"] == targets
    assert entry["weights_per_layer"] == targets


def test_the_structure_chapters_never_train_the_lottery_networks_again(quick_build):
    """Their tasks need the lottery chapter's dense networks; the build ran each network once."""
    runs = quick_build["runs"]
    dense = [r for r in runs if r["task"].startswith("dense-") and r["chapter"] == "mnist-mlp-lth"]
    keys = [r["key"] for r in runs if r["task"] != "assemble"]
    assert len(keys) == len(set(keys))
    asked = {r["chapter"] for r in runs if r["task"] != "assemble"}
    needs = {k for r in runs if r["chapter"] in ("deep-compression", "dsd") for k in r.get("needs", [])}
    assert dense and {r["key"] for r in dense} <= needs
    assert not asked & {"tradeoff"}


def test_the_tradeoff_chart_links_every_point_to_a_page_of_the_site(quick_build, manifest):
    entry = manifest["experiments"]["tradeoff"]
    site = quick_build["site"]
    families = {p["network"] for p in entry["points"]}
    assert len(families) == 6
    for point in entry["points"]:
        assert (site / point["href"].split("#")[0] / "index.html").exists(), point["href"]
    for metric in entry["metrics"]:
        front = [p for p in entry["points"] if p[f"front_{metric}"]]
        assert front and all(not (q[metric] is not None and q[metric] <= p[metric] and q["test_accuracy"] > p["test_accuracy"])
                             for p in front for q in entry["points"])


@pytest.mark.browser
def test_clicking_a_pair_shows_its_filters_and_a_point_opens_its_graph(page, site_url):
    from tests.test_site import open_page
    problems = []
    open_page(page, site_url + "figures/convergent-learning/matching/", problems)
    titles = lambda: [t for t in page.eval_on_selector_all("g.mark-text text", "ts => ts.map(t => t.textContent)")
                      if " unit " in t]
    first = titles()
    assert len(first) == 2
    page.query_selector_all("g.mark-rect path")[40].click()       # row 1, column 8 of the 32 × 32 matrix
    page.wait_for_timeout(300)
    assert titles() != first and len(titles()) == 2
    open_page(page, site_url + "tradeoff/", problems)
    page.query_selector("select").select_option("largest_output_subgraph")
    page.wait_for_timeout(300)
    points = page.query_selector_all('g.mark-symbol path[aria-roledescription="point"]')
    assert len(points) >= 10        # SPADE's circuits have no per-output size: not on this measure
    points[-1].click(force=True)      # points may overlap: whichever is on top, it links somewhere
    page.wait_for_function("!location.pathname.endsWith('/tradeoff/')", timeout=10_000)
    page.wait_for_function("[...document.querySelectorAll('.fg-mount')].every(m => m.dataset.ready === 'true')")
    assert problems == []
