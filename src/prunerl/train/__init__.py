"""Training the zoo, and fine-tuning any agent (torch or Keras) with a hook after every optimizer step."""
from __future__ import annotations

import datetime
import time

import torch

from .. import nets, zoo
from ..backend import backend_of
from ..convert import convert, set_weights, spec_and_weights
from ..evaluation import evaluate
from . import dqn, ppo
from .common import Tracker, TrainResult

TRAINERS = {"dqn": dqn.train, "ppo": ppo.train}
ZOO_EVAL_EPISODES, ZOO_EVAL_SEED = 20, 0


def critic_spec(spec: dict) -> dict:
    """The actor's architecture with a single value output."""
    layers = [dict(layer) for layer in spec["layers"]]
    layers[-1]["out"] = 1
    return {**spec, "layers": layers}


def train_dense_agent(name: str, seed: int | None = None, total_steps: int | None = None, progress: bool = True,
                      zoo_dir=zoo.ZOO_DIR) -> dict:
    """Train dense zoo agent ``name`` from scratch, keep the best evaluated weights, and write its file and card
    (:func:`prunerl.recipes.train_agent` trains any zoo agent, sparse ones too)."""
    recipe = zoo.recipe(name)
    if recipe.pruning:
        raise ValueError(f"{name} is a sparse agent: train it with prunerl.recipes.train_agent")
    seed = recipe.seed if seed is None else seed
    hparams = dict(recipe.hparams, **({"total_steps": total_steps} if total_steps else {}))
    torch.manual_seed(seed)
    actor = nets.build_torch(recipe.spec)
    critic = nets.build_torch(critic_spec(recipe.spec)) if recipe.algorithm == "ppo" else None
    tracker = Tracker(hparams["total_steps"], recipe.env_id, hparams.get("eval_every"), progress,
                      description=f"training {name}")
    started = time.perf_counter()
    result = TRAINERS[recipe.algorithm](actor, recipe.env_id, seed, hparams, tracker=tracker, critic=critic)
    seconds = time.perf_counter() - started
    final = evaluate(result.actor, recipe.env_id, ZOO_EVAL_EPISODES, ZOO_EVAL_SEED)
    info = {
        "name": name, "env_id": recipe.env_id, "algorithm": recipe.algorithm, "spec": recipe.spec,
        "critic_spec": critic_spec(recipe.spec) if critic is not None else None,
        "seed": seed, "hparams": hparams, "env_steps": hparams["total_steps"], "train_seconds": round(seconds, 1),
        "eval": {"episodes": ZOO_EVAL_EPISODES, "seed": ZOO_EVAL_SEED, "mean_return": final.mean,
                 "std_return": final.std},
        "return_bar": recipe.return_bar, "history": result.history,
        "torch_version": torch.__version__, "date": datetime.date.today().isoformat(),
    }
    zoo.save_agent(name, nets.torch_weights(result.actor), info,
                   critic=nets.torch_weights(result.critic) if critic is not None else None, zoo_dir=zoo_dir)
    return info


def _recipe_for(env_id: str) -> zoo.AgentRecipe | None:
    return next((r for r in zoo.RECIPES.values() if r.env_id == env_id), None)


def finetune_settings(env_id: str, steps: int, algorithm: str | None = None,
                      hparams: dict | None = None) -> tuple[str, dict]:
    """The algorithm and settings :func:`finetune` uses: the zoo recipe's for ``env_id``, low exploration."""
    recipe = _recipe_for(env_id)
    algorithm = algorithm or (recipe.algorithm if recipe else "dqn")
    hp = dict(recipe.hparams) if recipe and recipe.algorithm == algorithm else {}
    hp.update(total_steps=steps, eval_every=None)
    if algorithm == "dqn":
        hp["start_eps"] = hp.get("final_eps", dqn.DEFAULTS["final_eps"])
        hp["learning_starts"] = min(hp.get("learning_starts", 1_000), max(steps // 10, hp.get("batch_size", 64)))
    hp.update(hparams or {})
    return algorithm, hp


def optimizer_steps_for(env_id: str, steps: int, algorithm: str | None = None, hparams: dict | None = None) -> int:
    """How many optimizer steps (callback calls) ``finetune`` with these arguments will make."""
    return count_optimizer_steps(*finetune_settings(env_id, steps, algorithm, hparams))


def count_optimizer_steps(algorithm: str, hp: dict) -> int:
    """How many optimizer steps (callback calls) a trainer run with settings ``hp`` makes."""
    steps = hp["total_steps"]
    if algorithm == "dqn":
        hp = {**dqn.DEFAULTS, **hp}
        updates = steps // hp["train_freq"] - min(hp["learning_starts"], steps) // hp["train_freq"]
        return updates * hp["gradient_steps"]
    hp = {**ppo.DEFAULTS, **hp}
    batch = hp["num_envs"] * hp["num_steps"]
    return max(1, steps // batch) * hp["update_epochs"] * -(-batch // hp["minibatch_size"])


def finetune(model, env_id: str, steps: int, seed: int = 0, callback=None, algorithm: str | None = None,
             hparams: dict | None = None, eval_every: int | None = None, select_when=None,
             progress: bool = False) -> TrainResult:
    """Continue training ``model`` (a torch module or a Keras model) in place on ``env_id``.

    ``callback(model, optimizer_step)`` runs after every optimizer step and receives the model in its
    own framework (a Keras model is trained through a PyTorch twin whose weights are copied into it
    before and back out of it after each callback). The algorithm and its settings default to those of
    the zoo agent trained on ``env_id``; a PPO critic starts from that agent's critic. Exploration starts
    low (a fine-tuned agent already acts well). With ``eval_every`` (env steps), the model ends with the
    best weights on validation episodes (seeds 10,000 on) among those where ``select_when()`` held.
    """
    recipe = _recipe_for(env_id)
    algorithm, hp = finetune_settings(env_id, steps, algorithm, hparams)
    if backend_of(model).trains_natively:
        actor, hook = model, callback
    else:  # a Keras model trains through a torch twin
        actor = convert(model, "torch")

        def sync(twin, step):  # the Keras model sees the twin's weights; its callback's edits flow back
            set_weights(model, nets.torch_weights(twin))
            if getattr(callback, "needs_gradients", False):  # e.g. RigL's growth
                from ..keras_nets import hold_gradients

                hold_gradients(model, nets.torch_gradients(twin))
            callback(model, step)
            set_weights(twin, spec_and_weights(model)[1])

        hook = sync if callback is not None else None

    critic = None
    if algorithm == "ppo":
        if recipe is None:
            raise ValueError(f"PPO fine-tuning starts from the critic of a zoo agent; none is trained on {env_id}")
        name = next(n for n, r in zoo.RECIPES.items() if r is recipe)
        critic = nets.build_torch(zoo.card(name)["critic_spec"], zoo.load_weights(name, part="critic"))
    tracker = Tracker(steps, env_id, eval_every, progress, "fine-tuning", select_when) if eval_every else None
    if tracker is not None:  # the starting weights are a candidate too: fine-tuning must not lose return
        tracker.update(0, actor, critic)
    actor.train()
    result = TRAINERS[algorithm](actor, env_id, seed, hp, callback=hook, critic=critic, tracker=tracker)
    actor.eval()
    if actor is not model:
        set_weights(model, nets.torch_weights(actor))
        result.actor = model
    return result
