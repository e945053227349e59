"""Scores into an nbgrader course's own gradebook, so that ``nbgrader formgrader`` and ``nbgrader export`` see them.

A notebook of an nbgrader ``<course>/submitted/<student>/<assignment>/`` tree (``<course>`` holds
``nbgrader_config.py``) belongs to that course: its scores go to the course's gradebook under the folder's student
id, its autograded notebook to ``<course>/autograded/<student>/<assignment>/`` (where formgrader reads it) and its
HTML feedback to ``<course>/feedback/<student>/<assignment>/`` (where ``nbgrader release_feedback`` reads it).
``--gradebook`` names another gradebook for every notebook graded, loose ones too (student id = file stem).

Only the grader writes here, and no sandbox sees the course: the files once their batch's kernels are dead, the
gradebook once at the end of the run. nbgrader's own API writes it, with the assignment, notebook and cell
definitions copied from the gradebook of the course copy that did the grading (what ``nbgrader
generate_assignment`` made of the same master copies). Re-grading updates rows, never adds a second one, and keeps
every manual score an instructor gave in formgrader.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

# What nbgrader's exchange leaves beside a submitted notebook; release_feedback needs both next to the feedback.
SUBMISSION_FILES = ("timestamp.txt", "submission_secret.txt")


class GradebookError(RuntimeError):
    """The target gradebook cannot take these scores (one line for the user)."""


@dataclass(frozen=True)
class Target:
    url: str
    course_id: str


def course_of(path: Path) -> Path | None:
    """The nbgrader course of ``<course>/submitted`` or of ``<course>/submitted/<student>/<assignment>/<file>``,
    taken as the path is written (never resolved), else None.

    Its ``nbgrader_config.py`` is Python that the grader executes, so a course counts only where no symbolic link
    leads to it or below it: a link in a submitted tree could otherwise point the grader at a folder and a
    configuration a learner wrote. Which ``submitted/`` folder is the course's is the caller's to know (the one the
    instructor named, ``submissions.collect``), never a folder found inside a submission."""
    path = Path(os.path.abspath(path))
    submitted = path if path.name == "submitted" else (path.parents[2] if len(path.parents) > 3 else None)
    if submitted is None or submitted.name != "submitted":
        return None
    course = submitted.parent
    config = course / "nbgrader_config.py"
    chain = [course, config, submitted, *(p for p in path.parents if p.is_relative_to(submitted)), path]
    if any(p.is_symlink() for p in chain) or not config.is_file():
        return None
    return course


def _course_config(course: Path):
    from traitlets.config.loader import PyFileConfigLoader

    try:
        return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    except Exception as exc:  # noqa: BLE001 - the instructor's file: any error is theirs to fix, in one line
        raise GradebookError(f"cannot read {course / 'nbgrader_config.py'}: {type(exc).__name__}: {exc}") from None


def course_target(course: Path) -> Target:
    """The gradebook ``nbgrader`` itself uses in ``course`` (its ``db_url``, default ``<course>/gradebook.db``)."""
    config = _course_config(course)
    cd = config.get("CourseDirectory", {})
    url = cd.get("db_url") or f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"
    return Target(str(url), str(cd.get("course_id") or "default_course"))


def named_target(spec: str, default_course_id: str) -> Target:
    """``--gradebook``: a database URL, or a file path (sqlite); a path inside a course takes that course's id."""
    if "://" in spec:
        return Target(spec, default_course_id)
    path = Path(spec).expanduser().resolve()
    if not path.parent.is_dir():
        raise GradebookError(f"--gradebook {spec}: no such folder {path.parent}")
    if path.is_dir():
        raise GradebookError(f"--gradebook {spec} is a folder: name the database file (e.g. {path / 'gradebook.db'})")
    course_id = default_course_id
    if (path.parent / "nbgrader_config.py").is_file():
        course_id = course_target(path.parent).course_id
    return Target(f"sqlite:///{path}", course_id)


