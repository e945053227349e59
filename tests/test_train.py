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
