"""One batch of a grading run: one ``nbgrader autograde`` process in a private course copy, every kernel in its own
sandbox, then the checker's verdicts; shared by local grading (``dispatch``) and the workers of a cluster
(``distributed``)."""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import judging, kernelpool, sandbox
from .layout import grade_ids
from .results import failure_reason


class SandboxUnavailable(RuntimeError):
    """No sandbox on this system, and the caller did not accept grading without one."""


@dataclass
class Template:
    """A ready-to-grade course (sources, releases, gradebook) that every batch copies."""

    path: Path
    digest: str
    releases: dict         # assignment -> released notebook

    def gids(self) -> dict[str, set[str]]:
        return {a: set(grade_ids(nb)) for a, nb in self.releases.items()}




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


LOG_TAIL = 1024 ** 2  # bytes of nbgrader's output kept (kernels inherit it: a notebook can write gigabytes there)


def _read_tail(stream, deadline: float) -> tuple[str, bool]:
    """Read ``stream`` to its end or ``deadline``, keeping its last ``LOG_TAIL`` bytes; (text, timed out)."""
    kept, size, fd = [], 0, stream.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return b"".join(kept).decode(errors="replace"), True
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(kept).decode(errors="replace"), False
        kept.append(chunk)
        size += len(chunk)
        while size - len(kept[0]) >= LOG_TAIL:
            size -= len(kept.pop(0))


def _nbgrader(course: Path, args: list[str], limit: float, extra_env: dict | None = None) -> tuple[int | None, str]:
    """Run ``nbgrader ARGS`` in ``course``: (exit status, None when killed after ``limit`` s; its output's tail)."""
    if _CANCEL.is_set():
        raise Cancelled
    env = dict(os.environ, PYTHONWARNINGS="ignore", JUPYTER_PLATFORM_DIRS="1", **(extra_env or {}))
    cmd = [sys.executable, "-m", "nbgrader", *args]
    with subprocess.Popen(cmd, cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          start_new_session=True) as proc:
        _ACTIVE.add(proc)
        try:
            out, late = _read_tail(proc.stdout, time.monotonic() + limit)
            if late:
                _kill_group(proc)
                return None, out + f"\n[prunerl] nbgrader {args[0]} killed after {limit:.0f} s"
            return proc.wait(), out
        finally:
            _ACTIVE.discard(proc)
            _kill_group(proc)  # no orphaned kernels
            if _CANCEL.is_set():
                raise Cancelled


def notebook_budget(timeout: int) -> int:
    """Seconds all cells of one notebook may take together: twice one cell's ``--timeout``, plus 30 s."""
    return 2 * timeout + 30


def _autograde_args(timeout: int) -> list[str]:
    """nbgrader's autograde preprocessors, its Execute replaced by ``LimitedExecute`` with the notebook budget."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    names = ["prunerl.course.grading.limited_execute.LimitedExecute" if p is Execute else f"{p.__module__}.{p.__name__}"
             for p in Autograde().autograde_preprocessors]
    return [f"--Autograde.autograde_preprocessors={name}" for name in names] + [
        f"--Execute.timeout={timeout}", f"--LimitedExecute.budget={notebook_budget(timeout)}"]


def run_batch(template: Template, entries: list[tuple[str, str, object]], workdir: Path, timeout: int,
              feedback: bool, limits: sandbox.Limits | None = None, forbidden: tuple[Path, ...] = (),
              zygote: kernelpool.Zygote | None = None) -> dict[tuple[str, str], dict]:
    """Autograde ``entries`` ((student_id, assignment, notebook)) in one nbgrader process; raw results.
    ``limits`` None: kernels run unsandboxed (``--unsafe-no-sandbox``). ``zygote``: the run's (else the batch
    starts its own)."""
    from nbgrader.api import Gradebook, MissingEntry

    course = workdir / "course"
    shutil.copytree(template.path, course)
    for sid, assignment, nb in entries:
        dest = course / "submitted" / sid / assignment / f"{assignment}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest)
    budget = notebook_budget(timeout)
    limit = 120 + (budget + 30) * len(entries)  # whatever the number of cells: each notebook stops at its budget
    ahead = kernelpool.lookahead() if limits else 0
    env, extra = sandbox.prepare(workdir, limits, [template.path, *forbidden], warm=ahead > 0, budget=budget)
    # the checker runs under the kernels' limits, its CPU time that of all the batch's notebooks, however it starts
    checks = dict(sandbox.kernel_limits(limits), cpu=limits.cpu * len(entries)) if limits else None
    forks = zygote.limited(checks) if zygote is not None and checks else zygote
    checker = judging.Checker(judging.check_jobs(template.path, workdir, entries), workdir, forks, checks)
    try:  # the warm sandboxes bind the check params: started after check_jobs wrote them
        with kernelpool.WarmPool(workdir, course, [(sid, a) for sid, a, _nb in entries], ahead, zygote):
            rc, log = _nbgrader(course, ["autograde", "--assignment=*", "--force", *_autograde_args(timeout),
                                         *extra], limit, env)
    except BaseException:
        checker.close()
        raise
    verdicts = checker.verdicts()  # every kernel of the batch is dead by now
    if (course / "autograded").is_dir():  # also without hidden checks: a test cell that did not run scores 0
        judging.apply_verdicts(course, entries, verdicts, timeout, limits)
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
