"""Hidden checks of the graded exercises, for the torch and the TensorFlow track alike.

A locked cell at the top of every exercise notebook runs ``checks.setup(framework)`` before any learner code:
that captures protected copies of ``prunerl.evaluate``, ``prunerl.load_agent``, ``prunerl.finetune`` and the
metrics, so a learner who later replaces them cannot fool a check. Each graded test cell calls one check
(one property); a failing check raises ``AssertionError`` with a message in the learner's terms (what was
computed, what was expected) that does not reveal the test code.

Every learner function is called through :func:`_call`, which

* swaps the code of the course's reference functions in :mod:`prunerl.pruning` for tripwires (an exercise
  solved by calling the reference earns no points), however the learner imported them;
* spies on ``prunerl.evaluate`` / ``prunerl.finetune`` when a check needs to know what was evaluated or how
  fine-tuning went (the spy calls the protected original);
* fails when the learner's code replaced one of the protected functions.

The oracles are independent of :mod:`prunerl.pruning`: NumPy, ``scipy.sparse`` and (torch track)
``torch.nn.utils.prune``. TensorFlow and torch are imported only by the track that needs them.
"""
from __future__ import annotations

import copy
import sys
import warnings
from typing import Any
from collections.abc import Callable

import numpy as np

import prunerl
from prunerl import envs as _envs
from prunerl import evaluation as _evaluation
from prunerl import metrics as _metrics
from prunerl import pruning as _pruning
from prunerl import zoo as _zoo

# Protected copies, captured when this module is first imported (the locked set-up cell).
_EVALUATE = _evaluation.evaluate
_SCORES_FN = _evaluation.scores_fn
_FRAMEWORK_OF = _evaluation.framework_of
_LOAD_AGENT = _zoo.load_agent
_PRUNABLE = _metrics.prunable_weights
_MAKE_ENV = _envs.make_env
_REFERENCE_NAMES = ("set_prunable_weights", "apply_masks", "magnitude_masks", "random_masks", "l1_unit_masks",
                    "prune", "polynomial_sparsity", "gradual_prune", "_keep_top")
_REFERENCE = {name: getattr(_pruning, name) for name in _REFERENCE_NAMES if hasattr(_pruning, name)}
_REFERENCE_CODE = {name: fn.__code__ for name, fn in _REFERENCE.items()}
_PROTECTED: dict[tuple[Any, str], Any] = {
    (_evaluation, "evaluate"): _EVALUATE, (_zoo, "load_agent"): _LOAD_AGENT,
    (_metrics, "prunable_weights"): _PRUNABLE, (_metrics, "sparsity"): _metrics.sparsity,
}
_STATE: dict[str, Any] = {"framework": None, "finetune": None, "optimizer_steps_for": None}
_TRIPPED: list[str] = []
_CACHE: dict[Any, Any] = {}
RTOL, ATOL = 1e-5, 1e-5


class ReferenceUsed(Exception):
    """Raised by a tripwire when learner code calls a reference function of :mod:`prunerl.pruning`."""


def setup(framework: str) -> None:
    """Choose the track (``"torch"`` or ``"tensorflow"``) and capture the trainer if it is loaded."""
    if framework not in ("torch", "tensorflow"):
        raise ValueError(f"framework must be 'torch' or 'tensorflow', got {framework!r}")
    _STATE["framework"] = framework
    if framework == "tensorflow":  # before TensorFlow loads: no C++ start-up lines, reproducible float sums
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    train = sys.modules.get("prunerl.train")
    if train is not None and _STATE["finetune"] is None:
        _STATE["finetune"], _STATE["optimizer_steps_for"] = train.finetune, train.optimizer_steps_for
        _PROTECTED[(train, "finetune")] = train.finetune
    if framework == "torch":  # torch's sparse-tensor notices are warnings on stderr, which nbgrader counts as errors
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")


def _fw() -> str:
    if _STATE["framework"] is None:
        raise RuntimeError("run the notebook's first (set-up) cell before the tests")
    return _STATE["framework"]


# ----------------------------------------------------------------------------------------------- calling learners

def _tripwire(*args, **kwargs):  # its code replaces a reference function's while learner code runs
    import sys as _sys

    name = _sys._getframe().f_code.co_name
    _sys.modules["prunerl.grading.checks"]._TRIPPED.append(name)
    raise _sys.modules["prunerl.grading.checks"].ReferenceUsed(name)


def _tamper_report() -> list[str]:
    found = [f"{getattr(mod, '__name__', mod)}.{attr}" for (mod, attr), orig in _PROTECTED.items()
             if getattr(mod, attr, None) is not orig]
    for attr, orig in (("evaluate", _EVALUATE), ("load_agent", _LOAD_AGENT), ("finetune", _STATE["finetune"])):
        if attr in vars(prunerl) and vars(prunerl)[attr] is not orig:
            found.append(f"prunerl.{attr}")
    return found


def _restore_protected() -> None:
    for (mod, attr), orig in _PROTECTED.items():
        setattr(mod, attr, orig)
    for attr in ("evaluate", "load_agent", "finetune"):
        vars(prunerl).pop(attr, None)


def _assert_untampered() -> None:
    tampered = _tamper_report()
    if tampered:
        _restore_protected()
        raise AssertionError(
            f"{', '.join(tampered)} was replaced by notebook code. The course's functions must stay as they are "
            "(the grader measures with the originals); remove the code that assigns to them.")


class _Spies:
    """Temporarily route ``prunerl.evaluate`` / ``prunerl.finetune`` through recording wrappers."""

    def __init__(self, evaluate: bool = False, finetune: bool = False, mask_probe=None, sparsity_every: int = 0):
        self.evaluations: list[dict] = []
        self.finetunes: list[dict] = []
        self.want_eval, self.want_ft = evaluate, finetune and _STATE["finetune"] is not None
        self.mask_probe, self.sparsity_every = mask_probe, sparsity_every
        self.installed: list[tuple[Any, str, Any]] = []

    def _eval_spy(self):
        def evaluate(model_or_policy, env_id, episodes=20, seed=0, *args, **kwargs):
            result = _EVALUATE(model_or_policy, env_id, episodes, seed, *args, **kwargs)
            weights = _weights(model_or_policy) if _FRAMEWORK_OF(model_or_policy) else None
            self.evaluations.append({"env_id": env_id, "episodes": episodes, "seed": seed, "mean": result.mean,
                                     "std": result.std, "weights": weights})
            return result

        return evaluate

    def _ft_spy(self):
        original = _STATE["finetune"]

        def finetune(model, env_id, steps, seed=0, callback=None, *args, **kwargs):
            record = {"env_id": env_id, "steps": steps, "seed": seed, "callback": callback is not None,
                      "calls": 0, "violations": 0, "first_violation": None, "sparsity": []}
            self.finetunes.append(record)

            def wrapped(net, step):
                if callback is not None:
                    callback(net, step)
                record["calls"] += 1
                if self.mask_probe is not None:
                    weights = _PRUNABLE(net)
                    bad = sum(int(np.count_nonzero(weights[n][~m])) for n, m in self.mask_probe.items() if n in weights)
                    if bad:
                        record["violations"] += 1
                        if record["first_violation"] is None:
                            record["first_violation"] = (step, bad)
                if self.sparsity_every and record["calls"] % self.sparsity_every == 1:
                    record["sparsity"].append((step, _sparsity(_PRUNABLE(net))))

            return original(model, env_id, steps, seed, wrapped if (callback is not None or self.mask_probe is not None
                                                                    or self.sparsity_every) else None,
                            *args, **kwargs)

        return finetune

    def install(self) -> None:
        if self.want_eval:
            spy = self._eval_spy()
            self.installed += [(_evaluation, "evaluate", spy), (prunerl, "evaluate", spy)]
        if self.want_ft:
            spy = self._ft_spy()
            self.installed += [(sys.modules["prunerl.train"], "finetune", spy), (prunerl, "finetune", spy)]
        for mod, attr, spy in self.installed:
            setattr(mod, attr, spy)

    def uninstall(self) -> list[str]:
        replaced = [f"{mod.__name__}.{attr}" for mod, attr, spy in self.installed
                    if getattr(mod, attr, None) is not spy]
        _restore_protected()
        return replaced


