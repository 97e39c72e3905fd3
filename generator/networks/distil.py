"""Iterative pruning with distillation: a policy network made sparse while it keeps its score.

Each round removes a share of the surviving kernel weights, ranked globally by their first-order
contribution to the advantage Q(right) − Q(left) on recorded states (|w| times the mean of
|∂A/∂z · input|), then distils the pruned network back to the dense teacher (MSE on the advantage,
plus a little on the Q-values) and keeps it only if it still passes the score on validation
seeds. A rejected candidate gets one more chance with the states its own policy visits added to
the data (DAgger); then smaller shares are tried. While it can, pruning keeps each input's
strongest path to an output, so that no input is cut off by magnitude alone: only when no
candidate passes is that floor lifted, and the score decides whether an input is needed.
Masks are torch.nn.utils.prune masks; biases are never pruned.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from generator.networks.config import require
from generator.networks.models import prunable_layers
from generator.networks.train import PlainKernels
from generator.pipeline.progress import bar


@dataclass(frozen=True)
class DistilConfig:
    shares: tuple[float, ...] = (0.2, 0.1, 0.05, 0.02)   # of surviving weights, tried in turn
    steps: int = 6000                                   # distillation steps per candidate
    learning_rate: float = 3e-3                         # Adam, cosine decay to 0
    batch_size: int = 256
    max_rounds: int = 40
    advantage_weight: float = 1.0                       # loss = this × MSE(A) + q_weight × MSE(Q)
    q_weight: float = 0.01

    def __post_init__(self):
        require(len(self.shares) >= 1 and all(0 < s < 1 for s in self.shares), "distil.shares",
                "shares in (0, 1)", self.shares)
        require(self.steps >= 1 and self.max_rounds >= 0, "distil.steps", "steps >= 1", self.steps)


def masks_of(net: nn.Sequential) -> list[torch.Tensor]:
    return [getattr(layer, "weight_mask", torch.ones_like(layer.weight)).detach().clone()
            for layer in prunable_layers(net)]


def set_masks(net: nn.Sequential, masks: list[torch.Tensor]) -> None:
    """Replace the layers' masks (the kept weights keep their values)."""
    for layer, mask in zip(prunable_layers(net), masks):
        if prune.is_pruned(layer):
            prune.remove(layer, "weight")
        prune.custom_from_mask(layer, "weight", mask.clone())


def kernel(layer: nn.Module) -> torch.Tensor:
    return (layer.weight_orig * layer.weight_mask) if prune.is_pruned(layer) else layer.weight


def counts(net: nn.Sequential) -> list[int]:
    return [int(mask.sum()) for mask in masks_of(net)]


def plain_copy(net: nn.Sequential) -> nn.Sequential:
    """A copy with masks baked in: plain Linear weights with exact zeros. (A pruned module holds
    `weight` as a computed tensor, which deepcopy refuses, so the copy is built afresh.)"""
    copied = nn.Sequential(*[nn.Linear(m.in_features, m.out_features) if isinstance(m, nn.Linear) else nn.ReLU()
                             for m in net])
    with torch.no_grad():
        for new, old in zip(prunable_layers(copied), prunable_layers(net)):
            new.weight.copy_(kernel(old))
            new.bias.copy_(old.bias)
    return copied


def masked_copy(net: nn.Sequential) -> nn.Sequential:
    """A copy that keeps the masks (pruned weights stay pruned)."""
    copied = plain_copy(net)
    set_masks(copied, masks_of(net))
    return copied


def reachable_inputs(masks: list[torch.Tensor]) -> torch.Tensor:
    """Per input: whether some path of kept weights leads from it to an output."""
    alive = masks[-1].bool().any(0)
    for mask in reversed(masks[:-1]):
        alive = (mask.bool() & alive[:, None]).any(0)
    return alive


