"""The trainers: bit-reproducible for a seed, and the hook runs after every optimizer step."""
import numpy as np
import pytest
import torch

import prunerl
from prunerl import nets, specs
from prunerl.train import dqn, finetune, optimizer_steps_for, ppo

DQN_SHORT = dict(total_steps=1_500, learning_starts=500, train_freq=4, gradient_steps=1, batch_size=32,
                 target_update=100)
PPO_SHORT = dict(total_steps=512, num_envs=2, num_steps=64, minibatch_size=32, update_epochs=2)


def weights_after_dqn(seed: int) -> dict:
    torch.manual_seed(123)  # same initial network every time; the training seed is what varies
    net = nets.build_torch(specs.mlp_spec(4, [32, 32], 2))
    dqn.train(net, "CartPole-v1", seed, DQN_SHORT)
    return nets.torch_weights(net)


def weights_after_ppo(seed: int) -> dict:
    torch.manual_seed(123)
    actor = nets.build_torch(specs.mlp_spec(4, [16], 2, "tanh"))
    critic = nets.build_torch(specs.mlp_spec(4, [16], 1, "tanh"))
    ppo.train(actor, "CartPole-v1", seed, PPO_SHORT, critic=critic)
    return nets.torch_weights(actor)


@pytest.mark.parametrize("run", [weights_after_dqn, weights_after_ppo], ids=["dqn", "ppo"])
def test_same_seed_same_weights(run):
    first, again, other = run(7), run(7), run(8)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert any(not np.array_equal(first[n], other[n]) for n in first), "a different seed should train differently"


@pytest.mark.parametrize("env_id, steps", [("CartPole-v1", 1_200), ("LunarLander-v3", 1_024)])
def test_callback_runs_after_every_optimizer_step(env_id, steps):
    """The hook sees each step's update: an entry it zeroes is moved again by the next step (Adam's
    momentum revives pruned weights, which is why in-training pruning must re-apply its mask)."""
    name = next(n for n, r in prunerl.zoo.RECIPES.items() if r.env_id == env_id)
    model = prunerl.load_agent(name)
    calls, revived = [], []
    weight, entry = model[-1].bias, 0  # every update moves the output biases (a weight may feed a dead unit)

    def hook(net, step):
        if calls:
            revived.append(bool(weight[entry] != 0))
        calls.append(step)
        with torch.no_grad():
            weight[entry] = 0.0

    hp = {"num_envs": 4, "num_steps": 128, "update_epochs": 2, "minibatch_size": 256} if "Lunar" in env_id else None
    result = finetune(model, env_id, steps, seed=0, callback=hook, hparams=hp)
    expected = optimizer_steps_for(env_id, steps, hparams=hp)
    assert expected > 0 and calls == list(range(1, expected + 1)) and result.optimizer_steps == expected
    assert all(revived), "every call should follow an optimizer step that moved the zeroed weight"


def test_masks_held_through_finetuning_in_keras(keras):
    from prunerl import metrics, pruning

    model = prunerl.load_agent("cartpole-dqn", "tensorflow")
    masks = pruning.prune(model, "global_magnitude", 0.8)
    seen = []

    def hold(net, step):
        assert isinstance(net, keras.Model)
        pruning.apply_masks(net, masks)
        seen.append(metrics.sparsity(net))

    before = {k: v.copy() for k, v in metrics.prunable_weights(model).items()}
    finetune(model, "CartPole-v1", 600, seed=0, callback=hold)
    after = metrics.prunable_weights(model)
    assert seen and min(seen) >= 0.8 - 1e-6
    for name, mask in masks.items():
        assert np.all(after[name][~mask] == 0), name
        assert not np.array_equal(after[name][mask], before[name][mask]), f"{name}: survivors never trained"


def test_sparsity_schedule_follows_zhu_and_gupta_and_holds_masks():
    from prunerl import metrics, pruning
    from prunerl.recipes import SparsitySchedule

    net = nets.build_torch(specs.mlp_spec(4, [64, 64], 2))
    schedule = SparsitySchedule(0.9, total=1_000, begin=0.2, end=0.8, allocation="erk", updates=60)
    seen = {}
    for step in range(1, 1_001):
        with torch.no_grad():  # an "optimizer step" that moves every weight, pruned or not
            for p in net.parameters():
                p.add_(0.01)
        schedule(net, step)
        seen[step] = metrics.sparsity(net), schedule.final
    assert seen[199] == (0.0, False)  # dense before 20 % of training
    for step in (300, 500, 700):  # the ramp (masks recomputed every 10 steps)
        assert seen[step][0] == pytest.approx(pruning.polynomial_sparsity(step, 0, 0.9, 200, 800), abs=2e-3), step
        assert not seen[step][1]
    assert all(seen[s][0] == pytest.approx(0.9, abs=1e-3) and seen[s][1] for s in range(800, 1_001))
    one_shot = SparsitySchedule(0.9, total=1_000, begin=0.0, end=0.0)
    one_shot(net, 0)  # before any training
    assert one_shot.final and metrics.sparsity(net) == pytest.approx(0.9, abs=1e-3)


