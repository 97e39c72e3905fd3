"""Lottery-ticket invariants on real MNIST: masks only shrink, pruned weights stay zero through
retraining, biases are never pruned, and each round removes the configured fraction."""
import torch
from torch.nn.utils import prune

from generator.networks.config import PruneConfig, TrainConfig
from generator.networks.models import make_model, prunable_layers as linear_layers
from generator.networks.prune import kernel, prune_lottery_round, reset_to as reset_to_init, weights_per_layer
from generator.networks.train import train_epochs


def test_rounds_prune_the_configured_fraction_and_keep_pruned_weights_zero(mnist_quick, quick_experiment):
    model = make_model(quick_experiment.model, seed=0)
    init = [(l.weight.detach().clone(), l.bias.detach().clone()) for l in linear_layers(model)]
    x, y = mnist_quick.train.inputs[:2000], mnist_quick.train.targets[:2000]
    rates = (0.5, 0.3, 0.2)
    alive = weights_per_layer(model)
    previous_masks = None
    for _ in range(2):
        prune_lottery_round(model, PruneConfig(rounds=2, rates=rates), 1)
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
    prune_lottery_round(model, PruneConfig(rates=(0.5, 0.5, 0.5)), 1)
    reset_to_init(model, init)
    for layer, (w0, b0) in zip(linear_layers(model), init):
        assert torch.equal(kernel(layer), w0 * layer.weight_mask)
        assert torch.equal(layer.bias, b0)


def test_quick_build_records_every_round(quick_experiment, manifest):
    from tests.conftest import cached_task
    from generator.networks.prune import lottery_model
    for seed in quick_experiment.seeds:
        result = cached_task("mnist-mlp-lth", f"seed-{seed}")
        rounds = result.record["rounds"]
        assert [r["round"] for r in rounds] == list(range(quick_experiment.prune.rounds + 1))
        assert rounds[0]["weights"] == 784 * 32 + 32 * 32 + 32 * 10 == 26_432
        for r in rounds:
            assert r["weights"] == sum(r["weights_per_layer"])
            assert 0.5 < r["test_accuracy"] <= 1.0
            model = lottery_model(quick_experiment, result, r["round"])
            assert weights_per_layer(model) == r["weights_per_layer"]        # masks baked in, as recorded
            assert not any(prune.is_pruned(l) for l in linear_layers(model))
        assert all(a["weights"] > b["weights"] for a, b in zip(rounds, rounds[1:]))


def test_a_rate_of_zero_leaves_a_layer_dense_and_rewinding_restarts_from_early_weights(monkeypatch):
    from generator.networks import prune as prune_module
    from generator.networks.config import DataConfig, LotteryExperiment, PruneConfig, TrainConfig
    config = LotteryExperiment(data=DataConfig(train_size=2_000, validation_size=500, test_size=1_000),
                               train=TrainConfig(epochs_per_round=2, final_epochs=2),
                               prune=PruneConfig(rounds=2, rates=(0.0, 0.5, 0.5), rewind_epochs=1))
    starts, after_first_epoch = [], []
    real = prune_module.train_epochs

    def spy(model, x, y, cfg, epochs, seed, desc="train", after_epoch=None, final=False):
        starts.append(prune_module.snapshot(model))       # the weights each round starts from

        def record(epoch):
            if len(starts) == 1 and epoch == 1:
                after_first_epoch.append(prune_module.snapshot(model))
            if after_epoch:
                after_epoch(epoch)
        real(model, x, y, cfg, epochs, seed, desc, record, final)

    monkeypatch.setattr(prune_module, "train_epochs", spy)
    result = prune_module.run_lottery(config, 0, prune_module.train_dense(config.dense(0)))
    rounds = result.record["rounds"]
    assert [r["weights_per_layer"][0] for r in rounds] == [784 * 32] * 3
    assert rounds[-1]["weights_per_layer"][1:] == [256, 80]
    for r in (1, 2):    # every later round restarts its survivors from the weights after epoch 1
        for (w, b), (w1, b1) in zip(starts[r], after_first_epoch[0]):
            alive = w != 0
            assert torch.equal(w[alive], w1[alive]) and torch.equal(b, b1)
    assert not torch.equal(starts[1][0][0], starts[0][0][0])   # and not from the initial weights


def test_cubic_targets_and_balanced_rows_reach_their_counts(mnist_quick):
    from generator.networks.config import CNNConfig
    config = PruneConfig(rounds=3, targets=(6, 23, 23, 135), balanced=(3,))
    model = make_model(CNNConfig(), seed=0)
    sizes = [l.weight.numel() for l in linear_layers(model)]
    for r in (1, 2, 3):
        prune_lottery_round(model, config, r)
        expected = [round(t + (n - t) * (1 - r / 3) ** 3) for n, t in zip(sizes, config.targets)]
        assert weights_per_layer(model) == expected
    dense = kernel(linear_layers(model)[3])
    per_class = (dense != 0).sum(dim=1).tolist()
    assert sum(per_class) == 135 and max(per_class) - min(per_class) <= 1   # 13 or 14 per class
