"""Time every lesson executed headless (jupytext -> nbclient), in fast mode and in full mode.

    python bench/bench_lessons.py               # both modes (full takes minutes)
    python bench/bench_lessons.py --mode fast   # fast only
    python bench/bench_lessons.py --lessons 1,5 --mode full

Goals on the 2-core course machines: all lessons <= 2 min in fast mode, <= 10 min in full mode.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"fast": 120.0, "full": 600.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("fast", "full", "both"), default="both")
    parser.add_argument("--lessons", default="", help="comma-separated lesson numbers (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the timings here")
    parser.add_argument("--save", type=Path, default=None, help="write the executed notebooks to this folder")
    args = parser.parse_args(argv)

    from prunerl.course import lessons as L

    paths = sorted((ROOT / "lessons").glob("0*_*.py"))
    if args.lessons:
        wanted = {int(x) for x in args.lessons.split(",")}
        paths = [p for p in paths if int(p.name[:2]) in wanted]
    modes = ("fast", "full") if args.mode == "both" else (args.mode,)
    results: dict[str, dict[str, float]] = {}
    failed = False
    for mode in modes:
        results[mode] = {}
        for path in paths:
            with tempfile.TemporaryDirectory() as figs:
                start = time.perf_counter()
                try:
                    nb, seconds = L.execute_lesson(path, fast=mode == "fast", timeout=1800, figures_dir=figs)
                    images = L.notebook_images(nb)
                except Exception as exc:  # report and go on: a benchmark shows every lesson's time
                    seconds, images, failed = time.perf_counter() - start, 0, True
                    print(f"{mode:4s} {path.name:40s} FAILED: {type(exc).__name__}: {str(exc)[:200]}")
                    continue
            if args.save:
                import nbformat

                args.save.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, args.save / f"{path.stem}.{mode}.ipynb")
            results[mode][path.name] = round(seconds, 1)
            print(f"{mode:4s} {path.name:40s} {seconds:7.1f} s  {images} figure(s)", flush=True)
        total = sum(results[mode].values())
        verdict = "within" if total <= GOALS[mode] else "OVER"
        goal = f"({verdict} the {GOALS[mode]:.0f} s goal)"
        print(f"{mode:4s} {'TOTAL':40s} {total:7.1f} s  {goal}\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
