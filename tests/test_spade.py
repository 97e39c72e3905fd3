"""SPADE: a circuit for one image keeps exactly its target number of weights per layer, matches
the dense network on the augmentations it was fitted to better than the same weights without the
least-squares correction, and is published as an exact flowgraph with every sample's record."""
from __future__ import annotations

import json

import numpy as np
import pytest

from generator.chapters.spade import CONFIGS, as_model, circuit, dense_layers
from generator.inside.spade import augment, mulberry32, prune_for_sample, solve
from tests.conftest import cached_task, chapter_config


@pytest.fixture(scope="module")
def dense(quick_build, manifest):
    from generator.networks.prune import lottery_model
    entry = manifest["experiments"]["mnist-mlp-lth"]
    return lottery_model(chapter_config("mnist-mlp-lth"), cached_task("mnist-mlp-lth", f"seed-{entry['selected_seed']}"), 0)


def test_the_generator_and_the_solver_are_the_ones_the_page_can_repeat():
    rand = mulberry32(1)
    # The same numbers as the reference JavaScript mulberry32 (Math.imul) gives for seed 1.
    assert [round(rand(), 12) for _ in range(3)] == [0.627073940588, 0.00273572118, 0.52744703996]
    a = np.array([[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, 0.0, 1.0]])
    b = np.array([1.0, 2.0, 3.0])
    assert np.allclose(solve(a, b), np.linalg.solve(a, b))


def test_augmentations_start_with_the_image_and_stay_in_range(mnist_quick):
    config = CONFIGS["quick"]
    found = augment(mnist_quick.test.pixels[0], 8, 5, config.turn, config.scale, config.shift, config.noise)
    assert found.shape == (8, 784) and np.array_equal(found[0], mnist_quick.test.pixels[0] / 255.0)
    assert found.min() >= 0 and found.max() <= 1 and not np.array_equal(found[1], found[0])
    assert np.array_equal(found, augment(mnist_quick.test.pixels[0], 8, 5, config.turn, config.scale, config.shift,
                                         config.noise))


def test_a_circuit_keeps_its_target_sparsity_and_matches_the_dense_network_on_its_augmentations(dense, mnist_quick):
    config = CONFIGS["quick"]
    layers = dense_layers(dense)
    for i in range(3):
        inputs = augment(mnist_quick.test.pixels[i], config.augmentations, config.seed + i, config.turn, config.scale,
                         config.shift, config.noise)
        pruned = prune_for_sample(layers, inputs, config.densities, config.ridge)
        for (weight, _), (dense_weight, _, _), density in zip(pruned, layers, config.densities):
            assert np.count_nonzero(weight) <= round(density * dense_weight.size)
            assert np.count_nonzero(weight) >= 0.9 * round(density * dense_weight.size)   # a refit weight may be exactly 0 only by chance
        # Without the correction: the kept weights as they were in the dense network.
        uncorrected = [(np.where(w != 0, dw, 0.0), db) for (w, _), (dw, db, _) in zip(pruned, layers)]
        relu = [r for _, _, r in layers]
        reference = as_model([(w, b) for w, b, _ in layers], relu)
        import torch
        x = torch.from_numpy(inputs)
        with torch.inference_mode():
            want = reference(x).numpy()
            fitted, plain = as_model(pruned, relu)(x).numpy(), as_model(uncorrected, relu)(x).numpy()
        assert np.abs(fitted - want).mean() < np.abs(plain - want).mean()
        assert fitted[0].argmax() == want[0].argmax()                      # the sample itself
        assert np.mean(fitted.argmax(1) == want.argmax(1)) >= 0.5


def test_the_chapter_publishes_the_circuit_and_every_samples_record(quick_build, manifest, dense, mnist_quick):
    entry = manifest["experiments"]["spade"]
    config = CONFIGS["quick"]
    assert len(entry["samples"]) == config.samples >= 10
    graph = json.loads((quick_build["site"] / entry["flowgraph"]).read_text())
    shown = circuit(config, dense, mnist_quick.test.pixels[config.shown], config.seed + config.shown)
    assert len(graph["edges"]) == entry["edges"] == len(shown["graph"]["edges"])
    assert entry["edges"] < manifest["experiments"]["mnist-mlp-lth"]["edges"]
    assert entry["sparsity"] == [1 - d for d in config.densities]


