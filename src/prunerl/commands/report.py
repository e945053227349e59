"""``prunerl report GRADES_DIR``: a class report from a grading folder's verified results (see
prunerl.course.grading.classreport)."""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("grades", metavar="GRADES_DIR", help="the results folder of `prunerl grade` (its --out)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="where report.html, its plots, report.csv and scores.csv go (default: GRADES_DIR/report)")


def run(args) -> int:
    from pathlib import Path

    from rich.console import Console

    from ..course.grading.classreport import ReportError, verified_results, write_report

    err = Console(stderr=True, soft_wrap=True)
    try:
        results = verified_results(Path(args.grades))
    except (ReportError, OSError) as exc:
        err.print(f"[red]cannot report[/red]: {exc}", highlight=False)
        return 2
    out = Path(args.out) if args.out else Path(args.grades) / "report"
    if out.exists() and not out.is_dir():
        err.print(f"[red]cannot report[/red]: {out} is a file, not a folder", highlight=False)
        return 2
    files = write_report(results, out)
    Console(soft_wrap=True).print(f"class report of {len(results)} graded notebook(s): {files['html']} "
                                  f"(per test: {files['csv']}; per learner: {files['scores']})", highlight=False)
    return 0
