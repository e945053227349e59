"""Timed coding rounds built from the released exercises (PyTorch track).

The candidate edits a scratch ``.py`` holding the task's stubs and contract. Their file then replaces the task's
solution cells of ``exercises/<exercise>.ipynb``; the visible tests run through ``prunerl check``'s machinery, and
the full tests (visible + hidden) through ``prunerl grade --json`` in a subprocess. Only the task's own test cells
are reported, and hidden checks only as passed/failed, never their code or messages.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from ..grading.layout import default_layout
from ..grading.selfcheck import run_visible
from .i18n import t

PROBLEMS = {
    "threshold": {"exercise": "ex1_threshold_torch", "cells": ("threshold_prune", "global_threshold"), "minutes": 15,
                  "title": {"en": "magnitude pruning with a threshold", "zh": "基于阈值的幅值剪枝"},
                  "task": {"en": "Write threshold_prune (zero |w| <= t in place, return keep-masks) and "
                                 "global_threshold (the threshold that prunes a given fraction of all weights).",
                           "zh": "实现 threshold_prune（原地把 |w| <= t 的权重置零，返回保留掩码）和 "
                                 "global_threshold（使全部权重中给定比例被剪掉的阈值）。"}},
    "structured": {"exercise": "ex2_structured_torch", "cells": ("neuron_scores", "prune_neurons"), "minutes": 25,
                   "title": {"en": "L1 structured pruning", "zh": "L1 结构化剪枝"},
                   "task": {"en": "Write neuron_scores (L1 norm of each unit's incoming weights) and prune_neurons "
                                  "(a new, smaller network without the n lowest-scoring units).",
                            "zh": "实现 neuron_scores（每个单元输入权重的 L1 范数）和 prune_neurons"
                                  "（删除得分最低的 n 个单元后得到的更小的新网络）。"}},
    "sparsify": {"exercise": "ex3_sparsify_torch", "cells": ("to_csr", "csr_matmul"), "minutes": 15,
                 "title": {"en": "a CSR matrix by hand", "zh": "手写 CSR 矩阵"},
                 "task": {"en": "Write to_csr (values, column indices, row pointers of a 2-D array) and csr_matmul "
                                "(matrix @ x from the CSR arrays).",
                          "zh": "实现 to_csr（二维数组的值、列索引、行指针）和 "
                                "csr_matmul（用 CSR 数组计算矩阵 @ x）。"}},
    "prune-agent": {"exercise": "ex4_prune_agent_torch", "cells": ("global_magnitude_prune", "sparsity_sweep"),
                    "minutes": 20, "title": {"en": "prune an agent and sweep sparsity", "zh": "剪枝智能体并扫描稀疏度"},
                    "task": {"en": "Write global_magnitude_prune and sparsity_sweep (prune fresh copies to each "
                                   "sparsity and evaluate them on the same seeded episodes).",
                             "zh": "实现 global_magnitude_prune 和 sparsity_sweep（把新副本剪到各个稀疏度，"
                                   "并在相同的固定种子回合上评估）。"}},
    "compare": {"exercise": "ex5_compare_torch", "cells": ("polynomial_sparsity", "prune"), "minutes": 20,
                "title": {"en": "pruning strategies and the schedule", "zh": "剪枝策略与调度"},
                "task": {"en": "Write polynomial_sparsity (Zhu & Gupta's schedule) and prune (random, layer-wise, "
                               "global magnitude and L1-structured pruning behind one function).",
                         "zh": "实现 polynomial_sparsity（Zhu & Gupta 调度）和 prune（用一个函数实现随机、逐层、"
                               "全局幅值和 L1 结构化剪枝）。"}},
}
PLACEHOLDER = "# defined in the coding-round file, in the first task cell above\n"


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is(cell, key: str) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get(key))


def released(problem: str):
    path = default_layout().exercises / f"{PROBLEMS[problem]['exercise']}.ipynb"
    return nbformat.read(path, as_version=4)


def task_tests(nb, cells) -> list[str]:
    """Test cells whose nearest solution cell above is one of the task's cells."""
    tests, owner = [], None
    for cell in nb.cells:
        if _is(cell, "solution"):
            owner = _gid(cell)
        elif _is(cell, "grade") and cell.cell_type == "code" and owner in cells:
            tests.append(_gid(cell))
    return tests


def scratch_text(problem: str, lang: str) -> str:
    spec, nb = PROBLEMS[problem], released(problem)
    limit = spec["minutes"]
    lines = [f"# prunerl interview --coding {problem}: {spec['title'][lang]} ({limit} min)", "#",
             f"# {spec['task'][lang]}", "#",
             f"# Contract (exercises/{spec['exercise']}.ipynb). The notebook's setup cell runs before your code:"]
    setup = next(c for c in nb.cells if _gid(c) == "setup")
    lines += [("#     " + line).rstrip() for line in setup.source.splitlines()]
    stubs = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and (_gid(cell) or "").startswith("contract"):
            following = next((c for c in nb.cells[i + 1:] if _is(c, "solution")), None)
            if following is not None and _gid(following) in spec["cells"]:
                lines += ["#"] + ["# " + line if line else "#" for line in cell.source.splitlines()]
        if _is(cell, "solution") and _gid(cell) in spec["cells"]:
            stubs.append(cell.source)
    return "\n".join(lines) + "\n\nimport numpy as np\nimport torch\n\n\n" + "\n\n\n".join(stubs) + "\n"


