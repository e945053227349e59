"""Sparse training from the first step (static, SET, RigL): exact masks and sparsity, the growth criteria, the
drop-fraction schedule, ERK densities, both frameworks. No full training: hand-made optimizer steps and one short
fine-tune."""
import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import prunerl
from prunerl import metrics, nets, pruning, specs
from prunerl.backend import backend_of
from prunerl.train import optimizer_steps_for
from prunerl.recipes import DynamicSparsity, cosine_drop_fraction, drop_and_grow, random_layer_masks

BENCH = Path(__file__).resolve().parents[1] / "bench"
SPEC = specs.conv_spec([6, 6, 2], [4], kernel=3, hidden=32, n_out=3)  # a conv, a hidden layer, an output layer


def torch_net(seed: int = 0):
    torch.manual_seed(seed)
    return nets.build_torch(SPEC)


def active_counts(masks):
    return {n: int(m.sum()) for n, m in masks.items()}


def fake_step(net, rng):
    """An optimizer step's worth of change: every weight moves, masked or not, and the gradients are new."""
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.as_tensor(rng.normal(0, 0.01, p.shape), dtype=p.dtype))
            p.grad = torch.as_tensor(rng.normal(0, 1, p.shape), dtype=p.dtype)


def test_initial_masks_have_exact_erk_densities():
    net = torch_net()
    shapes = {n: w.shape for n, w in metrics.prunable_weights(net).items()}
    hook = DynamicSparsity(0.9, total=1_000, method="static")
    hook(net, 0)
    densities = pruning.layer_densities(shapes, 0.9, "erk")
    for name, mask in hook.masks.items():
        assert mask.sum() == round(densities[name] * mask.size), name
    # ERK: the small conv and output tensors are denser than the wide hidden one.
    by_size = sorted(shapes, key=lambda n: np.prod(shapes[n]))
    assert densities[by_size[0]] > densities[by_size[-1]]
    assert metrics.sparsity(net) == pytest.approx(0.9, abs=2e-3)
    layers = metrics.layer_sparsity(net)
    assert all(layers[n] == pytest.approx(1 - m.mean(), abs=1e-12) for n, m in hook.masks.items())
    # random, not magnitude: two seeds draw different topologies of the same size
    other = random_layer_masks(shapes, densities, seed=1)
    assert active_counts(other) == active_counts(hook.masks)
    assert any(not np.array_equal(other[n], hook.masks[n]) for n in other)


@pytest.mark.parametrize("method", ["static", "set", "rigl"])
def test_masks_and_per_layer_sparsity_held_exactly_through_training_steps(method):
    net, rng = torch_net(), np.random.default_rng(0)
    hook = DynamicSparsity(0.8, total=400, method=method, every=20, drop_fraction=0.5, end=0.75)
    hook(net, 0)
    counts, first = active_counts(hook.masks), {n: m.copy() for n, m in hook.masks.items()}
    for step in range(1, 401):
        fake_step(net, rng)
        hook(net, step)
        assert active_counts(hook.masks) == counts, step
        for name, w in metrics.prunable_weights(net).items():
            assert np.all(w[~hook.masks[name]] == 0), (step, name)
    updates = [h["step"] for h in hook.history]
    if method == "static":
        assert updates == [] and all(np.array_equal(first[n], hook.masks[n]) for n in first)
    else:  # every 20 steps until 75 % of 400, and the topology really moved
        assert updates == list(range(20, 300, 20)) and all(h["moved"] > 0 for h in hook.history)
        assert any(not np.array_equal(first[n], hook.masks[n]) for n in first)


def test_drop_fraction_follows_cosine_decay():
    hook = DynamicSparsity(0.9, total=1_000, method="set", every=100, drop_fraction=0.3, end=0.75)
    net, rng = torch_net(), np.random.default_rng(0)
    hook(net, 0)
    for step in range(1, 1_001):
        fake_step(net, rng)
        hook(net, step)
    expected = [0.3 / 2 * (1 + math.cos(math.pi * s / 750)) for s in range(100, 750, 100)]
    assert [h["step"] for h in hook.history] == list(range(100, 750, 100))
    np.testing.assert_allclose([h["fraction"] for h in hook.history], expected, rtol=1e-12)
    assert cosine_drop_fraction(0, 0.3, 750) == 0.3 and cosine_drop_fraction(375, 0.3, 750) == pytest.approx(0.15)
    assert cosine_drop_fraction(750, 0.3, 750) == 0.0 == cosine_drop_fraction(900, 0.3, 750)
    # the number moved per tensor is floor(fraction * active), summed over the tensors
    counts = active_counts(hook.masks)
    assert [h["moved"] for h in hook.history] == [sum(int(h["fraction"] * c) for c in counts.values())
                                                  for h in hook.history]


