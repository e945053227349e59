"""Printing grading results: rich tables for people, a fixed JSON schema for machines."""
from __future__ import annotations

import json


def to_json(summary: dict) -> str:
    """``{"total", "max", "notebooks": [{"path", "score", "max_score", "tests": [{"id", "score", "max_score",
    "message"}], "flags": [...]}]}`` (plus "assignment", "student" and "feedback" per notebook)."""
    keys = ("path", "assignment", "student", "score", "max_score", "tests", "flags", "feedback")
    notebooks = [{k: nb.get(k) for k in keys if k in nb or k in ("flags", "tests")} for nb in summary["notebooks"]]
    return json.dumps({"total": summary["total"], "max": summary["max"], "notebooks": notebooks}, indent=2)


def _points(x: float) -> str:
    return f"{x:g}"


def print_summary(summary: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    for nb in summary["notebooks"]:
        assignment = nb.get("assignment") or "unknown assignment"
        title = f"{nb['path']}  [{assignment}]  {_points(nb['score'])} / {_points(nb['max_score'])}"
        table = Table(title=title, title_justify="left", show_lines=False)
        table.add_column("test", no_wrap=True)
        table.add_column("points", justify="right", no_wrap=True)
        table.add_column("result")
        for test in nb["tests"]:
            ok = test["score"] >= test["max_score"]
            mark = "[green]passed[/green]" if ok else f"[red]failed[/red]: {test['message'] or ''}"
            if not ok and test["score"] > 0:
                mark = f"[yellow]partial[/yellow]: {test['message'] or ''}"
            table.add_row(test["id"], f"{_points(test['score'])}/{_points(test['max_score'])}", mark)
        console.print(table)
        for flag in nb.get("flags", []):
            console.print(f"  [yellow]![/yellow] {flag}", highlight=False)
        if nb.get("feedback"):
            console.print(f"  feedback: {nb['feedback']}", highlight=False)
    n = len(summary["notebooks"])
    console.print(f"[bold]{n} notebook(s): {_points(summary['total'])} / {_points(summary['max'])} points[/bold]")
