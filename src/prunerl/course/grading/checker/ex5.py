"""Exercise 5 verdicts: the TFMOT schedule, the four pruning strategies, the comparison table (achieved sparsity
and training budget of every row), the summary (median, order-statistic interval at its level, the bar rate), the
paired decision at equal budget and achieved sparsity, and the plot."""
from __future__ import annotations

import numpy as np

import prunerl
from prunerl import stats
from prunerl.course.grading.protocol import digest
from prunerl.course.grading.protocol import decide_rows, env_of, plot_rows, summary_rows

from . import oracles as o
from .ex4 import table
from .judges import judge

TABLE = ["strategy", "sparsity", "achieved_sparsity", "train_steps", "seed", "mean_return"]
SPARSITY_TOLERANCE = 0.01  # the notebook's constants: arms within it are at the same achieved sparsity
MIN_LEVEL = 0.90  # a paired interval below this level decides nothing


@judge("schedule")
def schedule(rec, v, fw):
    got = iter(rec["values"])
    for initial, final, begin, end, power in v["schedule"]:
        for step in np.linspace(begin, end, 11).astype(int):
            value = next(got, None)
            expected = o.tfmot_polynomial(int(step), initial, final, begin, end, power)
            if value is None or not np.isclose(value, expected, rtol=0, atol=1e-9):
                shown = "not a number" if value is None else f"{value:.6f}"
                o.fail(f"polynomial_sparsity(step={step}, initial={initial}, final={final}, begin_step={begin}, "
                       f"end_step={end}{'' if power == 3 else f', power={power}'}) = {shown}; expected {expected:.6f}")


@judge("schedule_hold")
def schedule_hold(rec, v, fw):
    initial, final, begin, end = v["hold"]
    for step, expected, value in zip((0, begin - 1, end + 100, end * 10), (initial, initial, final, final),
                                     rec["values"] + [None] * 4):
        if value is None or not np.isclose(value, expected, rtol=0, atol=1e-12):
            o.fail(f"polynomial_sparsity(step={step}, initial={initial}, final={final}, begin_step={begin}, "
                   f"end_step={end}) = {value}; outside [begin_step, end_step] the schedule holds its end value "
                   f"({expected})")


def _runs(rec, fw, n: int = 2):
    """Each prune run's boolean masks, after checking the model holds the weights with those masks applied."""
    out = []
    for run in o.runs(rec, n, "prune"):
        name, strategy, sparsity = run["name"], run["strategy"], run["sparsity"]
        before = o.weights(name, fw)
        masks = {k: m.astype(bool) for k, m in o.mask_dict(run, list(before), f"prune(..., {strategy!r})").items()}
        for k, w in before.items():
            if masks[k].shape != w.shape or not np.array_equal(run["after"][k], np.where(masks[k], w, 0)):
                o.fail(f"{name}, {strategy} at {sparsity}: the model's {k} is not the original weight with the "
                       "returned mask's False entries zeroed")
        if any(not np.array_equal(run["params_after"].get(k), b) for k, b in o.biases(name, fw).items()):
            o.fail(f"{name}, {strategy}: a bias changed; biases are never pruned")
        out.append((name, before, masks))
    return out


@judge("prune_random")
def prune_random(rec, v, fw):
    runs = _runs(rec, fw, 6)
    s = v["random"]["sparsity"]
    for i in range(0, len(runs), 3):
        name, before, masks = runs[i]
        for k, w in before.items():
            expected = int(round(s * w.size))
            if int((~masks[k]).sum()) != expected:
                o.fail(f"{name}, random at {s}: {k} has {int((~masks[k]).sum())} pruned entries; expected {expected} "
                       f"(round({s} * {w.size}) in every layer)")
        again, other = runs[i + 1][2], runs[i + 2][2]
        if any(not np.array_equal(again[k], masks[k]) for k in masks):
            o.fail(f"{name}: random pruning with the same seed gave different masks; seed the generator")
        if all(np.array_equal(other[k], masks[k]) for k in masks):
            o.fail(f"{name}: random pruning gave the same masks for two different seeds")