def _call(fn: Callable, *args, spies: _Spies | None = None, **kwargs):
    """Call learner function ``fn`` with the reference pruning functions replaced by tripwires."""
    if not callable(fn):
        raise AssertionError(f"expected a function, got {type(fn).__name__}; run the cell that defines it")
    _assert_untampered()
    name = getattr(fn, "__name__", "your function")
    _TRIPPED.clear()
    for ref, fn_ref in _REFERENCE.items():
        fn_ref.__code__ = _tripwire.__code__.replace(co_name=ref, co_qualname=ref)
    if spies is not None:
        spies.install()
    error = None
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # re-raised below unless a tripwire explains it
        error, result = exc, None
    finally:
        for ref, fn_ref in _REFERENCE.items():
            fn_ref.__code__ = _REFERENCE_CODE[ref]
        replaced = spies.uninstall() if spies is not None else []
    if _TRIPPED:
        called = sorted(set(_TRIPPED))
        raise AssertionError(
            f"{name} calls {', '.join('prunerl.pruning.' + c for c in called)}, the course's reference "
            "implementation. This exercise asks you to implement it yourself (NumPy, torch/Keras and "
            "prunerl.metrics are fine).") from None
    tampered = replaced + _tamper_report()
    if tampered:
        _restore_protected()
        raise AssertionError(
            f"{name} replaced {', '.join(sorted(set(tampered)))}; the grader measures with the course's own "
            "functions, so results must come from the real prunerl.evaluate / prunerl.finetune.")
    if error is not None:
        raise error
    return result


def _cached(key, compute: Callable[[], Any]):
    """Run a (slow) learner call once per function object, replaying its result or its failure."""
    if key not in _CACHE:
        try:
            _CACHE[key] = ("ok", compute())
        except Exception as exc:  # noqa: BLE001 (replayed to every check that needs it)
            _CACHE[key] = ("error", exc)
    status, value = _CACHE[key]
    if status == "error":
        raise value
    return value


def _guarded(check: Callable) -> Callable:
    """A public check: first fail (and repair) if notebook code replaced a protected function."""
    import functools

    @functools.wraps(check)
    def run(*args, **kwargs):
        _fw()
        _assert_untampered()
        return check(*args, **kwargs)

    return run


# ----------------------------------------------------------------------------------------------- models, oracles

def agent(name: str):
    """A fresh zoo agent in the track's framework, loaded with the protected loader."""
    return _LOAD_AGENT(name, _fw())


def env_of(name: str) -> str:
    return _zoo.RECIPES[name].env_id


def clone(model):
    if _FRAMEWORK_OF(model) == "torch":
        return copy.deepcopy(model)
    import keras

    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.asarray(x)


def _weights(model) -> dict[str, np.ndarray]:
    return {k: np.array(v, copy=True) for k, v in _PRUNABLE(model).items()}


def _set_weights(model, weights: dict[str, np.ndarray]) -> None:
    if _FRAMEWORK_OF(model) == "torch":
        import torch

        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in weights.items():
                params[name].copy_(torch.as_tensor(value))
    else:
        layers = {f"{layer.name}/kernel": layer for layer in model.layers}
        for name, value in weights.items():
            layers[name].kernel.assign(value)


def _params(model) -> dict[str, np.ndarray]:
    """Every parameter (weights and biases) of a model, copied."""
    if _FRAMEWORK_OF(model) == "torch":
        return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    return {v.path: np.array(np.asarray(v)) for v in model.weights}


def _biases(model) -> dict[str, np.ndarray]:
    return {k: v for k, v in _params(model).items() if k.endswith("bias")}


