"""The notebooks of a grading run: collect them, match each to its assignment, and sanitize it for nbgrader.

Learner files are parsed here by trusted code only; nothing in them runs before the sandboxed kernel.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import lms
from .layout import cell_source, grade_id, grade_ids, nbgrader_meta, read_notebook

NOTEBOOK_SUFFIXES = (".ipynb", ".py")


@dataclass
class Submission:
    path: Path
    label: str
    student: str | None = None
    assignment: str | None = None
    nb: object = None
    error: str | None = None
    flags: list[str] = field(default_factory=list)
    digest: str = ""


def collect(paths: list[Path]) -> list[Submission]:
    """Every notebook under ``paths``; ``<student>/<assignment>/<file>`` layouts keep their student, and so do the
    files of an LMS zip (``lms``, which raises ``lms.BadZip`` for a zip it refuses)."""
    subs: list[Submission] = []
    for root in paths:
        root = Path(root)
        if root.is_file() and root.suffix.lower() == ".zip":
            subs += [Submission(path, label, d.student, flags=list(d.flags)) for path, label, d in lms.extract(root)]
            continue
        if root.is_file():
            subs.append(_tree_ids(Submission(root.resolve(), str(root)), 0))
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"no such file or folder: {root}")
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if (not path.is_file() or path.suffix not in NOTEBOOK_SUFFIXES
                    or any(part.startswith(".") or part == "__pycache__" for part in rel.parts)):
                continue
            sub = _tree_ids(Submission(path.resolve(), str(path)), len(rel.parts))
            if sub.student:
                main_nb = path.parent / f"{sub.assignment}.ipynb"
                if path != main_nb and main_nb.exists():
                    continue  # an extra file beside the assignment's notebook (nbgrader skips those too)
            subs.append(sub)
    return subs


def _tree_ids(sub: Submission, depth: int) -> Submission:
    """Student and assignment of ``<student>/<assignment>/<file>`` below the input (``depth`` parts), or of any
    file in an nbgrader ``submitted/<student>/<assignment>/`` folder, however the input named it."""
    parents = sub.path.parents
    if depth >= 3 or (len(parents) > 3 and parents[2].name == "submitted"):
        sub.student, sub.assignment = parents[1].name, parents[0].name
    return sub


def match_assignment(sub: Submission, template) -> None:
    """Assign ``sub.assignment`` by folder, file name or grade_ids; flags how it was matched if not obvious."""
    known = template.gids()
    if sub.assignment in known and sub.path.stem == sub.assignment:
        return
    folder_hint = sub.assignment if sub.assignment in known else None
    sub.assignment = None
    stem = sub.path.stem
    if stem in known:
        sub.assignment = stem
        return
    prefixed = [a for a in known if stem.startswith(a)]
    if prefixed:
        sub.assignment = max(prefixed, key=len)
        return
    if folder_hint:
        sub.assignment = folder_hint
        return
    if sub.nb is not None:
        ids = set(grade_ids(sub.nb))
        overlap = {a: len(ids & g) for a, g in known.items()}
        best = max(overlap, key=overlap.get, default=None)
        if best and overlap[best] > 0:
            sub.assignment = best
            sub.flags.append(f"matched to assignment {best} by its nbgrader cell ids (file name {sub.path.name})")


def load(sub: Submission, template) -> None:
    try:
        sub.nb = read_notebook(sub.path)
    except ValueError as exc:
        sub.error = str(exc)
    match_assignment(sub, template)
    if sub.assignment is None and sub.error is None:
        sub.error = ("could not tell which assignment this notebook belongs to (its file name and nbgrader cell "
                     f"ids match none of: {', '.join(sorted(template.releases))})")
    if sub.path.suffix == ".py" and sub.error is None:
        sub.flags.append("jupytext .py submission: converted to a notebook before grading")


def sanitize(nb, release) -> tuple[object, list[str]]:
    """A copy of ``nb`` that nbgrader can autograde, and flags for everything a learner changed that matters.

    Cells are compared with the released notebook (what the learner was given), by grade_id."""
    nb = nbformat.from_dict(copy.deepcopy(dict(nb)))
    flags: list[str] = []
    rel_cells = {grade_id(c): c for c in release.cells if grade_id(c)}
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.metadata:
            continue
        gid = grade_id(cell)
        if gid is None or gid not in rel_cells:
            del cell.metadata["nbgrader"]
            if gid:
                flags.append(f"cell {index} carries unknown nbgrader id {gid!r}: graded as an ordinary cell")
            continue
        if gid in seen:
            del cell.metadata["nbgrader"]
            flags.append(f"cell {index} duplicates nbgrader id {gid!r} (a copied cell): the copy runs as an "
                         "ordinary cell, the first one is graded")
            continue
        seen.add(gid)
        ref = rel_cells[gid]
        ref_meta = nbgrader_meta(ref)
        edited = cell.cell_type != ref.cell_type or cell_source(cell).rstrip() != cell_source(ref).rstrip()
        if edited and not ref_meta.get("solution"):
            kind = "test" if ref_meta.get("grade") else "read-only"
            flags.append(f"{kind} cell {gid!r} was edited: nbgrader graded the master copy instead "
                         "(checksum mismatch)")
        cell.metadata["nbgrader"] = copy.deepcopy(ref_meta)
        if cell.cell_type != ref.cell_type:
            cell.cell_type = ref.cell_type
            cell.source = cell_source(ref)
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    for gid, ref in rel_cells.items():
        if gid in seen:
            continue
        meta = nbgrader_meta(ref)
        if meta.get("solution"):
            flags.append(f"solution cell {gid!r} is missing (deleted, or retyped without its metadata): the "
                         "notebook's code was graded as it is")
        elif meta.get("grade"):
            flags.append(f"test cell {gid!r} is missing (deleted, or retyped without its metadata): nbgrader "
                         "put the master copy back and graded it")
        else:
            flags.append(f"read-only cell {gid!r} is missing (deleted, or retyped without its metadata)")
    ids: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cid = cell.get("id")
        if not isinstance(cid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cid) or cid in ids:
            cell["id"] = f"cell-{index:04d}"
        ids.add(cell["id"])
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = {k: v for k, v in nb.metadata.items() if k not in ("jupytext",)}
    nb.metadata["kernelspec"] = copy.deepcopy(release.metadata.get("kernelspec", {}))
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError:
        for cell in nb.cells:  # outputs are discarded by nbgrader anyway; invalid ones must not block it
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            for key in list(cell.keys()):
                if key not in ("id", "cell_type", "metadata", "source", "outputs", "execution_count", "attachments"):
                    del cell[key]
    return nb, flags