@judge("prune_layerwise")
def prune_layerwise(rec, v, fw):
    s = v["layerwise"]
    for name, before, masks in _runs(rec, fw):
        for k, w in before.items():
            expected = o.global_masks({k: w}, s)[k]
            if not np.array_equal(masks[k], expected):
                o.fail(f"{name}, layerwise_magnitude at {s}: {k}'s mask prunes {int((~masks[k]).sum())} entries, "
                       f"{int((masks[k] != expected).sum())} differ from the {int((~expected).sum())} smallest-|w| "
                       "entries of that layer")


@judge("prune_global")
def prune_global(rec, v, fw):
    s = v["global"]
    for name, before, masks in _runs(rec, fw):
        expected = o.global_masks(before, s)
        if any(not np.array_equal(masks[k], expected[k]) for k in before):
            per_layer = ", ".join(f"{n}: {float((~masks[n]).mean()):.3f}" for n in before)
            want = ", ".join(f"{n}: {float((~expected[n]).mean()):.3f}" for n in before)
            o.fail(f"{name}, global_magnitude at {s}: per-layer pruned fractions are {per_layer}; expected {want} "
                   "(one threshold for all layers pooled)")


@judge("prune_structured")
def prune_structured(rec, v, fw):
    s = v["structured"]
    for name, before, masks in _runs(rec, fw):
        names = list(before)
        for i, k in enumerate(names):
            m, w = o.to_torch_layout(k, masks[k]), o.to_torch_layout(k, before[k])
            if i == len(names) - 1:
                if not m.all():
                    o.fail(f"{name}, l1_structured: the output layer {k} was pruned; every output is an action and "
                           "stays")
                continue
            rows = m.reshape(len(m), -1)
            if not np.all(rows.all(1) | ~rows.any(1)):
                o.fail(f"{name}, l1_structured: {k} has units only partly pruned; structured pruning removes whole "
                       "units (all incoming weights of a unit)")
            removed = np.flatnonzero(~rows.any(1))
            expected = np.sort(np.argsort(o.unit_scores(w), kind="stable")[:int(round(s * len(w)))])
            if not np.array_equal(removed, expected):
                o.fail(f"{name}, l1_structured at {s}: {k} prunes {len(removed)} units; expected the {len(expected)} "
                       f"with the smallest L1 norm of incoming weights ({len(np.setdiff1d(removed, expected))} wrong)")


@judge("compare_table")
def compare_table(rec, v, fw):
    case = v["compare"]
    name, strategies, sparsities, seeds = case["agent"], case["strategies"], case["sparsities"], case["seeds"]
    data = table(rec, TABLE, "compare_strategies")
    rows = list(zip(data["strategy"], data["sparsity"], data["seed"], data["mean_return"]))
    if len(rows) != len(strategies) * len(sparsities) * len(seeds):
        o.fail(f"compare_strategies gave {len(rows)} rows; expected one per (strategy, sparsity, seed): "
               f"{len(strategies)} x {len(sparsities)} x {len(seeds)}")
    combos = {(str(s), float(p), int(d)) for s, p, d, _ in rows}
    wanted = {(s, float(p), int(d)) for s in strategies for p in sparsities for d in seeds}
    if combos != wanted:
        o.fail(f"compare_strategies rows miss {sorted(wanted - combos)[:3]}")
    after = rec["input_after"]
    if any(k not in after or not np.array_equal(after[k], a) for k, a in o.params(name, fw).items()):
        o.fail("compare_strategies changed the agent it was given; prune copies")
    evaluations = rec["evaluations"]
    if len(rec["pruned"]) != len(rows):
        o.fail("prune was not run again on every row of the table (compare_strategies failed part-way?)")
    for (strategy, sparsity, seed, mean), pruned, achieved, steps in zip(rows, rec["pruned"],
                                                                       data["achieved_sparsity"], data["train_steps"]):
        if steps != 0:
            o.fail(f"row ({strategy}, {sparsity}, seed {int(seed)}): train_steps = {steps}; one-shot pruning trains "
                   "for 0 steps, and the table must say each arm's budget so that only equal budgets are compared")
        if not np.isclose(achieved, o.sparsity(pruned), rtol=0, atol=1e-9):
            o.fail(f"row ({strategy}, {sparsity}, seed {int(seed)}): achieved_sparsity = {achieved:.4f}; the copy "
                   f"evaluated has {o.sparsity(pruned):.4f} of its prunable weights at exactly zero (that fraction "
                   "is the achieved sparsity, not the level asked for)")
        episodes, first = case["episodes"], stats.episode_seed(int(seed))
        call = (f"prunerl.evaluate(copy pruned by prune(copy, {strategy!r}, {sparsity}, {int(seed)}), "
                f"{env_of(name)!r}, episodes={episodes}, seed=prunerl.stats.episode_seed({int(seed)}) = {first})")
        mine = [e for e in evaluations if e["digest"] == digest(pruned)]
        if evaluations and not any(e["seed"] == first and e["episodes"] == episodes for e in mine):
            used = sorted({e["seed"] for e in mine})
            o.fail(f"row ({strategy}, {sparsity}, seed {int(seed)}) was evaluated with reset seed(s) {used}; expected "
                   f"{call}: each seed plays its own episodes, or the seeds are not independent")
        result = o.evaluate(name, fw, pruned, episodes, first)
        if not np.isclose(result.mean, mean):
            o.fail(f"row ({strategy}, {sparsity}, seed {int(seed)}): mean_return {mean:.3f} is not {call}, which "
                   f"gives {result.mean:.3f}")


