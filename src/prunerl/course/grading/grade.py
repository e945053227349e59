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

``<out>`` is an nbgrader course directory, laid out as nbgrader's own autograde leaves one: ``nbgrader_config.py``,
``gradebook.db``, ``autograded/<student>/<assignment>/<assignment>.ipynb`` and, with ``feedback``,
``feedback/<student>/<assignment>/<assignment>.html``; formgrader, ``nbgrader export`` and ``release_feedback`` read
it as they read a course.
"""
from __future__ import annotations

import contextlib
import hmac
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import nbformat

from . import gradebook as course_gradebook
from . import kernelpool, sandbox
from . import sanitize as safe_html
from .batch import _ACTIVE, Cancelled, SandboxUnavailable, Template, run_batch
from .dispatch import crashed, grade_batch, run_local
from .layout import Layout, file_hash
from .progress import Tracker, watching
from .results import make_result
from .state import TAMPERED, load_key, load_state, merge_gradebook, save_state, student_id, tree_mac
from .submissions import Submission, check_ids, collect, load, sanitize

COURSE_CONFIG = '''"""The results of `prunerl grade` as an nbgrader course: formgrader, `nbgrader export` and `nbgrader
release_feedback` run in this folder read its gradebook.db, autograded/ and feedback/."""
import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
'''

__all__ = ["_ACTIVE", "SandboxUnavailable", "Template", "grade", "prepare_template", "run_batch"]


# ------------------------------------------------------------------------------------------- the course
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



# --------------------------------------------------------------------------------------------- driver
def _limits_or_refuse(sandboxed: bool, limits: sandbox.Limits | None) -> sandbox.Limits | None:
    if not sandboxed:
        return None
    reason = sandbox.unavailable()
    if reason:
        raise SandboxUnavailable(f"{reason}; refusing to run untrusted notebooks without a sandbox "
                                 "(--unsafe-no-sandbox grades them anyway, with none of its protections)")
    return limits or sandbox.Limits()


@contextlib.contextmanager
def shared_zygote(template: Template, assignments: list[str], limits: sandbox.Limits | None):
    """The run's zygote, that every local batch's kernels fork from (none: no sandbox, or warm kernels off)."""
    if limits is None or kernelpool.lookahead() == 0:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="prunerl-zygote-") as folder, \
            kernelpool.Zygote(Path(folder), template.path, assignments) as zygote:
        yield zygote


def grade(paths: list[Path], layout: Layout, out: Path, jobs: int = 1, timeout: int = 120,
          feedback: bool = False, resume: bool = True, batch_size: int = 40,
          progress: Callable[[str], None] = lambda _msg: None, sandboxed: bool = True,
          limits: sandbox.Limits | None = None, tracker: Tracker | None = None, scheduler=None,
          gradebook: str | None = None) -> dict:
    """Grade everything under ``paths``; returns ``{"total", "max", "notebooks": [...]}``.

    Notebooks go to nbgrader in batches of at most ``batch_size`` (one nbgrader process each, ``jobs`` at a
    time); the state file is updated after every batch, so an interrupted run resumes where it stopped.
    ``feedback``: nbgrader's HTML feedback too, in ``<out>/feedback/``. ``sandboxed=False`` runs learner code with
    the grader's own rights (raises SandboxUnavailable otherwise
    when this system has no sandbox). ``tracker`` hears of each notebook as it finishes (``progress``).
    ``scheduler`` (a Dask scheduler address or ``distributed.Client``): batches are graded by its workers
    (``distributed``); everything else, the key and the state included, stays here.
    Scores also go to the nbgrader gradebook of a ``<course>/submitted/`` tree, or to the one ``gradebook`` names
    (``course_gradebook``).
    """
    tracker = tracker or Tracker()
    if scheduler is None:
        limits = _limits_or_refuse(sandboxed, limits)
    else:  # the workers run the notebooks, and each must have the sandbox (distributed); no work before this line
        from .distributed import reachable

        reachable(scheduler)
        limits = (limits or sandbox.Limits()) if sandboxed else None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    forbidden = tuple(p.resolve() for p in (layout.course, layout.solutions, out, *map(Path, paths)))
    key = load_key(out)
    subs = collect([Path(p) for p in paths])
    template = prepare_template(layout, out / ".cache")
    _course_config(out, course_gradebook.course_target(template.path).course_id)
    state_path = out / "state.json"
    state, tampered = load_state(state_path, key, resume)
    if "*" in tampered:
        progress("state.json could not be read: every notebook is graded again")
    mode = "unsafe" if limits is None else json.dumps(limits.__dict__, sort_keys=True)
    results: dict[int, dict] = {}
    todo: list[tuple[int, Submission, object]] = []
    for index, sub in enumerate(subs):
        load(sub, template)
        sub.digest = file_hash(sub.content, template.digest, str(timeout),
                               str(sub.assignment), str(feedback), mode)
        name = f"{sub.path}::{sub.student or ''}"
        if name in tampered:
            sub.flags.append(TAMPERED)
        cached = state["results"].get(name)
        if resume and cached and cached.get("digest") == sub.digest:
            fb = cached["result"].get("feedback")
            feedback_ok = not feedback or not cached.get("autograded") or (fb and Path(fb).exists())
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
    check_ids(subs)  # before anything is written: a collision grades nothing
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
            if raw.get("autograded") is not None:  # nbgrader's layout, under the id the gradebook files it by
                # formgrader and release_feedback show these on the instructor's origin: no learner markup survives
                html = safe_html.feedback(raw["feedback"]) if feedback and raw.get("feedback") else None
                autograded = safe_html.notebook(raw["autograded"])
                course_gradebook.place_files(out, student_id(res), sub.assignment, sub.path, autograded, html)
                if html is not None:
                    res["feedback"] = str((out / "feedback" / student_id(res) / sub.assignment
                                           / f"{sub.assignment}.html").resolve())
                if sub.course is not None:  # where formgrader and release_feedback look
                    course_gradebook.place_files(sub.course, sub.student, sub.assignment, sub.path, autograded, html)
            done.append((index, sub, res, None if raw.get("crashed") else raw.get("autograded") is not None))
        return done


    def entries(batch: list[tuple[int, Submission, object]]) -> list:
        return [(f"s{i:05d}", s.assignment, nb) for i, s, nb in batch]

    def record(batch: list[tuple[int, Submission, object]], raws: dict, seconds: float) -> None:
        save(finish(batch, raws))
        progress(f"graded {len(batch)} notebook(s) in {seconds:.1f} s")

    def work(batch: list[tuple[int, Submission, object]]) -> None:
        with tempfile.TemporaryDirectory(prefix="prunerl-grade-") as tmp, \
                watching(tracker, Path(tmp), [e[:2] for e in entries(batch)]):
            t0 = time.time()
            try:
                raws = grade_batch(template, entries(batch), Path(tmp), timeout, feedback, limits,
                                   forbidden, zygote=zygote)
            except (Cancelled, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - every notebook still gets a result (not kept for resume)
                raws = crashed(entries(batch), f"{type(exc).__name__}: {exc}")
            record(batch, raws, time.time() - t0)

    if todo:
        tracker.start(len(todo))
        try:
            if scheduler is None:
                if limits is not None:
                    tracker.phase("starting sandboxes")
                with shared_zygote(template, [s.assignment for _i, s, _nb in todo], limits) as zygote:
                    tracker.phase(None)
                    run_local(todo, jobs, batch_size, work)
            else:
                from .distributed import run_on_cluster

                run_on_cluster(scheduler, template, todo, batch_size, entries, record, timeout,
                               feedback, limits, forbidden)
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
    _record_gradebooks(subs, ordered, template, gradebook, progress)
    return {"total": float(sum(r["score"] for r in ordered)), "max": float(sum(r["max_score"] for r in ordered)),
            "notebooks": ordered}


def _record_gradebooks(subs: list[Submission], ordered: list[dict], template: Template, spec: str | None,
                       progress: Callable[[str], None]) -> None:
    """This run's results into nbgrader gradebooks: a ``submitted/`` tree's own course gradebook, with its student
    ids, or the one ``spec`` names for every notebook. Raises ``course_gradebook.GradebookError``."""
    template_id = course_gradebook.course_target(template.path).course_id
    fixed = course_gradebook.named_target(spec, template_id) if spec else None
    groups: dict = {}
    for sub, res in zip(subs, ordered):
        course = sub.course
        target = fixed or (course_gradebook.course_target(course) if course else None)
        if target is not None:
            sid = sub.student if course else student_id(res)
            groups.setdefault(target, []).append((sid, res, sub.path if course else None))
    for target, entries in groups.items():
        count = course_gradebook.record(target, template.path / "gradebook.db", template_id, entries)
        progress(f"{count} result(s) written to the nbgrader gradebook {target.url}")


def _course_config(out: Path, course_id: str) -> None:
    """Make ``out`` an nbgrader course directory (its own configuration is kept when it has one)."""
    path = out / "nbgrader_config.py"
    if not path.exists():
        path.write_text(COURSE_CONFIG.format(course_id=course_id), encoding="utf-8")
