"""The notebooks of a grading run: collect them, match each to its assignment, and sanitize it for nbgrader.

Everything below an input is learner-made, so nothing there is trusted: a symbolic link is never followed (a
notebook that is one, or that has other names, hard links, scores 0 as the folder's owner, unread); a student id
comes only from the ``<student>/<assignment>/`` folders right below the input or its ``submitted/`` folder, never
from a folder deeper inside a submission; a notebook larger than ``MAX_BYTES`` is refused from ``fstat`` before
anything parses it; and no two notebooks may be graded under one student id (``check_ids``). Learner files are
parsed here by trusted code only; nothing in them runs before the sandboxed kernel.
"""
from __future__ import annotations

import copy
import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import lms
from .gradebook import course_of
from .layout import cell_source, grade_id, grade_ids, nbgrader_meta, parse_notebook
from .state import student_id

NOTEBOOK_SUFFIXES = (".ipynb", ".py")
# nbgrader's exchange takes files up to 100 MB; the course's notebooks with their plots are well under 1 MiB, and
# parsing costs the grader about 4.5 times a notebook's size in memory (200 MiB -> 920 MiB measured).
MAX_BYTES = 20 * 1024 ** 2
LINK = "is a symbolic link: not followed, so not graded; score 0 (hand in the notebook itself)"


class IdCollision(RuntimeError):
    """Two notebooks would be graded as one student (one line for the user); nothing is graded."""


@dataclass
class Submission:
    path: Path                 # absolute, as found: never resolved through a link
    label: str
    student: str | None = None
    assignment: str | None = None
    nb: object = None
    error: str | None = None
    flags: list[str] = field(default_factory=list)
    digest: str = ""
    course: Path | None = None  # the nbgrader course of a submitted/ tree (gradebook.course_of), else None
    content: str = ""           # sha256 of the bytes that were read and parsed


def collect(paths: list[Path]) -> list[Submission]:
    """Every notebook under ``paths``; ``<student>/<assignment>/<file>`` layouts keep their student, and so do the
    files of an LMS zip (``lms``, which raises ``lms.BadZip`` for a zip it refuses)."""
    subs: list[Submission] = []
    for given in paths:
        root = Path(os.path.abspath(given))
        if root.suffix.lower() == ".zip" and root.is_file():
            subs += [Submission(path, label, d.student, flags=list(d.flags)) for path, label, d in lms.extract(root)]
            continue
        if not os.path.lexists(root):
            raise FileNotFoundError(f"no such file or folder: {given}")
        if root.is_symlink():
            raise FileNotFoundError(f"{given} is a symbolic link: name the file or folder itself (links are never "
                                    "followed)")
        anchor = _anchor(root)
        course = course_of(anchor) if anchor is not None else None
        found = []
        for path, is_dir in _walk(root):
            sub = _identify(path, is_dir, root, anchor, Path(given))
            if sub is not None:
                sub.course = course if anchor is not None and path.is_relative_to(anchor) else None
                found.append(sub)
        subs += _one_per_folder(found)
    return subs


def _one_per_folder(found: list[Submission]) -> list[Submission]:
    """One notebook per ``<student>/<assignment>/`` folder without a notebook named after its assignment: a
    readable one, an ``.ipynb``, nearest the folder's top, first by name; the result names the files left out."""
    groups: dict[tuple, list[Submission]] = {}
    for sub in found:
        groups.setdefault((sub.student, sub.assignment) if sub.student else (None, id(sub)), []).append(sub)
    kept = []
    for group in groups.values():
        group.sort(key=lambda s: (s.error is not None, s.path.suffix != ".ipynb", len(s.path.parts), s.path))
        if len(group) > 1:
            group[0].flags.append(f"{len(group)} files in {group[0].student}/{group[0].assignment}/ and none named "
                                  f"{group[0].assignment}.ipynb: graded {group[0].path.name}; left out "
                                  + ", ".join(s.path.name for s in group[1:]))
        kept.append(group[0])
    return sorted(kept, key=lambda s: s.path)


def _anchor(root: Path) -> Path | None:
    """The ``submitted/`` folder of an nbgrader tree the input names: the outermost folder of that name the input is
    or lies in (an inner one can be a learner's, inside a submission), or the input's own ``submitted/`` (the input
    is a course folder)."""
    for folder in (*reversed(root.parents), root):
        if folder.name == "submitted":
            return folder
    return root / "submitted" if (root / "submitted").is_dir() and not (root / "submitted").is_symlink() else None


