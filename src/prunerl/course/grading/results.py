"""From what a batch produced (nbgrader's gradebook and autograded notebook, the checker's verdicts, the sandbox's
exit status) to the per-notebook record: scores, and messages in the learner's terms."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .layout import cell_source, grade_id, graded_cells, is_solution, nbgrader_meta
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


# Kinds of failure, for the learner's message and the class report's grouping (classreport.CAUSES).
BLANK, CRASHED, WRONG, STOPPED, UNGRADED = "blank", "crashed", "wrong", "stopped", "not graded"
_FRAME = re.compile(r"^(?:Cell In\[(\d+)\], line (\d+)(?:, in ([A-Za-z_]\w*))?|File \S)")
_AT_LINE = re.compile(r"\s*\((?:[^()]*\.py, )?line (\d+)\)$")
_UNDEFINED = re.compile(r"name '([A-Za-z_]\w*)' is not defined")
SYNTAX = ("SyntaxError", "IndentationError", "TabError")


@dataclass(frozen=True)
class Failure:
    """What went wrong in a cell, in the learner's terms (never the cell's source)."""

    kind: str  # BLANK, CRASHED, WRONG or STOPPED
    message: str
    function: str | None = None  # BLANK: the function that is not written yet


def own_error(cell):
    """The cell's own error output: not the checker's note that ``judging.apply_verdicts`` appends."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"
              and o.get("ename") != "HiddenCheckFailed"]
    return errors[-1] if errors else None


def _frames(output) -> list[tuple[str, str, str | None] | None]:
    """The traceback's frames, innermost last: (execution count, line, function) of a notebook cell, None for a
    library file."""
    text = ANSI.sub("", "\n".join(output.get("traceback", []) or []))
    found = (_FRAME.match(line.strip()) for line in text.splitlines())
    return [(m.group(1), m.group(2), m.group(3)) if m.group(1) else None for m in found if m]


def _cell_name(nb, cell) -> str:
    index = next((i for i, c in enumerate(nb.cells) if c is cell), None)
    name = f"cell {index + 1}" if index is not None else "a cell"
    return f"{name} ({grade_id(cell)})" if grade_id(cell) else name


def _describe(nb, cell, err, elsewhere: bool = False) -> Failure:
    """The failure of ``cell`` from its own error output ``err``; ``elsewhere``: name the cell (it is not the one
    the message is about)."""
    ename, evalue = str(err.get("ename", "Error")), str(err.get("evalue", "")).strip()
    frames = _frames(err)
    if ename == "NotImplementedError" and frames and frames[-1] is not None:  # raised by the learner's own code
        function = frames[-1][2]
        return Failure(BLANK, f"NotImplementedError: {function or 'a function this cell calls'} is not written yet",
                       function)
    if ename in SYNTAX:
        at = _AT_LINE.search(evalue)
        line = next((f[1] for f in reversed(frames) if f), None) or (at.group(1) if at else "?")
        return Failure(CRASHED, f"{ename} in {_cell_name(nb, cell)}, line {line}: {_AT_LINE.sub('', evalue)}")
    undefined = _UNDEFINED.search(evalue) if ename == "NameError" else None
    cause = _earlier_failure(nb, cell, undefined.group(1)) if undefined else None
    if cause is not None:
        return Failure(cause.kind, f"{cause.message}; so {undefined.group(1)} was never defined (NameError)",
                       cause.function)
    where = f" (in {_cell_name(nb, cell)})" if elsewhere else ""
    return Failure(WRONG if ename == "AssertionError" else CRASHED, _error_line(err) + where)


def _earlier_failure(nb, cell, name: str) -> Failure | None:
    """Why ``name`` is undefined: the failed cell before ``cell`` that mentions it (else the first failed one)."""
    failed = []
    for other in nb.cells:
        if other is cell:
            break
        err = own_error(other) if other.get("cell_type") == "code" else None
        if err is not None:
            failed.append((other, err))
    if not failed:
        return None
    other, err = next(((c, e) for c, e in failed if re.search(rf"\b{name}\b", cell_source(c))), failed[0])
    return _describe(nb, other, err, elsewhere=True)


