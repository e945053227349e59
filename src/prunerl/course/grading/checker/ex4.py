"""Exercise 4 verdicts: the sparsity sweep (re-evaluated here) and mask-holding fine-tuning."""
from __future__ import annotations

import numpy as np

from prunerl.course.grading.protocol import env_of

from . import oracles as o
from .judges import judge


def table(rec, columns: list[str], func: str) -> dict:
    t = rec["table"]
    if t["type"] != "DataFrame":
        o.fail(f"{func} returned {t['type']}; expected a pandas DataFrame")
    missing = [col for col in columns if col not in t["columns"]]
    if missing:
        o.fail(f"{func}'s DataFrame lacks column(s) {missing}; it has {t['columns']}")
    return t["data"]


@judge("sweep_table")
def sweep_table(rec, v, fw):
    data = table(rec, ["sparsity", "achieved_sparsity", "mean_return", "std_return"], "sparsity_sweep")
    got = data["sparsity"]
    if isinstance(got, list) or len(got) != len(v["sweep"]) or not np.allclose(got, v["sweep"]):
        o.fail(f"sparsity_sweep(..., sparsities={v['sweep']}) gave rows for {list(got)}; expected one row per "
               "requested sparsity, in the order given")


@judge("sweep_sparsity")
def sweep_sparsity(rec, v, fw):
    data = table(rec, ["sparsity", "achieved_sparsity"], "sparsity_sweep")
    n = sum(a.size for a in o.weights(v["agent"], fw).values())
    if len(data["achieved_sparsity"]) != len(v["sweep"]):
        o.fail(f"sparsity_sweep gave {len(data['achieved_sparsity'])} rows; expected one per requested sparsity")
    for s, achieved in zip(data["sparsity"], data["achieved_sparsity"]):
        expected = int(round(s * n)) / n
        if abs(float(achieved) - expected) > 1e-9:
            o.fail(f"row sparsity={s}: achieved_sparsity is {float(achieved):.6f}; pruning a fresh copy of the agent "
                   f"globally to {s} leaves {expected:.6f} of the weights at zero")
    evaluated = [e["weights"] for e in rec["evaluations"] if e["weights"] is not None]
    for s in v["sweep"]:
        target = o.globally_pruned(v["agent"], fw, s)
        if not any(all(k in w and np.array_equal(w[k], a) for k, a in target.items()) for w in evaluated):
            seen = ", ".join(f"{o.sparsity(w):.3f}" for w in evaluated)
            o.fail(f"no evaluated model is the agent globally magnitude-pruned to {s} (the models evaluated had "
                   f"sparsities {seen or 'none'}); prune a fresh copy for every sparsity and evaluate it")


@judge("sweep_returns")
def sweep_returns(rec, v, fw):
    """Each row's numbers must be the checker's own seeded evaluation of the model that row describes: a model the
    function evaluated with the row's zeros fraction, or (if it evaluated none) a fresh copy pruned globally."""
    data = table(rec, ["sparsity", "achieved_sparsity", "mean_return", "std_return"], "sparsity_sweep")
    env_id, episodes, seed = env_of(v["agent"]), v["episodes"], v["seed"]
    if isinstance(data["mean_return"], list) or len(data["mean_return"]) != len(v["sweep"]):
        o.fail(f"sparsity_sweep gave {len(data['mean_return'])} rows; expected one per requested sparsity")
    evaluated = [e for e in rec["evaluations"] if e["weights"] is not None and e["env_id"] == env_id
                 and e["episodes"] == episodes and e["seed"] == seed]
    for s, achieved, mean, std in zip(data["sparsity"], data["achieved_sparsity"], data["mean_return"],
                                      data["std_return"]):
        models = ([e["weights"] for e in evaluated if abs(o.sparsity(e["weights"]) - float(achieved)) < 1e-9]
                  if rec["evaluations"] else [o.globally_pruned(v["agent"], fw, float(s))])
        results = [o.evaluate(v["agent"], fw, w, episodes, seed) for w in models]
        if not any(np.isclose(r.mean, mean) and np.isclose(r.std, std) for r in results):
            shown = ", ".join(f"{r.mean:.3f} / {r.std:.3f}" for r in results) or "no such evaluation was made"
            o.fail(f"row sparsity={s}: mean_return {mean:.3f} / std_return {std:.3f} are not the result of "
                   f"prunerl.evaluate(the pruned copy, {env_id!r}, episodes={episodes}, seed={seed}) ({shown})")


@judge("sweep_unchanged")
def sweep_unchanged(rec, v, fw):
    before, after = o.params(v["agent"], fw), rec["input_after"]
    changed = [k for k, a in before.items() if k not in after or not np.array_equal(after[k], a)]
    if changed:
        o.fail(f"sparsity_sweep changed the agent it was given ({', '.join(changed)}); prune copies")


def _returned(rec, v, fw):
    if not rec["framework_ok"]:
        o.fail(f"finetune_pruned returned {rec['returned']}; expected the fine-tuned agent")
    w, agent = rec["weights"], o.weights(v["agent"], fw)
    if set(w) != set(agent) or any(w[k].shape != a.shape for k, a in agent.items()):
        o.fail("the returned agent does not have the agent's architecture")
    return w


@judge("finetune_masks")
def finetune_masks(rec, v, fw):
    w = _returned(rec, v, fw)
    masks = o.global_masks(o.weights(v["agent"], fw), v["finetune"]["sparsity"])
    revived = {k: int(np.count_nonzero(w[k][~m])) for k, m in masks.items()}
    if sum(revived.values()):
        detail = ", ".join(f"{k}: {n}" for k, n in revived.items() if n)
        o.fail(f"after fine-tuning, {sum(revived.values())} pruned weights are non-zero ({detail}); Adam's momentum "
               "moves them: re-apply the masks after every optimizer step")
    for r in rec["finetunes"]:
        if r["violations"]:
            step, bad = r["first_violation"]
            o.fail(f"the masks were not held during fine-tuning: after optimizer step {step}, {bad} pruned weights "
                   f"were non-zero ({r['violations']} of {r['calls']} steps); re-apply the masks in the callback, "
                   "after every optimizer step")


@judge("finetune_trains")
def finetune_trains(rec, v, fw):
    w = _returned(rec, v, fw)
    case = v["finetune"]
    start = o.globally_pruned(v["agent"], fw, case["sparsity"])
    masks = o.global_masks(o.weights(v["agent"], fw), case["sparsity"])
    if sum(int((w[k][masks[k]] != start[k][masks[k]]).sum()) for k in start) == 0:
        o.fail("no surviving weight changed: the returned agent was not fine-tuned")
    records = rec["finetunes"]
    env_id, steps, seed = env_of(v["agent"]), case["steps"], case["seed"]
    if records and not any(r["env_id"] == env_id and r["steps"] == steps and r["seed"] == seed for r in records):
        calls = "; ".join(f"{r['env_id']}, steps={r['steps']}, seed={r['seed']}" for r in records)
        o.fail(f"prunerl.finetune was called with ({calls}); expected the env_id, steps and seed given to "
               f"finetune_pruned ({env_id!r}, {steps}, {seed})")