def test_rigl_drops_smallest_magnitude_and_grows_largest_gradient():
    w = np.array([[0.5, -0.1, 0.0, 0.0], [0.9, 0.0, -0.3, 0.0]], np.float32)
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool)
    # Drop: (0,1) and (1,2), the smallest |w| of the active. Candidates for growth: everything not kept, the
    # just-dropped weights included (as in RigL's code). The largest |gradient| among them: (1,2) (9, dropped,
    # so it comes back from zero) and (0,3) (3); the kept weights' gradients (9) do not count.
    grad = np.array([[9.0, 0.2, -0.4, 3.0], [9.0, -2.0, 9.0, 0.1]], np.float32)
    new, grown = drop_and_grow({"w": w}, {"w": mask}, 0.5, {"w": np.abs(grad)})  # 4 active -> drop 2, grow 2
    assert new["w"].sum() == 4
    expected_kept = np.array([[1, 0, 0, 0], [1, 0, 0, 0]], bool)  # |-0.1| and |-0.3| were the smallest
    expected_grown = np.array([[0, 0, 0, 1], [0, 0, 1, 0]], bool)
    np.testing.assert_array_equal(grown["w"], expected_grown)
    np.testing.assert_array_equal(new["w"], expected_kept | expected_grown)


def test_rigl_hook_grows_by_the_networks_gradients_and_grown_weights_start_at_zero():
    net = torch_net()
    hook = DynamicSparsity(0.9, total=100, method="rigl", every=10, drop_fraction=0.5, end=1.0)
    hook(net, 0)
    before = {n: m.copy() for n, m in hook.masks.items()}
    rng = np.random.default_rng(1)
    fake_step(net, rng)
    with torch.no_grad():  # active weights get no gradient, so a dropped weight cannot be grown again at once
        for name, m in backend_of(net).prunable_layers(net):
            m.weight.grad.mul_(torch.as_tensor(~before[f"{name}.weight"]))
    grads = {n: np.abs(g) for n, g in backend_of(net).prunable_gradients(net).items()}
    weights = {n: w.copy() for n, w in metrics.prunable_weights(net).items()}
    hook(net, 10)
    after = metrics.prunable_weights(net)
    for name, mask in hook.masks.items():
        grown = mask & ~before[name]
        kept = mask & before[name]
        k = int(grown.sum())
        assert k == int(cosine_drop_fraction(10, 0.5, 100) * before[name].sum()) and k > 0
        inactive = ~before[name]
        # the grown weights are the k inactive ones with the largest |gradient|
        top = np.sort(grads[name][inactive])[::-1][:k]
        np.testing.assert_array_equal(np.sort(grads[name][grown])[::-1], top)
        assert np.all(after[name][grown] == 0) and np.all(weights[name][grown] != 0)  # reset to zero
        np.testing.assert_array_equal(after[name][kept], weights[name][kept])  # survivors untouched
        # the survivors are the largest-magnitude active weights
        assert np.abs(weights[name][kept]).min() >= np.abs(weights[name][before[name] & ~mask]).max()


def test_set_grows_only_among_inactive_weights_at_random():
    w = np.arange(1, 101, dtype=np.float32).reshape(10, 10)
    mask = np.zeros((10, 10), bool)
    mask[:5] = True  # 50 active: the smallest |w| are the first rows
    grown_sets = []
    for seed in range(3):
        scores = np.random.default_rng(seed).random(w.shape)
        new, grown = drop_and_grow({"w": w}, {"w": mask}, 0.3, {"w": scores})
        kept = new["w"] & ~grown["w"]
        np.testing.assert_array_equal(kept, mask & (w > 15))  # dropped the 15 smallest magnitudes
        assert grown["w"].sum() == 15 and new["w"].sum() == 50
        assert not np.any(grown["w"] & kept)  # grew only among the inactive (the just-dropped included)
        grown_sets.append(grown["w"])
    assert not np.array_equal(grown_sets[0], grown_sets[1])  # random growth