def _layers(model) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(kind, weight, bias)`` of every Linear/Dense/Conv layer in order, weights in torch layout."""
    out = []
    if _FRAMEWORK_OF(model) == "torch":
        from torch import nn

        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                bias = m.bias.detach().numpy().copy() if m.bias is not None else np.zeros(m.weight.shape[0], np.float32)
                out.append(("conv" if isinstance(m, nn.Conv2d) else "linear", m.weight.detach().numpy().copy(), bias))
        return out
    import keras

    for layer in model.layers:
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            kernel = np.asarray(layer.kernel)
            bias = np.asarray(layer.bias) if layer.bias is not None else np.zeros(kernel.shape[-1], np.float32)
            is_conv = kernel.ndim == 4
            out.append(("conv" if is_conv else "linear", kernel.transpose(3, 2, 0, 1) if is_conv else kernel.T, bias))
    return out


def _to_torch_layout(name: str, array: np.ndarray) -> np.ndarray:
    if name.endswith("/kernel"):
        return array.T if array.ndim == 2 else array.transpose(3, 2, 0, 1)
    return array


def outputs(model, obs: np.ndarray) -> np.ndarray:
    fn = _SCORES_FN(model)
    return np.asarray(fn(obs) if fn is not None else model(obs))


def observations(name: str, n: int = 64, seed: int = 0) -> np.ndarray:
    env = _MAKE_ENV(env_of(name))
    space = env.observation_space
    space.seed(seed)
    obs = np.stack([space.sample() for _ in range(n)]).astype(np.float32)
    env.close()
    if obs.ndim == 2:
        return np.clip(obs, -5, 5)
    return obs % 11  # MiniGrid image cells hold small codes (object, colour, state), not 0..255 pixels


def _sparsity(weights: dict[str, np.ndarray]) -> float:
    total = sum(w.size for w in weights.values())
    return float(sum(int((w == 0).sum()) for w in weights.values()) / total)


def _global_masks(weights: dict[str, np.ndarray], sparsity: float) -> dict[str, np.ndarray]:
    """Oracle: prune the round(s * n) smallest |w| pooled over all tensors (ties broken by position)."""
    flat = np.concatenate([np.abs(w).ravel() for w in weights.values()])
    k = int(round(sparsity * flat.size))
    keep = np.ones(flat.size, bool)
    keep[np.argsort(flat, kind="stable")[:k]] = False
    masks, offset = {}, 0
    for name, w in weights.items():
        masks[name] = keep[offset:offset + w.size].reshape(w.shape)
        offset += w.size
    return masks


def _midpoint_threshold(weights: dict[str, np.ndarray], fraction: float) -> float:
    """A threshold strictly between two neighbouring |w| values (no ties)."""
    flat = np.sort(np.concatenate([np.abs(w).ravel() for w in weights.values()]).astype(np.float64))
    k = int(fraction * flat.size)
    while flat[k] == flat[k + 1]:
        k += 1
    return float(np.float32((flat[k] + flat[k + 1]) / 2))


def _mask_dict(masks, names, func: str) -> dict[str, np.ndarray]:
    if not isinstance(masks, dict):
        raise AssertionError(f"{func} returned {type(masks).__name__}; the contract returns a dict "
                             "{parameter name: boolean keep-mask}")
    missing, extra = sorted(set(names) - set(masks)), sorted(set(masks) - set(names))
    if missing or extra:
        raise AssertionError(f"{func} returned masks for {sorted(masks)}; expected exactly the prunable weights "
                             f"{sorted(names)} (missing {missing}, unexpected {extra}; biases get no mask)")
    return {k: _np(v) for k, v in masks.items()}


def _fmt(x: float) -> str:
    return f"{x:.6g}"


# ================================================================================== exercise 1: threshold pruning

def _threshold_run(fn, name: str, fraction: float):
    model = agent(name)
    before = _weights(model)
    biases = _biases(model)
    t = _midpoint_threshold(before, fraction)
    masks = _call(fn, model, t)
    return model, before, biases, t, masks


@_guarded
def threshold_keys(threshold_prune) -> None:
    model, before, _, t, masks = _threshold_run(threshold_prune, "cartpole-dqn", 0.5)
    masks = _mask_dict(masks, list(before), "threshold_prune")
    for name, mask in masks.items():
        if mask.dtype != bool:
            raise AssertionError(f"masks[{name!r}] has dtype {mask.dtype}; the contract returns boolean masks "
                                 "(True = keep)")
        if mask.shape != before[name].shape:
            raise AssertionError(f"masks[{name!r}] has shape {mask.shape}; the weight has shape {before[name].shape}")


@_guarded
def threshold_masks(threshold_prune) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        for fraction in (0.3, 0.8):
            model, before, _, t, masks = _threshold_run(threshold_prune, name, fraction)
            masks = _mask_dict(masks, list(before), "threshold_prune")
            for key, w in before.items():
                expected = np.abs(w) > t
                mask = masks[key].astype(bool)
                if mask.shape != expected.shape or not np.array_equal(mask, expected):
                    wrong = int((mask != expected).sum()) if mask.shape == expected.shape else mask.size
                    raise AssertionError(
                        f"{name}, threshold {_fmt(t)}: masks[{key!r}] differs from |w| > threshold in {wrong} of "
                        f"{w.size} entries (it keeps {int(mask.sum())}, expected {int(expected.sum())})")


@_guarded
def threshold_zeroes(threshold_prune) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        model, before, _, t, _ = _threshold_run(threshold_prune, name, 0.6)
        after = _weights(model)
        for key, w in before.items():
            keep = np.abs(w) > t
            still = int(np.count_nonzero(after[key][~keep]))
            if still:
                raise AssertionError(f"{name}, threshold {_fmt(t)}: {still} entries of {key} with |w| <= threshold "
                                     "are still non-zero in the model (prune in place, in the model itself)")
            changed = int((after[key][keep] != w[keep]).sum())
            if changed:
                raise AssertionError(f"{name}: {changed} surviving entries of {key} (|w| > threshold) changed "
                                     "value; survivors must stay exactly as they were")


@_guarded
def threshold_ties(threshold_prune) -> None:
    model = agent("cartpole-dqn")
    grid = {k: (np.round(w * 20).astype(np.float32) / np.float32(20)) for k, w in _weights(model).items()}
    _set_weights(model, grid)
    t = float(np.float32(0.05))
    masks = _mask_dict(_call(threshold_prune, model, t), list(grid), "threshold_prune")
    after = _weights(model)
    ties = sum(int((np.abs(w) == np.float32(t)).sum()) for w in grid.values())
    kept_mask = sum(int(masks[k].astype(bool)[np.abs(w) == np.float32(t)].sum()) for k, w in grid.items())
    kept_model = sum(int(np.count_nonzero(after[k][np.abs(w) == np.float32(t)])) for k, w in grid.items())
    if kept_mask or kept_model:
        raise AssertionError(f"{max(kept_mask, kept_model)} of {ties} weights with |w| == threshold were kept; the "
                             "contract prunes |w| <= threshold (keeps only |w| > threshold)")


@_guarded
def threshold_biases(threshold_prune) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        model, _, biases, t, _ = _threshold_run(threshold_prune, name, 0.9)
        after = _biases(model)
        for key, b in biases.items():
            changed = int((after[key] != b).sum())
            if changed:
                raise AssertionError(f"{name}: {changed} of {b.size} entries of {key} changed (threshold {_fmt(t)}); "
                                     "biases must be left untouched")


@_guarded
def threshold_conv(threshold_prune) -> None:
    model, before, _, t, masks = _threshold_run(threshold_prune, "minigrid-ppo", 0.5)
    masks = _mask_dict(masks, list(before), "threshold_prune")
    after = _weights(model)
    for key, w in before.items():
        expected = np.abs(w) > t
        if masks[key].shape != w.shape or not np.array_equal(masks[key].astype(bool), expected):
            raise AssertionError(f"minigrid-ppo (conv agent): masks[{key!r}] is not |w| > threshold "
                                 f"(shape {masks[key].shape}, weight shape {w.shape})")
        if not np.array_equal(after[key], np.where(expected, w, 0)):
            raise AssertionError(f"minigrid-ppo (conv agent): {key} in the model is not the weight with "
                                 "|w| <= threshold zeroed")


def _oracle_global_count(model, sparsity: float) -> int:
    weights = _weights(model)
    n = sum(w.size for w in weights.values())
    if _fw() == "torch":
        import torch
        from torch.nn.utils import prune as torch_prune

        twin = copy.deepcopy(model)
        modules = [m for m in twin.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
        torch_prune.global_unstructured([(m, "weight") for m in modules], pruning_method=torch_prune.L1Unstructured,
                                        amount=sparsity)
        return int(sum(int((m.weight_mask == 0).sum()) for m in modules))
    return int(round(sparsity * n))


@_guarded
def global_threshold(global_threshold) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        model = agent(name)
        before = _params(model)
        flat = np.concatenate([np.abs(w).ravel() for w in _weights(model).values()])
        for sparsity in (0.0, 0.3, 0.75, 0.9):
            t = _call(global_threshold, model, sparsity)
            try:
                t = float(_np(t))
            except (TypeError, ValueError):
                raise AssertionError(f"global_threshold returned {type(t).__name__}; expected a float") from None
            got = int((flat <= t).sum())
            expected = _oracle_global_count(model, sparsity)
            if got != expected:
                raise AssertionError(
                    f"{name}, sparsity {sparsity}: your threshold {_fmt(t)} prunes {got} of {flat.size} weights "
                    f"(|w| <= threshold, all layers pooled), {got / flat.size:.4f} of them; expected {expected} "
                    f"({expected / flat.size:.4f})")
        after = _params(model)
        if any(not np.array_equal(after[k], v) for k, v in before.items()):
            raise AssertionError("global_threshold changed the model; it must only compute the threshold")


# ================================================================================== exercise 2: structured pruning

def _unit_scores(w: np.ndarray) -> np.ndarray:
    return np.abs(w.astype(np.float64)).reshape(w.shape[0], -1).sum(axis=1)


def _check_scores(fn, name: str, layers: tuple[int, ...]) -> None:
    model = agent(name)
    view = _layers(model)
    for layer in layers:
        got = _np(_call(fn, model, layer)).astype(np.float64)
        expected = _unit_scores(view[layer][1])
        if got.shape != expected.shape:
            raise AssertionError(f"{name}: neuron_scores(model, {layer}) has shape {got.shape}; layer {layer} has "
                                 f"{expected.size} units/filters, expected shape {expected.shape}")
        if not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
            i = int(np.argmax(np.abs(got - expected)))
            raise AssertionError(f"{name}: neuron_scores(model, {layer})[{i}] = {_fmt(got[i])}, expected the L1 norm "
                                 f"of that unit's incoming weights, {_fmt(expected[i])}")


@_guarded
def scores_mlp(neuron_scores) -> None:
    _check_scores(neuron_scores, "cartpole-dqn", (0, 1))
    _check_scores(neuron_scores, "lunarlander-ppo", (0, 1, 2))


@_guarded
def scores_conv(neuron_scores) -> None:
    _check_scores(neuron_scores, "minigrid-ppo", (0, 1, 2))


def _removed_units(model, layer: int, n: int) -> np.ndarray:
    scores = _unit_scores(_layers(model)[layer][1])
    return np.sort(np.argsort(scores, kind="stable")[:n])


def _zeroed_reference(model, layer: int, removed: np.ndarray):
    """The original network with the removed units' incoming weights and biases set to zero."""
    twin = clone(model)
    if _FRAMEWORK_OF(twin) == "torch":
        import torch

        mods = [m for m in twin.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
        with torch.no_grad():
            mods[layer].weight[removed] = 0
            mods[layer].bias[removed] = 0
    else:
        import keras

        layers = [lay for lay in twin.layers if isinstance(lay, (keras.layers.Dense, keras.layers.Conv2D))]
        kernel, bias = (np.array(v) for v in layers[layer].get_weights())
        kernel[..., removed] = 0
        bias[removed] = 0
        layers[layer].set_weights([kernel, bias])
    return twin


def _structured_cases(conv: bool):
    if conv:
        return [("minigrid-ppo", 0, 4), ("minigrid-ppo", 1, 8)]
    return [("cartpole-dqn", 0, 100), ("cartpole-dqn", 1, 56), ("lunarlander-ppo", 1, 28)]


def _run_prune_neurons(fn, name: str, layer: int, n: int):
    def compute():
        model = agent(name)
        before = _params(model)
        new = _call(fn, model, layer, n)
        return model, before, new

    return _cached(("prune_neurons", fn, name, layer, n), compute)


def _expected_shapes(model, layer: int, n: int) -> list[tuple[int, ...]]:
    view = _layers(model)
    shapes = [w.shape for _, w, _ in view]
    out = list(shapes)
    out[layer] = (shapes[layer][0] - n, *shapes[layer][1:])
    nxt = shapes[layer + 1]
    if view[layer][0] == "conv" and view[layer + 1][0] == "linear":
        positions = nxt[1] // shapes[layer][0]
        out[layer + 1] = (nxt[0], nxt[1] - n * positions)
    else:
        out[layer + 1] = (nxt[0], nxt[1] - n, *nxt[2:])
    return out


def _check_prune_shapes(fn, conv: bool) -> None:
    for name, layer, n in _structured_cases(conv):
        model, _, new = _run_prune_neurons(fn, name, layer, n)
        if _FRAMEWORK_OF(new) != _fw():
            raise AssertionError(f"prune_neurons returned {type(new).__name__}; expected a new "
                                 f"{'torch module' if _fw() == 'torch' else 'Keras model'}")
        if new is model:
            raise AssertionError("prune_neurons returned the model it was given; it must build a NEW, smaller model")
        got = [w.shape for _, w, _ in _layers(new)]
        expected = _expected_shapes(model, layer, n)
        if got != expected:
            raise AssertionError(f"{name}, removing {n} units of layer {layer}: weight shapes (torch layout) are "
                                 f"{got}; expected {expected} (the units are removed, not zeroed, and the next "
                                 "layer loses the matching inputs)")
        biases = [b.shape for _, _, b in _layers(new)]
        if biases[layer] != (expected[layer][0],):
            raise AssertionError(f"{name}: layer {layer}'s bias has shape {biases[layer]}; expected "
                                 f"{(expected[layer][0],)}")


@_guarded
def prune_shapes(prune_neurons) -> None:
    _check_prune_shapes(prune_neurons, conv=False)


@_guarded
def prune_conv_shapes(prune_neurons) -> None:
    _check_prune_shapes(prune_neurons, conv=True)


@_guarded
def prune_which(prune_neurons) -> None:
    for name, layer, n in _structured_cases(False):
        model, before, new = _run_prune_neurons(prune_neurons, name, layer, n)
        original = _layers(model)[layer]
        got_w, got_b = _layers(new)[layer][1:]
        present = np.flatnonzero(np.abs(got_w).reshape(len(got_w), -1).sum(1) + np.abs(got_b) > 0)
        removed = _removed_units(model, layer, n)
        kept = np.setdiff1d(np.arange(len(original[1])), removed)
        rows = got_w[present]
        if rows.shape != original[1][kept].shape or not np.array_equal(rows, original[1][kept]) \
                or not np.array_equal(got_b[present], original[2][kept]):
            matched = sum(any(np.array_equal(r, o) for o in original[1][kept]) for r in rows)
            raise AssertionError(
                f"{name}, removing {n} units of layer {layer}: the remaining units are not the "
                f"{len(kept)} highest-scoring ones in their original order ({matched} of {len(rows)} remaining rows "
                f"match a unit that should stay; weights and biases must be copied unchanged)")


def _check_prune_outputs(fn, conv: bool) -> None:
    for name, layer, n in _structured_cases(conv):
        model, _, new = _run_prune_neurons(fn, name, layer, n)
        obs = observations(name, 64)
        reference = outputs(_zeroed_reference(model, layer, _removed_units(model, layer, n)), obs)
        try:
            got = outputs(new, obs)
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"{name}: the pruned model fails on a batch of observations: {exc}") from None
        if got.shape != reference.shape or not np.allclose(got, reference, rtol=RTOL, atol=ATOL):
            err = float(np.max(np.abs(got - reference))) if got.shape == reference.shape else float("nan")
            raise AssertionError(
                f"{name}, removing {n} units of layer {layer}: the pruned model's outputs differ from the original "
                f"network with those units zeroed (max abs difference {_fmt(err)}, outputs shape {got.shape}); "
                "check which input columns of the next layer you remove")


