"""The verdicts: one judge per check, fed only with records (plain data) and the drawn check values.

:func:`judge` gives the verdict of every graded cell of a notebook from its records directory; a cell whose
record is missing fails (its check never ran, or the cell did not finish). Reading or re-running the course's
reference, reading grader files or importing the checker in the kernel (the audit hook notes it) costs every
point of the notebook and is flagged.
"""
from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path

from prunerl.course.grading.checks import record as _record

JUDGES: dict[str, Callable] = {}
MODULES = ("ex1", "ex2", "ex3", "ex4", "ex5")
REFERENCE_FREE = ("ex1", "ex2", "ex4", "ex5")  # exercises whose contract forbids prunerl.pruning
NEVER_RAN = ("the test cell never reached its hidden check: an earlier line of the cell failed (see the cell's "
             "output), so your function was never checked")
NOT_FINISHED = ("the test cell did not finish: your function was still running when the cell was stopped (time or "
                "memory limit) or the kernel died")


def judge(name: str) -> Callable:
    def register(fn: Callable) -> Callable:
        JUDGES[name] = fn
        return fn

    return register


def _load() -> None:
    if not JUDGES:
        for module in MODULES:
            importlib.import_module(f"prunerl.course.grading.checker.{module}")


def judge_record(name: str, rec: dict | None, values: dict, framework: str) -> str | None:
    """The failure message of check ``name`` on its record, or None when it passes."""
    from .oracles import Failed

    _load()
    if rec is None:
        return NEVER_RAN
    if "damaged" in rec:
        return f"the check's record was damaged ({rec['damaged']}); notebook code wrote into the grader's records"
    if rec.get("status") != "done":
        return NOT_FINISHED
    if rec.get("framework") not in (None, framework):
        return f"the notebook ran the {rec.get('framework')} track's set-up; this exercise is the {framework} track"
    if rec.get("references"):
        called = ", ".join("prunerl.pruning." + c for c in rec["references"])
        return (f"your function calls {called}, the course's reference implementation. This exercise asks you to "
                "implement it yourself (NumPy, torch/Keras and prunerl.metrics are fine).")
    if rec.get("tampered"):
        return (f"notebook code replaced {', '.join(rec['tampered'])}; the grader measures with the course's own "
                "functions, so results must come from the real prunerl.evaluate / prunerl.finetune (remove the code "
                "that assigns to them)")
    if rec.get("error"):
        return rec["error"]
    try:
        JUDGES[name](rec, values, framework)
    except Failed as exc:
        return str(exc)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        return f"the values your function returned do not have the contract's form ({type(exc).__name__}: {exc})"
    return None


def forbidden(exercise: str, audit: list[dict]) -> list[str]:
    """What the kernel did that earns no points, in the learner's terms."""
    out = []
    for event in audit:
        what = str(event.get("what", ""))
        if "prunerl/pruning.py" in what or "prunerl.pruning" in what:
            if exercise in REFERENCE_FREE:
                out.append(f"the notebook {'read' if event.get('kind') == 'read' else 'ran'} {what}")
        else:
            out.append(f"the notebook {'imported' if event.get('kind') == 'import' else 'read'} {what}")
    return sorted(set(out))


def _audit(records_dir: Path, records: dict) -> list[dict]:
    events = [e for rec in records.values() if rec for e in (rec.get("audit") or []) if isinstance(e, dict)]
    path = records_dir / "_audit.jsonl"
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def judge_notebook(params: dict, records_dir) -> dict:
    """``{"tests": {grade_id: {"passed", "message"}}, "flags": [...]}`` of one notebook (cells with checks)."""
    records_dir = Path(records_dir)
    names = sorted({n for checks in params["tests"].values() for n in checks})
    records = {n: _record.read(records_dir, n) if records_dir.is_dir() else None for n in names}
    bad = forbidden(params["exercise"], _audit(records_dir, records))
    flags = [f"{b}: no points for this exercise" for b in bad]
    tests = {}
    for gid, checks in params["tests"].items():
        if not checks:  # a graded cell without a hidden check: nbgrader's own result stands
            continue
        message = None
        if bad:
            message = ("no points for this exercise: " + "; ".join(bad) + ". Solve it with your own code; the "
                       "course's reference, its solutions and the grader's files are off limits")
        for check in checks if message is None else []:
            message = judge_record(check, records[check], params["values"], params["framework"])
            if message:
                break
        tests[gid] = {"passed": message is None, "message": message or ""}
    return {"tests": tests, "flags": flags}
