"""The shipped zoo: every agent present, loadable in both frameworks with identical behaviour, and good."""
import json
import shutil

import numpy as np
import pytest

import prunerl
from prunerl import zoo
from prunerl.evaluation import evaluate

AGENTS = list(zoo.RECIPES)
SPARSE = list(zoo.SPARSE_RECIPES)


def real_observations(name: str, n: int = 1_000, seed: int = 0) -> np.ndarray:
    """Observations the agent really meets: its own greedy play, with 20 % random actions for variety."""
    model = prunerl.load_agent(name)
    env = prunerl.make_env(zoo.card(name)["env_id"])
    env.action_space.seed(seed)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    seen = []
    while len(seen) < n:
        seen.append(obs)
        if rng.random() < 0.2:
            action = env.action_space.sample()
        else:
            action = int(model(obs[None].astype(np.float32)).argmax())
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
    return np.stack(seen).astype(np.float32)


@pytest.mark.parametrize("name", AGENTS)
def test_every_recipe_ships_a_weight_file_and_card(name):
    info = zoo.card(name)
    assert zoo.weight_path(name).exists()
    for key in ("env_id", "spec", "algorithm", "seed", "env_steps", "eval", "date", "sha256"):
        assert key in info, key
    assert info["eval"]["episodes"] == 20 and info["eval"]["mean_return"] >= info["return_bar"]


