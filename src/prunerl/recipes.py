"""Pruning recipes that need training: during training from scratch, gradual and stable prune-then-fine-tune,
and the training of the zoo's agents (:func:`train_agent`). :mod:`prunerl.pruning` stays free of the trainers.

- :class:`SparsitySchedule` is a trainer hook (``callback(net, optimizer_step)``) that raises magnitude
  sparsity on the Zhu & Gupta (2017) cubic schedule between fractions of training, with the layer budget of
  :func:`prunerl.pruning.allocated_masks` (ERK by default, as Graesser et al. 2022 do), and holds the masks.
- :func:`gradual_prune` raises global magnitude sparsity on that schedule during a plain fine-tune.
- :func:`train_during` trains a network from scratch with that hook (the zoo recipe of the dense agent), or with
  the sparse-from-the-start hooks of :mod:`prunerl.sparse_training` (static, SET, RigL; re-exported here).
- :func:`prune_finetune` prunes a trained agent on the same schedule during a fine-tune made for pruned
  agents: DQN keeps its exploration low, fills the replay buffer with the agent's own play before any
  update (the pruned agent's, for a one-shot schedule) and uses a slower target network; PPO uses a tenth of
  the learning rate, a tighter clip, no entropy bonus and a critic warm-up.
- Those two keep the best weights on validation episodes (reset seeds 10,000 on, disjoint from the zoo's
  evaluation seeds 0-19) among those evaluated at the final sparsity: the last network of an RL run is
  whatever the last update left.
"""
from __future__ import annotations

import datetime
import time

import numpy as np

from . import zoo
from .metrics import layer_sparsity, prunable_weights, sparsity as measured_sparsity
from .pruning import allocated_masks, apply_masks, magnitude_masks, polynomial_sparsity
from .sparse_training import (  # noqa: F401  (the sparse-training recipes live there; re-exported)
    METHODS as SPARSE_METHODS, DynamicSparsity, cosine_drop_fraction, drop_and_grow, random_layer_masks)


