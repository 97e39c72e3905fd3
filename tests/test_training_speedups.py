"""The fast training loops keep their promises on real data: they train exactly what the plain
loops (prune's forward hook, one gather and one scheduler step per batch) trained, to the bit;
pruned weights stay zero and leave the layer pruned as before; the same seed gives the same
weights; distillation draws the same batches and learning rates as before."""
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from generator.networks import distil as distil_module
from generator.networks.cartpole import episodes, greedy
from generator.networks.config import CNNConfig, MLPConfig, PruneConfig, TrainConfig
from generator.networks.models import make_model, prunable_layers
from generator.networks.prune import kernel, prune_lottery_round
from generator.networks.train import PlainKernels, predictions, train_epochs

@pytest.fixture(autouse=True)
def one_thread():
    """As the build's workers: one thread (tiny tensors are slower on more, and a busy machine
    makes OpenMP's waiting far slower still)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


FINAL = TrainConfig(batch_size=50, final_learning_rate=3e-3, final_schedule="cosine")


def reference_train_epochs(model, inputs, targets, config, epochs, seed, after_epoch=None, final=False):
    """The loop as it was: prune's hook computes weight_orig × mask at every forward."""
    lr = config.final_learning_rate if final and config.final_learning_rate else config.learning_rate
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    n = inputs.shape[0]
    steps = epochs * ((n + config.batch_size - 1) // config.batch_size)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
                 if final and config.final_schedule == "cosine" else None)
    model.train()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, config.batch_size):
            batch = order[start:start + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(inputs[batch]), targets[batch]).backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        if after_epoch is not None:
            after_epoch(epoch)
    model.eval()


def pruned_model(config, mnist, prune_config):
    """A model trained one epoch, then pruned by one lottery round (so weight_orig holds nonzero
    values under the mask, as after a reset)."""
    model = make_model(config, 0)
    reference_train_epochs(model, mnist.train.inputs[:600], mnist.train.targets[:600], TrainConfig(), 1, seed=5)
    prune_lottery_round(model, prune_config, 1)
    return model


def state(model):
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def test_pruned_layers_train_to_the_bit_as_through_prunes_hook(mnist_quick):
    x, y = mnist_quick.train.inputs[:1500], mnist_quick.train.targets[:1500]
    for config, pruning, rows in ((MLPConfig(), PruneConfig(rates=(0.6, 0.4, 0.2)), 1500),
                                  (CNNConfig(), PruneConfig(rounds=3, targets=(6, 23, 23, 135), balanced=(3,)), 300)):
        for final in (False, True):
            fast, slow = pruned_model(config, mnist_quick, pruning), pruned_model(config, mnist_quick, pruning)
            seen_fast, seen_slow = [], []
            train_epochs(fast, x[:rows], y[:rows], FINAL, 2, seed=9, final=final,
                         after_epoch=lambda e: seen_fast.append([kernel(l).clone() for l in prunable_layers(fast)]))
            reference_train_epochs(slow, x[:rows], y[:rows], FINAL, 2, seed=9, final=final,
                                   after_epoch=lambda e: seen_slow.append([kernel(l).clone() for l in prunable_layers(slow)]))
            a, b = state(fast), state(slow)
            assert a.keys() == b.keys() and any(name.endswith(".weight_orig") for name in a)
            for name in a:                                 # weight_orig (masked entries too), masks, biases
                assert torch.equal(a[name], b[name]), (config.name, final, name)
            for after, before in zip(seen_fast, seen_slow):   # what after_epoch sees, epoch by epoch
                assert all(torch.equal(p, q) for p, q in zip(after, before))
            assert torch.equal(predictions(fast, mnist_quick.test.inputs[:500]),
                               predictions(slow, mnist_quick.test.inputs[:500]))


