"""Exercise 5 collectors: the polynomial schedule, ``prune(model, strategy, sparsity, seed)``, the comparison
table (with the gradual strategy watched during fine-tuning) and the plot."""
from __future__ import annotations

import numpy as np

from . import common as c
from . import harness as h
from ..protocol import env_of, plot_rows, summary_rows

collector = h.collector("ex5")
TABLE_COLUMNS = ["strategy", "sparsity", "seed", "mean_return"]


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

    out = h.call(summarize_comparison, pd.DataFrame(summary_rows(v["summary_seed"])))
    columns = ["strategy", "sparsity", "n_seeds", "iqm", "ci_low", "ci_high", "band"]
    return h.outcome_data(out, table=c.table_record(out.result, columns))


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
