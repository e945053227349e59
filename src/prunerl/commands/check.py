"""``prunerl check EXERCISE_OR_PATH``: run the visible tests of a notebook locally, fast."""
from __future__ import annotations

from ._args import existing_dir, positive_int


def add_arguments(parser) -> None:
    parser.add_argument("target", metavar="EXERCISE_OR_PATH",
                        help="an exercise name (runs exercises/<name>.ipynb) or a notebook path (.ipynb or .py)")
    parser.add_argument("--timeout", type=positive_int, default=120, help="seconds per cell before it is interrupted")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--root", type=existing_dir, default=None,
                        help="repository root (default: the prunerl checkout)")


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from ..course.grading.layout import Layout, default_layout
    from ..course.grading.selfcheck import print_report, resolve, run_visible

    layout = Layout(Path(args.root).resolve()) if args.root else default_layout()
    try:
        report = run_visible(resolve(args.target, layout), timeout=args.timeout)
    except (FileNotFoundError, ValueError) as exc:
        print(f"prunerl check: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0 if all(t["passed"] for t in report["tests"]) else 1
