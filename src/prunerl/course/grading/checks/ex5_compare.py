"""Exercise 5 collectors: the polynomial schedule, ``prune(model, strategy, sparsity, seed)``, the comparison
table (with the gradual strategy watched during fine-tuning), the summary, the paired decision and the plot."""
from __future__ import annotations

import numpy as np

from . import common as c
from . import harness as h
from ..protocol import decide_rows, env_of, plot_rows, summary_rows

collector = h.collector("ex5")
TABLE_COLUMNS = ["strategy", "sparsity", "achieved_sparsity", "train_steps", "seed", "mean_return"]
SUMMARY_COLUMNS = ["strategy", "sparsity", "train_steps", "achieved_sparsity", "n_seeds", "median", "ci_low",
                   "ci_high", "level", "reached", "rate_low", "rate_high", "form", "band"]
VERDICT_KEYS = ("median_diff", "low", "high", "level", "p_improvement")


@collector
def schedule(polynomial_sparsity, v) -> dict:
    got = []
    for initial, final, begin, end, power in v["schedule"]:
        for step in np.linspace(begin, end, 11).astype(int):
            kwargs = {} if power == 3 else {"power": power}
            out = h.call(polynomial_sparsity, int(step), initial, final, begin, end, **kwargs)
            got.append(c.num(out.result))
            if out.stopped:
                return h.outcome_data(out, values=got)
    return h.outcome_data(out, values=got)


@collector
def schedule_hold(polynomial_sparsity, v) -> dict:
    initial, final, begin, end = v["hold"]
    got = []
    for step in (0, begin - 1, end + 100, end * 10):
        out = h.call(polynomial_sparsity, step, initial, final, begin, end)
        got.append(c.num(out.result))
        if out.stopped:
            break
    return h.outcome_data(out, values=got)


def _prune_runs(fn, runs_wanted) -> dict:
    runs = []
    for name, strategy, sparsity, seed in runs_wanted:
        model = c.agent(name)
        out = h.call(fn, model, strategy, sparsity, seed)
        runs.append({"name": name, "strategy": strategy, "sparsity": sparsity, "seed": seed,
                     "after": c.weights(model), "params_after": c.params(model), **c.mask_record(out.result)})
        if out.stopped:
            break
    return h.outcome_data(out, runs=runs)


AGENTS = ("cartpole-dqn", "lunarlander-ppo")


@collector
def prune_random(prune, v) -> dict:
    s, seed = v["random"]["sparsity"], v["random"]["seed"]
    return _prune_runs(prune, [(n, "random", s, d) for n in AGENTS for d in (seed, seed, seed + 1)])


@collector
def prune_layerwise(prune, v) -> dict:
    return _prune_runs(prune, [(n, "layerwise_magnitude", v["layerwise"], 0) for n in AGENTS])


@collector
def prune_global(prune, v) -> dict:
    return _prune_runs(prune, [(n, "global_magnitude", v["global"], 0) for n in AGENTS])


@collector
def prune_structured(prune, v) -> dict:
    return _prune_runs(prune, [(n, "l1_structured", v["structured"], 0) for n in AGENTS])


@collector
def compare_table(compare_strategies, prune, v) -> dict:
    case = v["compare"]
    name = case["agent"]
    model = c.agent(name)
    spies = c.Spies(evaluate=True)
    out = h.call(compare_strategies, model, env_of(name), list(case["strategies"]), list(case["sparsities"]),
                 list(case["seeds"]), case["episodes"], spies=spies)
    table = c.table_record(out.result, TABLE_COLUMNS)
    evaluations = [{k: e[k] for k in ("env_id", "episodes", "seed", "mean")} | {"digest": c.digest(e["weights"])}
                   for e in spies.evaluations if e["weights"] is not None]
    data = {"table": table, "input_after": c.params(model), "pruned": [], "evaluations": evaluations}
    if out.stopped or table["type"] != "DataFrame" or any(col not in table["data"] for col in TABLE_COLUMNS):
        return h.outcome_data(out, **data)
    for strategy, sparsity, seed in zip(table["data"]["strategy"], table["data"]["sparsity"], table["data"]["seed"]):
        twin = c.agent(name)  # what the learner's own prune makes of this row's (strategy, sparsity, seed)
        again = h.call(prune, twin, strategy, float(sparsity), int(seed))
        if again.stopped:
            return h.outcome_data(again, **data)
        data["pruned"].append(c.weights(twin))
    return h.outcome_data(out, **data)