def test_finish_holds_earlier_weights_to_each_tensors_budget():
    net, rng = torch_net(), np.random.default_rng(0)
    hook = DynamicSparsity(0.9, total=100, method="set", every=5, end=1.0)
    hook(net, 0)
    counts = active_counts(hook.masks)
    snapshot = {k: v.clone() for k, v in net.state_dict().items()}  # weights under the first topology
    for step in range(1, 50):
        fake_step(net, rng)
        hook(net, step)
    net.load_state_dict(snapshot)  # what a tracker's best checkpoint does
    before = metrics.prunable_weights(net)
    before = {n: w.copy() for n, w in before.items()}
    hook.finish(net)
    assert active_counts(hook.masks) == counts
    for name, w in metrics.prunable_weights(net).items():
        np.testing.assert_array_equal(w, before[name])  # its own topology, nothing of it lost


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="method must be one of static, set, rigl"):
        DynamicSparsity(0.9, 100, method="prune")
    with pytest.raises(ValueError, match="drop_fraction"):
        DynamicSparsity(0.9, 100, drop_fraction=1.5)
    net = torch_net()
    hook = DynamicSparsity(0.9, 100, method="rigl", every=1)
    hook(net, 0)
    with pytest.raises(ValueError, match="no gradients"):
        hook(net, 1)


def test_keras_model_set_by_hand_and_rigl_through_finetune(keras):
    """The hook works on a Keras model: by hand (SET), and inside prunerl.finetune, where RigL reads the
    gradients the torch twin leaves with the model."""
    from prunerl.convert import convert

    model = convert(torch_net(), "tensorflow")
    hook = DynamicSparsity(0.8, total=40, method="set", every=5, end=1.0)
    hook(model, 0)
    counts, rng = active_counts(hook.masks), np.random.default_rng(0)
    for step in range(1, 41):
        pruning.set_prunable_weights(model, {n: w + rng.normal(0, 0.01, w.shape).astype(w.dtype)
                                             for n, w in metrics.prunable_weights(model).items()})
        hook(model, step)
        assert active_counts(hook.masks) == counts
        assert all(np.all(w[~hook.masks[n]] == 0) for n, w in metrics.prunable_weights(model).items())
    assert len(hook.history) == 7 and all(n.endswith("/kernel") for n in hook.masks)

    agent = prunerl.load_agent("cartpole-dqn", "tensorflow")
    steps = 800  # CartPole's recipe: 128 optimizer steps per 256 env steps once learning starts at 80
    total = optimizer_steps_for("CartPole-v1", steps)
    rigl = DynamicSparsity(0.9, total=total, method="rigl", every=64, end=0.75)
    seen = []

    def watch(net, step):
        rigl(net, step)
        seen.append((step, active_counts(rigl.masks), metrics.sparsity(net)))

    watch.needs_gradients = True  # what rigl itself tells finetune

    rigl(agent, 0)
    counts = active_counts(rigl.masks)
    prunerl.finetune(agent, "CartPole-v1", steps, seed=0, callback=watch)
    assert len(seen) == total and len(rigl.history) >= 2 and all(h["moved"] > 0 for h in rigl.history)
    assert all(c == counts for _, c, _ in seen)
    assert all(s >= 0.9 - 1e-3 for _, _, s in seen)  # grown weights start at zero: at least the target
    size = sum(m.size for m in rigl.masks.values())
    assert 1 - sum(counts.values()) / size == pytest.approx(0.9, abs=1e-3)  # the masks: exactly the budget
    # the weights: a grown weight whose gradient stays zero (it feeds a dead unit) stays zero, so not below it
    assert np.all([np.all(w[~rigl.masks[n]] == 0) for n, w in metrics.prunable_weights(agent).items()])


def test_train_during_trains_sparse_from_the_first_step():
    from prunerl.recipes import train_during

    hp = dict(total_steps=2_000, learning_starts=500, train_freq=4, gradient_steps=1, eval_every=500)
    result = train_during("cartpole-dqn", 0.9, seed=0, hparams=hp, method="rigl", end=0.75,
                          dynamic=dict(every=50))
    assert metrics.sparsity(result.actor) == pytest.approx(0.9, abs=2e-3)
    assert [h["step"] for h in result.history] == [500, 1_000, 1_500, 2_000]  # sparse throughout: all selectable


# bench/bench_sparse_training.py: its summaries from a synthetic per-seed table, and its artefact against its rows
_bench_spec = importlib.util.spec_from_file_location("bench_sparse_training", BENCH / "bench_sparse_training.py")
B = importlib.util.module_from_spec(_bench_spec)
sys.path.insert(0, str(BENCH))  # its `import benchlib`
_bench_spec.loader.exec_module(B)
sys.path.remove(str(BENCH))


