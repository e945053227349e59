"""``prunerl grade``: grade submissions through real ``nbgrader autograde``, in private course copies.

How a run works:

1. Collect notebooks (a ``.ipynb``, a jupytext ``.py``, a folder, or an nbgrader ``submitted/<student>/<a>/``
   tree) and match each to its assignment by file name, else by the nbgrader grade_ids it carries.
   A file that cannot be read as a notebook scores 0 with the reason; it never reaches nbgrader.
2. Sanitize each one against the master copy (``submissions.sanitize``).
3. Split the work into ``jobs`` batches. Each batch is ONE ``nbgrader autograde`` process in its own temporary
   copy of the course, with its own sqlite gradebook (the course's ``gradebook.db`` is never opened). Every
   kernel runs in its own sandbox (``sandbox``): it sees none of the course, the results or other notebooks.
   A batch that nbgrader cannot finish is retried one notebook at a time; a notebook that still cannot be
   graded (its kernel died) scores 0 with the reason.
4. With every kernel of the batch dead, the checker (``python -m prunerl.course.grading.checker``, a process that never
   runs learner code) judges the records the hidden tests left; a test it fails scores 0. The final scores go
   into the batch gradebook before nbgrader writes feedback.
5. Merge the results into ``<out>/state.json`` (resumable: unchanged notebooks are not graded again) and
   ``<out>/gradebook.db``, both signed (``state``): a record changed after the run is graded again.
"""
from __future__ import annotations

import hmac
import json
import os
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
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import judging, sandbox
from .layout import Layout, file_hash, grade_ids
from .progress import Tracker, watching
from .results import cell_message, failure_reason, make_result
from .state import TAMPERED, load_key, load_state, merge_gradebook, save_state, student_id, tree_mac
from .submissions import Submission, collect, load, sanitize

__all__ = ["Template", "cell_message", "grade", "prepare_template", "run_batch"]


class SandboxUnavailable(RuntimeError):
    """No sandbox on this system, and the caller did not accept grading without one."""


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
    """Build (or reuse from ``cache_root``) a private course copy with every built assignment generated.

    The copy is signed with the results folder's key (``cache_root``'s parent); a copy changed since it was
    built is not reused."""
    from .build import generate_release

    key = load_key(cache_root.parent)

    assignments = layout.built_assignments()
    if not assignments:
        raise RuntimeError(f"no built assignments in {layout.course / 'source'}: run `prunerl build` first")
    digest = course_digest(layout, assignments)
    path = cache_root / f"course-{digest[:16]}"
    done = path / ".complete"
    if not done.exists() or not hmac.compare_digest(done.read_text(), tree_mac(key, path)):
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
        (tmp / ".complete").write_text(tree_mac(key, tmp))
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)
    releases = {a: nbformat.read(path / "release" / a / f"{a}.ipynb", as_version=4) for a in assignments}
    return Template(path, digest, releases)


# ------------------------------------------------------------------------------------------- one batch
def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Cancelled(Exception):
    """The run was interrupted; nothing from unfinished batches is recorded."""


_ACTIVE: set[subprocess.Popen] = set()
_CANCEL = threading.Event()


def _nbgrader(course: Path, args: list[str], limit: float, extra_env: dict | None = None) -> tuple[int | None, str]:
    if _CANCEL.is_set():
        raise Cancelled
    env = dict(os.environ, PYTHONWARNINGS="ignore", JUPYTER_PLATFORM_DIRS="1", **(extra_env or {}))
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