def test_chunks_gathered_into_one_reused_buffer_train_to_the_bit(mnist_quick, monkeypatch):
    """Many chunks, the last one short and its last batch short: every chunk overwrites the buffer
    the batches before it read, and the weights are still the per-batch gather's."""
    from generator.networks import train as train_module
    monkeypatch.setattr(train_module, "CHUNK_ROWS", 120)      # chunks of 100 rows at batch 50
    x, y = mnist_quick.train.inputs[:1530], mnist_quick.train.targets[:1530]
    pruning = PruneConfig(rates=(0.6, 0.4, 0.2))
    fast, slow = pruned_model(MLPConfig(), mnist_quick, pruning), pruned_model(MLPConfig(), mnist_quick, pruning)
    train_epochs(fast, x, y, FINAL, 2, seed=11)
    reference_train_epochs(slow, x, y, FINAL, 2, seed=11)
    a, b = state(fast), state(slow)
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_pruned_weights_stay_zero_and_the_layer_stays_pruned(mnist_quick):
    model = pruned_model(MLPConfig(), mnist_quick, PruneConfig(rates=(0.9, 0.8, 0.5)))
    masks = [l.weight_mask.clone() for l in prunable_layers(model)]
    under_mask = [l.weight_orig.detach()[l.weight_mask == 0].clone() for l in prunable_layers(model)]
    kept_before = [kernel(l).detach().clone() for l in prunable_layers(model)]
    names = [name for name, _ in model.named_parameters()]

    def check_pruned(epoch):
        assert all(prune.is_pruned(l) for l in prunable_layers(model))
    train_epochs(model, mnist_quick.train.inputs[:2000], mnist_quick.train.targets[:2000], TrainConfig(), 2, seed=1,
                 after_epoch=check_pruned)
    assert [name for name, _ in model.named_parameters()] == names          # weight_orig, bias: as before
    for layer, mask, orig, before in zip(prunable_layers(model), masks, under_mask, kept_before):
        assert prune.is_pruned(layer) and torch.equal(layer.weight_mask, mask)
        assert (kernel(layer)[mask == 0] == 0).all()                          # pruned weights stay zero
        assert torch.equal(layer.weight_orig.detach()[mask == 0], orig)       # and their weight_orig untouched
        assert not torch.equal(kernel(layer), before)                         # the kept ones trained
        assert torch.equal(layer.weight, kernel(layer)) and layer.weight.grad_fn is None
        assert not hasattr(layer, "bias_mask")


def test_the_same_seed_trains_the_same_weights(mnist_quick):
    x, y = mnist_quick.train.inputs[:3000], mnist_quick.train.targets[:3000]
    runs = []
    for _ in range(2):
        model = pruned_model(MLPConfig(), mnist_quick, PruneConfig(rates=(0.5, 0.5, 0.5)))
        train_epochs(model, x, y, TrainConfig(batch_size=64), 1, seed=3)
        runs.append(state(model))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    other = pruned_model(MLPConfig(), mnist_quick, PruneConfig(rates=(0.5, 0.5, 0.5)))
    train_epochs(other, x, y, TrainConfig(batch_size=64), 1, seed=4)
    assert not torch.equal(state(other)["0.weight_orig"], runs[0]["0.weight_orig"])


def test_plain_kernels_hand_back_the_layer_as_it_was_when_nothing_trains(mnist_quick):
    model = pruned_model(MLPConfig(), mnist_quick, PruneConfig(rates=(0.5, 0.5, 0.5)))
    before, hooks = state(model), [dict(l._forward_pre_hooks) for l in prunable_layers(model)]
    with PlainKernels(model) as plain:
        assert not any(prune.is_pruned(l) for l in prunable_layers(model))
        assert len(list(model.parameters())) == 6 and len(plain.layers) == 3
    after = state(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [dict(l._forward_pre_hooks) for l in prunable_layers(model)] == hooks


def reference_distil(net, teacher, states, config, seed):
    """Distillation as it was: one randint, one scheduler step per batch; prune's hook."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        target = teacher(states)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.steps)
    for _ in range(config.steps):
        batch = torch.randint(0, states.shape[0], (config.batch_size,), generator=generator)
        q, t = net(states[batch]), target[batch]
        loss = (config.advantage_weight * (((q[:, 1] - q[:, 0]) - (t[:, 1] - t[:, 0])) ** 2).mean()
                + config.q_weight * ((q - t) ** 2).mean())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()


def test_distillation_trains_to_the_bit_as_before_on_cartpole_states():
    torch.manual_seed(0)
    teacher = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2)).eval()
    recorded = episodes(greedy(teacher), range(50_000, 50_004)) + episodes(
        greedy(teacher), range(50_100, 50_104), epsilon=0.5, rng=np.random.default_rng(0))
    states = torch.as_tensor(np.concatenate([e.observations for e in recorded]))
    config = distil_module.DistilConfig(steps=400)
    nets = []
    for train in (distil_module.distil, reference_distil):
        net = distil_module.plain_copy(teacher)
        distil_module.set_masks(net, [torch.ones_like(l.weight) for l in prunable_layers(net)])
        distil_module.set_masks(net, distil_module.pruned_masks(net, states, 0.5, keep_inputs=True))
        train(net, teacher, states, config, seed=11)
        nets.append(net)
    fast, slow = state(nets[0]), state(nets[1])
    assert fast.keys() == slow.keys()
    assert all(torch.equal(fast[k], slow[k]) for k in fast)
    assert all((kernel(l)[l.weight_mask == 0] == 0).all() for l in prunable_layers(nets[0]))
