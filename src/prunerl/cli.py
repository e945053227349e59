"""The ``prunerl`` command line.

Each subcommand lives in ``prunerl.commands.<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``; only the chosen one is imported, so ``prunerl zoo`` never pays for TensorFlow.
Bad input is one line on stderr and exit code 2, never a traceback (set PRUNERL_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from importlib.metadata import PackageNotFoundError, version

# name -> one-line help; the module prunerl.commands.<name> implements it.
COMMANDS = {
    "zoo": "list the agent zoo with each agent's measured return",
    "evaluate": "evaluate a zoo agent with seeded greedy episodes",
    "train": "train a zoo agent from scratch and write its weight file and card",
    "build": "build the nbgrader course, released exercises and executed solutions from autograder/authored",
    "grade": "grade notebooks or an nbgrader submitted/ tree through nbgrader autograde",
    "check": "run a notebook's visible tests locally (fast; hidden tests run only at grading)",
    "compare": ("compare pruning strategies x sparsities over seeds: median, order-statistic interval, paired "
                "differences, size, FLOPs, CSV, plot"),
    "interview": "interview practice: FSRS reviews, mock interviews, timed coding rounds, Anki/CSV export (en/zh)",
    "site": "build the course website (static HTML) from the lessons' cached executed notebooks",
    "report": "a class report from a grading folder: per test who failed and why, per exercise the scores (HTML, CSV)",
}


# Raised by argument handling inside a command: the user's input, not a bug.
BAD_INPUT = (ValueError, KeyError, FileNotFoundError)
# Modules that only an extra (pyproject.toml) installs: a command that needs one says how to install it.
EXTRA_MODULES = {
    "course": {"nbgrader", "nbclient", "nbformat", "nbconvert", "jupytext", "jupyter_core", "jupyter_server",
               "traitlets", "IPython", "fsrs", "genanki", "dask", "distributed", "nh3"},
    "site": {"bs4", "sphinx", "jupyter_book", "selenium", "jupyter_server_mathjax"},
}


def _needs_extra(command: str, exc: BaseException) -> bool:
    """If ``exc`` is a module of an extra missing, say in one line how to install it and return True."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    extra = next((e for e, mods in EXTRA_MODULES.items() if name in mods), None)
    if not isinstance(exc, ModuleNotFoundError) or extra is None:
        return False
    print(f"prunerl {command}: needs the {extra} tools ({name} is not installed): pip install 'prunerl[{extra}]'",
          file=sys.stderr)
    return True


class Parser(argparse.ArgumentParser):
    """Parse errors as one line, ``prunerl <cmd>: <problem>``, exit 2 (subparsers inherit the class)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {' '.join(message.split())}\n")


def _version() -> str:
    try:
        return version("prunerl")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from . import __version__

        return __version__


def _one_line(exc: BaseException) -> str:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    return " ".join(str(text).split()) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="prunerl", description="prunerl: a course on pruning deep RL agents in PyTorch and TensorFlow.")
    parser.add_argument("--version", action="version", version=f"prunerl {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    owner = parser  # the parser that reports unrecognized arguments: the chosen command's, to name it
    for name, help_text in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            try:
                module = importlib.import_module(f"prunerl.commands.{name}")
            except ModuleNotFoundError as exc:
                if _needs_extra(name, exc):
                    return 2
                raise
            module.add_arguments(cmd)
            cmd.set_defaults(run=module.run)
            owner = cmd
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            owner.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version or a parse error (already printed): callers get the code
        return exc.code if isinstance(exc.code, int) else 2
    except ModuleNotFoundError as exc:  # an argument type that needs an extra (e.g. notebook suffixes: nbformat)
        if _needs_extra(chosen, exc):
            return 2
        raise
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line; the traceback only when asked for
        if _needs_extra(args.command, exc):
            return 2
        if os.environ.get("PRUNERL_DEBUG") == "1":
            traceback.print_exc()
        print(f"prunerl {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, BAD_INPUT) else 1


if __name__ == "__main__":
    sys.exit(main())