def _walk(root: Path):
    """(path, is a linked folder) for each notebook file or link below ``root`` (the input itself when it is a
    file or link), in sorted order, never entering a linked folder."""
    if root.is_symlink() or not root.is_dir():
        yield root, root.is_dir()
        return
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path)
        elif entry.is_symlink() or (entry.is_file(follow_symlinks=False) and path.suffix in NOTEBOOK_SUFFIXES):
            yield path, entry.is_symlink() and entry.is_dir()


def _identify(path: Path, is_dir: bool, root: Path, anchor: Path | None, given: Path) -> Submission | None:
    """The submission a found path is, by its place below the tree's base (its ``submitted/`` folder, else the
    input): ``<student>/<assignment>/<file>`` there; a file deeper inside is an extra file of that assignment
    folder, never another learner's (nbgrader grades the folder's own notebook; without one, the extra file is
    graded as the folder's); a link there scores 0 as its folder's owner. None: not a submission."""
    base = anchor if anchor is not None and path.is_relative_to(anchor) else root
    rel = path.relative_to(base).parts
    label = str(given / path.relative_to(root)) if path != root else str(given)
    linked = _first_link(path, base if base == anchor else root)
    if is_dir and (base != anchor or not 1 <= len(rel) <= 2):
        return None  # a linked folder outside a submitted/ tree's student or assignment level: simply not entered
    if not is_dir and path.suffix not in NOTEBOOK_SUFFIXES:
        return None  # a linked data file: never read, nothing to grade
    sub = Submission(path, label)
    if len(rel) >= 3 or (is_dir and rel):
        sub.student, sub.assignment = rel[0], (rel[1] if len(rel) > 1 else None)
        main = base / rel[0] / rel[1] / f"{rel[1]}.ipynb" if len(rel) > 1 and not is_dir else None
        if main is not None and path != main and os.path.lexists(main):
            return None  # an extra file beside (or below) the assignment's notebook: nbgrader skips those too
    if linked is not None:
        sub.error = f"{linked.relative_to(base).as_posix() or linked.name} {LINK}"
    return sub


def _first_link(path: Path, top: Path) -> Path | None:
    """The first symbolic link from below ``top`` down to ``path`` (included), else None."""
    current = top
    for part in path.relative_to(top).parts:
        current = current / part
        if current.is_symlink():
            return current
    return None


def read_capped(path: Path, limit: int = MAX_BYTES) -> bytes:
    """A submission's bytes, checked on the open file before reading: a regular file with one name (no link of
    either kind) and at most ``limit`` bytes. Raises ValueError with the reason, in the learner's terms."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO must not block the grader
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"{path.name} {LINK}") from None
        raise ValueError(f"cannot read {path.name}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path.name} is not a regular file: not graded; score 0")
        if info.st_nlink > 1:
            raise ValueError(f"{path.name} is a hard link (the same file under {info.st_nlink} names): not "
                             "graded; score 0 (hand in the notebook itself)")
        data = f.read(limit + 1) if info.st_size <= limit else b""
    if info.st_size > limit or len(data) > limit:
        size = max(info.st_size, len(data))
        raise ValueError(f"the notebook is {size / 1024 ** 2:.0f} MiB, more than the {limit // 1024 ** 2} MiB a "
                         "submission may be: not read; score 0 (clear large outputs before handing it in)")
    return data


def check_ids(subs: list[Submission]) -> None:
    """Refuse (IdCollision) two notebooks that would be graded as one student and assignment: student ids keep
    only letters, digits and ``_.-`` (``state.student_id``), so ``x_alice.ipynb`` and ``x_alice~.ipynb`` are one."""
    seen: dict[tuple, Submission] = {}
    for sub in subs:
        sid = student_id({"student": sub.student, "path": sub.label})
        other = seen.setdefault((sid, sub.assignment), sub)
        if other is not sub:
            what = f"student {sid}" + (f", assignment {sub.assignment}" if sub.assignment else "")
            raise IdCollision(f"{other.label} and {sub.label} would both be graded as {what}: rename one (student "
                              "ids keep only letters, digits, '_', '.' and '-'); nothing was graded")


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
    named = [a for a in known if stem.startswith(a) or stem.endswith(a)]  # ex1_threshold_torch_v2, alice_ex1_...
    if named:
        sub.assignment = max(named, key=len)
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
    if sub.error is None:
        try:
            data = read_capped(sub.path)
            sub.content = hashlib.sha256(data).hexdigest()
            sub.nb = parse_notebook(data, sub.path)
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
