"""Exercise 2 collectors: ``neuron_scores(model, layer)`` and ``prune_neurons(model, layer, n)``."""
from __future__ import annotations

from . import common as c
from . import harness as h

collector = h.collector("ex2")


def _scores(fn, cases) -> dict:
    runs = []
    for name, layers in cases:
        model = c.agent(name)
        for layer in layers:
            out = h.call(fn, model, layer)
            runs.append({"name": name, "layer": layer, "scores": c.arr(out.result, "float64")})
            if out.stopped:
                return h.outcome_data(out, runs=runs)
    return h.outcome_data(out, runs=runs)


@collector
def scores_mlp(neuron_scores, v) -> dict:
    return _scores(neuron_scores, [("cartpole-dqn", (0, 1)), ("lunarlander-ppo", (0, 1, 2))])


@collector
def scores_conv(neuron_scores, v) -> dict:
    return _scores(neuron_scores, [("minigrid-ppo", (0, 1, 2))])


def _prune(fn, name: str, layer: int, n: int, obs_seed: int) -> tuple:
    """Run prune_neurons once per (function, case); keep only plain data about what it did and returned."""
    def compute():
        model = c.agent(name)
        out = h.call(fn, model, layer, n)
        new = out.result
        data = {"name": name, "layer": layer, "n": n, "input_after": c.params(model),
                "returned": type(new).__name__, "framework_ok": c.framework_ok(new), "same": new is model}
        if data["framework_ok"] and not data["same"]:
            view = c.layers(new)
            data.update(weights=[x["weight"] for x in view], biases=[x["bias"] for x in view])
            data["outputs"], data["outputs_error"] = c.outputs(new, c.observations(name, 64, obs_seed))
        return out, data

    return h.cached(("prune_neurons", fn, name, layer, n, obs_seed), compute)


def _pruned(fn, cases, v, keys) -> dict:
    runs = []
    for name, layer, n in cases:
        out, data = _prune(fn, name, layer, n, v["obs_seed"])
        runs.append({k: data[k] for k in ("name", "layer", "n", "returned", "framework_ok", "same", *keys)
                     if k in data})
        if out.stopped:
            break
    return h.outcome_data(out, runs=runs)


@collector
def prune_shapes(prune_neurons, v) -> dict:
    return _pruned(prune_neurons, v["mlp"], v, ("weights", "biases"))


@collector
def prune_conv_shapes(prune_neurons, v) -> dict:
    return _pruned(prune_neurons, v["conv"], v, ("weights", "biases"))


@collector
def prune_which(prune_neurons, v) -> dict:
    return _pruned(prune_neurons, v["mlp"], v, ("weights", "biases"))


@collector
def prune_outputs(prune_neurons, v) -> dict:
    return _pruned(prune_neurons, v["mlp"], v, ("outputs", "outputs_error"))


@collector
def prune_conv_outputs(prune_neurons, v) -> dict:
    return _pruned(prune_neurons, v["conv"], v, ("outputs", "outputs_error"))


@collector
def prune_input_unchanged(prune_neurons, v) -> dict:
    return _pruned(prune_neurons, v["mlp"] + v["conv"][:1], v, ("input_after",))
