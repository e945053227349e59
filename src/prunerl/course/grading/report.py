"""Printing grading results: rich tables for people, a fixed JSON schema for machines."""
from __future__ import annotations

import json


def to_json(summary: dict) -> str:
    """``{"total", "max", "notebooks": [{"path", "score", "max_score", "tests": [{"id", "score", "max_score",
    "message", "kind"}], "flags": [...]}]}`` (plus "assignment", "student" and "feedback" per notebook); a failed
    test's "kind" is "blank", "crashed", "wrong", "stopped" or "not graded" (``results``)."""
    keys = ("path", "assignment", "student", "score", "max_score", "tests", "flags", "feedback")
    notebooks = [{k: nb.get(k) for k in keys if k in nb or k in ("flags", "tests")} for nb in summary["notebooks"]]
    return json.dumps({"total": summary["total"], "max": summary["max"], "notebooks": notebooks}, indent=2)


def _points(x: float) -> str:
    return f"{x:g}"


def _total(summary: dict) -> str:
    n = len(summary["notebooks"])
    return f"{n} notebook(s): {_points(summary['total'])} / {_points(summary['max'])} points"


def print_brief(summary: dict, console=None) -> None:
    """``--quiet``: one line per notebook (its score), then the total."""
    from rich.console import Console

    console = console or Console(soft_wrap=True)
    for nb in summary["notebooks"]:
        line = f"{nb['path']} [{nb.get('assignment') or 'unknown assignment'}]: {_points(nb['score'])} / " \
               f"{_points(nb['max_score'])}"
        console.print(line, highlight=False, markup=False)
    console.print(_total(summary), highlight=False, markup=False)


def print_summary(summary: dict, console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    for nb in summary["notebooks"]:
        assignment = nb.get("assignment") or "unknown assignment"
        title = escape(f"{nb['path']}  [{assignment}]  {_points(nb['score'])} / {_points(nb['max_score'])}")
        table = Table(title=title, title_justify="left", show_lines=False)
        table.add_column("test", no_wrap=True)
        table.add_column("points", justify="right", no_wrap=True)
        table.add_column("result")
        for test in nb["tests"]:
            ok = test["score"] >= test["max_score"]
            message = escape(test["message"] or "")  # learner-made text: never read as markup
            mark = "[green]passed[/green]" if ok else f"[red]failed[/red]: {message}"
            if not ok and test["score"] > 0:
                mark = f"[yellow]partial[/yellow]: {message}"
            table.add_row(test["id"], f"{_points(test['score'])}/{_points(test['max_score'])}", mark)
        console.print(table)
        for flag in nb.get("flags", []):
            console.print(f"  [yellow]![/yellow] {escape(str(flag))}", highlight=False)
        if nb.get("feedback"):
            console.print(f"  feedback: {nb['feedback']}", highlight=False)
    console.print(f"[bold]{_total(summary)}[/bold]")
