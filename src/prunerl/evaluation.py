"""Seeded, deterministic evaluation of a greedy policy, batched over episodes.

Episode ``i`` is reset with seed ``seed + i``, so the same ``(episodes, seed)`` always plays the same
episodes, whichever framework holds the network, and a pruned copy faces exactly the episodes its dense
original faced. Episodes run side by side and one batched forward pass serves all of them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

import numpy as np

from .backend import find_backend
from .envs import make_env


@dataclass
class EvalResult:
    returns: np.ndarray  # one undiscounted return per episode, in seed order
    lengths: np.ndarray
    env_id: str
    seed: int

    @property
    def mean(self) -> float:
        return float(self.returns.mean())

    @property
    def std(self) -> float:
        return float(self.returns.std())

    def summary(self) -> dict[str, Any]:
        return {"env_id": self.env_id, "episodes": len(self.returns), "seed": self.seed, "mean_return": self.mean,
                "std_return": self.std, "min_return": float(self.returns.min()),
                "max_return": float(self.returns.max()), "mean_length": float(self.lengths.mean())}

    def __str__(self) -> str:
        return (f"{self.env_id}: mean return {self.mean:.2f} ± {self.std:.2f} "
                f"over {len(self.returns)} episodes (seed {self.seed})")


def scores_fn(model) -> Callable[[np.ndarray], np.ndarray] | None:
    """A function from an observation batch to action scores, or None if ``model`` is a policy callable."""
    found = find_backend(model)
    return None if found is None else functools.partial(found.forward, model)


def greedy_policy(model, n_actions: int) -> Callable[[np.ndarray], np.ndarray]:
    """Observation batch -> action indices; checks the network's output against the action space."""
    scores = scores_fn(model)
    if scores is None:
        if not callable(model):
            raise TypeError(f"expected a torch module, a Keras model or a policy callable, got {type(model).__name__}")
        return lambda obs: np.asarray(model(obs)).astype(np.int64).reshape(len(obs))

    def act(obs: np.ndarray) -> np.ndarray:
        out = scores(obs)
        if out.ndim != 2 or out.shape[1] != n_actions:
            raise ValueError(
                f"the model outputs shape {tuple(out.shape)} for a batch of {len(obs)} observations, but the "
                f"environment has {n_actions} actions: expected ({len(obs)}, {n_actions})"
            )
        return out.argmax(axis=1)

    return act


def evaluate(model_or_policy, env_id: str, episodes: int = 20, seed: int = 0, max_batch: int = 64,
             env_kwargs: dict | None = None) -> EvalResult:
    """Play ``episodes`` greedy episodes of ``env_id`` with seeds ``seed, seed + 1, ...``.

    ``model_or_policy``: a ``torch.nn.Module`` or Keras model mapping observations to action scores
    (the greedy action is their argmax), or a callable mapping an observation batch to actions.
    ``env_kwargs`` go to ``gym.make`` (for perturbed environments).
    """
    if episodes < 1:
        raise ValueError("episodes must be at least 1")
    envs = [make_env(env_id, **(env_kwargs or {})) for _ in range(min(episodes, max_batch))]
    n_actions = envs[0].action_space.n
    act = greedy_policy(model_or_policy, n_actions)
    returns, lengths = np.zeros(episodes), np.zeros(episodes, dtype=np.int64)
    next_episode, active, obs = 0, {}, {}  # active: env slot -> episode index

    def start(slot: int) -> None:
        nonlocal next_episode
        obs[slot], _ = envs[slot].reset(seed=seed + next_episode)
        active[slot] = next_episode
        next_episode += 1

    for slot in range(len(envs)):
        start(slot)
    while active:
        slots = sorted(active)
        actions = act(np.stack([obs[s] for s in slots]))
        for slot, action in zip(slots, actions):
            obs[slot], reward, terminated, truncated, _ = envs[slot].step(int(action))
            episode = active[slot]
            returns[episode] += reward
            lengths[episode] += 1
            if terminated or truncated:
                del active[slot]
                if next_episode < episodes:
                    start(slot)
    for env in envs:
        env.close()
    return EvalResult(returns=returns, lengths=lengths, env_id=env_id, seed=seed)