@pytest.mark.parametrize("name", AGENTS)
def test_torch_and_keras_agree_on_real_observations(name, keras):
    obs = real_observations(name)
    torch_out = prunerl.load_agent(name, "torch")(obs).detach().numpy()
    keras_out = np.asarray(prunerl.load_agent(name, "tensorflow")(obs, training=False))
    assert torch_out.shape == keras_out.shape == (1_000, zoo.card(name)["spec"]["layers"][-1]["out"])
    np.testing.assert_allclose(keras_out, torch_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(keras_out.argmax(1), torch_out.argmax(1))


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
@pytest.mark.parametrize("name", AGENTS + SPARSE)
def test_agent_meets_its_return_bar(name, framework):
    info = zoo.card(name)
    result = evaluate(prunerl.load_agent(name, framework), info["env_id"], episodes=20, seed=0)
    assert result.mean >= info["return_bar"], f"{name} [{framework}]: {result}"
    # The card records what this evaluation gives (torch is the framework the card was measured in).
    assert result.mean == pytest.approx(info["eval"]["mean_return"], abs=1e-6 * max(1.0, abs(result.mean)))


def test_minatar_breakout_bar_is_far_above_random_play():
    """The pixel-game agent's bar means something: uniformly random play on the same seeded episodes scores a
    small fraction of it, and the trained agent is far from any ceiling (bricks come back: no maximum score)."""
    r = zoo.recipe("minatar-breakout-dqn")
    rng = np.random.default_rng(0)
    random_play = evaluate(lambda obs: rng.integers(0, 3, len(obs)), r.env_id, episodes=20, seed=0)
    assert random_play.mean < r.return_bar / 4, random_play


def test_unknown_agent_lists_the_known_ones():
    with pytest.raises(zoo.UnknownAgentError) as err:
        prunerl.load_agent("cartpole-ppo")
    assert "cartpole-ppo" in str(err.value) and all(name in str(err.value) for name in AGENTS)


def test_unknown_framework_is_refused():
    with pytest.raises(ValueError, match="unknown framework 'jax'"):
        prunerl.load_agent("cartpole-dqn", "jax")


@pytest.fixture
def zoo_copy(tmp_path):
    for suffix in (".npz", ".json"):
        shutil.copy(zoo.ZOO_DIR / f"cartpole-dqn{suffix}", tmp_path)
    return tmp_path


def test_missing_weight_file_names_the_file(zoo_copy):
    (zoo_copy / "cartpole-dqn.npz").unlink()
    with pytest.raises(zoo.WeightFileError, match="weight file missing: .*cartpole-dqn.npz"):
        prunerl.load_agent("cartpole-dqn", zoo_dir=zoo_copy)


def test_corrupt_weight_file_is_refused_not_randomly_initialised(zoo_copy):
    path = zoo_copy / "cartpole-dqn.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(zoo.WeightFileError, match="cartpole-dqn.npz"):
        prunerl.load_agent("cartpole-dqn", zoo_dir=zoo_copy)


def test_weight_file_of_the_wrong_architecture_is_refused(zoo_copy):
    # A well-formed file whose card hash matches but whose tensors do not fit the spec.
    info = zoo.card("cartpole-dqn", zoo_copy)
    zoo.save_agent("cartpole-dqn", {"0.weight": np.zeros((3, 3), np.float32)}, info, zoo_dir=zoo_copy)
    with pytest.raises(zoo.WeightFileError, match="does not fit the actor architecture"):
        prunerl.load_agent("cartpole-dqn", zoo_dir=zoo_copy)


def test_unreadable_weight_file_names_the_file(zoo_copy):
    path = zoo_copy / "cartpole-dqn.npz"
    path.write_bytes(b"not a zip archive")
    info = zoo.card("cartpole-dqn", zoo_copy)
    (zoo_copy / "cartpole-dqn.json").write_text(json.dumps(dict(info, sha256=zoo.sha256(path))))
    with pytest.raises(zoo.WeightFileError, match="cannot be read"):
        prunerl.load_agent("cartpole-dqn", zoo_dir=zoo_copy)


@pytest.mark.parametrize("name", SPARSE)
def test_sparse_agent_ships_with_its_card(name):
    info, r = zoo.card(name), zoo.recipe(name)
    base = zoo.card(r.pruning["base"])
    assert info["recipe"] == r.pruning and info["seed"] == r.seed
    assert info["sha256"] == zoo.sha256(zoo.weight_path(name))
    assert info["spec"] == base["spec"] and info["return_bar"] == base["return_bar"]  # same bar as the dense agent
    assert info["eval"]["episodes"] == 20 and info["eval"]["mean_return"] >= info["return_bar"]
    assert info["sparsity"]["target"] == int(name[-2:]) / 100
    assert info["time_vs_dense"] <= 2.0, info["time_measure"]


@pytest.mark.parametrize("name", SPARSE)
def test_sparse_agent_sparsity_is_what_its_card_says(name):
    from prunerl import metrics

    info = zoo.card(name)["sparsity"]
    model = prunerl.load_agent(name)
    assert metrics.layer_sparsity(model) == info["layers"]
    assert metrics.sparsity(model) == info["measured"] == pytest.approx(info["target"], abs=1e-3)


@pytest.mark.parametrize("name", SPARSE)
def test_sparse_agent_same_in_keras(name, keras):
    """The dense agents' parity guarantee, on fewer observations to stay affordable; the zeros survive too."""
    from prunerl import metrics

    obs = real_observations(name, n=300)
    torch_out = prunerl.load_agent(name, "torch")(obs).detach().numpy()
    keras_model = prunerl.load_agent(name, "tensorflow")
    keras_out = np.asarray(keras_model(obs, training=False))
    np.testing.assert_allclose(keras_out, torch_out, rtol=1e-5, atol=1e-5)
    # Same greedy action wherever the two best scores differ by more than the tolerance above allows.
    top2 = np.sort(torch_out, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * (1e-5 + 1e-5 * np.abs(top2).max(axis=1))
    assert clear.mean() > 0.8  # the check is not vacuous
    np.testing.assert_array_equal(keras_out.argmax(1)[clear], torch_out.argmax(1)[clear])
    assert metrics.sparsity(keras_model) == zoo.card(name)["sparsity"]["measured"]


def test_zoo_command_lists_sparse_agents_with_their_sparsity(capsys):
    from prunerl.cli import main

    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    for name in SPARSE:
        row = next(line for line in out.splitlines() if f" {name} " in line)
        assert f"{zoo.card(name)['sparsity']['measured']:.1%}" in row, row
    assert next(line for line in out.splitlines() if " cartpole-dqn " in line).count("dense") == 1


def test_train_refuses_to_overwrite_a_shipped_agent(capsys):
    from prunerl.cli import main

    before = zoo.sha256(zoo.weight_path("cartpole-dqn-s90"))
    assert main(["train", "cartpole-dqn-s90", "--zoo-dir", str(zoo.ZOO_DIR)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert zoo.sha256(zoo.weight_path("cartpole-dqn-s90")) == before


def test_train_builds_a_sparse_agent_from_its_recipe(tmp_path, capsys):
    """A short run of the shipped recipe writes a loadable agent at the card's sparsity (not its return)."""
    from prunerl.cli import main

    main(["train", "acrobot-dqn-s95", "--steps", "1500", "--zoo-dir", str(tmp_path)])
    info = zoo.card("acrobot-dqn-s95", tmp_path)
    assert info["sparsity"]["measured"] == pytest.approx(0.95, abs=1e-3) and info["recipe"]["method"] == "finetune"
    assert "95.0% sparsity" in capsys.readouterr().out
    assert prunerl.load_agent("acrobot-dqn-s95", zoo_dir=tmp_path) is not None


def test_train_defaults_to_a_user_folder_and_never_replaces_a_shipped_agent_that_misses_its_bar(
        tmp_path, monkeypatch, capsys):
    from prunerl.cli import main

    monkeypatch.setenv("PRUNERL_ZOO_DIR", str(tmp_path / "mine"))
    before = zoo.sha256(zoo.weight_path("cartpole-dqn"))
    assert main(["train", "cartpole-dqn", "--steps", "1500"]) == 1  # 1,500 steps cannot reach the bar
    assert (tmp_path / "mine" / "cartpole-dqn.npz").exists()
    assert main(["train", "cartpole-dqn", "--steps", "1500", "--overwrite"]) == 1
    assert "the shipped agent is unchanged" in capsys.readouterr().err
    assert zoo.sha256(zoo.weight_path("cartpole-dqn")) == before
