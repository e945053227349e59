"""Every lesson runs top to bottom in fast mode and shows its figures; the lesson helpers do what they say."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prunerl.course import lessons as L

LESSONS = sorted((Path(__file__).resolve().parents[1] / "lessons").glob("0*_*.py"))


def test_eight_lessons():
    assert [p.name[:2] for p in LESSONS] == [f"0{i}" for i in range(1, 9)]


@pytest.fixture(scope="module")
def executed(tmp_path_factory, request):
    """Every selected lesson executed in fast mode, two at a time (each in its own kernel; CI has two cores): its
    notebook, or the error it raised, and its folder of figures and recorded numbers."""
    from concurrent.futures import ThreadPoolExecutor

    selected = {item.callspec.params["path"] for item in request.session.items
                if item.originalname == "test_lesson_executes_in_fast_mode"}

    def run(path):
        folder = tmp_path_factory.mktemp(path.stem)
        try:
            return L.execute_lesson(path, fast=True, figures_dir=folder, record_to=folder / "numbers.json")[0], folder
        except Exception as error:  # noqa: BLE001 - re-raised by the lesson's own test
            return error, folder

    with ThreadPoolExecutor(2) as pool:
        wanted = [p for p in LESSONS if p in selected]
        return dict(zip(wanted, pool.map(run, wanted)))


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_executes_in_fast_mode(path, executed):
    nb, tmp_path = executed[path]
    if isinstance(nb, Exception):
        raise nb
    record = tmp_path / "numbers.json"
    assert L.notebook_images(nb) >= 1
    assert list(tmp_path.glob("*.png")), "the lesson saved no figure"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    # the 60-second answer comes from the interview bank, not from the lesson file
    from prunerl.course.interview import question_for_lesson

    answer = question_for_lesson(int(path.name[:2]))["answer"]
    assert answer[:60] not in path.read_text()
    shown = "".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells if c.cell_type == "code"
                    for o in c.get("outputs", []))
    assert answer[:60] in shown
    # every number docs/claims.md quotes from this lesson is one the lesson records (in fast mode too)
    import re

    page = (Path(__file__).resolve().parents[1] / "docs" / "claims.md").read_text()
    keys = set(re.findall(rf"<!--\s*{path.name[:2]}:(\w+)\s*-->", page))
    if keys:
        import json

        entry = json.loads(record.read_text())[path.stem]
        assert entry["mode"] == "fast" and entry["fingerprint"] == L.lesson_fingerprint(path)
        assert keys <= set(entry["numbers"]), f"not recorded: {sorted(keys - set(entry['numbers']))}"


def test_shrink_folds_constant_units_into_next_bias():
    spec = {"obs_shape": [2], "layers": [{"kind": "linear", "in": 2, "out": 2}, {"kind": "relu"},
                                         {"kind": "linear", "in": 2, "out": 1}]}
    w = {"0.weight": np.array([[1.0, 2.0], [0.0, 0.0]], np.float32),
         "0.bias": np.array([0.0, 3.0], np.float32), "2.weight": np.array([[1.0, 2.0]], np.float32),
         "2.bias": np.array([0.5], np.float32)}
    from prunerl.structured import shrink_spec

    spec2, w2 = shrink_spec(spec, w)
    assert spec2["layers"][0]["out"] == 1 and w2["2.bias"][0] == pytest.approx(0.5 + 2.0 * 3.0)
    x = np.random.default_rng(0).normal(size=(10, 2))
    np.testing.assert_allclose(L.numpy_forward(spec, w, x), L.numpy_forward(spec2, w2, x), atol=1e-5)


def test_shrink_conv_flatten_dense_torch_and_keras_agree():
    import torch

    import prunerl
    from prunerl import pruning

    obs = L.collect_observations(prunerl.load_agent("minigrid-ppo"), "MiniGrid-DoorKey-5x5-v0", 64)
    t = prunerl.load_agent("minigrid-ppo")
    pruning.apply_masks(t, L.l1_layer_masks(t, {"0.weight": 0.5, "2.weight": 0.25, "5.weight": 0.5}))
    k = prunerl.load_agent("minigrid-ppo", "tensorflow")
    ratios = {"conv_0/kernel": 0.5, "conv_2/kernel": 0.25, "dense_5/kernel": 0.5}
    pruning.apply_masks(k, L.l1_layer_masks(k, ratios))
    ts, ks = L.shrink(t), L.shrink(k)
    spec, _ = L.spec_and_weights(ts)
    assert [layer.get("out") for layer in spec["layers"] if "out" in layer] == [8, 24, 32, 7]
    assert spec["layers"][5]["in"] == 24 * 5 * 5
    with torch.no_grad():
        ref = t(torch.as_tensor(obs)).numpy()
        np.testing.assert_allclose(ts(torch.as_tensor(obs)).numpy(), ref, atol=1e-4)
    np.testing.assert_allclose(np.asarray(ks(obs)), ref, atol=1e-4)


def test_dormant_fraction_counts_silent_units():
    import prunerl
    from prunerl import pruning

    net = prunerl.load_agent("cartpole-dqn")
    obs = L.collect_observations(net, "CartPole-v1", 200)
    before = L.dormant_fraction(net, obs, tau=0.0)
    masks = L.l1_layer_masks(net, {"0.weight": 0.5})
    pruning.apply_masks(net, masks)
    net[0].bias.data[~masks["0.weight"][:, 0]] = -1.0  # removed units with negative bias never fire
    after = L.dormant_fraction(net, obs, tau=0.0)
    assert after[0] >= 0.5 and after[0] >= before[0]


def test_perturbed_cartpole_changes_physics_and_noise():
    import gymnasium as gym

    env_id = L.register_perturbed_envs()
    env = gym.make(env_id, length=1.0, gravity=20.0)
    u = env.unwrapped
    assert (u.length, u.gravity, u.polemass_length) == (1.0, 20.0, pytest.approx(0.1))
    a, _ = gym.make(env_id, obs_noise=0.1).reset(seed=3)
    b, _ = gym.make(env_id, obs_noise=0.1).reset(seed=3)
    c, _ = gym.make(env_id).reset(seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert env.spec.max_episode_steps == 500


def test_fast_switch(monkeypatch):
    import importlib

    monkeypatch.setenv("PRUNERL_FAST", "1")
    mod = importlib.reload(L)
    assert mod.FAST and mod.pick(10, 1) == 1
    monkeypatch.setenv("PRUNERL_FAST", "0")
    mod = importlib.reload(L)
    assert not mod.FAST and mod.pick(10, 1) == 10


def test_finetune_best_keeps_the_best_checkpoint():
    import prunerl
    from prunerl import pruning

    net = prunerl.load_agent("cartpole-dqn")
    L.quiet()  # one torch thread: small DQN updates stall with two on a busy machine
    pruning.prune(net, "global_magnitude", 0.8)
    history = L.finetune_best(net, "CartPole-v1", 400, chunks=2, episodes=3)
    assert len(history) == 3
    assert prunerl.evaluate(net, "CartPole-v1", 3, seed=10_000).mean == pytest.approx(max(history))
