"""Exercise 4 collectors: ``sparsity_sweep`` and ``finetune_pruned`` (masks watched after every optimizer step)."""
from __future__ import annotations

from . import common as c
from . import harness as h
from ..protocol import env_of

collector = h.collector("ex4")
SWEEP_COLUMNS = ["sparsity", "achieved_sparsity", "mean_return", "std_return"]


def _sweep(fn, v):
    def compute():
        model = c.agent(v["agent"])
        spies = c.Spies(evaluate=True)
        out = h.call(fn, model, env_of(v["agent"]), list(v["sweep"]), v["episodes"], v["seed"], spies=spies)
        data = {"table": c.table_record(out.result, SWEEP_COLUMNS), "input_after": c.params(model),
                "evaluations": spies.evaluations}
        return out, data

    return h.cached(("sweep", fn), compute)


def _sweep_data(fn, v, *keys) -> dict:
    out, data = _sweep(fn, v)
    return h.outcome_data(out, **{k: data[k] for k in keys})


@collector
def sweep_table(sparsity_sweep, v) -> dict:
    return _sweep_data(sparsity_sweep, v, "table")


@collector
def sweep_sparsity(sparsity_sweep, v) -> dict:
    return _sweep_data(sparsity_sweep, v, "table", "evaluations")


@collector
def sweep_returns(sparsity_sweep, v) -> dict:
    return _sweep_data(sparsity_sweep, v, "table", "evaluations")


@collector
def sweep_unchanged(sparsity_sweep, v) -> dict:
    return _sweep_data(sparsity_sweep, v, "input_after")


def _finetune(fn, v):
    def compute():
        case = v["finetune"]
        model = c.agent(v["agent"])
        w = c.weights(model)
        masks = h.MAGNITUDE_MASKS(w, case["sparsity"])  # the input: a globally pruned agent
        c.set_weights(model, {k: a * masks[k] for k, a in w.items()})
        spies = c.Spies(finetune=True, mask_probe=masks)
        out = h.call(fn, model, {k: m.copy() for k, m in masks.items()}, env_of(v["agent"]), case["steps"],
                     case["seed"], spies=spies)
        result = out.result
        data = {"returned": type(result).__name__, "framework_ok": c.framework_ok(result), "finetunes": spies.finetunes,
                "weights": c.weights(result) if c.framework_ok(result) else None}
        return out, data

    return h.cached(("finetune", fn), compute)


@collector
def finetune_masks(finetune_pruned, v) -> dict:
    out, data = _finetune(finetune_pruned, v)
    return h.outcome_data(out, **data)


@collector
def finetune_trains(finetune_pruned, v) -> dict:
    out, data = _finetune(finetune_pruned, v)
    return h.outcome_data(out, **data)