@_guarded
def prune_outputs(prune_neurons) -> None:
    _check_prune_outputs(prune_neurons, conv=False)


@_guarded
def prune_conv_outputs(prune_neurons) -> None:
    _check_prune_outputs(prune_neurons, conv=True)


@_guarded
def prune_input_unchanged(prune_neurons) -> None:
    for name, layer, n in _structured_cases(False) + _structured_cases(True)[:1]:
        model, before, _ = _run_prune_neurons(prune_neurons, name, layer, n)
        after = _params(model)
        changed = [k for k, v in before.items() if k not in after or not np.array_equal(after[k], v)]
        if changed:
            raise AssertionError(f"{name}: prune_neurons changed the model it was given ({', '.join(changed)}); "
                                 "it must leave the input model unchanged")


# ================================================================================== exercise 3: sparse storage

def _csr_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 9)).astype(np.float32)
    a[rng.random(a.shape) < 0.7] = 0
    layer = _weights(agent("cartpole-dqn"))
    w = next(iter(v for k, v in layer.items() if k in ("2.weight", "dense_2/kernel")))
    w = np.where(np.abs(w) > np.quantile(np.abs(w), 0.9), w, 0).astype(np.float32)
    return [a, w]


def _csr_edge_cases() -> list[np.ndarray]:
    b = np.zeros((5, 4), np.float32)
    b[2, 1], b[2, 3], b[4, 0] = 1.5, -2.0, 3.0  # empty first rows, empty row between, value in the last
    c = np.zeros((4, 6), np.float64)
    c[0, 5] = 7.0  # only the first row, last column
    return [b, c, np.zeros((3, 4), np.float32), np.array([[0.0, 2.0, 0.0, -1.0]]), np.array([[1.0], [0.0], [2.0]])]


