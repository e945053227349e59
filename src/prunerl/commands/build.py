"""``prunerl build [ASSIGNMENT ...] [--check]``: generate the nbgrader course, exercises and solutions."""
from __future__ import annotations

from ._args import existing_dir, positive_int


def add_arguments(parser) -> None:
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignments to build (default: both tracks of every autograder/authored/*.py)")
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary directory and fail naming every stale generated file")
    parser.add_argument("--no-execute", action="store_true", help="do not execute the solution notebooks")
    parser.add_argument("--jobs", type=positive_int, default=1, help="solution notebooks executed in parallel")
    parser.add_argument("--root", type=existing_dir, default=None,
                        help="repository root (default: the prunerl checkout)")


def run(args) -> int:
    import sys
    from pathlib import Path

    from rich.console import Console

    from ..course.grading.build import BuildError, build, check_stale
    from ..course.grading.layout import Layout, default_layout

    console = Console(stderr=True)
    layout = Layout(Path(args.root).resolve()) if args.root else default_layout()
    known = layout.assignments()
    unknown = [a for a in args.assignments if a not in known]
    if unknown:
        print(f"prunerl build: no source for {', '.join(unknown)} (have: {', '.join(known)})", file=sys.stderr)
        return 2
    try:
        if args.check:
            stale = check_stale(layout, args.assignments or None)
            if stale:
                console.print(f"[red]{len(stale)} generated file(s) are stale:[/red]")
                for line in stale:
                    print(f"  {line}")
                console.print("run `prunerl build` and commit the result")
                return 1
            n = len(args.assignments or layout.assignments())
            console.print(f"[green]up to date[/green]: {n} assignment(s)")
            return 0
        written = build(layout, args.assignments or None, execute=not args.no_execute, jobs=args.jobs,
                        log=lambda msg: console.print(f"[dim]{msg}[/dim]"))
    except BuildError as exc:
        console.print(f"[red]build failed[/red]: {exc}")
        return 1
    for path in written:
        print(path.relative_to(layout.root))
    return 0