def simplify_dead_units(net: nn.Sequential) -> None:
    """Change no output: drop weights into units that feed nothing, and fold units that read
    nothing (a constant ReLU(bias)) into the next layer's bias."""
    layers = prunable_layers(net)
    changed = True
    with torch.no_grad():
        while changed:
            changed = False
            masks = masks_of(net)
            for k in range(len(layers) - 1):
                this, after = masks[k], masks[k + 1]
                for unit in range(this.shape[0]):
                    if after[:, unit].sum() == 0 and this[unit].sum() > 0:
                        this[unit] = 0
                        changed = True
                    elif this[unit].sum() == 0 and after[:, unit].sum() > 0:
                        layers[k + 1].bias += kernel(layers[k + 1])[:, unit] * torch.relu(layers[k].bias[unit])
                        after[:, unit] = 0
                        changed = True
            if changed:
                set_masks(net, masks)


def advantage_scores(net: nn.Sequential, states: torch.Tensor) -> list[torch.Tensor]:
    """Per weight: |w| × mean over states of |∂A/∂z_out · input|, A = Q(right) − Q(left)."""
    inputs, outputs, h = [], [], states
    for module in net:
        if isinstance(module, nn.Linear):
            inputs.append(h.detach())
            h = module(h)
            h.retain_grad()
            outputs.append(h)
        else:
            h = module(h)
    (h[:, 1] - h[:, 0]).sum().backward()
    scores = [kernel(layer).detach().abs() * (z.grad.abs().T @ a.abs()) / states.shape[0]
              for layer, a, z in zip(prunable_layers(net), inputs, outputs)]
    net.zero_grad()
    return scores


def pruned_masks(net: nn.Sequential, states: torch.Tensor, share: float, keep_inputs: bool) -> list[torch.Tensor]:
    old = masks_of(net)
    scores = advantage_scores(net, states)
    alive = torch.cat([s[m.bool()] for s, m in zip(scores, old)])
    k = max(1, int(round(share * alive.numel())))
    threshold = torch.kthvalue(alive, k).values
    masks = [m * ~((s <= threshold) & m.bool()) for s, m in zip(scores, old)]
    if keep_inputs and len(masks) == 3:
        before, after = reachable_inputs(old), reachable_inputs(masks)
        w1, w2, w3 = [kernel(layer).detach().abs() for layer in prunable_layers(net)]
        for j in range(w1.shape[1]):
            if before[j] and not after[j]:   # give it back its strongest path (product of |w|)
                paths = w3[:, :, None] * w2[None, :, :] * w1[:, j][None, None, :]
                o, k2, k1 = np.unravel_index(int(paths.argmax()), paths.shape)
                masks[0][k1, j] = masks[1][k2, k1] = masks[2][o, k2] = 1
    return masks


