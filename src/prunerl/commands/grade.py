"""``prunerl grade PATH ...``: grade notebooks through nbgrader autograde (see prunerl.grading.grade)."""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a .ipynb, a jupytext .py, a folder of notebooks, or an nbgrader submitted/ tree")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--jobs", type=int, default=1, help="parallel nbgrader processes (default 1)")
    parser.add_argument("--feedback", metavar="DIR", default=None, help="write nbgrader HTML feedback into DIR")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell before it is interrupted")
    parser.add_argument("--out", metavar="DIR", default="prunerl-grades",
                        help="results folder: state.json (resume), gradebook.db, autograded notebooks")
    parser.add_argument("--batch-size", type=int, default=12,
                        help="notebooks per nbgrader process (state is saved after each batch)")
    parser.add_argument("--fresh", action="store_true", help="grade everything again (ignore state.json)")
    parser.add_argument("--root", default=None, help="repository root holding autograder/ (default: the checkout)")


def run(args) -> int:
    import sys
    from pathlib import Path

    from rich.console import Console

    from ..grading.course import Layout, default_layout
    from ..grading.grade import grade
    from ..grading.report import print_summary, to_json

    err = Console(stderr=True)
    layout = Layout(Path(args.root).resolve()) if args.root else default_layout()
    try:
        summary = grade([Path(p) for p in args.paths], layout, Path(args.out), jobs=args.jobs,
                        timeout=args.timeout, feedback_dir=Path(args.feedback) if args.feedback else None,
                        resume=not args.fresh, batch_size=args.batch_size,
                        progress=lambda msg: err.print(f"[dim]{msg}[/dim]"))
    except (FileNotFoundError, RuntimeError) as exc:
        err.print(f"[red]cannot grade[/red]: {exc}")
        return 2
    if args.json:
        sys.stdout.write(to_json(summary) + "\n")
    else:
        print_summary(summary)
    return 0
