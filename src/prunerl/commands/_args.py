"""Argument types shared by the subcommands: used as argparse ``type=`` so bad values are rejected by the
parser (one line, exit 2) before a command imports anything heavy."""
from __future__ import annotations

import argparse
from pathlib import Path


def _number(text: str, kind, name: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {name}") from None


def positive_int(text: str) -> int:
    value = _number(text, int, "an integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be a positive integer")
    return value


def nonneg_int(text: str) -> int:
    value = _number(text, int, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def sparsity(text: str) -> float:
    """A nominal sparsity in [0, 1)."""
    value = _number(text, float, "a number")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"sparsity {text} must lie in [0, 1)")
    return value


def framework(text: str) -> str:
    from ..backend import FRAMEWORKS

    if text not in FRAMEWORKS:
        raise argparse.ArgumentTypeError(f"unknown framework {text!r}; choose one of {', '.join(FRAMEWORKS)}")
    return text


def existing_path(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return path


def notebook_or_folder(text: str) -> Path:
    """A notebook file (.ipynb or jupytext .py) or a folder that may hold some."""
    from ..course.grading.submissions import NOTEBOOK_SUFFIXES

    path = existing_path(text)
    if path.is_file() and path.suffix not in NOTEBOOK_SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text}: not a notebook (expected .ipynb or a jupytext .py)")
    return path


def existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    return path
