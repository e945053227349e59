"""The four-agent tables of docs/claims.md, rendered from ``bench/claims.json`` (written by ``bench_claims.py``).

The page holds each table between ``<!-- claims-table: NAME -->`` and ``<!-- /claims-table: NAME -->``, and quotes
single numbers as ``0.72<!-- bench:cartpole-dqn:kept:50:median -->``. ``python bench/claims_tables.py`` rewrites both
from the JSON file; ``tests/test_claims.py`` checks that doing so changes nothing.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTEFACT = ROOT / "bench" / "claims.json"
PAGE = ROOT / "docs" / "claims.md"
AGENTS = ("cartpole-dqn", "acrobot-dqn", "lunarlander-ppo", "minigrid-ppo")
NOT_SHOWN = "not shown at this budget"
TABLE = re.compile(r"(<!-- claims-table: (?P<name>\w+) -->\n)(?P<body>.*?)(<!-- /claims-table: (?P=name) -->)", re.S)
QUOTED = re.compile(r"(?P<num>[-−]?\d[\d,]*(?:\.\d+)?)(?P<pct>\s?%)?(?P<x>×?)<!--\s*bench:(?P<key>[\w:.\-]+)\s*-->")


LESSONS = ROOT / "docs" / "lesson_numbers.json"


def load(path: Path = ARTEFACT, lessons: Path = LESSONS) -> dict:
    """The bench's values, its run settings as ``run.<name>``, and the lessons' recorded numbers as
    ``lesson.<NN>.<key>``."""
    data = json.loads(path.read_text())
    v = dict(data["values"])
    v.update({f"run.{k}": x for k, x in data["run"].items() if isinstance(x, (int, float))})
    for stem, entry in json.loads(lessons.read_text()).items():
        v.update({f"lesson.{stem[:2]}.{k}": x for k, x in entry["numbers"].items()})
    return v


def summary(values) -> dict:
    """The course's summary of one value per seed (``prunerl.stats.summarize``): ``median``, its order-statistic
    interval ``low``, ``high`` at ``level``, ``n``; where every seed agrees, ``rate_low``: the Clopper-Pearson lower
    bound of the rate of seeds at that value."""
    from prunerl import stats

    s = stats.summarize(values)
    out = {k: s[k] for k in ("median", "low", "high", "level", "n")}
    if s["low"] == s["high"]:
        out["rate_low"] = stats.success_rate(values, s["low"])["rate_low"]
    return out


def cell(v: dict, key: str, digits: int = 2) -> str:
    """Median [order-statistic interval] of one summarised quantity; where every seed gave the same value, that
    value, how many seeds gave it and the Clopper-Pearson lower bound of that rate (never a zero-width band)."""
    median, n = f"{v[key + ':median']:.{digits}f}", f"{v[key + ':n']:.0f}"
    if key + ":rate_low" in v:
        return f"{median} ({n} of {n} seeds; rate ≥ {v[key + ':rate_low']:.2f})"
    return f"{median} [{v[key + ':low']:.{digits}f}, {v[key + ':high']:.{digits}f}]"


def ret(value: float) -> str:
    """A return: one decimal on tasks scored in hundreds, two on MiniGrid's [0, 1]."""
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def x(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}×"


def table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def sweep(v: dict) -> list[str]:
    return sorted({k.split(":")[2] for k in v if ":kept:" in k}, key=int)


def kept_curve(v: dict) -> str:
    levels = sweep(v)
    rows = [[a, *[cell(v, f"{a}:kept:{p}") for p in levels]] for a in AGENTS]
    return table(["agent (one-shot, kept; episode noise only)", *[f"{p} %" for p in levels]], rows)


def compression(v: dict) -> str:
    rows = [[a, x(v[f"{a}:mask_state_ratio:90"]), x(v[f"{a}:csr_over_dense:90"]),
             f"{v[f'{a}:csr_breakeven:all']:.0%}", "yes" if v[f"{a}:curve_monotone:all"] else "no"] for a in AGENTS]
    return table(["agent", "bytes with torch.nn.utils.prune's masks / dense", "CSR bytes / dense at 90 %",
                  "CSR smaller than dense from",
                  "monotone: median kept never rises by more than 0.05 at a higher sparsity"],
                 rows)


def decisions(v: dict) -> str:
    rows = [[a, x(v[f"{a}:masked_speed:batch1"]), x(v[f"{a}:csr_speed:batch1"])] for a in AGENTS]
    rows.append(["one 1024 × 1024 layer (lesson 4's shape)", "",
                 ", ".join(f"{x(v[f'layer1024:csr_speed:{p}'])} at {p} %" for p in ("90", "95", "99"))])
    return table(["network, batch 1", "90 % zero-masked dense: speed vs dense", "90 % in CSR: speed vs dense"],
                 rows)


def selection(v: dict) -> str:
    rows = []
    for a in AGENTS:
        lo, hi = v[f"{a}:selection_chosen_min:all"], v[f"{a}:selection_chosen_max:all"]
        chosen = f"{lo:.0%}" if lo == hi else f"{lo:.0%} to {hi:.0%}"
        rows.append([a, chosen, cell(v, f"{a}:selection_optimism:all", 3)])
    return table(["agent", "sparsest level reaching 90 % kept, chosen per seed",
                  "optimism: kept on the choosing episodes minus kept on fresh ones"], rows)


def lesson_or_not(a: str, owner: str, text: str) -> str:
    return f"{text} (lesson {owner})" if a == "cartpole-dqn" else NOT_SHOWN


