"""Out-of-process checker: gives the verdict of every hidden check from records, never running learner code.

``python -m prunerl.course.grading.checker judge --assignment A --params P --records DIR`` (or ``--batch JOBS.json``,
a list of ``{"assignment", "params", "records"}``) prints ``{"tests": {grade_id: {"passed", "message"}},
"flags": [...]}`` (a list of those for a batch). :func:`params` gives what the grader writes to ``P``.
"""
from __future__ import annotations

from . import ex1, ex2, ex3, ex4, ex5  # noqa: F401  (each registers its judges)
from .judges import judge_notebook
from .params import kernel_inputs, params

__all__ = ["judge_notebook", "kernel_inputs", "params"]
