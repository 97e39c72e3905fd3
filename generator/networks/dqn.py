"""A DQN agent on CartPole-v1 with stable-baselines3, keeping the best greedy policy.

DQN is unstable: the last policy of a run can be much worse than one it passed on the way. So
every few thousand steps the greedy policy is scored on validation seeds, and the run stops at
the first checkpoint that balances every validation episode to the time limit with the cart well
inside the track; if none does, a run with another seed is tried. The agent is returned as a
plain nn.Sequential of Linear and ReLU, the shape the flowgraph converter reads.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from generator.networks.cartpole import MAX_STEPS, greedy, returns_vectorised
from generator.networks.config import require


@dataclass(frozen=True)
class DQNConfig:
    hidden: tuple[int, ...] = (32, 32)
    steps: int = 50_000                 # environment steps per attempt
    check_every: int = 2048             # score the greedy policy this often
    attempts: int = 4                   # runs with seeds seed, seed + 1000, ...
    cart_margin: float = 1.6            # a policy must keep |cart position| within this (track: 2.4)
    # rl-zoo's hyperparameters for CartPole-v1
    learning_rate: float = 2.3e-3
    batch_size: int = 64
    buffer_size: int = 100_000
    learning_starts: int = 1000
    gamma: float = 0.99
    target_update_interval: int = 10
    train_freq: int = 256
    gradient_steps: int = 128
    exploration_fraction: float = 0.16
    exploration_final_eps: float = 0.04

    def __post_init__(self):
        require(isinstance(self.hidden, tuple) and len(self.hidden) >= 1 and all(h > 0 for h in self.hidden),
                "dqn.hidden", "a tuple of positive integers", self.hidden)
        require(self.steps >= self.check_every > 0, "dqn.steps", "at least dqn.check_every", self.steps)
        require(self.attempts >= 1, "dqn.attempts", "an integer >= 1", self.attempts)


def passes(net: nn.Module, seeds, cart_margin: float, target: float = MAX_STEPS) -> tuple[bool, float]:
    """Whether the greedy policy returns `target` on average on these seeds with the cart inside
    ±cart_margin throughout; and its mean return."""
    returns, widest = returns_vectorised(greedy(net), seeds)
    return bool(returns.mean() >= target and widest <= cart_margin), float(returns.mean())


def q_network(model) -> nn.Sequential:
    """SB3's Q-network (features extractor flattening, then an MLP) as a plain copy."""
    net = copy.deepcopy(model.q_net.q_net)
    if not all(isinstance(m, (nn.Linear, nn.ReLU)) for m in net):
        raise TypeError(f"unexpected Q-network layers: {net}")
    return net.eval()


def train_dqn(config: DQNConfig, seed: int, validation_seeds) -> tuple[nn.Sequential, dict]:
    """The greedy policy of the first checkpoint that passes on the validation seeds, or (when
    no attempt gets one) the best checkpoint seen; and a record of how it was found."""
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    class Checkpoints(BaseCallback):
        def __init__(self):
            super().__init__()
            self.best, self.best_net, self.best_step, self.passed = -1.0, None, None, False

        def _on_step(self) -> bool:
            if self.num_timesteps % config.check_every:
                return True
            net = q_network(self.model)
            ok, mean = passes(net, validation_seeds, config.cart_margin)
            if ok or mean > self.best:
                self.best, self.best_net, self.best_step, self.passed = mean, net, self.num_timesteps, ok
            return not ok

    hyper = {k: getattr(config, k) for k in ("learning_rate", "batch_size", "buffer_size", "learning_starts", "gamma",
                                             "target_update_interval", "train_freq", "gradient_steps",
                                             "exploration_fraction", "exploration_final_eps")}
    best = None
    for attempt in range(config.attempts):
        run_seed = seed + 1000 * attempt
        model = DQN("MlpPolicy", gym.make("CartPole-v1"), policy_kwargs={"net_arch": list(config.hidden)},
                    seed=run_seed, verbose=0, device="cpu", **hyper)
        checkpoints = Checkpoints()
        model.learn(config.steps, callback=checkpoints)
        record = {"dqn_seed": run_seed, "attempt": attempt, "step": checkpoints.best_step,
                  "validation_mean_return": checkpoints.best, "passed": checkpoints.passed}
        if best is None or checkpoints.best > best[1]["validation_mean_return"]:
            best = (checkpoints.best_net, record)
        if checkpoints.passed:
            break
    net, record = best
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net, record


def state_arrays(net: nn.Sequential, prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}.{k}": v.detach().numpy().copy() for k, v in net.state_dict().items()}
