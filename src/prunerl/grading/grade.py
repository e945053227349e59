"""``prunerl grade``: grade submissions through real ``nbgrader autograde``, in private course copies.

How a run works:

1. Collect notebooks (a ``.ipynb``, a jupytext ``.py``, a folder, or an nbgrader ``submitted/<student>/<a>/``
   tree) and match each to its assignment by file name, else by the nbgrader grade_ids it carries.
   A file that cannot be read as a notebook scores 0 with the reason; it never reaches nbgrader.
2. Sanitize each one against the master copy: duplicated or unknown grade_ids lose their nbgrader metadata,
   edited read-only/test cells are flagged (nbgrader restores the master copy), missing cells are flagged
   (nbgrader puts deleted test cells back: ``OverwriteCells.add_missing_cells``).
3. Split the work into ``jobs`` batches. Each batch is ONE ``nbgrader autograde`` process (plus
   ``generate_feedback`` when asked) in its own temporary copy of the course, with its own sqlite gradebook
   (the course's ``gradebook.db`` is never opened). A batch that nbgrader cannot finish is retried one
   notebook at a time; a notebook that still cannot be graded (its kernel died) scores 0 with the reason.
4. Read scores from the batch gradebooks and learner-facing messages (the last line of the error a failed
   test printed) from the autograded notebooks, merge them into ``<out>/state.json`` (resumable: unchanged
   notebooks are not graded again) and ``<out>/gradebook.db``.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import (
    Layout,
    cell_source,
    file_hash,
    grade_id,
    grade_ids,
    graded_cells,
    is_solution,
    nbgrader_meta,
    read_notebook,
)

STATE_VERSION = 2
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
NOTEBOOK_SUFFIXES = (".ipynb", ".py")


# ------------------------------------------------------------------------------------------- the course
@dataclass
class Template:
    """A ready-to-grade course (sources, releases, gradebook) that every batch copies."""

    path: Path
    digest: str
    releases: dict         # assignment -> released notebook

    def gids(self) -> dict[str, set[str]]:
        return {a: set(grade_ids(nb)) for a, nb in self.releases.items()}


def course_digest(layout: Layout, assignments: list[str]) -> str:
    parts: list[bytes | str] = [(layout.course / "nbgrader_config.py").read_bytes()]
    for a in assignments:
        for path in sorted((layout.course / "source" / a).rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                parts += [str(path.relative_to(layout.course)), path.read_bytes()]
    return file_hash(*parts)


def prepare_template(layout: Layout, cache_root: Path) -> Template:
    """Build (or reuse from ``cache_root``) a private course copy with every built assignment generated."""
    from .build import generate_release

    assignments = layout.built_assignments()
    if not assignments:
        raise RuntimeError(f"no built assignments in {layout.course / 'source'}: run `prunerl build` first")
    digest = course_digest(layout, assignments)
    path = cache_root / f"course-{digest[:16]}"
    if not (path / ".complete").exists():
        for old in cache_root.glob("course-*"):
            shutil.rmtree(old, ignore_errors=True)
        tmp = cache_root / f".tmp-course-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shutil.copy2(layout.course / "nbgrader_config.py", tmp / "nbgrader_config.py")
        for a in assignments:
            shutil.copytree(layout.course / "source" / a, tmp / "source" / a,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        generate_release(tmp, assignments)
        (tmp / ".complete").write_text(digest)
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)
    releases = {a: nbformat.read(path / "release" / a / f"{a}.ipynb", as_version=4) for a in assignments}
    return Template(path, digest, releases)


# ------------------------------------------------------------------------------------------ submissions
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
    """Every notebook under ``paths``; ``<student>/<assignment>/<file>`` layouts keep their student."""
    subs: list[Submission] = []
    for root in paths:
        root = Path(root)
        if root.is_file():
            subs.append(Submission(root.resolve(), str(root)))
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"no such file or folder: {root}")
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if (not path.is_file() or path.suffix not in NOTEBOOK_SUFFIXES
                    or any(part.startswith(".") or part == "__pycache__" for part in rel.parts)):
                continue
            sub = Submission(path.resolve(), str(path))
            if len(rel.parts) >= 3:
                sub.student, sub.assignment = rel.parts[-3], rel.parts[-2]
                main_nb = path.parent / f"{sub.assignment}.ipynb"
                if path != main_nb and main_nb.exists():
                    continue  # an extra file beside the assignment's notebook (nbgrader skips those too)
            subs.append(sub)
    return subs


def match_assignment(sub: Submission, template: Template) -> None:
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


def load(sub: Submission, template: Template) -> None:
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


# ------------------------------------------------------------------------------------------- one batch
def _error_line(output) -> str:
    tb = [ANSI.sub("", line) for line in output.get("traceback", []) or []]
    lines = [ln.rstrip() for ln in "\n".join(tb).splitlines() if ln.strip()]
    if lines:
        return lines[-1]
    evalue = str(output.get("evalue", "")).strip()
    return f"{output.get('ename', 'Error')}: {evalue}" if evalue else str(output.get("ename", "Error"))


def cell_message(cell, timeout: int) -> str | None:
    """The learner-facing message of a failed cell (never its source)."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if any(o.get("ename") == "CellTimeoutError" for o in errors):
        return f"the cell did not finish within {timeout} s and was interrupted (an infinite loop?)"
    if errors:
        if errors[-1].get("ename") == "NotImplementedError":
            return "NotImplementedError: not implemented yet (a solution cell still raises NotImplementedError)"
        return _error_line(errors[-1])
    stderr = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    if stderr:
        last = (ANSI.sub("", "".join(stderr[-1].get("text", ""))).strip().splitlines() or [""])[-1]
        return f"the cell wrote to stderr, which nbgrader counts as a failure: {last}"
    return None


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Cancelled(Exception):
    """The run was interrupted; nothing from unfinished batches is recorded."""


