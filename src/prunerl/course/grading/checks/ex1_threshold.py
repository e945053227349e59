"""Exercise 1 collectors: ``threshold_prune(model, threshold)`` and ``global_threshold(model, sparsity)``."""
from __future__ import annotations

from . import common as c
from . import harness as h
from ..protocol import midpoint_threshold, tie_grid

collector = h.collector("ex1")


def _threshold_run(fn, name: str, fraction: float) -> tuple:
    model = c.agent(name)
    t = midpoint_threshold(c.weights(model), fraction)
    out = h.call(fn, model, t)
    return model, out


@collector
def threshold_keys(threshold_prune, v) -> dict:
    _, out = _threshold_run(threshold_prune, "cartpole-dqn", v["keys"])
    return h.outcome_data(out, **c.mask_record(out.result))


def _cases(fn, cases, want) -> dict:
    runs = []
    for name, fraction in cases:
        model, out = _threshold_run(fn, name, fraction)
        run = {"name": name, "fraction": fraction}
        if "masks" in want:
            run.update(c.mask_record(out.result))
        if "weights" in want:
            run["after"] = c.weights(model)
        if "biases" in want:
            run["biases"] = {k: a for k, a in c.params(model).items() if k.endswith("bias")}
        runs.append(run)
        if out.stopped:
            return h.outcome_data(out, runs=runs)
    return h.outcome_data(out, runs=runs)


@collector
def threshold_masks(threshold_prune, v) -> dict:
    return _cases(threshold_prune, v["masks"], ("masks",))


@collector
def threshold_zeroes(threshold_prune, v) -> dict:
    return _cases(threshold_prune, [["cartpole-dqn", v["zeroes"]], ["lunarlander-ppo", v["zeroes"]]], ("weights",))


@collector
def threshold_biases(threshold_prune, v) -> dict:
    return _cases(threshold_prune, [["cartpole-dqn", v["biases"]], ["lunarlander-ppo", v["biases"]]], ("biases",))


@collector
def threshold_conv(threshold_prune, v) -> dict:
    return _cases(threshold_prune, [["minigrid-ppo", v["conv"]]], ("masks", "weights"))


@collector
def threshold_ties(threshold_prune, v) -> dict:
    model = c.agent("cartpole-dqn")
    c.set_weights(model, tie_grid(c.weights(model), v["ties_grid"]))
    out = h.call(threshold_prune, model, v["ties_k"] / v["ties_grid"])
    return h.outcome_data(out, after=c.weights(model), **c.mask_record(out.result))


@collector
def global_threshold(global_threshold, v) -> dict:
    runs = []
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        model = c.agent(name)
        got = []
        for sparsity in v["global"]:
            out = h.call(global_threshold, model, sparsity)
            t = c.arr(out.result, float) if out.result is not None else None
            got.append(float(t.reshape(-1)[0]) if t is not None and t.size == 1 else
                       {"not_a_float": type(out.result).__name__})
            if out.stopped:
                runs.append({"name": name, "thresholds": got, "after": c.params(model)})
                return h.outcome_data(out, runs=runs)
        runs.append({"name": name, "thresholds": got, "after": c.params(model)})
    return h.outcome_data(out, runs=runs)
