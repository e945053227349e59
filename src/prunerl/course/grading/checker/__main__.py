"""``python -m prunerl.course.grading.checker judge ...``: verdicts as JSON on stdout (see the package docstring)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from prunerl.runtime import quiet_tensorflow


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m prunerl.course.grading.checker")
    sub = parser.add_subparsers(dest="command", required=True)
    j = sub.add_parser("judge", help="judge the records of one notebook (or a batch)")
    j.add_argument("--assignment")
    j.add_argument("--params", type=Path)
    j.add_argument("--records", type=Path)
    j.add_argument("--batch", type=Path, help='JSON list of {"assignment", "params", "records"}')
    return parser


def _one(assignment: str, params_path: Path, records: Path) -> dict:
    from .judges import judge_notebook

    params = json.loads(Path(params_path).read_text(encoding="utf-8"))
    if params.get("assignment") != assignment:
        raise ValueError(f"{params_path} holds the params of {params.get('assignment')!r}, not {assignment!r}")
    return judge_notebook(params, records, params.get("cells"))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet_tensorflow()  # the same float sums as the TensorFlow kernels
    try:
        if args.batch is not None:
            jobs = json.loads(args.batch.read_text(encoding="utf-8"))
            result = [_one(j["assignment"], Path(j["params"]), Path(j["records"])) for j in jobs]
        elif args.assignment and args.params and args.records:
            result = _one(args.assignment, args.params, args.records)
        else:
            print("error: judge needs --assignment, --params and --records, or --batch", file=sys.stderr)
            return 2
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
