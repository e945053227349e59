"""From what a batch produced (nbgrader's gradebook and autograded notebook, the checker's verdicts, the sandbox's
exit status) to the per-notebook record: scores, and messages in the learner's terms."""
from __future__ import annotations

import re

from .layout import grade_id, graded_cells, is_solution, nbgrader_meta
from .sandbox import Limits, human

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _error_line(output) -> str:
    tb = [ANSI.sub("", line) for line in output.get("traceback", []) or []]
    lines = [ln.rstrip() for ln in "\n".join(tb).splitlines() if ln.strip()]
    if lines:
        return lines[-1]
    evalue = str(output.get("evalue", "")).strip()
    return f"{output.get('ename', 'Error')}: {evalue}" if evalue else str(output.get("ename", "Error"))


def limit_hit(output, limits: Limits | None) -> str | None:
    """What a sandbox limit stopped, from an error output ("used more than 4 GiB of memory"), else None."""
    if limits is None or output.get("output_type") != "error":
        return None
    lim = limits.resolved()
    ename, evalue = str(output.get("ename", "")), str(output.get("evalue", ""))
    if ename.endswith("MemoryError") or re.search(r"[Cc]an(no|')t allocate memory|\[Errno 12\]", evalue):
        return f"used more than {human(lim.memory)} of memory"
    if "[Errno 27]" in evalue:
        return f"wrote a file larger than {human(lim.disk)}"
    if "[Errno 28]" in evalue:
        return f"wrote more than {human(lim.disk)} of files"
    if "[Errno 24]" in evalue:
        return f"opened more than {lim.files} files at once"
    if "[Errno 11]" in evalue or "can't start new thread" in evalue:
        return f"started more than {lim.processes} processes or threads"
    return None


def cell_message(cell, timeout: int, limits: Limits | None = None) -> str | None:
    """The learner-facing message of a failed cell (never its source)."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if any(o.get("ename") == "CellTimeoutError" for o in errors):
        return f"the cell did not finish within {timeout} s and was interrupted (an infinite loop?)"
    if errors:
        hit = limit_hit(errors[-1], limits)
        if hit:
            return f"the cell {hit}, the grading limit ({_error_line(errors[-1])})"
        if errors[-1].get("ename") == "NotImplementedError":
            return "NotImplementedError: not implemented yet (a solution cell still raises NotImplementedError)"
        return _error_line(errors[-1])
    stderr = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    if stderr:
        last = (ANSI.sub("", "".join(stderr[-1].get("text", ""))).strip().splitlines() or [""])[-1]
        return f"the cell wrote to stderr, which nbgrader counts as a failure: {last}"
    return None


def failure_reason(log: str, limit_hit_: bool, status: dict, limits: Limits | None) -> str:
    """Why nbgrader produced no grades for a notebook, in the learner's terms."""
    if status.get("records_overflow") and limits is not None:
        lim = limits.resolved()
        return (f"the notebook wrote more than {human(lim.records_bytes)} (or {lim.records_files} files) into its "
                "check-records folder and was stopped; score 0")
    if status.get("returncode") in (152, -24):
        return (f"the notebook used more than {limits.resolved().cpu if limits else '?'} s of CPU time and was "
                "stopped; score 0")
    if limit_hit_:
        return "grading did not finish in time (a cell that cannot be interrupted?); score 0"
    if "Kernel died" in log or "DeadKernelError" in log or "Kernel didn't respond" in log:
        return ("the notebook's Python process died while it ran (os._exit, a crash or running out of memory), "
                "so nbgrader could not grade it; score 0")
    errors = [ANSI.sub("", ln).strip() for ln in log.splitlines() if "| ERROR]" in ln or "Error:" in ln]
    return "nbgrader could not grade this notebook" + (f" ({errors[-1][:300]})" if errors else "") + "; score 0"


def _cell_flags(autograded, timeout: int, limits: Limits | None) -> list[str]:
    flags = []
    for index, cell in enumerate(autograded.cells):
        if cell.cell_type != "code":
            continue
        name = grade_id(cell) or f"{index}"
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        enames = [o.get("ename") for o in errors]
        hit = limit_hit(errors[-1], limits) if errors else None
        if "CellTimeoutError" in enames:
            flags.append(f"cell {name} ran longer than {timeout} s and was interrupted (an infinite "
                         "loop?); the cells after it still ran")
        elif hit:
            flags.append(f"cell {name} {hit}, the grading limit, and was stopped there")
        elif (not nbgrader_meta(cell).get("grade") and not is_solution(cell) and enames
              and enames[-1] != "NotImplementedError"):
            flags.append(f"ungraded cell {name} raised {cell_message(cell, timeout, limits)}")
    return flags


def make_result(sub, release, raw: dict | None, timeout: int, limits: Limits | None = None) -> dict:
    """The per-notebook record printed by ``--json`` and kept in the state file.

    A test cell scores nbgrader's score when the out-of-process checker passed it (or it has no hidden check),
    else 0 with the checker's message."""
    cells = graded_cells(release) if release is not None else {}
    result = {"path": sub.label, "assignment": sub.assignment, "student": sub.student, "score": 0.0,
              "max_score": float(sum(c["points"] for c in cells.values())), "tests": [], "flags": list(sub.flags)}
    raw = raw or {}
    error = sub.error or raw.get("error")
    autograded = raw.get("autograded")
    verdicts = (raw.get("checker") or {}).get("tests", {})
    by_id = {grade_id(c): c for c in autograded.cells} if autograded is not None else {}
    for gid, info in cells.items():
        test = {"id": gid, "score": 0.0, "max_score": info["points"], "message": None}
        if error is None:
            score, max_score, _ = raw["grades"].get(gid, (0.0, info["points"], None))
            test["score"], test["max_score"] = float(score or 0.0), float(max_score)
            verdict = verdicts.get(gid)
            if verdict is not None and not verdict.get("passed"):
                test["score"] = 0.0
                test["message"] = str(verdict.get("message") or "the hidden check failed")
            elif test["score"] < test["max_score"]:
                cell = by_id.get(gid)
                msg = cell_message(cell, timeout, limits) if cell is not None else "not graded"
                if msg is None:
                    msg = ("partial credit" if test["score"] > 0 else "failed (the test printed no error)")
                test["message"] = msg
        else:
            test["message"] = "not graded: see the notebook's flags"
        result["tests"].append(test)
    if error:
        result["flags"].insert(0, error)
    result["flags"] += [str(f) for f in (raw.get("checker") or {}).get("flags", [])]
    if autograded is not None:
        result["flags"] += _cell_flags(autograded, timeout, limits)
    result["score"] = float(sum(t["score"] for t in result["tests"]))
    return result
