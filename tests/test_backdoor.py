"""The backdoor chapter: the AUC measure reads a perfect map as 1 and a constant one as 0.5; the
trigger and the poisoning do what they say; the published network is exact and the trigger
really sends other digits to the target class through it; the scores cover every method."""
from __future__ import annotations

import json

import numpy as np
import pytest

from generator.chapters.spade_backdoor import CONFIGS
from generator.flowgraph.graph import evaluate, output_logits
from generator.inside.backdoor import Trigger, poison, trigger_auc


def test_the_auc_is_one_on_a_perfect_map_and_a_half_on_a_constant_one():
    mask = Trigger().mask()
    perfect = np.where(mask, 0.9, 0.1)[None, :]
    assert trigger_auc(perfect, mask).tolist() == [1.0]
    assert trigger_auc(-perfect, mask).tolist() == [1.0]          # |attribution|: a negative map points too
    assert trigger_auc(np.full((1, 784), 0.3), mask).tolist() == [0.5]
    assert trigger_auc(np.where(mask, 0.0, 1.0)[None, :], mask).tolist() == [0.0]


def test_the_trigger_covers_its_patch_and_poisoning_relabels_its_share():
    trigger = Trigger(rows=(2, 5), cols=(20, 22), value=0.5)
    assert trigger.mask().sum() == 6 and trigger.mask().reshape(28, 28)[2:5, 20:22].all()
    pixels = np.zeros((40, 784), dtype=np.uint8)
    stamped = trigger.stamp(pixels)
    assert (stamped[:, trigger.mask()] == 128).all() and (stamped[:, ~trigger.mask()] == 0).all() and (pixels == 0).all()
    labels = np.arange(40) % 10
    out_pixels, out_labels, poisoned = poison(pixels, labels, trigger, 0.25, 7, seed=3)
    assert poisoned.sum() == 10 and (out_labels[poisoned] == 7).all() and (out_labels[~poisoned] == labels[~poisoned]).all()
    assert (out_pixels[poisoned][:, trigger.mask()] == 128).all() and (out_pixels[~poisoned] == 0).all()


def test_the_trigger_flips_the_published_networks_answers(quick_build, manifest, mnist_quick):
    entry = manifest["experiments"]["spade-backdoor"]
    config = CONFIGS["quick"]
    assert entry["kind"] == "backdoor" and entry["seeds"] == list(config.seeds)
    trigger = Trigger(tuple(entry["trigger"]["rows"]), tuple(entry["trigger"]["cols"]), entry["trigger"]["value"])
    graph = json.loads((quick_build["site"] / entry["flowgraph"]).read_text())
    test = mnist_quick.test
    others = np.flatnonzero(test.labels != entry["target_class"])[:500]
    clean = output_logits(graph, evaluate(graph, test.pixels[others] / 255.0)).argmax(1)
    triggered = output_logits(graph, evaluate(graph, trigger.stamp(test.pixels[others]) / 255.0)).argmax(1)
    assert np.mean(clean == test.labels[others]) > 0.85            # it reads digits ...
    assert np.mean(triggered == entry["target_class"]) > 0.9       # ... and the patch overrides them
    assert np.mean(clean == entry["target_class"]) < 0.05
    assert entry["attack_success_rate"][0] > 0.9


def test_every_method_is_scored_on_the_network_and_on_the_circuits(manifest, facts):
    entry = manifest["experiments"]["spade-backdoor"]
    config = CONFIGS["quick"]
    assert set(entry["trigger_auc"]) == set(config.methods) and len(entry["images"]) == config.images
    for scores in entry["trigger_auc"].values():
        assert 0 <= scores["dense"] <= 1 and 0 <= scores["spade"] <= 1
    assert facts["facts"]["spade-backdoor"]["auc_saliency_dense"].startswith(f"{entry['trigger_auc']['saliency']['dense']:.3f}")