@functools.lru_cache(maxsize=8)
def cosine_rates(learning_rate: float, steps: int) -> tuple[float, ...]:
    """The learning rate of each step under CosineAnnealingLR(steps), computed by the scheduler
    itself (its recursive formula, so the floats are its own), once per setting."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()      # no gradient: changes nothing, but the scheduler expects it first
        scheduler.step()
    return tuple(rates)


def distil(net: nn.Sequential, teacher: nn.Module, states: torch.Tensor, config: DistilConfig, seed: int) -> None:
    """Adam on a fresh state, cosine decay to 0, a random batch of `states` per step, on the loss
    advantage_weight × MSE(A) + q_weight × MSE(Q), A = Q(right) − Q(left).

    The net is a few Linear and ReLU layers on batches of 4 numbers, so a step is all overhead;
    it is written out by hand: the batches drawn in one call (the generator gives the indices of
    one call per step), the rates taken from the scheduler once, and the gradients computed with
    autograd's own formulas in its order (addmm forward; pow, mean and select backward; g.t() @ h
    for a kernel, g.sum(0) for a bias, threshold_backward for a ReLU), times the mask as prune's
    hook does. The weights are the autograd loop's to the bit (tests/test_training_speedups.py)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        target = teacher(states)
    batches = torch.randint(0, states.shape[0], (config.steps, config.batch_size), generator=generator)
    inputs, targets = states[batches], target[batches]            # (steps, B, 4), (steps, B, 2)
    target_advantage = targets[:, :, 1] - targets[:, :, 0]        # (steps, B)
    rates = cosine_rates(config.learning_rate, config.steps)
    layers = prunable_layers(net)
    if [type(m) for m in net] != [nn.Linear, nn.ReLU] * (len(layers) - 1) + [nn.Linear]:
        raise TypeError(f"distil expects Linear and ReLU layers, got {net}")
    with PlainKernels(net) as plain, torch.no_grad():
        kernels, biases = [layer.weight for layer in layers], [layer.bias for layer in layers]
        masks = [plain.masks.get(id(layer)) for layer in layers]
        # foreach: the CPU default (single-tensor) Adam to the bit, in a few calls, not ~10 per parameter
        optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate, foreach=True)
        group = optimizer.param_groups[0]
        one = torch.ones(())
        for i in range(config.steps):
            group["lr"] = rates[i]
            h = inputs[i]
            seen = [h]                                            # each layer's input, (B, n)
            for k, (kernel_k, bias) in enumerate(zip(kernels, biases)):
                h = torch.addmm(bias, h, kernel_k.t())            # as F.linear
                if k < len(kernels) - 1:
                    h = torch.relu(h)
                    seen.append(h)
            q = h                                                 # (B, 2)
            advantage_error = (q[:, 1] - q[:, 0]) - target_advantage[i]
            q_error = q - targets[i]
            # d/dx of weight × mean(x ** 2), as MulBackward, MeanBackward and PowBackward compute it
            g_advantage = ((one * config.advantage_weight).expand(advantage_error.shape) / advantage_error.numel()
                           * (2.0 * advantage_error.pow(1.0)))
            g = ((one * config.q_weight).expand(q_error.shape) / q_error.numel()) * (2.0 * q_error.pow(1.0))
            g[:, 1] += g_advantage                                # SelectBackward of Q(right) − Q(left)
            g[:, 0] += -g_advantage
            for k in range(len(kernels) - 1, -1, -1):
                kernels[k].grad = g.t().mm(seen[k]) if masks[k] is None else g.t().mm(seen[k]).mul_(masks[k])
                biases[k].grad = g.sum(0)
                if k > 0:
                    g = torch.ops.aten.threshold_backward(g.mm(kernels[k]), seen[k], 0)
            optimizer.step()


def prune_and_distil(teacher: nn.Sequential, states: torch.Tensor, config: DistilConfig, seed: int,
                     passes: Callable[[nn.Module], tuple[bool, float]],
                     visited_states: Callable[[nn.Module, int], np.ndarray]) -> tuple[nn.Sequential, list[dict]]:
    """The sparsest network found that still `passes`, and a record of every candidate tried.
    visited_states(net, round): states the net's own policy visits (for the DAgger retry)."""
    net = plain_copy(teacher)
    set_masks(net, [torch.ones_like(layer.weight) for layer in prunable_layers(net)])
    keep_inputs, candidate_seed = True, seed * 100_000
    rounds = [{"round": 0, "weights": sum(counts(net)), "weights_per_layer": counts(net), "share": 0.0,
               "validation_mean_return": passes(plain_copy(net))[1], "accepted": True, "floors": True}]
    for r in bar(range(1, config.max_rounds + 1), desc="prune and distil"):
        accepted = False
        for share in config.shares:
            candidate = masked_copy(net)
            set_masks(candidate, pruned_masks(candidate, states, share, keep_inputs))
            if sum(counts(candidate)) >= sum(counts(net)):
                continue
            candidate_seed += 1
            distil(candidate, teacher, states, config, candidate_seed)
            simplify_dead_units(candidate)
            ok, mean = passes(plain_copy(candidate))
            if not ok:
                extra = torch.as_tensor(visited_states(plain_copy(candidate), r), dtype=torch.float32)
                more = torch.cat([states, extra])
                distil(candidate, teacher, more, config, candidate_seed + 50_000)
                simplify_dead_units(candidate)
                ok, mean = passes(plain_copy(candidate))
                if ok:
                    states = more
            rounds.append({"round": r, "weights": sum(counts(candidate)), "weights_per_layer": counts(candidate),
                           "share": share, "validation_mean_return": mean, "accepted": ok, "floors": keep_inputs})
            if ok:
                net, accepted = candidate, True
                break
        if not accepted:
            if keep_inputs:
                keep_inputs = False   # let the score decide whether an input is needed
                continue
            break
    return plain_copy(net), rounds
