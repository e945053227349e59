"""``prunerl grade PATH ...``: grade notebooks through nbgrader autograde (see prunerl.course.grading.grade)."""
from __future__ import annotations

from ._args import existing_dir, notebook_or_folder, positive_int


def grading_input(text: str):
    """A notebook, a folder of notebooks, or a zip of LMS downloads (checked when it is opened)."""
    from pathlib import Path

    path = Path(text)
    return path if path.suffix.lower() == ".zip" and path.is_file() else notebook_or_folder(text)


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", type=grading_input,
                        help="a .ipynb, a jupytext .py, a folder of notebooks, an nbgrader submitted/ tree, or a "
                        "zip of LMS (Canvas) downloads")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--jobs", type=positive_int, default=1, help="parallel nbgrader processes (default 1)")
    parser.add_argument("--feedback", action="store_true",
                        help="also write nbgrader's HTML feedback, to OUT/feedback/<student>/<assignment>/")
    parser.add_argument("--timeout", type=positive_int, default=120, help="seconds per cell before it is interrupted")
    parser.add_argument("--memory", default="4G",
                        help="memory each notebook process may allocate (default 4G)")
    parser.add_argument("--disk", default="1G",
                        help="largest file, and most files in each scratch folder, a notebook may write (default 1G)")
    parser.add_argument("--cpu", type=positive_int, default=3600,
                        help="CPU seconds per notebook process (default 3600)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade without the sandbox: learner code runs with your rights (trusted work only)")
    parser.add_argument("--out", metavar="DIR", default="prunerl-grades",
                        help="results folder, an nbgrader course directory: gradebook.db, autograded/<student>/"
                        "<assignment>/, feedback/, state.json (resume)")
    parser.add_argument("--batch-size", type=positive_int, default=40,
                        help="notebooks per nbgrader process (state is saved after each batch)")
    parser.add_argument("--fresh", action="store_true", help="grade everything again (ignore state.json)")
    parser.add_argument("--csv", metavar="FILE", default=None,
                        help="write per-student, per-assignment scores (student, assignment, score, max_score, flags)")
    parser.add_argument("--gradebook", metavar="URL_OR_PATH", default=None,
                        help="nbgrader gradebook to write the scores into (default: a submitted/ tree's course "
                        "gradebook.db; loose notebooks: none)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress or tables: one line per notebook and the total (CI)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="grade on a Dask cluster (e.g. tcp://host:8786); results and their key stay here")
    parser.add_argument("--root", type=existing_dir, default=None,
                        help="repository root holding autograder/ (default: the checkout)")


def run(args) -> int:
    import sys
    from pathlib import Path

    from rich.console import Console

    from ..course.grading.classreport import ReportError, verified_results, write_scores
    from ..course.grading.layout import Layout, default_layout
    from ..course.grading.grade import grade
    from ..course.grading.gradebook import GradebookError, named_target
    from ..course.grading.lms import BadZip
    from ..course.grading.progress import tracker_for
    from ..course.grading.report import print_brief, print_summary, to_json
    from ..course.grading.sandbox import Limits, parse_size
    from ..course.grading.submissions import collect

    err = Console(stderr=True, soft_wrap=True)
    try:
        limits = Limits(memory=parse_size(args.memory), disk=parse_size(args.disk), cpu=args.cpu)
    except ValueError as exc:
        err.print(f"[red]cannot grade[/red]: {exc}", highlight=False)
        return 2
    try:
        found = collect(args.paths)
        if args.gradebook:
            named_target(args.gradebook, "")
    except (BadZip, GradebookError) as exc:
        err.print(f"[red]cannot grade[/red]: {exc}", highlight=False)
        return 2
    if not found:
        err.print(f"[red]cannot grade[/red]: no notebook (.ipynb or .py) in {' '.join(map(str, args.paths))}",
                  highlight=False)
        return 2
    if args.csv and Path(args.csv).is_dir():
        err.print(f"[red]cannot grade[/red]: --csv {args.csv} is a folder, not a file", highlight=False)
        return 2
    tracker = tracker_for(err, args.quiet, live=sys.stdout.isatty() and err.is_terminal)
    layout = Layout(Path(args.root).resolve()) if args.root else default_layout()
    try:
        summary = grade(args.paths, layout, Path(args.out), jobs=args.jobs,
                        timeout=args.timeout, feedback=args.feedback,
                        resume=not args.fresh, batch_size=args.batch_size,
                        progress=(lambda _msg: None) if args.quiet else
                        lambda msg: err.print(f"[dim]{msg}[/dim]", highlight=False),
                        sandboxed=not args.unsafe_no_sandbox, limits=limits, tracker=tracker,
                        scheduler=args.scheduler, gradebook=args.gradebook)
    except (FileNotFoundError, RuntimeError) as exc:
        err.print(f"[red]cannot grade[/red]: {exc}", highlight=False)
        return 2
    if args.csv:  # every verified result of the folder, with this run's (also unreadable notebooks) on top
        try:
            kept = verified_results(Path(args.out))
        except ReportError:  # nothing kept yet (every notebook unreadable): this run's results only
            kept = []
        write_scores(Path(args.csv), kept + summary["notebooks"])
    if args.json:
        sys.stdout.write(to_json(summary) + "\n")
    elif args.quiet:
        print_brief(summary)
    else:
        print_summary(summary)
    ungraded = [nb for nb in summary["notebooks"] if _ungraded(nb)]
    for nb in ungraded:
        reason = nb["flags"][0] if nb.get("flags") else "no assignment matches it"
        err.print(f"[red]not graded[/red]: {nb['path']}: {reason}", highlight=False)
    return 1 if ungraded else 0


def _ungraded(nb: dict) -> bool:
    """No assignment matched, or nbgrader could not grade it (every test carries a "not graded" message)."""
    return not nb["tests"] or all((t["message"] or "").startswith("not graded") for t in nb["tests"])