def _published_dense(quick_build, document) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """The dense layers as the page reads them: off the dense network's published flowgraph."""
    from generator.chapters.spade import graph_layers
    graph = json.loads((quick_build["site"] / document["dense_flowgraph"]).read_text())
    relu = [True] * 2 + [False]
    return [(np.array(w, dtype=np.float64), np.array(b, dtype=np.float64), r) for (w, b), r in zip(graph_layers(graph), relu)]


def test_the_page_is_pointed_at_the_whole_dense_network(quick_build, dense):
    document = json.loads((quick_build["data"] / "spade" / "circuits.json").read_text())
    for (w, b, _), (dw, db, _) in zip(_published_dense(quick_build, document), dense_layers(dense)):
        assert np.array_equal(w, dw) and np.array_equal(b, db)


@pytest.mark.browser
def test_the_page_computes_the_circuit_python_does(page, site_url, quick_build, mnist_quick):
    """Every shipped sample's circuit, computed by the page's module, is Python's to the last bit;
    the figure's worker draws it and says it is the build's; a drawing gets a circuit of its own."""
    document = json.loads((quick_build["data"] / "spade" / "circuits.json").read_text())
    c = document["config"]
    layers = _published_dense(quick_build, document)
    page.goto(site_url + "figures/spade/live/#sample=t3")
    page.wait_for_function("window.flowgraphReport?.figures.get('live')?.figure.inspect().circuit?.label.startsWith('test image #3')",
                           timeout=30_000)
    shown = page.evaluate("window.flowgraphReport.figures.get('live').figure.inspect()")
    computed = page.evaluate(
        """async ([root, doc, images]) => {
            const spade = await import(new URL("js/spade.js", root).href);
            const dense = spade.denseLayers(await (await fetch(new URL(doc.dense_flowgraph, root))).json());
            return images.map((pixels, i) => spade.pruneForSample(dense,
                spade.augment(pixels, doc.config.augmentations, doc.config.seed + doc.samples[i].test_index, doc.config),
                doc.config.densities, doc.config.ridge).map((l) => ({ weight: Array.from(l.weight), bias: Array.from(l.bias) })));
        }""",
        [site_url, document, [mnist_quick.test.pixels[s["test_index"]].tolist() for s in document["samples"]]])
    for sample, found in zip(document["samples"], computed):
        inputs = augment(mnist_quick.test.pixels[sample["test_index"]], c["augmentations"], c["seed"] + sample["test_index"],
                         c["turn"], c["scale"], c["shift"], c["noise"])
        want = prune_for_sample(layers, inputs, tuple(c["densities"]), c["ridge"])
        for (w, b), layer in zip(want, found):
            assert np.array_equal(np.array(layer["weight"]), w.ravel()) and np.array_equal(np.array(layer["bias"]), b)
        if sample["test_index"] == 3:
            for (w, b), layer in zip(want, shown["circuit"]["layers"]):   # the figure's: float32 parameters
                assert np.array_equal(np.array(layer["weight"]), w.ravel().astype(np.float32))
            assert shown["circuit"]["kept"] == sample["kept_weights"] and shown["circuit"]["prediction"] == sample["prediction"]
    assert "the same kept weights, prediction and agreement" in shown["verdict"]
    assert shown["flowgraph"]["values"] is not None and len(shown["flowgraph"]["visible"]) == shown["circuit"]["vertices"]

    box = page.locator(".fg-circuit .fg-pad").bounding_box()
    page.get_by_role("button", name="Clear the pad to draw").click()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.8, steps=8)
    page.mouse.up()
    page.wait_for_function("window.flowgraphReport.figures.get('live').figure.inspect().circuit?.label === 'your drawing'",
                           timeout=10_000)
    drawn = page.evaluate("window.flowgraphReport.figures.get('live').figure.inspect()")
    assert drawn["verdict"] == "" and "drawing=" in page.evaluate("location.hash")
    assert drawn["circuit"]["kept"] <= sum(round(d * w.size) for d, (w, _, _) in zip(c["densities"], layers))