def _check_csr(fn, matrices) -> None:
    from scipy.sparse import csr_matrix

    for m in matrices:
        out = _call(fn, m.copy())
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise AssertionError("to_csr must return a tuple (values, col_indices, row_ptr)")
        values, cols, ptr = (_np(x).ravel() for x in out)
        oracle = csr_matrix(m)
        oracle.sort_indices()
        label = f"a {m.shape[0]}x{m.shape[1]} matrix with {oracle.nnz} non-zeros"
        if ptr.shape != oracle.indptr.shape or not np.array_equal(ptr, oracle.indptr):
            raise AssertionError(f"{label}: row_ptr is {ptr.tolist()[:12]}{'...' if ptr.size > 12 else ''}, expected "
                                 f"{oracle.indptr.tolist()[:12]}{'...' if oracle.indptr.size > 12 else ''} "
                                 "(length rows + 1, "
                                 "starting at 0, row i's entries at values[row_ptr[i]:row_ptr[i+1]])")
        if cols.shape != oracle.indices.shape or not np.array_equal(cols, oracle.indices):
            raise AssertionError(f"{label}: col_indices differ from the expected ones (got {cols.size} entries, "
                                 f"expected {oracle.indices.size}, row-major order, ascending within a row)")
        if values.shape != oracle.data.shape or not np.array_equal(values, oracle.data):
            raise AssertionError(f"{label}: values differ from the non-zero entries in row-major order")
        if values.dtype != m.dtype:
            raise AssertionError(f"{label}: values have dtype {values.dtype}; keep the matrix's dtype {m.dtype}")


@_guarded
def to_csr(to_csr) -> None:
    _check_csr(to_csr, _csr_cases())


@_guarded
def to_csr_edge(to_csr) -> None:
    _check_csr(to_csr, _csr_edge_cases())


@_guarded
def csr_matmul(csr_matmul) -> None:
    from scipy.sparse import csr_matrix

    rng = np.random.default_rng(5)
    for m in _csr_cases() + _csr_edge_cases():
        oracle = csr_matrix(m)
        csr = (oracle.data.copy(), oracle.indices.astype(np.int64), oracle.indptr.astype(np.int64))
        for x in (rng.normal(size=m.shape[1]).astype(m.dtype), rng.normal(size=(m.shape[1], 3)).astype(m.dtype)):
            got = _np(_call(csr_matmul, csr, m.shape, x))
            expected = m.astype(np.float64) @ x.astype(np.float64)
            if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
                raise AssertionError(f"csr_matmul of a {m.shape} matrix with x of shape {x.shape}: result shape "
                                     f"{got.shape}, expected {expected.shape}; values must equal matrix @ x")


def _pruned_agent(name: str, sparsity: float):
    model = agent(name)
    masks = _global_masks(_weights(model), sparsity)
    _set_weights(model, {k: w * masks[k] for k, w in _weights(model).items()})
    return model


def _sparse_tensors(obj) -> list:
    """Every sparse tensor stored in a sparsified model (torch CSR tensors / tf.sparse.SparseTensor)."""
    return [t for t in _stored_tensors(obj) if _is_sparse(t)]


def _is_sparse(t) -> bool:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(t, torch.Tensor):
        return t.layout == torch.sparse_csr
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(t, tf.sparse.SparseTensor)