def test_tracker_selects_only_when_allowed():
    from prunerl.train.common import Tracker

    actor = prunerl.load_agent("cartpole-dqn")  # returns 500 on the validation seeds
    good = {k: v.clone() for k, v in actor.state_dict().items()}
    allowed = [False]
    tracker = Tracker(2, "CartPole-v1", eval_every=1, progress=False, select_when=lambda: allowed[0])
    tracker.update(1, actor)
    with torch.no_grad():
        actor[-1].bias.copy_(torch.tensor([1e6, 0.0]))  # always pushes left: about 9 steps
    allowed[0] = True
    tracker.update(2, actor)
    result = tracker.result(actor, 0)
    assert [h["step"] for h in result.history] == [2] and result.history[0]["mean_return"] < 20
    assert result.actor[-1].bias[0] == 1e6 and not torch.equal(result.actor[-1].bias, good["4.bias"])


def test_critic_warmup_leaves_the_actor_alone():
    torch.manual_seed(0)
    actor = nets.build_torch(specs.mlp_spec(4, [16], 2, "tanh"))
    critic = nets.build_torch(specs.mlp_spec(4, [16], 1, "tanh"))
    before_actor, before_critic = nets.torch_weights(actor), nets.torch_weights(critic)
    ppo.train(actor, "CartPole-v1", 0, dict(PPO_SHORT, vf_warmup=4), critic=critic)  # 4 updates, all warm-up
    assert all(np.array_equal(before_actor[n], v) for n, v in nets.torch_weights(actor).items())
    assert not all(np.array_equal(before_critic[n], v) for n, v in nets.torch_weights(critic).items())


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_prune_finetune_ends_sparse_with_the_best_validated_weights(framework, request):
    from prunerl import metrics
    from prunerl.recipes import prune_finetune

    if framework == "tensorflow":
        request.getfixturevalue("keras")
    model = prunerl.load_agent("cartpole-dqn", framework)
    result = prune_finetune(model, "CartPole-v1", 0.9, 2_000, seed=0, eval_every=500)
    assert metrics.sparsity(model) == pytest.approx(0.9, abs=1e-4)
    layers = metrics.layer_sparsity(model)
    assert max(layers.values()) < 0.95, layers  # ERK: no layer driven to near-empty
    # Validation only once the final sparsity is reached (half-way through the optimizer steps).
    assert result.history and all(h["step"] > 1_000 for h in result.history)


def test_train_during_prunes_from_scratch():
    from prunerl import metrics
    from prunerl.recipes import train_during

    hp = dict(total_steps=3_000, learning_starts=500, train_freq=4, gradient_steps=1, eval_every=500)
    result = train_during("cartpole-dqn", 0.9, seed=0, hparams=hp)
    assert metrics.sparsity(result.actor) == pytest.approx(0.9, abs=1e-4)
    # 625 optimizer steps, pruning ends at step 500, i.e. env step 500 + 4 * 500 = 2,500.
    assert [h["step"] for h in result.history] == [2_500, 3_000]


def test_train_dense_agent_leaves_sparse_agents_to_the_recipes():
    from prunerl.train import train_dense_agent

    with pytest.raises(ValueError, match="cartpole-dqn-s90 is a sparse agent"):
        train_dense_agent("cartpole-dqn-s90")
    assert prunerl.train_agent.__module__ == "prunerl.recipes"  # the public entry trains dense and sparse agents


def test_minatar_breakout_trains_through_its_recipe(tmp_path):
    """The pixel-game agent's env and network fit, the DQN trainer moves its convolution, and the recipe writes
    a loadable agent (a smoke run: far too short to learn)."""
    from prunerl.train import train_dense_agent

    r = prunerl.zoo.recipe("minatar-breakout-dqn")
    env = prunerl.make_env(r.env_id)
    assert env.observation_space.shape == (10, 10, 4) and env.action_space.n == r.spec["layers"][-1]["out"] == 3
    torch.manual_seed(0)
    net = nets.build_torch(r.spec)
    conv_before = net[0].weight.detach().clone()
    result = dqn.train(net, r.env_id, 0, dict(r.hparams, **DQN_SHORT, buffer_size=5_000, eval_every=None))
    assert result.optimizer_steps == 250 and not torch.equal(net[0].weight, conv_before)
    info = train_dense_agent("minatar-breakout-dqn", total_steps=300, progress=False, zoo_dir=tmp_path)
    assert info["env_steps"] == 300 and info["eval"]["episodes"] == 20
    assert prunerl.load_agent("minatar-breakout-dqn", zoo_dir=tmp_path)(np.zeros((2, 10, 10, 4))).shape == (2, 3)
