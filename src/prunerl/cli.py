"""The ``prunerl`` command line.

Each subcommand lives in ``prunerl.commands.<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``; only the chosen one is imported, so ``prunerl zoo`` never pays for TensorFlow.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> one-line help; the module prunerl.commands.<name> implements it.
COMMANDS = {
    "zoo": "list the agent zoo with each agent's measured return",
    "evaluate": "evaluate a zoo agent with seeded greedy episodes",
    "train": "train a zoo agent from scratch and write its weight file and card",
    "build": "build the nbgrader course, released exercises and executed solutions from autograder/sources",
    "grade": "grade notebooks or an nbgrader submitted/ tree through nbgrader autograde",
    "check": "run a notebook's visible tests locally (fast; hidden tests run only at grading)",
    "compare": "compare pruning strategies x sparsities over seeds: IQM, bootstrap interval, size, FLOPs, CSV, plot",
    "interview": "interview practice: FSRS reviews, mock interviews, timed coding rounds, Anki/CSV export (en/zh)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="prunerl", description="prunerl: a course on pruning deep RL agents in PyTorch and TensorFlow.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, help_text in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(f"prunerl.commands.{name}")
            module.add_arguments(cmd)
            cmd.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
