"""``prunerl check``: run a learner's notebook with its visible tests only, fast (nbclient, no gradebook).

Hidden tests are stripped if the notebook has any (they only run at grading), and the report says so: passing
the visible tests does not promise full marks.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

from .layout import (
    BEGIN_HIDDEN,
    KERNEL_ARGS,
    Layout,
    cell_source,
    graded_cells,
    read_notebook,
    strip_hidden_tests,
)
from .results import BLANK, failure
from .submissions import NOTEBOOK_SUFFIXES


def resolve(target: str, layout: Layout) -> Path:
    """An exercise name (``ex1_threshold_torch``) -> ``exercises/<name>.ipynb``; a path stays a path."""
    path = Path(target)
    looks_like_path = "/" in target or os.sep in target or path.suffix in NOTEBOOK_SUFFIXES
    if path.is_dir():
        raise ValueError(f"{target} is a folder: give a notebook (.ipynb or jupytext .py) or an exercise name")
    if path.exists() or looks_like_path:
        if not path.exists():
            raise FileNotFoundError(f"{target}: no such file")
        if path.suffix not in NOTEBOOK_SUFFIXES:
            raise ValueError(f"{target}: not a notebook (expected .ipynb or a jupytext .py)")
        return path
    candidate = layout.exercises / f"{target}.ipynb"
    if candidate.exists():
        return candidate
    known = sorted(p.stem for p in layout.exercises.glob("*.ipynb"))
    raise FileNotFoundError(f"{target}: no such file and no such exercise"
                            + (f" (exercises: {', '.join(known)})" if known else ""))


def run_visible(path: Path, timeout: int = 120) -> dict:
    """Execute the notebook (hidden tests removed); returns {"path", "tests": [...], "hidden_removed", "errors"}."""
    from nbclient import NotebookClient

    nb = read_notebook(path)
    if not graded_cells(nb):
        raise ValueError(f"{path}: not an exercise (it has no nbgrader grade cells); prunerl check runs the tests of "
                         "an exercise notebook, e.g. exercises/ex1_threshold_torch.ipynb")
    hidden_removed = 0
    for cell in nb.cells:
        src = cell_source(cell)
        if BEGIN_HIDDEN in src:
            cell.source = strip_hidden_tests(src)
            hidden_removed += 1
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    workdir = path.resolve().parent
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}}, extra_arguments=list(KERNEL_ARGS))
    stopped = None
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log (TCP warning, zmq noise), not the learner's
    except Exception as exc:  # noqa: BLE001 - a dead kernel: report it, do not crash
        stopped = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    tests = []
    for gid, info in graded_cells(nb).items():
        found = failure(nb, info["cell"], timeout)
        msg = found.message if found else None
        if msg is None and info["cell"].get("execution_count") is None:
            msg = f"did not run ({stopped or 'execution stopped before this cell'})"
        tests.append({"id": gid, "points": info["points"], "passed": msg is None, "message": msg,
                      "kind": found.kind if found else None,
                      "expected": None if msg is None else expected(info["cell"], msg)})
    unimplemented = sorted({f.function for f in (failure(nb, c, timeout) for c in nb.cells if c.cell_type == "code")
                            if f is not None and f.kind == BLANK and f.function})
    return {"path": str(path), "tests": tests, "score": float(sum(t["points"] for t in tests if t["passed"])),
            "max_score": float(sum(t["points"] for t in tests)),
            "hidden_removed": hidden_removed, "unimplemented": unimplemented,
            "stopped": stopped}


_CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def expected(cell, message: str) -> str | None:
    """The condition of the ``assert`` that failed in ``cell``, shown beside its message (which often says only
    what the code computed); None when the message already says what was expected or no assert failed."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors or errors[-1].get("ename") != "AssertionError" or "expect" in message.lower():
        return None
    found = _CELL_LINE.search(_ANSI.sub("", "\n".join(errors[-1].get("traceback", []))))
    if found is None:
        return None
    try:
        tree = ast.parse(cell_source(cell))
    except SyntaxError:  # IPython magics: no hint rather than a wrong one
        return None
    line = int(found.group(1))
    asserts = [n for n in ast.walk(tree)
               if isinstance(n, ast.Assert) and n.lineno <= line <= (n.end_lineno or n.lineno)]
    return ast.unparse(asserts[0].test) if asserts else None


def print_report(report: dict, console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"{report['path']}: visible tests", title_justify="left")
    table.add_column("test", no_wrap=True)
    table.add_column("points", justify="right")
    table.add_column("result")
    for t in report["tests"]:
        result = "[green]passed[/green]" if t["passed"] else f"[red]failed[/red]: {escape(t['message'])}"
        if t.get("expected"):
            result += f" (expected: {escape(t['expected'])})"
        table.add_row(t["id"], f"{t['points'] if t['passed'] else 0:g}/{t['points']:g}", result)
    console.print(table)
    passed = sum(t["passed"] for t in report["tests"])
    console.print(f"[bold]{report['score']:g} / {report['max_score']:g} points[/bold] from the visible tests "
                  f"({passed} of {len(report['tests'])} test cells passed).", highlight=False)
    if report.get("stopped"):
        console.print(f"execution stopped: {report['stopped']}", highlight=False)
    if report["unimplemented"]:
        console.print(f"not implemented yet: {', '.join(report['unimplemented'])}", highlight=False)
    console.print("Hidden tests run only at grading (nbgrader autograde / prunerl grade): passing the visible "
                  "tests does not guarantee full marks.", highlight=False)