def _stored_tensors(obj, depth: int = 0, seen: set | None = None) -> list:
    """Tensors and arrays reachable from ``obj`` (modules, layers, lists, attributes), each once."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return []
    seen.add(id(obj))
    torch = sys.modules.get("torch")
    tf = sys.modules.get("tensorflow")
    keras = sys.modules.get("keras")
    if torch is not None and isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, np.ndarray):
        return [obj] if obj.dtype != object else []
    if tf is not None and isinstance(obj, (tf.sparse.SparseTensor, tf.Tensor, tf.Variable)):
        return [obj]
    found: list = []
    if torch is not None and isinstance(obj, torch.nn.Module):
        for t in list(obj._parameters.values()) + list(obj._buffers.values()):
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                found.append(t)
        children = list(obj._modules.values()) + [v for k, v in vars(obj).items()
                                                 if k not in ("_parameters", "_buffers", "_modules")]
    elif keras is not None and isinstance(obj, keras.layers.Layer):
        for v in obj.weights:
            if id(v) not in seen:
                seen.add(id(v))
                found.append(v)
        children = [v for v in vars(obj).values() if tf is not None and isinstance(v, tf.sparse.SparseTensor)]
    elif isinstance(obj, (list, tuple)):
        children = list(obj)
    elif isinstance(obj, dict):
        children = list(obj.values())
    elif hasattr(obj, "__dict__") and not isinstance(obj, type) and type(obj).__module__ != "builtins" \
            and type(obj).__name__ not in ("function", "method", "module", "builtin_function_or_method"):
        try:
            children = list(vars(obj).values())
        except TypeError:
            return found
    else:
        return found
    for child in children:
        found += _stored_tensors(child, depth + 1, seen)
    return found


def _nbytes(t) -> int:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(t, torch.Tensor):
        if t.layout == torch.sparse_csr:
            return sum(x.numel() * x.element_size() for x in (t.crow_indices(), t.col_indices(), t.values()))
        if t.layout == torch.sparse_coo:
            t = t.coalesce()
            return t.indices().numel() * t.indices().element_size() + t.values().numel() * t.values().element_size()
        return t.numel() * t.element_size()
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(t, tf.sparse.SparseTensor):
        return sum(np.asarray(x).nbytes for x in (t.indices, t.values, t.dense_shape))
    return int(np.asarray(t).nbytes)


def _dense_of_sparse(t) -> np.ndarray:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(t, torch.Tensor):
        return t.to_dense().detach().numpy()
    import tensorflow as tf

    return tf.sparse.to_dense(tf.sparse.reorder(t)).numpy()


def _run_sparsify(fn, name: str):
    def compute():
        model = _pruned_agent(name, 0.9 if name == "cartpole-dqn" else 0.8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sparse = _call(fn, model)
        return model, sparse

    return _cached(("sparsify", fn, name), compute)


@_guarded
def sparsify_format(sparsify) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        model, sparse = _run_sparsify(sparsify, name)
        dense = [w for kind, w, _ in _layers(model) if kind == "linear"]
        stored = [_dense_of_sparse(t) for t in _sparse_tensors(sparse)]
        kind = "torch.sparse_csr_tensor" if _fw() == "torch" else "tf.sparse.SparseTensor"
        if len(stored) != len(dense):
            raise AssertionError(f"{name}: the sparsified model stores {len(stored)} {kind}(s); expected one per "
                                 f"Linear/Dense layer ({len(dense)})")
        if _fw() == "torch":
            from torch import nn

            left = [type(m).__name__ for m in sparse.modules() if isinstance(m, nn.Linear)]
            if left:
                raise AssertionError(f"{name}: the sparsified model still contains {len(left)} dense nn.Linear "
                                     "layer(s); replace each by a layer that stores its weight as CSR")
        for i, w in enumerate(dense):
            if not any(s.shape == w.shape and np.array_equal(s, w) or s.shape == w.T.shape and np.array_equal(s, w.T)
                       for s in stored):
                raise AssertionError(f"{name}: no stored {kind} equals the pruned weight of Linear/Dense layer {i} "
                                     f"(shape {w.shape})")
        nnz = sum(int(np.count_nonzero(w)) for w in dense)
        stored_values = sum(int(np.prod(_sparse_values_shape(t))) for t in _sparse_tensors(sparse))
        if stored_values > nnz:
            raise AssertionError(f"{name}: the sparse tensors store {stored_values} values but the pruned weights have "
                                 f"only {nnz} non-zeros; store the non-zeros only")


def _sparse_values_shape(t):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(t, torch.Tensor):
        return tuple(t.values().shape)
    return tuple(t.values.shape)


@_guarded
def sparsify_outputs(sparsify) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        model, sparse = _run_sparsify(sparsify, name)
        obs = observations(name, 64)
        expected = outputs(model, obs)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = _np(_call(sparse, obs if _fw() == "tensorflow" else _torch_tensor(obs)))
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"{name}: calling the sparsified model on a batch of observations failed: "
                                 f"{type(exc).__name__}: {exc}") from None
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=RTOL, atol=ATOL):
            err = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("nan")
            raise AssertionError(f"{name}: the sparsified model's outputs (shape {got.shape}) differ from the dense "
                                 f"pruned model's {expected.shape}, max abs difference {_fmt(err)}")


def _torch_tensor(obs):
    import torch

    return torch.as_tensor(obs)


@_guarded
def storage_bytes(storage_bytes, sparsify) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        model, sparse = _run_sparsify(sparsify, name)
        dense_expected = sum(v.nbytes for v in _params(model).values())
        got = int(_call(storage_bytes, model))
        if got != dense_expected:
            raise AssertionError(f"{name}: storage_bytes of the dense pruned model is {got}; expected {dense_expected} "
                                 "(every parameter, zeros included, at its dtype's size)")
        expected = sum(_nbytes(t) for t in _stored_tensors(sparse))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = int(_call(storage_bytes, sparse))
        if got != expected:
            raise AssertionError(f"{name}: storage_bytes of the sparsified model is {got}; the tensors it stores take "
                                 f"{expected} bytes (a sparse tensor: its value and index arrays; a dense one: all "
                                 "entries)")


# ================================================================================== exercise 4: sweep and fine-tune

def _sweep_case():
    if _fw() == "torch":
        return "cartpole-dqn", [0.9, 0.0, 0.5], 3, 7
    return "cartpole-dqn", [0.97, 0.93], 2, 7


def _run_sweep(fn):
    def compute():
        name, sparsities, episodes, seed = _sweep_case()
        model = agent(name)
        before = _params(model)
        spies = _Spies(evaluate=True)
        table = _call(fn, model, env_of(name), list(sparsities), episodes, seed, spies=spies)
        return model, before, table, spies.evaluations

    return _cached(("sweep", fn), compute)


def _table(df, columns: list[str], func: str):
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise AssertionError(f"{func} returned {type(df).__name__}; expected a pandas DataFrame")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise AssertionError(f"{func}'s DataFrame lacks column(s) {missing}; it has {list(df.columns)}")
    return df


@_guarded
def sweep_table(sparsity_sweep) -> None:
    _, sparsities, _, _ = _sweep_case()
    _, _, df, _ = _run_sweep(sparsity_sweep)
    df = _table(df, ["sparsity", "achieved_sparsity", "mean_return", "std_return"], "sparsity_sweep")
    if len(df) != len(sparsities) or not np.allclose(df["sparsity"].to_numpy(float), sparsities):
        raise AssertionError(f"sparsity_sweep(..., sparsities={sparsities}) gave rows for {df['sparsity'].tolist()}; "
                             "expected one row per requested sparsity, in the order given")


@_guarded
def sweep_sparsity(sparsity_sweep) -> None:
    name, sparsities, _, _ = _sweep_case()
    model, _, df, records = _run_sweep(sparsity_sweep)
    df = _table(df, ["sparsity", "achieved_sparsity"], "sparsity_sweep")
    original = _weights(agent(name))
    n = sum(w.size for w in original.values())
    for s, achieved in zip(df["sparsity"], df["achieved_sparsity"]):
        expected = int(round(s * n)) / n
        if abs(float(achieved) - expected) > 1e-9:
            raise AssertionError(f"row sparsity={s}: achieved_sparsity is {float(achieved):.6f}; pruning a fresh copy "
                                 f"of the agent globally to {s} leaves {expected:.6f} of the weights at zero")
    if records:
        for s in sparsities:
            masks = _global_masks(original, s)
            target = {k: w * masks[k] for k, w in original.items()}
            if not any(r["weights"] is not None and all(np.array_equal(r["weights"][k], v) for k, v in target.items())
                       for r in records):
                seen = ", ".join(f"{_sparsity(r['weights']):.3f}" for r in records if r["weights"] is not None)
                raise AssertionError(f"no evaluated model is the agent globally magnitude-pruned to {s} (the models "
                                     f"evaluated had sparsities {seen}); prune a fresh copy for every sparsity")


@_guarded
def sweep_returns(sparsity_sweep) -> None:
    name, _, episodes, seed = _sweep_case()
    _, _, df, records = _run_sweep(sparsity_sweep)
    df = _table(df, ["sparsity", "achieved_sparsity", "mean_return", "std_return"], "sparsity_sweep")
    env_id = env_of(name)
    for s, achieved, mean, std in zip(df["sparsity"], df["achieved_sparsity"], df["mean_return"], df["std_return"]):
        if records:
            # the row's numbers must be those of the evaluation of the copy it describes (same zeros fraction)
            ok = any(r["env_id"] == env_id and r["episodes"] == episodes and r["seed"] == seed
                     and r["weights"] is not None and abs(_sparsity(r["weights"]) - float(achieved)) < 1e-9
                     and np.isclose(r["mean"], mean) and np.isclose(r["std"], std) for r in records)
            if not ok:
                calls = "; ".join(f"episodes={r['episodes']}, seed={r['seed']}, sparsity "
                                  f"{_sparsity(r['weights']) if r['weights'] is not None else float('nan'):.3f}: "
                                  f"mean {r['mean']:.2f}, std {r['std']:.2f}" for r in records)
                raise AssertionError(f"row sparsity={s}: mean_return {mean:.3f} / std_return {std:.3f} are not the "
                                     f"result of prunerl.evaluate(the pruned copy, {env_id!r}, episodes={episodes}, "
                                     f"seed={seed}) (evaluations made: {calls})")
        else:
            twin = agent(name)
            masks = _global_masks(_weights(twin), float(s))
            _set_weights(twin, {k: w * masks[k] for k, w in _weights(twin).items()})
            result = _EVALUATE(twin, env_id, episodes, seed)
            if not (np.isclose(result.mean, mean) and np.isclose(result.std, std)):
                raise AssertionError(f"row sparsity={s}: mean_return {mean:.3f}, std_return {std:.3f}; the seeded "
                                     f"evaluation of the pruned copy gives {result.mean:.3f}, {result.std:.3f}")


@_guarded
def sweep_unchanged(sparsity_sweep) -> None:
    model, before, _, _ = _run_sweep(sparsity_sweep)
    after = _params(model)
    changed = [k for k, v in before.items() if not np.array_equal(after[k], v)]
    if changed:
        raise AssertionError(f"sparsity_sweep changed the agent it was given ({', '.join(changed)}); prune copies")


def _finetune_case():
    return "cartpole-dqn", 0.8, (1500 if _fw() == "torch" else 520), 3


def _run_finetune(fn):
    def compute():
        name, sparsity, steps, seed = _finetune_case()
        model = agent(name)
        masks = _global_masks(_weights(model), sparsity)
        _set_weights(model, {k: w * masks[k] for k, w in _weights(model).items()})
        start = _weights(model)
        spies = _Spies(finetune=True, mask_probe=masks)
        result = _call(fn, model, {k: m.copy() for k, m in masks.items()}, env_of(name), steps, seed, spies=spies)
        return model, masks, start, result, spies.finetunes

    return _cached(("finetune", fn), compute)


@_guarded
def finetune_masks(finetune_pruned) -> None:
    _, masks, _, result, records = _run_finetune(finetune_pruned)
    if _FRAMEWORK_OF(result) != _fw():
        raise AssertionError(f"finetune_pruned returned {type(result).__name__}; expected the fine-tuned agent")
    weights = _weights(result)
    revived = {k: int(np.count_nonzero(weights[k][~m])) for k, m in masks.items()}
    if sum(revived.values()):
        detail = ", ".join(f"{k}: {v}" for k, v in revived.items() if v)
        raise AssertionError(f"after fine-tuning, {sum(revived.values())} pruned weights are non-zero ({detail}); "
                             "Adam's momentum moves them: re-apply the masks after every optimizer step")
    for r in records:
        if r["violations"]:
            step, bad = r["first_violation"]
            raise AssertionError(f"the masks were not held during fine-tuning: after optimizer step {step}, {bad} "
                                 f"pruned weights were non-zero ({r['violations']} of {r['calls']} steps); re-apply "
                                 "the masks in the callback, after every optimizer step")


@_guarded
def finetune_trains(finetune_pruned) -> None:
    name, _, steps, seed = _finetune_case()
    model, masks, start, result, records = _run_finetune(finetune_pruned)
    if _FRAMEWORK_OF(result) != _fw():
        raise AssertionError(f"finetune_pruned returned {type(result).__name__}; expected the fine-tuned agent")
    after = _weights(result)
    if set(after) != set(start) or any(after[k].shape != start[k].shape for k in start):
        raise AssertionError("the returned agent does not have the agent's architecture")
    moved = sum(int((after[k][masks[k]] != start[k][masks[k]]).sum()) for k in start)
    if moved == 0:
        raise AssertionError("no surviving weight changed: the returned agent was not fine-tuned")
    if records and not any(r["env_id"] == env_of(name) and r["steps"] == steps and r["seed"] == seed for r in records):
        calls = "; ".join(f"{r['env_id']}, steps={r['steps']}, seed={r['seed']}" for r in records)
        raise AssertionError(f"prunerl.finetune was called with ({calls}); expected the env_id, steps and seed given "
                             f"to finetune_pruned ({env_of(name)!r}, {steps}, {seed})")


# ================================================================================== exercise 5: comparing strategies

def _tfmot_polynomial(step, initial, final, begin, end, power):
    # TFMOT PolynomialDecay: p = min(1, max(0, (step - begin) / (end - begin))); s = (si - sf) (1 - p)^power + sf
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return (initial - final) * (1 - p) ** power + final


@_guarded
def schedule(polynomial_sparsity) -> None:
    for initial, final, begin, end, power in ((0.0, 0.9, 0, 1000, 3), (0.2, 0.8, 100, 600, 3),
                                             (0.0, 0.95, 50, 450, 2), (0.1, 0.5, 0, 100, 1)):
        for step in np.linspace(begin, end, 11).astype(int):
            kwargs = {} if power == 3 else {"power": power}
            got = _call(polynomial_sparsity, int(step), initial, final, begin, end, **kwargs)
            expected = _tfmot_polynomial(int(step), initial, final, begin, end, power)
            if not np.isclose(float(got), expected, rtol=0, atol=1e-9):
                raise AssertionError(f"polynomial_sparsity(step={step}, initial={initial}, final={final}, "
                                     f"begin_step={begin}, end_step={end}{', power=' + str(power) if kwargs else ''}) "
                                     f"= {float(got):.6f}; expected {expected:.6f}")


@_guarded
def schedule_hold(polynomial_sparsity) -> None:
    for step, expected in ((0, 0.1), (99, 0.1), (700, 0.8), (10_000, 0.8)):
        got = _call(polynomial_sparsity, step, 0.1, 0.8, 100, 600)
        if not np.isclose(float(got), expected, rtol=0, atol=1e-12):
            raise AssertionError(f"polynomial_sparsity(step={step}, initial=0.1, final=0.8, begin_step=100, "
                                 f"end_step=600) = {float(got):.6f}; outside [begin_step, end_step] the schedule holds "
                                 f"its end value ({expected})")


def _run_prune(fn, name: str, strategy: str, sparsity: float, seed: int = 0):
    model = agent(name)
    before, biases = _weights(model), _biases(model)
    masks = _mask_dict(_call(fn, model, strategy, sparsity, seed), list(before), f"prune(..., {strategy!r})")
    after = _weights(model)
    masks = {k: m.astype(bool) for k, m in masks.items()}
    for k, w in before.items():
        if not np.array_equal(after[k], np.where(masks[k], w, 0)):
            raise AssertionError(f"{name}, {strategy} at {sparsity}: the model's {k} is not the original weight with "
                                 "the returned mask's False entries zeroed")
    if any(not np.array_equal(_biases(model)[k], b) for k, b in biases.items()):
        raise AssertionError(f"{name}, {strategy}: a bias changed; biases are never pruned")
    return before, masks


@_guarded
def prune_random(prune) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        before, masks = _run_prune(prune, name, "random", 0.7, seed=1)
        for k, w in before.items():
            expected = int(round(0.7 * w.size))
            if int((~masks[k]).sum()) != expected:
                raise AssertionError(f"{name}, random at 0.7: {k} has {int((~masks[k]).sum())} pruned entries; "
                                     f"expected {expected} (round(0.7 * {w.size}) in every layer)")
        _, again = _run_prune(prune, name, "random", 0.7, seed=1)
        if any(not np.array_equal(again[k], masks[k]) for k in masks):
            raise AssertionError(f"{name}: random pruning with the same seed gave different masks; seed the generator")
        _, other = _run_prune(prune, name, "random", 0.7, seed=2)
        if all(np.array_equal(other[k], masks[k]) for k in masks):
            raise AssertionError(f"{name}: random pruning gave the same masks for seeds 1 and 2")


@_guarded
def prune_layerwise(prune) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        before, masks = _run_prune(prune, name, "layerwise_magnitude", 0.7)
        for k, w in before.items():
            expected = _global_masks({k: w}, 0.7)[k]
            if not np.array_equal(masks[k], expected):
                raise AssertionError(f"{name}, layerwise_magnitude at 0.7: {k}'s mask prunes {int((~masks[k]).sum())} "
                                     f"entries, {int((masks[k] != expected).sum())} differ from the "
                                     f"{int((~expected).sum())} smallest-|w| entries of that layer")


@_guarded
def prune_global(prune) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        before, masks = _run_prune(prune, name, "global_magnitude", 0.8)
        expected = _global_masks(before, 0.8)
        for k in before:
            if not np.array_equal(masks[k], expected[k]):
                per_layer = ", ".join(f"{n}: {float((~masks[n]).mean()):.3f}" for n in before)
                want = ", ".join(f"{n}: {float((~expected[n]).mean()):.3f}" for n in before)
                raise AssertionError(f"{name}, global_magnitude at 0.8: per-layer pruned fractions are {per_layer}; "
                                     f"expected {want} (one threshold for all layers pooled)")


@_guarded
def prune_structured(prune) -> None:
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        before, masks = _run_prune(prune, name, "l1_structured", 0.5)
        names = list(before)
        for i, k in enumerate(names):
            m = _to_torch_layout(k, masks[k])
            w = _to_torch_layout(k, before[k])
            if i == len(names) - 1:
                if not m.all():
                    raise AssertionError(f"{name}, l1_structured: the output layer {k} was pruned; every output is "
                                         "an action and stays")
                continue
            rows = m.reshape(len(m), -1)
            if not np.all(rows.all(1) | ~rows.any(1)):
                raise AssertionError(f"{name}, l1_structured: {k} has units only partly pruned; structured pruning "
                                     "removes whole units (all incoming weights of a unit)")
            removed = np.flatnonzero(~rows.any(1))
            expected = np.sort(np.argsort(_unit_scores(w), kind="stable")[:int(round(0.5 * len(w)))])
            if not np.array_equal(removed, expected):
                raise AssertionError(f"{name}, l1_structured at 0.5: {k} prunes {len(removed)} units; expected the "
                                     f"{len(expected)} with the smallest L1 norm of incoming weights "
                                     f"({len(np.setdiff1d(removed, expected))} wrong)")


def _compare_case():
    if _fw() == "torch":
        strategies = ["random", "layerwise_magnitude", "global_magnitude", "l1_structured"]
        return "cartpole-dqn", strategies, [0.5, 0.9], [0, 1], 2
    return "cartpole-dqn", ["random", "global_magnitude", "l1_structured"], [0.9], [0, 1], 2


@_guarded
def compare_table(compare_strategies, prune) -> None:
    name, strategies, sparsities, seeds, episodes = _compare_case()
    model = agent(name)
    before = _params(model)
    spies = _Spies(evaluate=True)
    df = _call(compare_strategies, model, env_of(name), strategies, sparsities, seeds, episodes, spies=spies)
    df = _table(df, ["strategy", "sparsity", "seed", "mean_return"], "compare_strategies")
    if len(df) != len(strategies) * len(sparsities) * len(seeds):
        raise AssertionError(f"compare_strategies gave {len(df)} rows; expected one per (strategy, sparsity, seed): "
                             f"{len(strategies)} x {len(sparsities)} x {len(seeds)}")
    combos = {(str(r.strategy), float(r.sparsity), int(r.seed)) for r in df.itertuples()}
    wanted = {(s, float(p), int(d)) for s in strategies for p in sparsities for d in seeds}
    if combos != wanted:
        raise AssertionError(f"compare_strategies rows miss {sorted(wanted - combos)[:3]}")
    if any(not np.array_equal(_params(model)[k], v) for k, v in before.items()):
        raise AssertionError("compare_strategies changed the agent it was given; prune copies")
    for r in df.itertuples():
        twin = agent(name)
        _call(prune, twin, r.strategy, float(r.sparsity), int(r.seed))
        target = _weights(twin)
        matches = [e for e in spies.evaluations if e["weights"] is not None
                   and all(np.array_equal(e["weights"][k], v) for k, v in target.items())]
        if spies.evaluations:
            good = [e for e in matches if e["env_id"] == env_of(name) and e["episodes"] == episodes
                    and e["seed"] == int(r.seed) and np.isclose(e["mean"], r.mean_return)]
            if not good:
                raise AssertionError(
                    f"row ({r.strategy}, {r.sparsity}, seed {r.seed}): mean_return {r.mean_return:.3f} is not "
                    f"prunerl.evaluate(copy pruned by prune(copy, {r.strategy!r}, {r.sparsity}, {r.seed}), "
                    f"{env_of(name)!r}, episodes={episodes}, seed={r.seed}) "
                    f"({len(matches)} evaluation(s) of such a copy were made)")
        else:
            result = _EVALUATE(twin, env_of(name), episodes, int(r.seed))
            if not np.isclose(result.mean, r.mean_return):
                raise AssertionError(f"row ({r.strategy}, {r.sparsity}, seed {r.seed}): mean_return "
                                     f"{r.mean_return:.3f}; the seeded evaluation of that pruned copy gives "
                                     f"{result.mean:.3f}")


@_guarded
def compare_gradual(compare_strategies) -> None:
    name, sparsity, seed, episodes = "cartpole-dqn", 0.8, 0, 2
    steps = 600 if _fw() == "torch" else 400
    model = agent(name)
    n = sum(w.size for w in _weights(model).values())
    spies = _Spies(evaluate=True, finetune=True, sparsity_every=5)
    df = _call(compare_strategies, model, env_of(name), ["gradual"], [sparsity], [seed], episodes,
               gradual_steps=steps, spies=spies)
    df = _table(df, ["strategy", "sparsity", "seed", "mean_return"], "compare_strategies")
    if len(df) != 1 or str(df["strategy"].iloc[0]) != "gradual":
        raise AssertionError(f"compare_strategies(..., ['gradual'], [{sparsity}], [{seed}]) gave {len(df)} rows; "
                             "expected one 'gradual' row")
    if not spies.finetunes:
        raise AssertionError("the 'gradual' strategy did not call prunerl.finetune; it prunes during fine-tuning")
    record = spies.finetunes[-1]
    if record["steps"] != steps or not record["callback"]:
        raise AssertionError(f"'gradual' called prunerl.finetune with steps={record['steps']} and "
                             f"{'a' if record['callback'] else 'no'} callback; expected steps=gradual_steps={steps} "
                             "and a callback that prunes on the schedule")
    trace = record["sparsity"]
    values = [s for _, s in trace]
    if len(values) < 3 or values[0] >= sparsity - 0.05 or any(b < a - 1e-9 for a, b in zip(values, values[1:])):
        shown = ", ".join(f"step {st}: {s:.3f}" for st, s in trace[:: max(1, len(trace) // 6)])
        raise AssertionError(f"during 'gradual' fine-tuning the sparsity went {shown}; expected it to rise "
                             f"gradually (never falling) from near 0 towards {sparsity} on the polynomial schedule")
    final = [e for e in spies.evaluations if e["weights"] is not None]
    expected = int(round(sparsity * n)) / n
    if not final or abs(_sparsity(final[-1]["weights"]) - expected) > 1e-9:
        got = _sparsity(final[-1]["weights"]) if final else float("nan")
        raise AssertionError(f"the 'gradual' model evaluated has sparsity {got:.4f}; expected exactly {expected:.4f} "
                             "(the final sparsity) at the end of fine-tuning")
    row = df.iloc[0]
    if not (final[-1]["seed"] == seed and final[-1]["episodes"] == episodes and np.isclose(final[-1]["mean"],
                                                                                           row["mean_return"])):
        raise AssertionError(f"the 'gradual' row's mean_return {row['mean_return']:.3f} is not the seeded evaluation "
                             f"(episodes={episodes}, seed={seed}) of the gradually pruned model")


@_guarded
def plot(plot_comparison) -> None:
    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = [{"strategy": s, "sparsity": p, "seed": d, "mean_return": float(rng.normal(100 * (1 - p) + 10 * i, 5))}
            for i, s in enumerate(["global_magnitude", "random", "l1_structured"])
            for p in (0.9, 0.0, 0.5) for d in range(3)]
    df = pd.DataFrame(rows)
    fig = _call(plot_comparison, df.copy())
    try:
        if not isinstance(fig, matplotlib.figure.Figure):
            raise AssertionError(f"plot_comparison returned {type(fig).__name__}; expected a matplotlib Figure")
        axes = fig.get_axes()
        if not axes:
            raise AssertionError("the figure has no axes")
        lines = {line.get_label(): line for ax in axes for line in ax.get_lines()}
        bands = sum(len(ax.collections) for ax in axes)
        for strategy, group in df.groupby("strategy"):
            means = group.groupby("sparsity")["mean_return"].mean().sort_index()
            line = lines.get(strategy)
            if line is None:
                raise AssertionError(f"no line labelled {strategy!r}; label each strategy's line with its name "
                                     f"(lines found: {sorted(lines)})")
            x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            order = np.argsort(x)
            if not (np.allclose(x[order], means.index.to_numpy(float)) and np.allclose(y[order], means.to_numpy())):
                raise AssertionError(f"the {strategy!r} line plots {list(zip(x.round(3), y.round(2)))}; expected the "
                                     f"mean over seeds at each sparsity {list(zip(means.index, means.round(2)))}")
        if bands < df["strategy"].nunique():
            raise AssertionError(f"the figure has {bands} filled band(s); expected a confidence band per strategy "
                                 "(e.g. ax.fill_between)")
    finally:
        if isinstance(fig, matplotlib.figure.Figure):
            plt.close(fig)
