"""``prunerl grade PATH ...``: grade notebooks through nbgrader autograde (see prunerl.grading.grade)."""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a .ipynb, a jupytext .py, a folder of notebooks, or an nbgrader submitted/ tree")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--jobs", type=int, default=1, help="parallel nbgrader processes (default 1)")
    parser.add_argument("--feedback", metavar="DIR", default=None, help="write nbgrader HTML feedback into DIR")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell before it is interrupted")
    parser.add_argument("--memory", default="4G",
                        help="memory each notebook process may allocate (default 4G)")
    parser.add_argument("--disk", default="1G",
                        help="largest file, and most files in each scratch folder, a notebook may write (default 1G)")
    parser.add_argument("--cpu", type=int, default=3600, help="CPU seconds per notebook process (default 3600)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade without the sandbox: learner code runs with your rights (trusted work only)")
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
    from ..grading.sandbox import Limits, parse_size

    err = Console(stderr=True, soft_wrap=True)
    try:
        limits = Limits(memory=parse_size(args.memory), disk=parse_size(args.disk), cpu=args.cpu)
    except ValueError as exc:
        err.print(f"[red]cannot grade[/red]: {exc}", highlight=False)
        return 2
    if args.timeout <= 0 or args.cpu <= 0 or args.jobs <= 0 or args.batch_size <= 0:
        err.print("[red]cannot grade[/red]: --timeout, --cpu, --jobs and --batch-size must be positive")
        return 2
    layout = Layout(Path(args.root).resolve()) if args.root else default_layout()
    try:
        summary = grade([Path(p) for p in args.paths], layout, Path(args.out), jobs=args.jobs,
                        timeout=args.timeout, feedback_dir=Path(args.feedback) if args.feedback else None,
                        resume=not args.fresh, batch_size=args.batch_size,
                        progress=lambda msg: err.print(f"[dim]{msg}[/dim]", highlight=False),
                        sandboxed=not args.unsafe_no_sandbox, limits=limits)
    except (FileNotFoundError, RuntimeError) as exc:
        err.print(f"[red]cannot grade[/red]: {exc}", highlight=False)
        return 2
    if args.json:
        sys.stdout.write(to_json(summary) + "\n")
    else:
        print_summary(summary)
    return 0
