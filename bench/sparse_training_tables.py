"""The "field's claims on trial" tables of docs/claims.md, rendered from ``bench/sparse_training.json`` (written by
``bench_sparse_training.py``; blocks ``run``, ``verdict`` and one per agent) and ``bench/wide_pruned.json`` (written
by ``bench_wide_pruned.py``; blocks ``wide-verdict``, ``wide-run`` and ``wide-table``).

The page holds each block between ``<!-- field-table: NAME -->`` and ``<!-- /field-table: NAME -->``.
``python bench/sparse_training_tables.py`` rewrites them from the JSON file; ``tests/test_field_claims.py`` checks
that doing so changes nothing, and that every verdict word follows from its paired interval.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTEFACT = ROOT / "bench" / "sparse_training.json"
WIDE = ROOT / "bench" / "wide_pruned.json"
PAGE = ROOT / "docs" / "claims.md"
BLOCK = re.compile(r"(<!-- field-table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /field-table: (?P=name) -->)", re.S)


def verdict(p: dict) -> str:
    """The word a paired comparison earns: decided only when its interval excludes 0."""
    if p["low"] > 0:
        return "beats"
    if p["high"] < 0:
        return "loses to"
    return "undecided"


def _cell(s: dict) -> str:
    return f"{s['median']:.1f} [{s['low']:.1f}, {s['high']:.1f}]"


def _pair(p: dict, other: str) -> str:
    word = verdict(p)
    shown = f"{p['median_diff']:+.1f} [{p['low']:+.1f}, {p['high']:+.1f}]".replace("-", "−")
    return f"{shown}: {word if word == 'undecided' else f'{word} {other}'}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def agent_table(data: dict, agent: str) -> str:
    """One agent: dense, then every sparse cell with its paired comparisons against dense and against GMP."""
    s = data["summary"][agent]
    n, level = len(s["seeds"]), s["dense"]["level"]
    rows = [["dense", "0 %", _cell(s["dense"]), "", ""]]
    for c in s["cells"]:
        rows.append([c["arm"], f"{round(c['sparsity'] * 100)} %", _cell(c), _pair(c["vs_dense"], "dense"),
                     _pair(c["vs_gmp"], "GMP") if "vs_gmp" in c else ""])
    head = (f"**{agent}**, {s['env_steps']:,} env steps per arm, {n} seeds ({s['seeds'][0]}–{s['seeds'][-1]}); "
            f"median held-out return [order-statistic interval at {level:.1%}]; paired: median per-seed difference "
            f"[interval]\n\n")
    return head + table(["arm", "sparsity", "return", "paired vs dense", "paired vs GMP"], rows)


def run(data: dict) -> str:
    cfg = data["config"]
    sps = ", ".join(f"{round(s * 100)} %" for s in cfg["sparsities"])
    kind = "the full configuration" if cfg["label"] == "full" else "reduced"
    return (f"Recorded run ({kind}): sparsities {sps}; {len(cfg['seeds'])} seeds; {cfg['episodes']} greedy "
            f"episodes per seed; "
            f"{data['wall_seconds'] / 60:.1f} min wall clock ({cfg['workers']} worker processes on the shared "
            f"2-core machine), {data['cpu_seconds'] / 60:.1f} CPU-min of training.\n")


def overall(data: dict) -> str:
    """Graesser et al.'s claim at this budget: held if on every agent a sparse arm beats dense, not held if on some
    agent every sparse arm loses to dense, else not shown (undecided intervals show neither a match nor a loss)."""
    words = {a: [verdict(c["vs_dense"]) for c in s["cells"]] for a, s in data["summary"].items()}
    if all("beats" in w for w in words.values()):
        return "held"
    if any(set(w) == {"loses to"} for w in words.values()):
        return "not held at this budget"
    return "not shown at this budget"


def _arms(cells: list[dict], key: str, word: str) -> str:
    return ", ".join(f"{c['arm']} at {_sp(c['sparsity'])} ({_pair(c[key], '').split(':')[0]})" for c in cells
                     if key in c and verdict(c[key]) == word) or "none"


def verdicts(data: dict) -> str:
    lines = [f"**Verdict: {overall(data)}.**"]
    for agent, s in data["summary"].items():
        sps = ", ".join(f"{round(x * 100)} %" for x in dict.fromkeys(c["sparsity"] for c in s["cells"]))
        lines.append(f"- {agent} at {sps}: beats dense: {_arms(s['cells'], 'vs_dense', 'beats')}; loses to dense: "
                     f"{_arms(s['cells'], 'vs_dense', 'loses to')}; undecided: "
                     f"{_arms(s['cells'], 'vs_dense', 'undecided')}. Against GMP, beats: "
                     f"{_arms(s['cells'], 'vs_gmp', 'beats')}; loses: {_arms(s['cells'], 'vs_gmp', 'loses to')}.")
    return "\n".join(lines) + "\n"


def _wide():
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_wide_pruned

    return bench_wide_pruned


def _sp(sparsity: float) -> str:
    return f"{sparsity * 100:.3g} %"


def _wide_arm(c: dict) -> str:
    return f"x{c['width']} " + ("dense" if not c["sparsity"] else f"at {_sp(c['sparsity'])}")


def wide_table(wide: dict) -> str:
    """Every arm of the wide-then-pruned sweep, its weights kept, and its paired comparisons."""
    s, cfg = wide["summary"], wide["config"]
    rows = [[f"x{c['width']}", _sp(c["sparsity"]), f"{c['prunable_nonzero']:,}", _cell(c),
             _pair(c["vs_dense_same_width"], f"dense x{c['width']}") if "vs_dense_same_width" in c else "",
             _pair(c["vs_dense_x1"], "dense x1") if "vs_dense_x1" in c else ""] for c in s["cells"]]
    head = (f"**{cfg['agent']}**, {cfg['total_steps']:,} env steps per arm, {len(s['seeds'])} seeds "
            f"({s['seeds'][0]}–{s['seeds'][-1]}); median held-out return [order-statistic interval at "
            f"{s['cells'][0]['level']:.1%}]; paired: median per-seed difference [interval]\n\n")
    return head + table(["width", "sparsity", "weights kept", "return", "paired vs dense, same width",
                         "paired vs dense x1"], rows)


def wide_verdict(wide: dict) -> str:
    """The verdict bench_wide_pruned names, with the comparisons it rests on: every wide arm against dense x1."""
    s = wide["summary"]
    wide_arms = [c for c in s["cells"] if c["width"] > 1]
    return (f"**Verdict: {_wide().verdict(s)}.** Against dense x1: "
            + "; ".join(f"{_wide_arm(c)} ({c['prunable_nonzero']:,} weights) {_pair(c['vs_dense_x1'], 'dense x1')}"
                        for c in wide_arms) + ".\n")


def wide_run(wide: dict) -> str:
    cfg = wide["config"]
    kind = "the full configuration" if cfg["label"] == "full" else f"reduced: {cfg['label']}"
    return (f"Recorded run ({kind}): widths {', '.join(f'x{w}' for w in cfg['widths'])}; {len(cfg['seeds'])} "
            f"seeds; {cfg['total_steps']:,} env steps per arm; {cfg['episodes']} greedy episodes per seed; "
            f"{wide['wall_seconds'] / 60:.1f} min wall clock ({cfg['workers']} worker processes on the shared "
            f"2-core machine), {wide['cpu_seconds'] / 60:.1f} CPU-min of training.\n")


RENDER = {"run": run, "verdict": verdicts}
WIDE_RENDER = {"wide-verdict": wide_verdict, "wide-run": wide_run, "wide-table": wide_table}


def render_block(name: str, data: dict, wide: dict | None = None) -> str:
    if name in WIDE_RENDER:
        return WIDE_RENDER[name](wide)
    return RENDER[name](data) if name in RENDER else agent_table(data, name)


def render(text: str, data: dict, wide: dict | None = None) -> str:
    """``text`` with every field-table block rewritten from ``data`` (and the wide-* blocks from ``wide``)."""
    return BLOCK.sub(lambda m: m.group(1) + render_block(m["name"], data, wide) + m.group(4), text)


def load(path: Path = ARTEFACT) -> dict:
    return json.loads(path.read_text())


if __name__ == "__main__":
    PAGE.write_text(render(PAGE.read_text(), load(), load(WIDE) if WIDE.exists() else None))
    sys.exit(0)
