"""``prunerl check``: run a learner's notebook with its visible tests only, fast (nbclient, no gradebook).

Hidden tests are stripped if the notebook has any (they only run at grading), and the report says so: passing
the visible tests does not promise full marks.
"""
from __future__ import annotations

from pathlib import Path

from .course import (
    BEGIN_HIDDEN,
    KERNEL_ARGS,
    Layout,
    cell_source,
    grade_id,
    graded_cells,
    is_solution,
    read_notebook,
    strip_hidden_tests,
)
from .grade import cell_message


def resolve(target: str, layout: Layout) -> Path:
    """An exercise name (``ex1_threshold_torch``) -> ``exercises/<name>.ipynb``; a path stays a path."""
    path = Path(target)
    if path.exists():
        return path
    candidate = layout.exercises / f"{target}.ipynb"
    if candidate.exists():
        return candidate
    raise FileNotFoundError(f"{target}: no such notebook, and no exercises/{target}.ipynb")


def run_visible(path: Path, timeout: int = 120) -> dict:
    """Execute the notebook (hidden tests removed); returns {"path", "tests": [...], "hidden_removed", "errors"}."""
    from nbclient import NotebookClient

    nb = read_notebook(path)
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
        client.execute()
    except Exception as exc:  # noqa: BLE001 - a dead kernel: report it, do not crash
        stopped = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    tests = []
    for gid, info in graded_cells(nb).items():
        msg = cell_message(info["cell"], timeout)
        if msg is None and info["cell"].get("execution_count") is None:
            msg = f"did not run ({stopped or 'execution stopped before this cell'})"
        tests.append({"id": gid, "points": info["points"], "passed": msg is None, "message": msg})
    unimplemented = [grade_id(c) for c in nb.cells if is_solution(c) and any(
        o.get("ename") == "NotImplementedError" for o in c.get("outputs", []) if o.get("output_type") == "error")]
    return {"path": str(path), "tests": tests, "hidden_removed": hidden_removed, "unimplemented": unimplemented,
            "stopped": stopped}


def print_report(report: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"{report['path']}: visible tests", title_justify="left")
    table.add_column("test", no_wrap=True)
    table.add_column("points", justify="right")
    table.add_column("result")
    for t in report["tests"]:
        result = "[green]passed[/green]" if t["passed"] else f"[red]failed[/red]: {t['message']}"
        table.add_row(t["id"], f"{t['points']:g}", result)
    console.print(table)
    passed = sum(t["passed"] for t in report["tests"])
    console.print(f"{passed}/{len(report['tests'])} visible test cell(s) passed.", highlight=False)
    if report.get("stopped"):
        console.print(f"execution stopped: {report['stopped']}", highlight=False)
    if report["unimplemented"]:
        console.print(f"not implemented yet: {', '.join(report['unimplemented'])}", highlight=False)
    console.print("Hidden tests run only at grading (nbgrader autograde / prunerl grade): passing the visible "
                  "tests does not guarantee full marks.", highlight=False)
