"""Lottery-ticket invariants on real MNIST: masks only shrink, pruned weights stay zero through
retraining, biases are never pruned, and each round removes the configured fraction."""
import torch
from torch.nn.utils import prune

from generator.config import TrainConfig
from generator.models import linear_layers, make_model
from generator.prune import kernel, prune_lottery_round, reset_to_init, weights_per_layer
from generator.train import train_epochs


def test_rounds_prune_the_configured_fraction_and_keep_pruned_weights_zero(mnist_quick, quick_experiment):
    model = make_model(quick_experiment.model, seed=0)
    init = [(l.weight.detach().clone(), l.bias.detach().clone()) for l in linear_layers(model)]
    x, y = mnist_quick.train.inputs[:2000], mnist_quick.train.targets[:2000]
    rates = (0.5, 0.3, 0.2)
    alive = weights_per_layer(model)
    previous_masks = None
    for _ in range(2):
        prune_lottery_round(model, rates)
        reset_to_init(model, init)
        masks = [l.weight_mask.clone() for l in linear_layers(model)]
        expected = [a - round(r * a) for a, r in zip(alive, rates)]
        train_epochs(model, x, y, TrainConfig(), epochs=1, seed=1)
        assert weights_per_layer(model) == expected
        for layer, mask in zip(linear_layers(model), masks):
            assert torch.equal(layer.weight_mask, mask)                   # training leaves the mask alone
            assert (kernel(layer)[mask == 0] == 0).all()                  # pruned weights stay zero
            assert not hasattr(layer, "bias_mask") and layer.bias.numel() == layer.out_features
        if previous_masks:
            for new, old in zip(masks, previous_masks):
                assert (new <= old).all()                                 # a pruned weight never returns
        previous_masks, alive = masks, expected


def test_reset_restores_initial_values_of_survivors_and_biases(mnist_quick, quick_experiment):
    model = make_model(quick_experiment.model, seed=0)
    init = [(l.weight.detach().clone(), l.bias.detach().clone()) for l in linear_layers(model)]
    train_epochs(model, mnist_quick.train.inputs[:1000], mnist_quick.train.targets[:1000], TrainConfig(), 1, seed=0)
    prune_lottery_round(model, (0.5, 0.5, 0.5))
    reset_to_init(model, init)
    for layer, (w0, b0) in zip(linear_layers(model), init):
        assert torch.equal(kernel(layer), w0 * layer.weight_mask)
        assert torch.equal(layer.bias, b0)


def test_quick_build_records_every_round(quick_lottery, quick_experiment):
    rounds = quick_lottery.rounds
    assert [r["round"] for r in rounds] == list(range(quick_experiment.prune.rounds + 1))
    assert rounds[0]["weights"] == 784 * 32 + 32 * 32 + 32 * 10 == 26_432
    for r in rounds:
        assert r["weights"] == sum(r["weights_per_layer"])
        assert 0.5 < r["test_accuracy"] <= 1.0
    assert all(a["weights"] > b["weights"] for a, b in zip(rounds, rounds[1:]))
    # The cached model is the last round's: same nonzero counts as recorded, masks baked in.
    assert weights_per_layer(quick_lottery.model) == rounds[-1]["weights_per_layer"]
    assert not any(prune.is_pruned(l) for l in linear_layers(quick_lottery.model))