def run_batch(template: Template, entries: list[tuple[str, str, object]], workdir: Path, timeout: int,
              feedback: bool, limits: sandbox.Limits | None = None,
              forbidden: tuple[Path, ...] = ()) -> dict[tuple[str, str], dict]:
    """Autograde ``entries`` ((student_id, assignment, notebook)) in one nbgrader process; raw results.
    ``limits`` None: kernels run unsandboxed (``--unsafe-no-sandbox``)."""
    from nbgrader.api import Gradebook, MissingEntry

    course = workdir / "course"
    shutil.copytree(template.path, course)
    for sid, assignment, nb in entries:
        dest = course / "submitted" / sid / assignment / f"{assignment}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest)
    code_cells = sum(sum(c.cell_type == "code" for c in nb.cells) for _, _, nb in entries)
    limit = 120 + 1.5 * timeout * max(code_cells, 1)
    env, extra = sandbox.prepare(workdir, limits, [template.path, *forbidden])
    checker = judging.Checker(judging.check_jobs(template.path, workdir, entries), workdir)
    try:
        rc, log = _nbgrader(course, ["autograde", "--assignment=*", "--force", f"--Execute.timeout={timeout}",
                                     *extra], limit, env)
    except BaseException:
        checker.close()
        raise
    verdicts = checker.verdicts()  # every kernel of the batch is dead by now
    if verdicts and (course / "autograded").is_dir():
        judging.apply_verdicts(course, entries, verdicts)
    if feedback and (course / "autograded").is_dir():
        _nbgrader(course, ["generate_feedback", "--assignment=*", "--force"], 120 + 10 * len(entries))
    results: dict[tuple[str, str], dict] = {}
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")
        for sid, assignment, _nb in entries:
            graded = course / "autograded" / sid / assignment / f"{assignment}.ipynb"
            raw = {"grades": {}, "autograded": None, "feedback": None, "error": None,
                   "checker": verdicts.get((sid, assignment))}
            try:
                sub_nb = gb.find_submission_notebook(assignment, assignment, sid)
                raw["grades"] = {g.name: (g.score, g.max_score, g.auto_score) for g in sub_nb.grades
                                 if g.cell.cell_type == "code"}
            except MissingEntry:
                pass
            if graded.exists() and raw["grades"] and all(v[2] is not None for v in raw["grades"].values()):
                raw["autograded"] = nbformat.read(graded, as_version=4)
            else:
                raw["error"] = failure_reason(log, rc is None, sandbox.status(workdir, sid, assignment), limits)
            html = course / "feedback" / sid / assignment / f"{assignment}.html"
            if html.exists():
                raw["feedback"] = html.read_text(encoding="utf-8")
            results[(sid, assignment)] = raw
    return results



# --------------------------------------------------------------------------------------------- driver
def _limits_or_refuse(sandboxed: bool, limits: sandbox.Limits | None) -> sandbox.Limits | None:
    if not sandboxed:
        return None
    reason = sandbox.unavailable()
    if reason:
        raise SandboxUnavailable(f"{reason}; refusing to run untrusted notebooks without a sandbox "
                                 "(--unsafe-no-sandbox grades them anyway, with none of its protections)")
    return limits or sandbox.Limits()