def build_notebook(problem: str, code: str, directory: Path) -> Path:
    """The released exercise with the candidate's file in the first task cell (the others emptied)."""
    spec, nb = PROBLEMS[problem], released(problem)
    first = True
    for cell in nb.cells:
        if _is(cell, "solution") and _gid(cell) in spec["cells"]:
            cell.source, first = (code if first else PLACEHOLDER), False
    path = Path(directory) / f"{spec['exercise']}.ipynb"
    nbformat.write(nb, path)
    return path


def hidden_results(notebook: Path, out: Path, timeout: int = 600) -> tuple[dict | None, str]:
    """Per-test pass/fail of the full (visible + hidden) checks, via the public ``prunerl grade --json``."""
    cmd = [sys.executable, "-m", "prunerl.cli", "grade", str(notebook), "--json", "--out", str(out)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        report = json.loads(proc.stdout)
        tests = report["notebooks"][0]["tests"]
    except subprocess.TimeoutExpired:
        return None, f"prunerl grade took over {timeout} s"
    except (json.JSONDecodeError, KeyError, IndexError):
        lines = [ln for ln in (proc.stderr or "").strip().splitlines() if ln.strip()]
        return None, lines[-1] if lines else f"prunerl grade exited with code {proc.returncode}"
    if not tests:
        return None, "prunerl grade returned no test results"
    return {x["id"]: x["score"] >= x["max_score"] for x in tests}, ""


def check(problem: str, code: str, workdir: Path, hidden: bool = True) -> dict:
    spec = PROBLEMS[problem]
    with tempfile.TemporaryDirectory(prefix="prunerl-coding-") as tmp:
        notebook = build_notebook(problem, code, Path(tmp))
        wanted = task_tests(nbformat.read(notebook, as_version=4), spec["cells"])
        visible = {x["id"]: x for x in run_visible(notebook)["tests"]}
        full, reason = hidden_results(notebook, Path(workdir) / ".grades") if hidden else (None, "not requested")
    tests = [{"id": gid, "points": visible[gid]["points"], "visible": visible[gid]["passed"],
              "message": visible[gid]["message"], "hidden": None if full is None else full.get(gid, False)}
             for gid in wanted]
    return {"problem": problem, "exercise": spec["exercise"], "tests": tests, "hidden_available": full is not None,
            "hidden_reason": reason}


def print_report(console, report: dict, lang: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not report["hidden_available"]:
        console.print(t(lang, "hidden_unavailable", reason=report["hidden_reason"]), markup=False)
    mark = {True: f"[green]{t(lang, 'passed')}[/green]", False: f"[red]{t(lang, 'failed')}[/red]",
            None: t(lang, "not_run")}
    table = Table(title_justify="left")
    for col in (t(lang, "test"), t(lang, "visible"), t(lang, "hidden"), ""):
        table.add_column(col)
    for x in report["tests"]:
        hidden = None if not x["visible"] else x["hidden"]
        table.add_row(x["id"], mark[x["visible"]], mark[hidden], escape(x["message"] or ""))
    console.print(table)
    console.print(t(lang, "coding_result", passed=report["passed"], total=len(report["tests"])))
    if report.get("seconds") is not None:
        over = t(lang, "over") if report["over"] else ""
        console.print(t(lang, "coding_time", used=report["seconds"], limit=int(report["limit"]), over=over))


def run_round(problem: str, lang: str, console, workdir: Path, solution: Path | None, dry_run: bool,
              limit: float | None, as_json: bool) -> int:
    spec = PROBLEMS[problem]
    limit = limit or 60 * spec["minutes"]
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    scratch = workdir / f"{problem.replace('-', '_')}.py"
    seconds = None
    if solution is None:
        if not dry_run and not sys.stdin.isatty():
            print(f"prunerl interview: {t(lang, 'no_tty')}", file=sys.stderr)
            return 2
        scratch.write_text(scratch_text(problem, lang), encoding="utf-8")
        console.print(t(lang, "coding_title", title=spec["title"][lang], minutes=f"{limit / 60:g}"))
        console.print(spec["task"][lang], markup=False)
        if dry_run:
            console.print(t(lang, "coding_dry", path=scratch), markup=False)
            return 0
        from .terminal import LineReader

        console.print(t(lang, "coding_file", path=scratch), markup=False)
        console.file.flush()
        start = time.monotonic()
        try:
            if LineReader().readline(limit) is None:
                console.print(t(lang, "time_up", seconds=int(limit)))
        except EOFError:
            pass
        seconds, solution = time.monotonic() - start, scratch
    if as_json:
        from rich.console import Console

        console = Console(stderr=True)
    console.print(t(lang, "coding_running"))
    report = check(problem, solution.read_text(encoding="utf-8"), workdir)
    report.update(seconds=seconds, limit=limit, over=seconds is not None and seconds > limit,
                  passed=sum(x["visible"] and x["hidden"] is not False for x in report["tests"]))
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(console, report, lang)
    return 0 if report["passed"] == len(report["tests"]) else 1
