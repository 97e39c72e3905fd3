"""CartPole-v1 episodes: run a policy from fixed seeds and record what it saw and did.

`episodes` runs gymnasium's own environment, one step at a time: every number the report states
comes from it. `returns_vectorised` runs many episodes in lockstep with the same equations in
numpy (float64 Euler steps, as gymnasium's CartPoleEnv.step), for the thousands of episodes the
pruning loop scores; a test checks that both give the same returns and states.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

INPUT_NAMES = ["cart position", "cart velocity", "pole angle", "pole angular velocity"]
OUTPUT_NAMES = ["Q(left)", "Q(right)"]
MAX_STEPS = 500                             # CartPole-v1's time limit
X_THRESHOLD = 2.4                           # the episode ends beyond these
THETA_THRESHOLD = 12 * 2 * math.pi / 360

# gymnasium's constants, computed the same way so the floats are the same
GRAVITY, MASSCART, MASSPOLE, LENGTH, FORCE_MAG, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TOTAL_MASS = MASSPOLE + MASSCART
POLEMASS_LENGTH = MASSPOLE * LENGTH

Policy = Callable[[np.ndarray], np.ndarray]   # (N, 4) float32 observations -> (N,) actions


def greedy(net: torch.nn.Module) -> Policy:
    """The argmax of a Q-network, on float32 observations as gymnasium returns them."""
    def act(observations: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.as_tensor(observations, dtype=torch.float32)).argmax(1).numpy()
    return act


@dataclass
class Episode:
    seed: int
    states: np.ndarray          # (T + 1, 4) float64: the simulator's state before each step, and after the last
    observations: np.ndarray    # (T + 1, 4) float32: what the policy saw
    actions: np.ndarray         # (T,) 0 = push left, 1 = push right
    ret: float                  # the return: one per step survived


def start_state(seed: int) -> np.ndarray:
    """The float64 state gymnasium's CartPole-v1 starts from with this seed."""
    import gymnasium as gym
    env = gym.make("CartPole-v1")
    env.reset(seed=seed)
    state = np.array(env.unwrapped.state, dtype=np.float64)
    env.close()
    return state


def episodes(policy: Policy, seeds, epsilon: float = 0.0, rng: np.random.Generator | None = None) -> list[Episode]:
    """One gymnasium episode per seed, recorded. With epsilon, that share of the actions is random."""
    import gymnasium as gym
    env = gym.make("CartPole-v1")
    recorded = []
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed))
        states, observations, actions, total, done = [np.array(env.unwrapped.state)], [obs], [], 0.0, False
        while not done:
            if epsilon and rng.random() < epsilon:
                action = int(rng.integers(2))
            else:
                action = int(policy(obs[None])[0])
            obs, reward, terminated, truncated, _ = env.step(action)
            states.append(np.array(env.unwrapped.state))
            observations.append(obs)
            actions.append(action)
            total += reward
            done = terminated or truncated
        recorded.append(Episode(int(seed), np.array(states), np.array(observations, dtype=np.float32),
                                np.array(actions, dtype=np.int64), total))
    env.close()
    return recorded


def step(states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """gymnasium's Euler step for many states at once: (N, 4) float64 -> (N, 4) float64."""
    x, x_dot, theta, theta_dot = states.T
    force = np.where(actions == 1, FORCE_MAG, -FORCE_MAG)
    costheta = np.cos(theta)
    sintheta = np.sin(theta)
    temp = (force + POLEMASS_LENGTH * np.square(theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (LENGTH * (4.0 / 3.0 - MASSPOLE * np.square(costheta) / TOTAL_MASS))
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    return np.stack([x + TAU * x_dot, x_dot + TAU * xacc, theta + TAU * theta_dot, theta_dot + TAU * thetaacc], axis=1)


_starts: dict[int, np.ndarray] = {}


def returns_vectorised(policy: Policy, seeds) -> tuple[np.ndarray, float]:
    """Returns of one episode per seed, run in lockstep, and the largest |cart position| seen."""
    for seed in seeds:
        if seed not in _starts:
            _starts[seed] = start_state(seed)
    states = np.stack([_starts[s] for s in seeds])
    alive = np.ones(len(seeds), dtype=bool)
    returns = np.zeros(len(seeds))
    widest = float(np.abs(states[:, 0]).max())
    for _ in range(MAX_STEPS):
        actions = policy(states[alive].astype(np.float32))
        states[alive] = step(states[alive], actions)
        returns[alive] += 1.0
        widest = max(widest, float(np.abs(states[alive, 0]).max()))
        ended = (np.abs(states[:, 0]) > X_THRESHOLD) | (np.abs(states[:, 2]) > THETA_THRESHOLD)
        alive &= ~ended
        if not alive.any():
            break
    return returns, widest
