"""PPO (Schulman et al. 2017) in one file, CleanRL style, with a hook after every optimizer step.

Separate actor and critic networks: the actor is the agent that ships and gets pruned; the critic
exists only for training. ``callback(actor, optimizer_step)`` runs after each minibatch update.
``vf_warmup`` updates train the critic alone first: after pruning, the critic has not yet seen the pruned
policy, and policy steps on its stale advantages cost return.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from torch.distributions import Categorical

from ..envs import make_env
from .common import TrainResult, Tracker

DEFAULTS = dict(total_steps=100_000, num_envs=8, num_steps=128, learning_rate=2.5e-4, anneal_lr=True, gamma=0.99,
                gae_lambda=0.95, minibatch_size=256, update_epochs=4, clip_coef=0.2, ent_coef=0.01, vf_coef=0.5,
                max_grad_norm=0.5, vf_warmup=0, eval_every=None)


def train(actor: torch.nn.Module, env_id: str, seed: int, hparams: dict | None = None, callback=None,
          tracker: Tracker | None = None, critic: torch.nn.Module | None = None) -> TrainResult:
    """Train ``actor`` (logits) and ``critic`` (a value) in place for ``hparams["total_steps"]`` env steps."""
    if critic is None:
        raise ValueError("PPO needs a critic network")
    hp = {**DEFAULTS, **(hparams or {})}
    n_envs, n_steps = hp["num_envs"], hp["num_steps"]
    batch = n_envs * n_steps
    n_updates = max(1, hp["total_steps"] // batch)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    envs = gym.vector.SyncVectorEnv([lambda: make_env(env_id) for _ in range(n_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    envs.action_space.seed(seed)
    params = list(actor.parameters()) + list(critic.parameters())
    optimizer = torch.optim.Adam(params, lr=hp["learning_rate"], eps=1e-5)
    tracker = tracker or Tracker(n_updates * batch, progress=False)

    obs_buf = torch.zeros((n_steps, n_envs, *envs.single_observation_space.shape))
    act_buf = torch.zeros((n_steps, n_envs), dtype=torch.long)
    logp_buf, rew_buf, done_buf, val_buf = (torch.zeros((n_steps, n_envs)) for _ in range(4))
    obs = torch.as_tensor(envs.reset(seed=seed)[0], dtype=torch.float32)
    done = torch.zeros(n_envs)
    step, optimizer_steps = 0, 0
    for update in range(n_updates):
        if hp["anneal_lr"]:
            optimizer.param_groups[0]["lr"] = hp["learning_rate"] * (1 - update / n_updates)
        for t in range(n_steps):
            obs_buf[t], done_buf[t] = obs, done
            with torch.no_grad():
                dist = Categorical(logits=actor(obs))
                action = dist.sample()
                val_buf[t] = critic(obs).squeeze(1)
            act_buf[t], logp_buf[t] = action, dist.log_prob(action)
            next_obs, reward, terminated, truncated, _ = envs.step(action.numpy())
            rew_buf[t] = torch.as_tensor(reward, dtype=torch.float32)
            obs = torch.as_tensor(next_obs, dtype=torch.float32)
            done = torch.as_tensor(np.logical_or(terminated, truncated), dtype=torch.float32)
            step += n_envs
            tracker.update(step, actor, critic)

        with torch.no_grad():  # generalized advantage estimation
            next_value = critic(obs).squeeze(1)
            advantages = torch.zeros_like(rew_buf)
            gae = torch.zeros(n_envs)
            for t in reversed(range(n_steps)):
                not_done = 1.0 - (done if t == n_steps - 1 else done_buf[t + 1])
                value_next = next_value if t == n_steps - 1 else val_buf[t + 1]
                delta = rew_buf[t] + hp["gamma"] * value_next * not_done - val_buf[t]
                gae = delta + hp["gamma"] * hp["gae_lambda"] * not_done * gae
                advantages[t] = gae
            returns = advantages + val_buf

        b_obs = obs_buf.reshape(batch, *obs_buf.shape[2:])
        b_act, b_logp = act_buf.reshape(-1), logp_buf.reshape(-1)
        b_adv, b_ret = advantages.reshape(-1), returns.reshape(-1)
        for _ in range(hp["update_epochs"]):
            order = rng.permutation(batch)
            for start in range(0, batch, hp["minibatch_size"]):
                mb = torch.as_tensor(order[start:start + hp["minibatch_size"]])
                dist = Categorical(logits=actor(b_obs[mb]))
                ratio = (dist.log_prob(b_act[mb]) - b_logp[mb]).exp()
                adv = (b_adv[mb] - b_adv[mb].mean()) / (b_adv[mb].std() + 1e-8)
                policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - hp["clip_coef"], 1 + hp["clip_coef"]))
                value_loss = 0.5 * (critic(b_obs[mb]).squeeze(1) - b_ret[mb]).pow(2).mean()
                if update < hp["vf_warmup"]:
                    loss = hp["vf_coef"] * value_loss
                else:
                    loss = policy_loss.mean() - hp["ent_coef"] * dist.entropy().mean() + hp["vf_coef"] * value_loss
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, hp["max_grad_norm"])
                optimizer.step()
                optimizer_steps += 1
                if callback is not None:
                    callback(actor, optimizer_steps)
    envs.close()
    return tracker.result(actor, optimizer_steps, critic=critic)