_ACTIVE: set[subprocess.Popen] = set()
_CANCEL = threading.Event()


def _nbgrader(course: Path, args: list[str], limit: float) -> tuple[int | None, str]:
    if _CANCEL.is_set():
        raise Cancelled
    env = dict(os.environ, PYTHONWARNINGS="ignore", JUPYTER_PLATFORM_DIRS="1")
    cmd = [sys.executable, "-m", "nbgrader", *args]
    with subprocess.Popen(cmd, cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          start_new_session=True) as proc:
        _ACTIVE.add(proc)
        try:
            out, _ = proc.communicate(timeout=limit)
            return proc.returncode, out
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            return None, (out or "") + f"\n[prunerl] nbgrader {args[0]} killed after {limit:.0f} s"
        finally:
            _ACTIVE.discard(proc)
            _kill_group(proc)  # no orphaned kernels
            if _CANCEL.is_set():
                raise Cancelled


def _failure_reason(log: str, limit_hit: bool) -> str:
    if limit_hit:
        return "grading did not finish in time (a cell that cannot be interrupted?); score 0"
    if "Kernel died" in log or "DeadKernelError" in log:
        return ("the notebook's Python process died while it ran (os._exit, a crash or running out of memory), "
                "so nbgrader could not grade it; score 0")
    errors = [ANSI.sub("", ln).strip() for ln in log.splitlines() if "| ERROR]" in ln or "Error:" in ln]
    return "nbgrader could not grade this notebook" + (f" ({errors[-1][:300]})" if errors else "") + "; score 0"


def run_batch(template: Template, entries: list[tuple[str, str, object]], workdir: Path, timeout: int,
              feedback: bool) -> dict[tuple[str, str], dict]:
    """Autograde ``entries`` ((student_id, assignment, notebook)) in one nbgrader process; raw results."""
    from nbgrader.api import Gradebook, MissingEntry

    course = workdir / "course"
    shutil.copytree(template.path, course)
    for sid, assignment, nb in entries:
        dest = course / "submitted" / sid / assignment / f"{assignment}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest)
    code_cells = sum(sum(c.cell_type == "code" for c in nb.cells) for _, _, nb in entries)
    limit = 120 + 1.5 * timeout * max(code_cells, 1)
    rc, log = _nbgrader(course, ["autograde", "--assignment=*", "--force", f"--Execute.timeout={timeout}"], limit)
    limit_hit = rc is None
    results: dict[tuple[str, str], dict] = {}
    if feedback and (course / "autograded").is_dir():
        _nbgrader(course, ["generate_feedback", "--assignment=*", "--force"], 120 + 10 * len(entries))
    db = course / "gradebook.db"
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gb:
        warnings.simplefilter("ignore")
        for sid, assignment, _nb in entries:
            graded = course / "autograded" / sid / assignment / f"{assignment}.ipynb"
            raw = {"grades": {}, "autograded": None, "feedback": None, "error": None}
            try:
                sub_nb = gb.find_submission_notebook(assignment, assignment, sid)
                raw["grades"] = {g.name: (g.score, g.max_score, g.auto_score) for g in sub_nb.grades
                                 if g.cell.cell_type == "code"}
            except MissingEntry:
                pass
            if graded.exists() and raw["grades"] and all(v[2] is not None for v in raw["grades"].values()):
                raw["autograded"] = nbformat.read(graded, as_version=4)
            else:
                raw["error"] = _failure_reason(log, limit_hit)
            html = course / "feedback" / sid / assignment / f"{assignment}.html"
            if html.exists():
                raw["feedback"] = html.read_text(encoding="utf-8")
            results[(sid, assignment)] = raw
    return results