def training_cost(v: dict) -> str:
    whole = f"{x(v['lesson.06.small_wall_speedup'], 1)} faster"
    rows = [[a, x(v[f"{a}:masked_update_cost:90"]), f"{v[f'{a}:small_weight_share:all']:.0%}",
             x(v[f"{a}:small_flop_ratio:all"], 1), x(v[f"{a}:small_update_speedup:all"]),
             lesson_or_not(a, "6", whole)] for a in AGENTS]
    return table(["agent", "one update, 90 % masked (mask re-applied): cost vs dense",
                  "smaller dense network: weights kept", "its FLOP ratio", "its update: speed vs dense",
                  "its whole training run"], rows)


def generalisation(v: dict) -> str:
    diff = (f"median {v['lesson.06.generalisation_diff_median']:.1f} [{v['lesson.06.generalisation_diff_low']:.1f}, "
            f"{v['lesson.06.generalisation_diff_high']:.1f}] over {v['lesson.06.seeds']:.0f} seeds, "
            f"{v['lesson.06.generalisation_diff_level']:.1%} order-statistic interval")
    return table(["agent", "pruned + fine-tuned minus dense + fine-tuned, return on unseen variants"],
                 [[a, lesson_or_not(a, "6", diff)] for a in AGENTS])


def before_training(v: dict) -> str:
    arms = ", ".join(f"{name} {v[f'lesson.05.{k}_median']:.1f} [{v[f'lesson.05.{k}_low']:.1f}, "
                     f"{v[f'lesson.05.{k}_high']:.1f}]" for name, k in (("mask at init", "before"),
                                                                        ("dense", "dense")))
    lo, hi = (v[f"lesson.05.{k}"] for k in ("before_low", "before_high"))
    apart = hi < v["lesson.05.dense_low"] or v["lesson.05.dense_high"] < lo
    arms += ", intervals apart" if apart else ", intervals overlap"
    return table(["agent", "one update, 90 % masked: cost vs dense",
                  "return after the same training: median [interval]"],
                 [[a, x(v[f"{a}:masked_update_cost:90"]), lesson_or_not(a, "5", arms)] for a in AGENTS])


def weight_vs_units(v: dict) -> str:
    rows = [[a, f"{v[f'{a}:masked_flops_over_dense:90']:.2f}", x(v[f"{a}:masked_speed:batch1"]),
             x(v[f"{a}:shrunk_flop_ratio:50"]), x(v[f"{a}:shrunk_speed:batch1"]), x(v[f"{a}:shrunk_speed:batch4096"])]
            for a in AGENTS]
    return table(["agent", "90 % zeroed: FLOPs / dense", "its speed, batch 1", "half the units removed: FLOP bound",
                  "speed, batch 1", "speed, batch 4,096"], rows)


def l1(v: dict) -> str:
    tuned = {"cartpole-dqn": "cartpole", "minigrid-ppo": "minigrid"}
    rows = []
    for a in AGENTS:
        t = tuned.get(a)
        fine = (f"{ret(v[f'lesson.07.{t}_one_shot'])} one-shot, {ret(v[f'lesson.07.{t}_fine_tuned'])} fine-tuned, "
                f"{ret(v[f'lesson.07.{t}_dense_return'])} dense (lesson 7)" if t else NOT_SHOWN)
        rows.append([a, *[f"{cell(v, f'{a}:l1_kept:{u}')}, {v[f'{a}:l1_weight_sparsity:{u}']:.0%} of weights gone"
                          for u in ("25", "50")], fine])
    return table(["agent (one-shot L1-norm units, kept; episode noise only)", "25 % of units", "50 % of units",
                  "return at lesson 7's ratios"], rows)


def dormancy(v: dict) -> str:
    names = (("dense", "dense"), ("oneshot90", "one-shot 90 %"), ("s90", "shipped -s90"), ("s95", "shipped -s95"))
    rows = []
    for a in AGENTS:
        for tau in ("0", "0.025"):
            rows.append([a, f"dormant, τ = {tau}", *[cell(v, f"{a}:dormant_{n}:{tau}") for n, _ in names]])
        rows.append([a, "idle (dormant at τ = 0.025, or constant)",
                     *[cell(v, f"{a}:idle_{n}:0.025") for n, _ in names]])
        rows.append([a, "cut off by the mask", *[f"{v[f'{a}:cut_units:{n}']:.2f}" for n, _ in names]])
    return table(["agent", "share of hidden units", *[label for _, label in names]], rows)


RENDER = {"kept_curve": kept_curve, "compression": compression, "decisions": decisions, "selection": selection,
          "training_cost": training_cost, "generalisation": generalisation, "before_training": before_training,
          "weight_vs_units": weight_vs_units, "l1": l1, "dormancy": dormancy}


def number(v: dict, key: str, shown: str, pct: bool) -> str:
    value = v[key] * (100 if pct else 1)
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return f"{value:.{decimals}f}".replace("-", "−")


def render(text: str, v: dict) -> str:
    """``text`` with every table and every quoted bench number rewritten from ``v``."""
    text = TABLE.sub(lambda m: m.group(1) + RENDER[m["name"]](v) + m.group(4), text)
    return QUOTED.sub(lambda m: number(v, m["key"], m["num"].replace("−", "-"), bool(m["pct"]))
                      + (m["pct"] or "") + m["x"] + f"<!-- bench:{m['key']} -->", text)


if __name__ == "__main__":
    PAGE.write_text(render(PAGE.read_text(), load()))
    sys.exit(0)