def failure(nb, cell, timeout: int, limits: Limits | None = None) -> Failure | None:
    """What went wrong in ``cell`` of notebook ``nb`` (executed), from its outputs; None when nothing did."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if any(o.get("ename") == "CellTimeoutError" for o in errors):
        return Failure(STOPPED, f"the cell did not finish within {timeout} s and was interrupted (an infinite loop?)")
    err = own_error(cell)
    if err is not None and err.get("ename") in ("GradingLimit", "NotRun"):  # limited_execute stopped the notebook
        return Failure(STOPPED, str(err.get("evalue", "")))
    if err is not None:
        hit = limit_hit(err, limits)
        if hit:
            return Failure(STOPPED, f"the cell {hit}, the grading limit ({_error_line(err)})")
        return _describe(nb, cell, err)
    stderr = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    if stderr:
        last = (ANSI.sub("", "".join(stderr[-1].get("text", ""))).strip().splitlines() or [""])[-1]
        return Failure(CRASHED, f"the cell wrote to stderr, which nbgrader counts as a failure: {last}")
    return None


def failed_test(nb, cell, checked: str | None, timeout: int, limits: Limits | None = None) -> Failure:
    """Why a graded cell lost its points: the checker's message ``checked`` when its hidden check ran, else the
    cell's own error (the learner's exception, or the earlier cell whose failure left a name undefined)."""
    from .checker.judges import NEVER_RAN, NOT_FINISHED

    own = failure(nb, cell, timeout, limits) if cell is not None else None
    if own is not None and own.kind == STOPPED:
        return own
    if checked is not None and checked != NEVER_RAN:
        if own is not None and own.kind == BLANK:  # the check called it and re-raised its NotImplementedError
            return own
        kind = STOPPED if checked == NOT_FINISHED else own.kind if own is not None and own.kind == CRASHED else WRONG
        return Failure(kind, checked)
    if own is not None:
        return own
    return Failure(WRONG, checked or ("not graded" if cell is None else "failed (the test printed no error)"))


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
        found = failure(autograded, cell, timeout, limits)
        if found is None:
            continue
        stopped = (own_error(cell) or {}).get("ename")
        if stopped == "NotRun":
            continue
        if stopped == "GradingLimit":
            flags.append(f"cell {name}: {found.message}; the cells after it did not run")
        elif found.kind == STOPPED and found.message.startswith("the cell did not finish"):
            flags.append(f"cell {name} ran longer than {timeout} s and was interrupted (an infinite "
                         "loop?); the cells after it still ran")
        elif found.kind == STOPPED:
            flags.append(f"cell {name} {limit_hit(own_error(cell), limits)}, the grading limit, and was stopped there")
        elif not nbgrader_meta(cell).get("grade") and not is_solution(cell) and found.kind != BLANK:
            flags.append(f"ungraded cell {name} raised {found.message}")
    return flags


def make_result(sub, release, raw: dict | None, timeout: int, limits: Limits | None = None) -> dict:
    """The per-notebook record printed by ``--json`` and kept in the state file.

    A test cell scores nbgrader's score when the out-of-process checker passed it (or it has no hidden check),
    else 0. A failed test carries a message naming what went wrong in the learner's code and its kind (BLANK,
    CRASHED, WRONG, STOPPED; ``failed_test``), read from the autograded notebook nbgrader saved and the checker's
    verdict, never from what the learner's process wrote elsewhere."""
    cells = graded_cells(release) if release is not None else {}
    result = {"path": sub.label, "assignment": sub.assignment, "student": sub.student, "score": 0.0,
              "max_score": float(sum(c["points"] for c in cells.values())), "tests": [], "flags": list(sub.flags)}
    raw = raw or {}
    error = sub.error or raw.get("error")
    autograded = raw.get("autograded")
    verdicts = (raw.get("checker") or {}).get("tests", {})
    by_id = {grade_id(c): c for c in autograded.cells} if autograded is not None else {}
    for gid, info in cells.items():
        test = {"id": gid, "score": 0.0, "max_score": info["points"], "message": None, "kind": None}
        if error is None:
            score, max_score, _ = raw["grades"].get(gid, (0.0, info["points"], None))
            test["score"], test["max_score"] = float(score or 0.0), float(max_score)
            verdict = verdicts.get(gid)
            checked = None
            if verdict is not None and not verdict.get("passed"):
                test["score"] = 0.0
                checked = str(verdict.get("message") or "the hidden check failed")
            if test["score"] < test["max_score"]:
                cell = by_id.get(gid)
                if test["score"] > 0 and checked is None and (cell is None or failure(autograded, cell, timeout,
                                                                                       limits) is None):
                    test["message"], test["kind"] = "partial credit", WRONG
                else:
                    found = failed_test(autograded, cell, checked, timeout, limits)
                    test["message"], test["kind"] = found.message, found.kind
        else:
            test["message"], test["kind"] = "not graded: see the notebook's flags", UNGRADED
        result["tests"].append(test)
    if error:
        result["flags"].insert(0, error)
    result["flags"] += [str(f) for f in (raw.get("checker") or {}).get("flags", [])]
    if autograded is not None:
        result["flags"] += _cell_flags(autograded, timeout, limits)
    result["score"] = float(sum(t["score"] for t in result["tests"]))
    return result