# ------------------------------------------------------------------------------------------- results
def make_result(sub: Submission, template: Template, raw: dict | None, timeout: int) -> dict:
    """The per-notebook record printed by ``--json`` and kept in the state file."""
    release = template.releases.get(sub.assignment) if sub.assignment else None
    cells = graded_cells(release) if release is not None else {}
    result = {"path": sub.label, "assignment": sub.assignment, "student": sub.student, "score": 0.0,
              "max_score": float(sum(c["points"] for c in cells.values())), "tests": [], "flags": list(sub.flags)}
    error = sub.error or (raw or {}).get("error")
    autograded = (raw or {}).get("autograded")
    by_id = {grade_id(c): c for c in autograded.cells} if autograded is not None else {}
    for gid, info in cells.items():
        test = {"id": gid, "score": 0.0, "max_score": info["points"], "message": None}
        if error is None:
            score, max_score, _ = raw["grades"].get(gid, (0.0, info["points"], None))
            test["score"], test["max_score"] = float(score or 0.0), float(max_score)
            if test["score"] < test["max_score"]:
                cell = by_id.get(gid)
                msg = cell_message(cell, timeout) if cell is not None else "not graded"
                if msg is None:
                    msg = ("partial credit" if test["score"] > 0 else "failed (the test printed no error)")
                test["message"] = msg
        else:
            test["message"] = "not graded: see the notebook's flags"
        result["tests"].append(test)
    if error:
        result["flags"].insert(0, error)
    if autograded is not None:
        for index, cell in enumerate(autograded.cells):
            if cell.cell_type != "code":
                continue
            name = grade_id(cell) or f"{index}"
            enames = [o.get("ename") for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if "CellTimeoutError" in enames:
                result["flags"].append(f"cell {name} ran longer than {timeout} s and was interrupted (an infinite "
                                       "loop?); the cells after it still ran")
            elif (not nbgrader_meta(cell).get("grade") and not is_solution(cell) and enames
                  and enames[-1] != "NotImplementedError"):
                result["flags"].append(f"ungraded cell {name} raised {cell_message(cell, timeout)}")
    result["score"] = float(sum(t["score"] for t in result["tests"]))
    return result


# --------------------------------------------------------------------------------------------- driver
def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "notebook"


def _merge_gradebook(out: Path, template: Template, results: list[dict]) -> None:
    """One gradebook for the whole run (student = folder name or file stem), from the per-batch results."""
    from nbgrader.api import Gradebook

    db = out / "gradebook.db"
    stamp = out / "gradebook.digest"
    if not db.exists() or not stamp.exists() or stamp.read_text() != template.digest:
        db.unlink(missing_ok=True)
        shutil.copy2(template.path / "gradebook.db", db)
        stamp.write_text(template.digest)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy chatter inside nbgrader's api
        for res in results:
            if not res.get("assignment"):
                continue
            sid = _safe(res.get("student") or Path(res["path"]).stem)
            gb.update_or_create_student(sid)
            sub = gb.update_or_create_submission(res["assignment"], sid)
            scores = {t["id"]: t["score"] for t in res["tests"]}
            for notebook in sub.notebooks:
                for grade in notebook.grades:
                    if grade.name in scores:
                        grade.auto_score = scores[grade.name]
                        grade.needs_manual_grade = False
            gb.db.commit()


def grade(paths: list[Path], layout: Layout, out: Path, jobs: int = 1, timeout: int = 120,
          feedback_dir: Path | None = None, resume: bool = True, batch_size: int = 12,
          progress: Callable[[str], None] = lambda _msg: None) -> dict:
    """Grade everything under ``paths``; returns ``{"total", "max", "notebooks": [...]}``.

    Notebooks go to nbgrader in batches of at most ``batch_size`` (one nbgrader process each, ``jobs`` at a
    time); the state file is updated after every batch, so an interrupted run resumes where it stopped.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    subs = collect([Path(p) for p in paths])
    template = prepare_template(layout, out / ".cache")
    state_path = out / "state.json"
    state = {"version": STATE_VERSION, "results": {}}
    if resume and state_path.exists():
        try:
            loaded = json.loads(state_path.read_text())
            if loaded.get("version") == STATE_VERSION:
                state = loaded
        except (json.JSONDecodeError, OSError):
            pass
    results: dict[int, dict] = {}
    todo: list[tuple[int, Submission, object]] = []
    for index, sub in enumerate(subs):
        load(sub, template)
        sub.digest = file_hash(sub.path.read_bytes() if sub.path.exists() else b"", template.digest, str(timeout),
                               str(sub.assignment), str(feedback_dir is not None))
        key = f"{sub.path}::{sub.student or ''}"
        cached = state["results"].get(key)
        if resume and cached and cached.get("digest") == sub.digest:
            fb = cached["result"].get("feedback")
            feedback_ok = feedback_dir is None or not cached.get("autograded") or (fb and Path(fb).exists())
            if feedback_ok:
                results[index] = dict(cached["result"], path=sub.label)
                continue
        if sub.error or sub.assignment is None:
            results[index] = make_result(sub, template, None, timeout)
            continue
        nb, flags = sanitize(sub.nb, template.releases[sub.assignment])
        sub.flags += flags
        todo.append((index, sub, nb))
    skipped = len(subs) - len(todo)
    progress(f"{len(subs)} notebook(s): {len(todo)} to grade, {skipped} already graded or unreadable")

    lock = threading.Lock()

    def save(done: list[tuple[int, Submission, dict, bool]]) -> None:
        with lock:
            for index, sub, res, autograded in done:
                results[index] = res
                state["results"][f"{sub.path}::{sub.student or ''}"] = {"digest": sub.digest, "result": res,
                                                                       "autograded": autograded}
            tmp = state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=1))
            tmp.replace(state_path)

    def finish(batch: list[tuple[int, Submission, object]], raws: dict) -> list:
        done = []
        for index, sub, _nb in batch:
            raw = raws[(f"s{index:05d}", sub.assignment)]
            res = make_result(sub, template, raw, timeout)
            if feedback_dir is not None and raw.get("feedback"):
                name = (f"{_safe(sub.student)}/{sub.assignment}.html" if sub.student
                        else f"{_safe(sub.path.stem)}.html")
                dest = Path(feedback_dir) / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(raw["feedback"], encoding="utf-8")
                res["feedback"] = str(dest.resolve())
            if raw.get("autograded") is not None:
                dest = out / "autograded" / f"{index:05d}-{_safe(sub.label)}.ipynb"
                dest.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(raw["autograded"], dest)
            done.append((index, sub, res, raw.get("autograded") is not None))
        return done

    def work(batch: list[tuple[int, Submission, object]]) -> None:
        with tempfile.TemporaryDirectory(prefix="prunerl-grade-") as tmp:
            entries = [(f"s{i:05d}", sub.assignment, nb) for i, sub, nb in batch]
            t0 = time.time()
            raws = run_batch(template, entries, Path(tmp) / "batch", timeout, feedback_dir is not None)
            failed = [item for item in batch if raws[(f"s{item[0]:05d}", item[1].assignment)]["error"]]
            if failed and len(batch) > 1:  # nbgrader gave up on part of the batch: one notebook at a time
                for n, item in enumerate(failed):
                    one = [(f"s{item[0]:05d}", item[1].assignment, item[2])]
                    raws.update(run_batch(template, one, Path(tmp) / f"retry{n}", timeout, feedback_dir is not None))
            save(finish(batch, raws))
            progress(f"graded {len(batch)} notebook(s) in {time.time() - t0:.1f} s")

    if todo:
        jobs = max(1, min(jobs, len(todo)))
        size = max(1, min(batch_size, -(-len(todo) // jobs)))  # full batches, but every process gets work
        batches = [todo[i:i + size] for i in range(0, len(todo), size)]
        _CANCEL.clear()
        with ThreadPoolExecutor(jobs) as pool:
            futures = [pool.submit(work, b) for b in batches]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                _CANCEL.set()  # Ctrl-C or a bug: stop every nbgrader process; finished batches are saved
                for future in futures:
                    future.cancel()
                for proc in list(_ACTIVE):
                    _kill_group(proc)
                raise
    ordered = [results[i] for i in range(len(subs))]
    if ordered:
        try:
            _merge_gradebook(out, template, ordered)
        except Exception as exc:  # noqa: BLE001 - the JSON state is the record; the merged db is a convenience
            progress(f"could not merge the gradebook: {type(exc).__name__}: {exc}")
    return {"total": float(sum(r["score"] for r in ordered)), "max": float(sum(r["max_score"] for r in ordered)),
            "notebooks": ordered}