def bench_rows(env_steps=1_000):
    """Dense returns 10, 50, 20, 40, 30 on seeds 0-4; RigL at 90 % is dense + 5 on every seed (paired, it always
    wins by 5, unpaired the spread of dense hides it); GMP is 35 on every seed. Rows in a shuffled order."""
    dense = [10.0, 50.0, 20.0, 40.0, 30.0]
    rows = [dict(agent="a", arm="dense", sparsity=0.0, seed=s, env_steps=env_steps, **{"return": v})
            for s, v in enumerate(dense)]
    rows += [dict(agent="a", arm="rigl", sparsity=0.9, seed=s, env_steps=env_steps, **{"return": v + 5})
             for s, v in enumerate(dense)]
    rows += [dict(agent="a", arm="gmp", sparsity=0.9, seed=s, env_steps=env_steps, **{"return": 35.0})
             for s in range(5)]
    return [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]


def test_bench_summary_takes_medians_and_pairs_by_seed():
    s = B.summarize(bench_rows())["a"]
    assert s["seeds"] == [0, 1, 2, 3, 4] and s["env_steps"] == 1_000
    assert s["dense"]["median"] == 30.0 and (s["dense"]["low"], s["dense"]["high"]) == (10.0, 50.0)
    cells = {c["arm"]: c for c in s["cells"]}
    assert cells["rigl"]["median"] == 35.0
    vs = cells["rigl"]["vs_dense"]
    assert (vs["median_diff"], vs["low"], vs["high"], vs["wins"]) == (5.0, 5.0, 5.0, 5)  # paired by seed
    assert vs["p_improvement"] == pytest.approx(0.6)  # unpaired: 15 of 25 pairs
    assert cells["rigl"]["vs_gmp"]["median_diff"] == 0.0 and "vs_gmp" not in cells["gmp"]


def test_bench_refuses_unequal_budgets_and_unmatched_seeds():
    rows = bench_rows()
    rows[0] = dict(rows[0], env_steps=2_000)
    with pytest.raises(ValueError, match="unequal env steps"):
        B.summarize(rows)
    with pytest.raises(ValueError, match="different seeds"):
        B.summarize([r for r in bench_rows() if not (r["arm"] == "rigl" and r["seed"] == 3)])


@pytest.mark.skipif(not B.ARTEFACT.exists(), reason="no bench/sparse_training.json recorded")
def test_bench_artefact_matches_its_own_rows():
    data = json.loads(B.ARTEFACT.read_text())
    cfg = data["config"]
    expected = B.tasks(cfg["agents"], cfg["sparsities"], cfg["seeds"], cfg["episodes"])
    key = lambda r: (r["agent"], r["arm"], r["sparsity"], r["seed"])  # noqa: E731
    assert sorted(map(key, data["rows"])) == sorted(map(key, expected))  # every arm on every seed, once
    assert json.loads(json.dumps(B.summarize(data["rows"]))) == data["summary"]
    # never denser than the arm's budget; GMP and static end at it. SET/RigL may end sparser: a weight grown into a
    # unit that no state activates gets no gradient and stays at zero (at 50 % on the DQN: up to 0.63)
    assert all(r["sparsity"] - 2e-3 <= r["measured_sparsity"] for r in data["rows"])
    assert all(r["measured_sparsity"] <= r["sparsity"] + 0.05 for r in data["rows"] if r["arm"] in ("gmp", "static"))
    assert len({(r["agent"], r["env_steps"]) for r in data["rows"]}) == len(cfg["agents"])  # equal budgets


def _square(task: dict) -> dict:  # a sweep's run_one, in a worker process
    return {**task, "value": task["x"] ** 2, "train_seconds": 0.0, "train_cpu_seconds": 1.0, "ran": "now"}


def test_an_interrupted_sweep_resumes_from_its_journal(tmp_path):
    """Every finished run is journalled as it arrives; a second sweep runs only what the journal lacks (a run of
    another configuration, here another x, is not taken for one of this sweep's), and keeps the sweep's order."""
    import benchlib

    journal = tmp_path / "sweep.journal.jsonl"
    todo = [dict(x=x, hparams={"steps": 10}) for x in range(4)]
    journal.write_text(json.dumps({**todo[2], "value": 4, "train_seconds": 0.0, "train_cpu_seconds": 1.0,
                                   "ran": "before"}) + "\n" + json.dumps({"x": 9, "hparams": {"steps": 10}}) + "\n")
    rows, _, cpu = benchlib.sweep(_square, todo, 2, lambda row: row["x"], journal=journal)
    assert [r["x"] for r in rows] == [0, 1, 2, 3] and [r["value"] for r in rows] == [0, 1, 4, 9]
    assert [r["ran"] for r in rows] == ["now", "now", "before", "now"] and cpu == 4.0
    assert len(journal.read_text().splitlines()) == 5  # the three new runs appended
    again, _, _ = benchlib.sweep(_square, todo, 2, lambda row: row["x"], journal=journal)
    assert again == rows  # nothing left to run
