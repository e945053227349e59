"""What the checker needs to judge one notebook: the check inputs, which checks each graded cell runs, and which
of the learner's names each graded cell uses.

The inputs are drawn (:func:`prunerl.course.grading.protocol.draw`) from the course secret
(``c.PrunerlChecks.secret = "..."`` in ``nbgrader_config.py``, read with :mod:`ast`, never executed), the student id
and the notebook's digest: two learners, or two submissions of one learner, get different thresholds, sparsities,
layers and seeds, so inputs that leak through a notebook's output help nobody. The kernel gets only the values
(:func:`kernel_inputs`), in a file beside its records folder named in no variable; the rest stays with the checker.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from prunerl.course.grading.protocol import check_key, draw

CHECK_CALL = re.compile(r"\bchecks\.(\w+)\(")
SECTION, KEY = "PrunerlChecks", "secret"


def read_secret(config: Path) -> str | None:
    """The value of ``c.PrunerlChecks.secret = "<str>"`` in an nbgrader config file, or None."""
    try:
        tree = ast.parse(Path(config).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    secret = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if (isinstance(target, ast.Attribute) and target.attr == KEY
                        and isinstance(target.value, ast.Attribute) and target.value.attr == SECTION):
                    secret = node.value.value
    return secret


def exercise_of(assignment: str) -> str:
    return assignment.split("_", 1)[0]


def framework_of(assignment: str) -> str:
    return "tensorflow" if assignment.endswith("_tf") else "torch"


def _master(assignment: str, course_dir: Path):
    from prunerl.course.grading.layout import read_notebook

    master = Path(course_dir) / "source" / assignment / f"{assignment}.ipynb"
    if master.is_file():
        return read_notebook(master)
    import jupytext

    return jupytext.read(Path(course_dir) / "sources" / f"{assignment}.py")


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _names(source: str) -> list[str]:
    """The learner's names a graded cell relies on: those its hidden checks are given, else every name it uses."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    checks = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and isinstance(n.func.value, ast.Name) and n.func.value.id == "checks"]
    nodes = [a for c in checks for a in c.args] if checks else [tree]
    return sorted({n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)})


def tests_of(assignment: str, course_dir: Path) -> dict[str, list[str]]:
    """``{grade_id: [check names]}`` of the graded cells, from the master notebook (or its source)."""
    from prunerl.course.grading.layout import grade_id, is_graded

    return {grade_id(c): CHECK_CALL.findall(_source(c)) for c in _master(assignment, course_dir).cells
            if is_graded(c) and grade_id(c)}


def params(assignment: str, course_dir, student: str | None = None, notebook: str | None = None) -> dict:
    """What the checker is given to judge one notebook of ``assignment`` (``student``'s, of digest ``notebook``):
    the inputs, the checks of each graded cell, the names each graded cell uses, the cells nbgrader restores."""
    from prunerl.course.grading.layout import grade_id, is_graded

    course_dir = Path(course_dir)
    fw, exercise = framework_of(assignment), exercise_of(assignment)
    key = check_key(read_secret(course_dir / "nbgrader_config.py"), student, notebook)
    cells = _master(assignment, course_dir).cells
    graded = [c for c in cells if is_graded(c) and grade_id(c)]
    return {"assignment": assignment, "framework": fw, "exercise": exercise, "values": draw(exercise, fw, key),
            "tests": {grade_id(c): CHECK_CALL.findall(_source(c)) for c in graded},
            "uses": {grade_id(c): _names(_source(c)) for c in graded},
            "locked": sorted(grade_id(c) for c in cells
                             if grade_id(c) and c.metadata.get("nbgrader", {}).get("locked"))}


def kernel_inputs(params_: dict) -> dict:
    """The part of ``params`` a kernel needs to call the learner's functions: the values, nothing else."""
    return {"values": params_["values"]}
