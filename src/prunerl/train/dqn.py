"""DQN (Mnih et al. 2015) in one file, CleanRL style, with a hook after every optimizer step.

The hook ``callback(q_network, optimizer_step)`` is where in-training pruning lives: apply a mask,
re-apply it after Adam's momentum has moved pruned weights, or raise the sparsity on a schedule.
Seeding the torch RNG, the replay sampler, the env and its action space makes a run bit-reproducible.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..envs import make_env
from .common import TrainResult, Tracker

DEFAULTS = dict(total_steps=50_000, learning_rate=1e-3, batch_size=64, buffer_size=50_000, learning_starts=1_000,
                gamma=0.99, target_update=250, train_freq=4, gradient_steps=1, start_eps=1.0,
                exploration_fraction=0.1, final_eps=0.05, max_grad_norm=10.0, eval_every=None)


@dataclass
class ReplayBuffer:
    capacity: int
    obs_shape: tuple
    obs: np.ndarray = field(init=False)
    next_obs: np.ndarray = field(init=False)
    actions: np.ndarray = field(init=False)
    rewards: np.ndarray = field(init=False)
    dones: np.ndarray = field(init=False)
    size: int = 0
    pos: int = 0

    def __post_init__(self):
        self.obs = np.zeros((self.capacity, *self.obs_shape), np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros(self.capacity, np.int64)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.dones = np.zeros(self.capacity, np.float32)

    def add(self, obs, next_obs, action, reward, terminated) -> None:
        i = self.pos
        self.obs[i], self.next_obs[i], self.actions[i], self.rewards[i], self.dones[i] = (
            obs, next_obs, action, reward, terminated)
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng: np.random.Generator, n: int):
        idx = rng.integers(0, self.size, n)
        return (torch.from_numpy(self.obs[idx]), torch.from_numpy(self.next_obs[idx]),
                torch.from_numpy(self.actions[idx]), torch.from_numpy(self.rewards[idx]),
                torch.from_numpy(self.dones[idx]))


def train(q_network: torch.nn.Module, env_id: str, seed: int, hparams: dict | None = None, callback=None,
          tracker: Tracker | None = None, **_ignored) -> TrainResult:
    """Train ``q_network`` in place on ``env_id`` for ``hparams["total_steps"]`` environment steps."""
    hp = {**DEFAULTS, **(hparams or {})}
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = make_env(env_id)
    env.action_space.seed(seed)
    target = copy.deepcopy(q_network)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=hp["learning_rate"])
    buffer = ReplayBuffer(hp["buffer_size"], env.observation_space.shape)
    tracker = tracker or Tracker(hp["total_steps"], progress=False)
    explore_steps = max(1, int(hp["exploration_fraction"] * hp["total_steps"]))
    optimizer_steps = 0

    obs, _ = env.reset(seed=seed)
    for step in range(1, hp["total_steps"] + 1):
        eps = hp["final_eps"] + (hp["start_eps"] - hp["final_eps"]) * max(0.0, 1 - step / explore_steps)
        if rng.random() < eps:
            action = env.action_space.sample()
        else:
            with torch.no_grad():
                action = int(q_network(torch.as_tensor(obs[None], dtype=torch.float32)).argmax(1))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        buffer.add(obs, next_obs, action, reward, terminated)
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()

        if step > hp["learning_starts"] and step % hp["train_freq"] == 0:
            for _ in range(hp["gradient_steps"]):
                b_obs, b_next, b_act, b_rew, b_done = buffer.sample(rng, hp["batch_size"])
                with torch.no_grad():
                    td_target = b_rew + hp["gamma"] * target(b_next).max(1).values * (1 - b_done)
                q = q_network(b_obs).gather(1, b_act[:, None]).squeeze(1)
                loss = F.smooth_l1_loss(q, td_target)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(q_network.parameters(), hp["max_grad_norm"])
                optimizer.step()
                optimizer_steps += 1
                if callback is not None:
                    callback(q_network, optimizer_steps)
        if step % hp["target_update"] == 0:
            target.load_state_dict(q_network.state_dict())
        tracker.update(step, q_network)
    env.close()
    return tracker.result(q_network, optimizer_steps)