@collector
def compare_gradual(compare_strategies, v) -> dict:
    case = v["gradual"]
    name = v["compare"]["agent"]
    model = c.agent(name)
    spies = c.Spies(evaluate=True, finetune=True, sparsity_every=5, keep_params=True)
    out = h.call(compare_strategies, model, env_of(name), ["gradual"], [case["sparsity"]], [case["seed"]],
                 v["compare"]["episodes"], gradual_steps=case["steps"], spies=spies)
    final = [e for e in spies.evaluations if e["weights"] is not None]
    return h.outcome_data(out, table=c.table_record(out.result, TABLE_COLUMNS), finetunes=spies.finetunes,
                          final=final[-1] if final else None)


@collector
def summary(summarize_comparison, v) -> dict:
    import pandas as pd

    from prunerl.zoo import recipe

    out = h.call(summarize_comparison, pd.DataFrame(summary_rows(v["summary_seed"])),
                 recipe(v["compare"]["agent"]).return_bar)
    return h.outcome_data(out, table=c.table_record(out.result, SUMMARY_COLUMNS))


def _verdict(result) -> dict | None:
    """``decide``'s dict as plain numbers and the winner's name (None when it is not a mapping of that form)."""
    try:
        data = {k: c.num(result[k]) for k in VERDICT_KEYS}
        winner = result["winner"]
    except Exception:  # noqa: BLE001 (whatever the learner returned is not the contract's dict)
        return None
    return data | {"winner": None if winner is None else str(winner)}


def _decisions(decide, v, which: str) -> tuple[list[dict], h.Outcome | None]:
    """Each ``(a, b, sparsity)`` case of ``v["decide"][which]`` on :func:`decide_rows`' table: the error ``decide``
    raised (and whether it was a ValueError) or its verdict; stops at a replaced course function."""
    import pandas as pd

    table = pd.DataFrame(decide_rows(v["decide"]["seed"]))
    got = []
    for a, b, sparsity in v["decide"][which]:
        out = h.call(decide, table.copy(), a, b, sparsity)
        if out.tampered:
            return got, out
        got.append({"error": out.error, "value_error": isinstance(out.exc, ValueError),
                    "verdict": _verdict(out.result)})
    return got, None


@collector
def decide(decide, v) -> dict:
    fair, stopped = _decisions(decide, v, "fair")
    if stopped:
        return h.outcome_data(stopped)
    return {"error": next((d["error"] for d in fair if d["error"]), None), "tampered": [], "calls": [], "fair": fair}


@collector
def decide_fair(decide, v) -> dict:
    unfair, stopped = _decisions(decide, v, "unfair")
    fair, stopped = _decisions(decide, v, "fair") if stopped is None else ([], stopped)
    if stopped:
        return h.outcome_data(stopped)
    return {"error": None, "tampered": [], "calls": [], "unfair": unfair, "fair": fair}


@collector
def plot(plot_comparison, v) -> dict:
    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd

    out = h.call(plot_comparison, pd.DataFrame(plot_rows(v["plot_seed"])))
    fig = out.result
    data = {"figure": isinstance(fig, matplotlib.figure.Figure), "returned": type(fig).__name__, "axes": 0,
            "lines": [], "bands": 0}
    if data["figure"]:
        axes = fig.get_axes()
        data["axes"] = len(axes)
        data["lines"] = [{"label": str(line.get_label()), "x": c.arr(line.get_xdata(), "float64"),
                          "y": c.arr(line.get_ydata(), "float64")} for ax in axes for line in ax.get_lines()]
        collections = [col for ax in axes for col in ax.collections]
        kinds = [type(col).__name__ for col in collections]
        data["bands"] = sum(kind in ("PolyCollection", "FillBetweenPolyCollection") for kind in kinds)
        data["points"] = sum(len(col.get_offsets()) for col in collections if type(col).__name__ == "PathCollection")
        suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
        data["titles"] = [str(ax.get_title()) for ax in axes] + [str(suptitle)]
        plt.close(fig)
    return h.outcome_data(out, **data)
