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