def grade(paths: list[Path], layout: Layout, out: Path, jobs: int = 1, timeout: int = 120,
          feedback_dir: Path | None = None, resume: bool = True, batch_size: int = 12,
          progress: Callable[[str], None] = lambda _msg: None, sandboxed: bool = True,
          limits: sandbox.Limits | None = None, tracker: Tracker | None = None) -> dict:
    """Grade everything under ``paths``; returns ``{"total", "max", "notebooks": [...]}``.

    Notebooks go to nbgrader in batches of at most ``batch_size`` (one nbgrader process each, ``jobs`` at a
    time); the state file is updated after every batch, so an interrupted run resumes where it stopped.
    ``sandboxed=False`` runs learner code with the grader's own rights (raises SandboxUnavailable otherwise
    when this system has no sandbox). ``tracker`` hears of each notebook as it finishes (``progress``).
    """
    tracker = tracker or Tracker()
    limits = _limits_or_refuse(sandboxed, limits)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    forbidden = tuple(p.resolve() for p in (layout.course, layout.solutions, out, *map(Path, paths)))
    key = load_key(out)
    subs = collect([Path(p) for p in paths])
    template = prepare_template(layout, out / ".cache")
    state_path = out / "state.json"
    state, tampered = load_state(state_path, key, resume)
    if "*" in tampered:
        progress("state.json could not be read: every notebook is graded again")
    mode = "unsafe" if limits is None else json.dumps(limits.__dict__, sort_keys=True)
    results: dict[int, dict] = {}
    todo: list[tuple[int, Submission, object]] = []
    for index, sub in enumerate(subs):
        load(sub, template)
        sub.digest = file_hash(sub.path.read_bytes() if sub.path.exists() else b"", template.digest, str(timeout),
                               str(sub.assignment), str(feedback_dir is not None), mode)
        name = f"{sub.path}::{sub.student or ''}"
        if name in tampered:
            sub.flags.append(TAMPERED)
        cached = state["results"].get(name)
        if resume and cached and cached.get("digest") == sub.digest:
            fb = cached["result"].get("feedback")
            feedback_ok = feedback_dir is None or not cached.get("autograded") or (fb and Path(fb).exists())
            if feedback_ok:
                results[index] = dict(cached["result"], path=sub.label)
                continue
        release = template.releases.get(sub.assignment) if sub.assignment else None
        if sub.error or sub.assignment is None:
            results[index] = make_result(sub, release, None, timeout, limits)
            continue
        nb, flags = sanitize(sub.nb, release)
        sub.flags += flags
        todo.append((index, sub, nb))
    skipped = len(subs) - len(todo)
    progress(f"{len(subs)} notebook(s): {len(todo)} to grade, {skipped} already graded or unreadable"
             + ("" if limits else "; NO SANDBOX: learner code runs with your rights"))

    lock = threading.Lock()

    def save(done: list[tuple[int, Submission, dict, bool]]) -> None:
        with lock:
            for index, sub, res, autograded in done:
                results[index] = res
                if autograded is not None:
                    state["results"][f"{sub.path}::{sub.student or ''}"] = {
                        "digest": sub.digest, "result": res, "autograded": autograded}
            save_state(state_path, state, key)
        for index, sub, res, _autograded in done:
            tracker.graded((f"s{index:05d}", sub.assignment), res)

    def finish(batch: list[tuple[int, Submission, object]], raws: dict) -> list:
        done = []
        for index, sub, _nb in batch:
            raw = raws[(f"s{index:05d}", sub.assignment)]
            res = make_result(sub, template.releases[sub.assignment], raw, timeout, limits)
            if feedback_dir is not None and raw.get("feedback"):
                name = f"{_safe(sub.student)}/{sub.assignment}.html" if sub.student else f"{_safe(sub.path.stem)}.html"
                dest = Path(feedback_dir) / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(raw["feedback"], encoding="utf-8")
                res["feedback"] = str(dest.resolve())
            if raw.get("autograded") is not None:
                dest = out / "autograded" / f"{index:05d}-{_safe(sub.label)}.ipynb"
                dest.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(raw["autograded"], dest)
            done.append((index, sub, res, None if raw.get("crashed") else raw.get("autograded") is not None))
        return done

    def work(batch: list[tuple[int, Submission, object]]) -> None:
        with tempfile.TemporaryDirectory(prefix="prunerl-grade-") as tmp, \
                watching(tracker, Path(tmp), [(f"s{i:05d}", s.assignment) for i, s, _nb in batch]):
            t0 = time.time()
            fb = feedback_dir is not None
            try:
                raws = run_batch(template, [(f"s{i:05d}", s.assignment, nb) for i, s, nb in batch],
                                 Path(tmp) / "batch", timeout, fb, limits, forbidden)
                failed = [item for item in batch if raws[(f"s{item[0]:05d}", item[1].assignment)]["error"]]
                if failed and len(batch) > 1:  # nbgrader gave up on part of the batch: one notebook at a time
                    for n, (i, s, nb) in enumerate(failed):
                        raws.update(run_batch(template, [(f"s{i:05d}", s.assignment, nb)], Path(tmp) / f"retry{n}",
                                              timeout, fb, limits, forbidden))
            except (Cancelled, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - every notebook still gets a result (not kept for resume)
                raws = {(f"s{i:05d}", s.assignment): {"error": f"the grader failed on this batch ({type(exc).__name__}"
                                                      f": {exc}); score 0, graded again next run", "crashed": True}
                        for i, s, _nb in batch}
            save(finish(batch, raws))
            progress(f"graded {len(batch)} notebook(s) in {time.time() - t0:.1f} s")

    if todo:
        jobs = max(1, min(jobs, len(todo)))
        size = max(1, min(batch_size, -(-len(todo) // jobs)))  # full batches, but every process gets work
        batches = [todo[i:i + size] for i in range(0, len(todo), size)]
        _CANCEL.clear()
        tracker.start(len(todo))
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
            finally:
                tracker.close()
    ordered = [results[i] for i in range(len(subs))]
    if ordered:
        merged = {student_id(e["result"]) + "/" + str(e["result"].get("assignment")): e["result"]
                  for e in state["results"].values()}
        merged.update({student_id(r) + "/" + str(r.get("assignment")): r for r in ordered})
        try:
            note = merge_gradebook(out, template.path / "gradebook.db", template.digest, list(merged.values()), key)
            if note:
                progress(note)
        except Exception as exc:  # noqa: BLE001 - the JSON state is the record; the merged db is a convenience
            progress(f"could not merge the gradebook: {type(exc).__name__}: {exc}")
    return {"total": float(sum(r["score"] for r in ordered)), "max": float(sum(r["max_score"] for r in ordered)),
            "notebooks": ordered}


def _safe(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "notebook"