@judge("compare_gradual")
def compare_gradual(rec, v, fw):
    case, name, episodes = v["gradual"], v["compare"]["agent"], v["compare"]["episodes"]
    sparsity, seed, steps = case["sparsity"], case["seed"], case["steps"]
    data = table(rec, TABLE, "compare_strategies")
    if len(data["strategy"]) != 1 or data["strategy"][0] != "gradual":
        o.fail(f"compare_strategies(..., ['gradual'], [{sparsity}], [{seed}]) gave {len(data['strategy'])} rows; "
               "expected one 'gradual' row")
    if not rec["finetunes"]:
        o.fail("the 'gradual' strategy did not call prunerl.finetune; it prunes during fine-tuning")
    ft = rec["finetunes"][-1]
    if ft["steps"] != steps or not ft["callback"]:
        o.fail(f"'gradual' called prunerl.finetune with steps={ft['steps']} and {'a' if ft['callback'] else 'no'} "
               f"callback; expected steps=gradual_steps={steps} and a callback that prunes on the schedule")
    trace = ft["sparsity"]
    values = [s for _, s in trace]
    if len(values) < 3 or values[0] >= sparsity - 0.05 or any(b < a - 1e-9 for a, b in zip(values, values[1:])):
        shown = ", ".join(f"step {st}: {s:.3f}" for st, s in trace[:: max(1, len(trace) // 6)])
        o.fail(f"during 'gradual' fine-tuning the sparsity went {shown}; expected it to rise gradually (never "
               f"falling) from near 0 towards {sparsity} on the polynomial schedule")
    agent = o.weights(name, fw)
    n = sum(a.size for a in agent.values())
    expected = int(round(sparsity * n)) / n
    final = rec["final"]
    got = o.sparsity(final["weights"]) if final else float("nan")
    if not final or abs(got - expected) * n > len(agent):  # per-layer rounding may move a weight per layer
        o.fail(f"the 'gradual' model evaluated has sparsity {got:.4f}; expected exactly {expected:.4f} (the final "
               "sparsity) at the end of fine-tuning")
    if data["train_steps"][0] != steps:
        o.fail(f"the 'gradual' row says train_steps = {data['train_steps'][0]:g}; it fine-tuned for gradual_steps = "
               f"{steps} env steps, and a trained arm must carry its budget so it is never ranked with one-shot arms "
               "(0 steps)")
    if not np.isclose(data["achieved_sparsity"][0], got, rtol=0, atol=1e-9):
        o.fail(f"the 'gradual' row's achieved_sparsity {data['achieved_sparsity'][0]:.4f} is not the fraction of "
               f"zero prunable weights of the model it evaluated ({got:.4f})")
    first = stats.episode_seed(seed)
    result = prunerl.evaluate(o.with_params(name, fw, final["params"]), env_of(name), episodes=episodes, seed=first)
    if final["seed"] != first or not np.isclose(result.mean, data["mean_return"][0]):
        o.fail(f"the 'gradual' row's mean_return {data['mean_return'][0]:.3f} (reset seed {final['seed']}) is not the "
               f"evaluation (episodes={episodes}, seed=prunerl.stats.episode_seed({seed}) = {first}) of the gradually "
               f"pruned model ({result.mean:.3f})")


DETERMINISTIC = ("layerwise_magnitude", "global_magnitude", "l1_structured")


@judge("summary")
def summary(rec, v, fw):
    from prunerl.zoo import recipe

    columns = ["strategy", "sparsity", "train_steps", "achieved_sparsity", "n_seeds", "median", "ci_low", "ci_high",
               "level", "reached", "rate_low", "rate_high", "form", "band"]
    data = table(rec, columns, "summarize_comparison")
    keys = zip(data["strategy"], data["sparsity"], data["train_steps"])
    got = {(str(s), round(float(p), 9), float(t)): i for i, (s, p, t) in enumerate(keys)}
    groups: dict = {}
    for r in summary_rows(v["summary_seed"]):
        groups.setdefault((r["strategy"], round(r["sparsity"], 9), float(r["train_steps"])), []).append(r)
    if set(got) != set(groups):
        o.fail(f"summarize_comparison gave rows for {sorted(got)}; expected one per (strategy, sparsity, "
               f"train_steps): {sorted(groups)}")
    bar = recipe(v["compare"]["agent"]).return_bar
    for (strategy, sparsity, _), rows in groups.items():
        i = got[(strategy, sparsity, rows[0]["train_steps"])]
        values = [r["mean_return"] for r in rows]
        s = stats.summarize(values, bar=bar)
        expected = {"n_seeds": s["n"], "median": s["median"], "ci_low": s["low"], "ci_high": s["high"],
                    "level": s["level"], "reached": s["reached"], "rate_low": s["rate_low"],
                    "rate_high": s["rate_high"], "achieved_sparsity": np.mean([r["achieved_sparsity"] for r in rows])}
        shown = {k: data[k][i] if isinstance(data[k], list) else float(data[k][i]) for k in expected}
        wrong = [k for k, x in expected.items() if isinstance(shown[k], str) or not np.isclose(shown[k], x, rtol=1e-6)]
        if wrong:
            o.fail(f"({strategy}, {sparsity}) over {len(values)} seeds with returns {[round(x, 2) for x in values]}: "
                   + ", ".join(f"{k} = {shown[k]}, expected {expected[k]:.4g}" for k in wrong)
                   + f" (the median, its order-statistic interval at its exact level and the seeds at or above the "
                   f"bar {bar:g}: prunerl.stats.summarize(values, bar=bar); the old bands, mean ± 1.96·std/√n or a "
                   "bootstrap of the IQM, do not cover what they claim with a few seeds)")
        form = "rate" if len(set(values)) == 1 else "median"
        if data["form"][i] != form:
            o.fail(f"({strategy}, {sparsity}): form is {data['form'][i]!r} for returns {values}; expected {form!r} ("
                   + ("every seed gave the same value: the interval has zero width, the rate is what is true)"
                      if form == "rate" else "the seeds differ: report the median and its interval)"))
        band = stats.EPISODE_NOISE if strategy in DETERMINISTIC else "seeds"
        if data["band"][i] != band:
            o.fail(f"({strategy}, {sparsity}): band is {data['band'][i]!r}; expected {band!r} ("
                   + ("the strategy gives the same network at every seed: only the episodes vary)"
                      if band != "seeds" else "the seed changes the pruned network)"))


def _arms(v, a: str, b: str, sparsity: float) -> tuple[list[dict], list[dict]]:
    """The rows of ``a`` and ``b`` at ``sparsity`` in decide_rows' table, each sorted by seed."""
    rows = decide_rows(v["decide"]["seed"])
    return tuple(sorted((r for r in rows if r["strategy"] == s and np.isclose(r["sparsity"], sparsity)),
                        key=lambda r: r["seed"]) for s in (a, b))


@judge("decide")
def decide(rec, v, fw):
    cases = v["decide"]["fair"]
    if len(rec["fair"]) != len(cases):
        o.fail(f"decide ran on {len(rec['fair'])} of the {len(cases)} comparisons")
    for (a, b, sparsity), got in zip(cases, rec["fair"]):
        call = f"decide(df, {a!r}, {b!r}, {sparsity})"
        if got["verdict"] is None:
            o.fail(f"{call} did not return a dict with median_diff, low, high, level, p_improvement and winner")
        rows_a, rows_b = _arms(v, a, b, sparsity)
        p = stats.paired([r["mean_return"] for r in rows_a], [r["mean_return"] for r in rows_b])
        winner = None if p["level"] < MIN_LEVEL else a if p["low"] > 0 else b if p["high"] < 0 else None
        expected = {"median_diff": p["median_diff"], "low": p["low"], "high": p["high"], "level": p["level"],
                    "p_improvement": p["p_improvement"]}
        shown = got["verdict"]
        wrong = [k for k, x in expected.items() if shown[k] is None or not np.isclose(shown[k], x, rtol=1e-6)]
        if wrong or shown["winner"] != winner:
            o.fail(f"{call} over {len(rows_a)} seeds gave "
                   + ", ".join(f"{k} = {shown[k]}" for k in [*wrong, "winner"])
                   + "; expected " + ", ".join(f"{k} = {expected[k]:.4g}" for k in wrong)
                   + f"{', ' if wrong else ''}winner = {winner!r} (pair the rows by seed, prunerl.stats.paired; a "
                   f"winner only when the interval excludes 0 at a level of at least {MIN_LEVEL})")


@judge("decide_fair")
def decide_fair(rec, v, fw):
    cases = v["decide"]["unfair"]
    if len(rec["unfair"]) != len(cases) or len(rec["fair"]) != len(v["decide"]["fair"]):
        o.fail("decide did not run on every comparison")
    for (a, b, sparsity), got in zip(cases, rec["unfair"]):
        rows_a, rows_b = _arms(v, a, b, sparsity)
        steps = (rows_a[0]["train_steps"], rows_b[0]["train_steps"])
        achieved = [np.mean([r["achieved_sparsity"] for r in rows]) for rows in (rows_a, rows_b)]
        why = (f"unequal budgets: {a} trained {steps[0]} steps, {b} {steps[1]}" if steps[0] != steps[1] else
               f"unequal achieved sparsity: {achieved[0]:.3f} against {achieved[1]:.3f}, more than "
               f"SPARSITY_TOLERANCE = {SPARSITY_TOLERANCE} apart")
        if not got["value_error"]:
            o.fail(f"decide(df, {a!r}, {b!r}, {sparsity}) "
                   + (f"raised {got['error']}" if got["error"] else "compared them")
                   + f"; expected a ValueError ({why}): a fair comparison never ranks such arms together")
    for (a, b, sparsity), got in zip(v["decide"]["fair"], rec["fair"]):
        if got["error"]:
            o.fail(f"decide(df, {a!r}, {b!r}, {sparsity}) on two arms of equal budget and achieved sparsity, run on "
                   f"the same seeds: {got['error']}; expected a decision")


@judge("plot")
def plot(rec, v, fw):
    if not rec["figure"]:
        o.fail(f"plot_comparison returned {rec['returned']}; expected a matplotlib Figure")
    if not rec["axes"]:
        o.fail("the figure has no axes")
    lines = {line["label"]: line for line in rec["lines"]}
    rows = plot_rows(v["plot_seed"])
    strategies = sorted({r["strategy"] for r in rows})
    for strategy in strategies:
        by = {}
        for r in rows:
            if r["strategy"] == strategy:
                by.setdefault(r["sparsity"], []).append(r["mean_return"])
        xs = np.array(sorted(by))
        means = np.array([np.median(by[x]) for x in xs])
        line = lines.get(strategy)
        if line is None:
            o.fail(f"no line labelled {strategy!r}; label each strategy's line with its name (lines found: "
                   f"{sorted(lines)})")
        x, y = line["x"], line["y"]
        order = np.argsort(x)
        if x.shape != xs.shape or not (np.allclose(x[order], xs) and np.allclose(y[order], means)):
            o.fail(f"the {strategy!r} line plots {list(zip(x.round(3), y.round(2)))}; expected the median over seeds "
                   f"at each sparsity {list(zip(xs, means.round(2)))}")
    if rec["bands"] < len(strategies):
        o.fail(f"the figure has {rec['bands']} filled band(s); expected a confidence band per strategy "
               "(e.g. ax.fill_between)")
    if rec["points"] != len(rows):
        o.fail(f"the figure shows {rec['points']} per-seed point(s) (ax.scatter); expected every seed's value: "
               f"{len(rows)} points")
    n_seeds = len({r["seed"] for r in rows})
    if not any(str(n_seeds) in title for title in rec["titles"]):
        o.fail(f"no title says how many seeds the lines summarize ({n_seeds} here); titles: {rec['titles']}")