def _plain_file(path: Path) -> bool:
    """A regular file with one name: neither a symbolic nor a hard link."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_nlink == 1


def place_files(course: Path, student: str, assignment: str, submitted: Path, autograded, feedback: str | None) -> None:
    """The autograded notebook and the feedback where nbgrader's formgrader and release_feedback look for them."""
    import nbformat

    folders = [(course / "autograded" / student / assignment, None)]
    if feedback is not None:
        folders.append((course / "feedback" / student / assignment, feedback))
    for folder, html in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for name in SUBMISSION_FILES:
            src = submitted.parent / name
            if _plain_file(src):  # a link of either kind could pull any file of ours into the course
                shutil.copy2(src, folder / name)
        if html is None:
            nbformat.write(autograded, folder / f"{assignment}.ipynb")
        else:
            (folder / f"{assignment}.html").write_text(html, encoding="utf-8")


def _cells(notebook) -> dict[str, float]:
    return {c.name: float(c.max_score) for c in notebook.grade_cells}


def _copy_definitions(src, dst, assignment: str, url: str) -> None:
    """The assignment as the grading course defined it; refuses one the target defines otherwise."""
    from nbgrader.api import MissingEntry

    mine = src.find_assignment(assignment)
    try:
        theirs = dst.find_assignment(assignment)
    except MissingEntry:
        theirs = None
    if theirs is not None:
        have = {nb.name: _cells(nb) for nb in theirs.notebooks}
        want = {nb.name: _cells(nb) for nb in mine.notebooks}
        if have and have != want:
            raise GradebookError(
                f"the gradebook {url} defines assignment {assignment} with other tests or points than the "
                "course that graded it (an older release?): regenerate it, or name another --gradebook")
    dst.update_or_create_assignment(assignment)  # an existing due date stays
    for nb in mine.notebooks:
        dst.update_or_create_notebook(nb.name, assignment)
        for c in nb.grade_cells:
            dst.update_or_create_grade_cell(c.name, nb.name, assignment, max_score=c.max_score, cell_type=c.cell_type)
        for c in nb.solution_cells:
            dst.update_or_create_solution_cell(c.name, nb.name, assignment)
        for c in nb.task_cells:
            dst.update_or_create_task_cell(c.name, nb.name, assignment, max_score=c.max_score, cell_type=c.cell_type)
        for c in nb.source_cells:
            dst.update_or_create_source_cell(c.name, nb.name, assignment, cell_type=c.cell_type, locked=c.locked,
                                             source=c.source, checksum=c.checksum)


def _timestamp(submitted: Path | None):
    from nbgrader.utils import parse_utc

    stamp = submitted.parent / "timestamp.txt" if submitted is not None else None
    if stamp is None or not _plain_file(stamp):
        return None
    try:
        return parse_utc(stamp.read_text().strip())
    except Exception:  # noqa: BLE001 - nbgrader ignores an unreadable timestamp too
        return None


def _write_scores(gb, sid: str, res: dict, submitted: Path | None) -> None:
    gb.update_or_create_student(sid)
    stamp = _timestamp(submitted)
    sub = gb.update_or_create_submission(res["assignment"], sid, **({"timestamp": stamp} if stamp else {}))
    scores = {t["id"]: t["score"] for t in res["tests"]}
    for notebook in sub.notebooks:
        for grade in notebook.grades:
            if grade.name in scores:  # as nbgrader's SaveAutoGrades: a manual score wants a review
                grade.auto_score = scores[grade.name]
                grade.needs_manual_grade = grade.manual_score is not None


def record(target: Target, template_db: Path, template_course_id: str,
           entries: list[tuple[str, dict, Path | None]]) -> int:
    """Write ``entries`` ((student id, result, submitted file or None)) into ``target``; returns how many."""
    from nbgrader.api import Gradebook

    entries = [e for e in entries if e[1].get("assignment")]
    if not entries:
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="prunerl-defs-") as tmp, warnings.catch_warnings():
            definitions = Path(shutil.copy2(template_db, Path(tmp) / "gradebook.db"))  # the signed copy stays as is
            with Gradebook(f"sqlite:///{definitions}", course_id=template_course_id) as src, \
                    Gradebook(target.url, course_id=target.course_id) as dst:
                warnings.simplefilter("ignore")  # SQLAlchemy chatter inside nbgrader's api
                for assignment in sorted({res["assignment"] for _sid, res, _p in entries}):
                    _copy_definitions(src, dst, assignment, target.url)
                for sid, res, submitted in entries:
                    _write_scores(dst, sid, res, submitted)
                dst.db.commit()
    except GradebookError:
        raise
    except Exception as exc:  # noqa: BLE001 - a locked, foreign or unreachable database: one line
        raise GradebookError(f"could not write the gradebook {target.url}: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return len(entries)
