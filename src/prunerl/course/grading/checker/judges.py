"""The verdicts: one judge per check, fed only with records (plain data: what the learner's functions returned)
and the check values, compared with the checker's own oracles.

:func:`judge_notebook` gives the verdict of every graded cell of a notebook from its records folder; a cell whose
record is missing fails (its check never ran, or the cell did not finish). Nothing a record says about itself
makes a cell pass: a forged record is only a claim that the learner's function returned the right values, which is
what the judges check. A graded cell that uses code relying on the course's reference (:mod:`.evidence`, found in
the learner's source) scores 0 and is held for an instructor's review, with the evidence.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prunerl.course.grading import protocol

from . import evidence
from .oracles import Failed

JUDGES: dict[str, Callable] = {}  # filled by the exercise modules (ex1 ... ex5), which the package imports
NEVER_RAN = ("the test cell never reached its hidden check: an earlier line of the cell failed (see the cell's "
             "output), so your function was never checked")
NOT_FINISHED = ("the test cell did not finish: your function was still running when the cell was stopped (time or "
                "memory limit) or the kernel died")


def judge(name: str) -> Callable:
    def register(fn: Callable) -> Callable:
        JUDGES[name] = fn
        return fn

    return register


def judge_record(name: str, rec: dict | None, values: dict, framework: str) -> str | None:
    """The failure message of check ``name`` on its record, or None when it passes."""
    if rec is None:
        return NEVER_RAN
    if "damaged" in rec:
        return f"the check's record was damaged ({rec['damaged']}); notebook code wrote into the grader's records"
    if rec.get("status") != "done":
        return NOT_FINISHED
    if rec.get("framework") not in (None, framework):
        return f"the notebook ran the {rec.get('framework')} track's set-up; this exercise is the {framework} track"
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


def judge_notebook(params: dict, records_dir, cells: list[str] | None = None) -> dict:
    """``{"tests": {grade_id: {"passed", "message"}}, "flags": [...]}`` of one notebook, from its records and the
    learner's code ``cells`` (every code cell nbgrader does not restore)."""
    records_dir = Path(records_dir)
    names = sorted({n for checks in params["tests"].values() for n in checks})
    records = {n: protocol.read(records_dir, n) if records_dir.is_dir() else None for n in names}
    held = evidence.held(params, cells or [])
    tests = {}
    for gid, checks in params["tests"].items():
        message = protocol.REVIEW + held[gid] if gid in held else None
        for check in checks if message is None else []:
            message = judge_record(check, records[check], params["values"], params["framework"])
            if message:
                break
        if checks or message:  # a graded cell without a hidden check or evidence: nbgrader's result stands
            tests[gid] = {"passed": message is None, "message": message or ""}
    groups: dict[str, list[str]] = {}
    for gid, why in sorted(held.items()):
        groups.setdefault(why, []).append(gid)
    flags = [f"held for review ({', '.join(gids)}): {why}" for why, gids in groups.items()]
    return {"tests": tests, "flags": flags}


protocol.register_local_judge(judge_record)