class SparsitySchedule:
    """Trainer hook: dense until ``begin``, cubic ramp to ``sparsity`` at ``end`` (fractions of ``total``
    optimizer steps), masks recomputed ``updates`` times on the way and re-applied after every step."""

    def __init__(self, sparsity: float, total: int, begin: float = 0.2, end: float = 0.8,
                 allocation: str = "erk", ends: str = "allocate", updates: int = 100):
        self.sparsity, self.allocation, self.ends = sparsity, allocation, ends
        self.begin = int(begin * total)
        self.end = max(int(end * total), self.begin)  # end == begin: one-shot, at the first call
        self.every = max(1, (self.end - self.begin) // updates)
        self.masks: dict[str, np.ndarray] = {}
        self.final = False

    def __call__(self, net, step: int) -> None:
        due = step >= self.begin and not self.final and (not self.masks or step % self.every == 0
                                                             or step >= self.end)
        if due:
            target = (self.sparsity if self.end == self.begin
                      else polynomial_sparsity(step, 0.0, self.sparsity, self.begin, self.end))
            self.masks = allocated_masks(prunable_weights(net), target, self.allocation, self.ends)
            self.final = step >= self.end
        if self.masks:
            apply_masks(net, self.masks)

    def finish(self, net) -> None:
        """Make sure ``net`` ends at the final sparsity (a no-op when the schedule ran to its end)."""
        apply_masks(net, allocated_masks(prunable_weights(net), self.sparsity, self.allocation, self.ends))
        self.final = True


def gradual_prune(model, env_id: str, final_sparsity: float, steps: int, seed: int = 0,
                  initial_sparsity: float = 0.0, begin_fraction: float = 0.0, end_fraction: float = 0.75,
                  every: int = 10, scope: str = "global"):
    """Fine-tune ``model`` in place for ``steps`` env steps while raising magnitude-pruning sparsity on
    the Zhu & Gupta schedule (between the given fractions of the optimizer steps), masks held in between.
    Returns the :class:`prunerl.train.TrainResult`; the model ends at ``final_sparsity``.
    """
    from .train import finetune, optimizer_steps_for

    total = optimizer_steps_for(env_id, steps)
    begin, end = int(begin_fraction * total), max(int(end_fraction * total), int(begin_fraction * total) + 1)
    masks: dict[str, np.ndarray] = {}

    def hook(net, step):
        nonlocal masks
        if not masks or (step % every == 0 and begin <= step <= end):
            target = polynomial_sparsity(step, initial_sparsity, final_sparsity, begin, end)
            masks = magnitude_masks(prunable_weights(net), target, scope)
        apply_masks(net, masks)

    result = finetune(model, env_id, steps, seed, callback=hook)
    apply_masks(model, magnitude_masks(prunable_weights(model), final_sparsity, scope))
    return result


def stable_finetune_settings(env_id: str, steps: int, hparams: dict | None = None) -> dict:
    """The fine-tuning settings for a pruned agent (on top of the zoo recipe for ``env_id``)."""
    from .train import finetune_settings

    algorithm, hp = finetune_settings(env_id, steps)
    if algorithm == "dqn":
        # Low exploration from the start, a buffer of the agent's own play before any update, and a slower
        # target network. The recipe's learning rate stays: a tenth of it did not recover CartPole at 90 %
        # within 4,000 steps, the full one did within 20,000 (3 of 3 runs at 500).
        hp.update(learning_starts=max(steps // 5, hp.get("batch_size", 64)),
                  target_update=max(hp.get("target_update", 250), 1_000))
    else:
        hp.update(learning_rate=hp["learning_rate"] / 10, clip_coef=0.1, ent_coef=0.0, vf_warmup=1)
    hp.update(hparams or {})
    return hp


def _eval_every(env_id: str, steps: int, hp: dict) -> int:
    """About ten validation evaluations, on env steps the trainer reaches (PPO counts in vectors of envs)."""
    from .train import finetune_settings

    algorithm, _ = finetune_settings(env_id, steps)
    unit = hp.get("num_envs", 8) * hp.get("num_steps", 128) if algorithm == "ppo" else 1
    return max(unit, steps // 10 // unit * unit)


def prune_finetune(model, env_id: str, sparsity: float, steps: int, seed: int = 0, allocation: str = "erk",
                   ends: str = "allocate", begin: float = 0.0, end: float = 0.5, eval_every: int | None = None,
                   hparams: dict | None = None, progress: bool = False):
    """Prune a trained ``model`` (torch or Keras) in place to ``sparsity`` while fine-tuning it for ``steps``
    env steps with :func:`stable_finetune_settings`; it ends with the best validated weights at the final
    sparsity. Returns the :class:`prunerl.train.TrainResult`."""
    from .train import finetune, optimizer_steps_for

    hp = stable_finetune_settings(env_id, steps, hparams)
    schedule = SparsitySchedule(sparsity, optimizer_steps_for(env_id, steps, hparams=hp), begin, end,
                                allocation, ends)
    schedule(model, 0)  # one-shot (end=0): the replay buffer / first rollouts come from the pruned agent
    result = finetune(model, env_id, steps, seed, callback=schedule, hparams=hp,
                      eval_every=eval_every or _eval_every(env_id, steps, hp), select_when=lambda: schedule.final,
                      progress=progress)
    schedule.finish(model)
    return result


def train_during(name: str | zoo.AgentRecipe, sparsity: float, seed: int, hparams: dict | None = None,
                 allocation: str = "erk",
                 ends: str = "allocate", begin: float = 0.2, end: float = 0.8, progress: bool = False,
                 method: str = "gmp", dynamic: dict | None = None):
    """Train the dense zoo agent ``name``'s network from scratch with its recipe, pruned during training;
    returns the :class:`prunerl.train.TrainResult` (actor at ``sparsity``, best validated weights).

    ``method`` "gmp": gradual magnitude pruning between fractions ``begin`` and ``end``; "static", "set" or
    "rigl": sparse from the first step (:class:`DynamicSparsity`, topology updates until ``end``, its other
    settings in ``dynamic``), with the masks drawn from ``seed``. ``name`` may be a recipe that is not in the zoo."""
    import torch

    from . import nets
    from .train import TRAINERS, count_optimizer_steps, critic_spec
    from .train.common import Tracker

    r = zoo.recipe(name) if isinstance(name, str) else name
    hp = dict(r.hparams, **(hparams or {}))
    torch.manual_seed(seed)
    actor = nets.build_torch(r.spec)
    critic = nets.build_torch(critic_spec(r.spec)) if r.algorithm == "ppo" else None
    total = count_optimizer_steps(r.algorithm, hp)
    if method == "gmp":
        schedule = SparsitySchedule(sparsity, total, begin, end, allocation, ends)
    else:
        schedule = DynamicSparsity(sparsity, total, method, end=end, allocation=allocation, ends=ends, seed=seed,
                                   **(dynamic or {}))
        schedule(actor, 0)  # sparse before the first update (and the DQN target network copies it so)
    tracker = Tracker(hp["total_steps"], r.env_id, hp.get("eval_every"), progress, f"training {name} sparse",
                      select_when=lambda: schedule.final)
    result = TRAINERS[r.algorithm](actor, r.env_id, seed, hp, callback=schedule, tracker=tracker, critic=critic)
    schedule.finish(result.actor)
    return result


def dense_cpu_seconds(base: str, seed: int, total_steps: int | None = None) -> float:
    """Process CPU time of training dense agent ``base`` with its recipe (no files written): the reference
    the sparse recipe's own CPU time is compared with, measured in the same process and conditions."""
    import torch

    from . import nets
    from .train import TRAINERS, critic_spec
    from .train.common import Tracker

    r = zoo.recipe(base)
    hp = dict(r.hparams, **({"total_steps": total_steps} if total_steps else {}))
    started = time.process_time()
    torch.manual_seed(seed)
    actor = nets.build_torch(r.spec)
    critic = nets.build_torch(critic_spec(r.spec)) if r.algorithm == "ppo" else None
    tracker = Tracker(hp["total_steps"], r.env_id, hp.get("eval_every"), progress=False)
    TRAINERS[r.algorithm](actor, r.env_id, seed, hp, tracker=tracker, critic=critic)
    return time.process_time() - started


def train_agent(name: str, seed: int | None = None, total_steps: int | None = None, progress: bool = True,
                zoo_dir=zoo.ZOO_DIR, time_dense: bool = False) -> dict:
    """Train zoo agent ``name``, dense (:func:`prunerl.train.train_dense_agent`) or sparse
    (:func:`train_sparse_agent`), with its recipe and write its weight file and card; returns the card."""
    if zoo.recipe(name).pruning:
        return train_sparse_agent(name, seed, total_steps, progress, zoo_dir, time_dense)
    from .train import train_dense_agent

    return train_dense_agent(name, seed, total_steps, progress, zoo_dir)


def train_sparse_agent(name: str, seed: int | None = None, total_steps: int | None = None, progress: bool = True,
                       zoo_dir=zoo.ZOO_DIR, time_dense: bool = False) -> dict:
    """Train sparse zoo agent ``name`` with its recipe and write its weight file and card.

    The card compares the training time from scratch with the dense agent's (for a fine-tuned agent it
    includes the dense agent's own training): with ``time_dense`` the dense recipe is run too and both are
    measured in process CPU time, immune to other jobs on shared cores; otherwise wall-clock time against
    the dense card's.
    """
    import torch

    from . import nets
    from .evaluation import evaluate
    from .train import ZOO_EVAL_EPISODES, ZOO_EVAL_SEED, critic_spec

    r = zoo.recipe(name)
    pr = dict(r.pruning)
    seed = r.seed if seed is None else seed
    hp = dict(r.hparams, **({"total_steps": total_steps} if total_steps else {}))
    base_card = zoo.card(pr["base"])
    schedule = {k: pr[k] for k in ("allocation", "ends", "begin", "end")}
    from_scratch = pr["method"] == "during_training"
    dense_cpu = None
    if time_dense:
        dense_cpu = dense_cpu_seconds(pr["base"], seed, hp["total_steps"] if from_scratch else None)
    started, cpu_started = time.perf_counter(), time.process_time()
    if from_scratch:
        result = train_during(pr["base"], pr["sparsity"], seed, hp, progress=progress, **schedule)
        actor, critic = result.actor, result.critic
    elif pr["method"] == "finetune":
        actor = zoo.load_agent(pr["base"])
        hp_ft = {k: v for k, v in hp.items() if k not in ("total_steps", "eval_every")}
        result = prune_finetune(actor, r.env_id, pr["sparsity"], hp["total_steps"], seed,
                                eval_every=hp.get("eval_every"), hparams=hp_ft, progress=progress, **schedule)
        critic = result.critic
    else:
        raise ValueError(f"unknown pruning method {pr['method']!r}")
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    timing = {"train_seconds": round(seconds, 1), "train_cpu_seconds": round(cpu_seconds, 1),
              "dense_train_seconds": base_card["train_seconds"]}
    if dense_cpu is not None:
        scratch = cpu_seconds + (0.0 if from_scratch else dense_cpu)
        timing.update(dense_cpu_seconds=round(dense_cpu, 1), time_vs_dense=round(scratch / dense_cpu, 2),
                      time_measure="process CPU time, sparse and dense recipes run back to back"
                      + ("" if from_scratch else "; dense training + prune-and-fine-tune"))
    else:
        scratch = seconds + (0.0 if from_scratch else base_card["train_seconds"])
        timing.update(from_scratch_seconds=round(scratch, 1),
                      time_vs_dense=round(scratch / base_card["train_seconds"], 2),
                      time_measure="wall clock" + ("" if from_scratch else ", dense training + prune-and-fine-tune"))
    final = evaluate(actor, r.env_id, ZOO_EVAL_EPISODES, ZOO_EVAL_SEED)
    info = {
        "name": name, "env_id": r.env_id, "algorithm": r.algorithm, "spec": r.spec,
        "critic_spec": critic_spec(r.spec) if critic is not None else None, "seed": seed, "hparams": hp,
        "env_steps": hp["total_steps"], "recipe": pr,
        "sparsity": {"target": pr["sparsity"], "measured": measured_sparsity(actor),
                     "layers": layer_sparsity(actor)},
        **timing,
        "eval": {"episodes": ZOO_EVAL_EPISODES, "seed": ZOO_EVAL_SEED, "mean_return": final.mean,
                 "std_return": final.std},
        "return_bar": r.return_bar, "history": result.history,
        "torch_version": torch.__version__, "date": datetime.date.today().isoformat(),
    }
    zoo.save_agent(name, nets.torch_weights(actor), info,
                   critic=nets.torch_weights(critic) if critic is not None else None, zoo_dir=zoo_dir)
    return info
