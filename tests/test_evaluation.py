"""Seeded evaluation: deterministic, framework-independent, and strict about what it is given."""
import numpy as np
import pytest

import prunerl
from prunerl.evaluation import evaluate


def lean_policy(obs: np.ndarray) -> np.ndarray:
    """A deterministic CartPole controller that is decent but not perfect: returns vary by episode."""
    return (obs[:, 2] > 0).astype(np.int64)


def test_same_seed_gives_identical_episodes():
    model = prunerl.load_agent("acrobot-dqn")
    first = evaluate(model, "Acrobot-v1", episodes=6, seed=3)
    second = evaluate(model, "Acrobot-v1", episodes=6, seed=3)
    np.testing.assert_array_equal(first.returns, second.returns)
    np.testing.assert_array_equal(first.lengths, second.lengths)
    assert len(set(first.returns.tolist())) > 1, "episodes with different seeds should differ"


def test_episode_i_uses_seed_plus_i_whatever_the_batch():
    many = evaluate(lean_policy, "CartPole-v1", episodes=8, seed=100, max_batch=3)
    few = evaluate(lean_policy, "CartPole-v1", episodes=4, seed=104)
    np.testing.assert_array_equal(many.returns[4:], few.returns)
    other = evaluate(lean_policy, "CartPole-v1", episodes=8, seed=200)
    assert not np.array_equal(many.returns, other.returns)


def test_both_frameworks_play_the_same_episodes(keras):
    torch_result = evaluate(prunerl.load_agent("acrobot-dqn", "torch"), "Acrobot-v1", episodes=5, seed=0)
    keras_result = evaluate(prunerl.load_agent("acrobot-dqn", "tensorflow"), "Acrobot-v1", episodes=5, seed=0)
    np.testing.assert_array_equal(torch_result.returns, keras_result.returns)


def test_summary_reports_what_was_played():
    result = evaluate(lean_policy, "CartPole-v1", episodes=5, seed=0)
    summary = result.summary()
    assert summary["episodes"] == 5 and summary["seed"] == 0
    assert summary["mean_return"] == pytest.approx(result.returns.mean())
    assert summary["min_return"] <= summary["mean_return"] <= summary["max_return"]
    assert np.all(result.lengths == result.returns)  # CartPole pays 1 per step


def test_output_size_must_match_the_action_space():
    from prunerl import nets, specs

    five_outputs = nets.build_torch(specs.mlp_spec(4, [8], 5))
    with pytest.raises(ValueError, match="environment has 2 actions"):
        evaluate(five_outputs, "CartPole-v1", episodes=1)


def test_keras_model_with_wrong_output_size_is_refused(keras):
    from prunerl import specs
    from prunerl.keras_nets import build_keras

    with pytest.raises(ValueError, match="expected \\(1, 2\\)"):
        evaluate(build_keras(specs.mlp_spec(4, [8], 3)), "CartPole-v1", episodes=1)


def test_not_a_model_is_refused():
    with pytest.raises(TypeError, match="policy callable"):
        evaluate(42, "CartPole-v1", episodes=1)
