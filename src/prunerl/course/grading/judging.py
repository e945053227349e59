"""The hidden checks' verdicts: params in, records out of each sandbox, judged by a process that never runs
learner code (the checker, ``prunerl.course.grading.checker``), and written back as final scores."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import nbformat

from prunerl.runtime import quiet_tensorflow

from . import sandbox
from .layout import grade_id
from .protocol import REVIEW

NOT_RUN = ("this test cell did not run (the notebook nbgrader saved shows no execution of it), so it earns no "
           "points; keep the test cells as they were released")


def check_jobs(course: Path, batch: Path, entries) -> dict[tuple[str, str], tuple[dict, list[str]]]:
    """Write each notebook's check inputs (``params.json``, the only part its sandbox sees) and what the checker needs
    (``judge.json``: inputs drawn for this learner and notebook, the learner's code cells) into its job folder;
    {(sid, assignment): job}."""
    from .checker import kernel_inputs, params
    from .checker.params import tests_of

    jobs = {}
    for sid, assignment, nb in entries:
        checked = [g for g, checks in tests_of(assignment, course).items() if checks]
        if not checked:
            continue  # no hidden check in this assignment: nbgrader's results stand
        job = sandbox.job_dir(batch, sid, assignment)
        (job / "records").mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(nbformat.writes(nb).encode()).hexdigest()
        judge = params(assignment, course, sid, digest)
        judge["cells"] = [c.source for c in nb.cells if c.cell_type == "code" and grade_id(c) not in judge["locked"]]
        (job / "params.json").write_text(json.dumps(kernel_inputs(judge)))
        (job / "judge.json").write_text(json.dumps(judge))
        jobs[(sid, assignment)] = ({"assignment": assignment, "params": str(job / "judge.json"),
                                    "records": str(job / "records")}, checked)
    return jobs


def _limited(limits: dict | None):
    """A ``preexec_fn`` that puts a checker started here under ``limits`` (the kernels' address space, the batch's CPU
    time): it reads what kernels wrote, and a record can be made to blow up."""
    if limits is None:
        return None
    from .sandbox_launch import apply_rlimits, checker_rlimits

    return lambda: apply_rlimits(checker_rlimits(limits))


def _judge(jobs: list[dict], workdir: Path, limits: dict | None = None) -> list[dict] | None:
    """Run the checker on ``jobs`` in one process (under ``limits``); None when it fails."""
    path = workdir / f"judge-{len(list(workdir.glob('judge-*')))}.json"
    path.write_text(json.dumps(jobs))
    try:
        res = subprocess.run([sys.executable, "-m", "prunerl.course.grading.checker", "judge", "--batch", str(path)],
                             capture_output=True, text=True, timeout=600 + 60 * len(jobs),
                             env=dict(os.environ, PYTHONWARNINGS="ignore"), preexec_fn=_limited(limits))
        verdicts = json.loads(res.stdout) if res.returncode == 0 else None
    except (subprocess.SubprocessError, json.JSONDecodeError):
        return None
    return verdicts if isinstance(verdicts, list) and len(verdicts) == len(jobs) else None


def clean_records(folder: Path) -> int:
    """Remove what is not a plain file or folder from a records folder (a kernel wrote it: a link could point the
    checker at a host file, a FIFO could block it); returns how many entries went."""
    removed = 0
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            st = path.lstat()
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                path.unlink()
                removed += 1
    return removed


FAILED = {"flags": ["the hidden checks could not read what this notebook recorded: its checked tests score 0"]}


class Checker:
    """The batch's judge: one process started with the batch (forked from the run's ``zygote`` when there is one,
    else started fresh, importing torch/TensorFlow while nbgrader runs), which judges each notebook as soon as its
    sandbox has ended (``status.json`` written: no process of it left). It never runs learner code; records are
    data. Without a sandbox, everything is judged after nbgrader."""

    def __init__(self, jobs: dict[tuple[str, str], tuple[dict, list[str]]], batch: Path, zygote=None,
                 limits: dict | None = None):
        self.jobs, self.batch, self.limits = jobs, Path(batch), limits
        self.sent: list[tuple[str, str]] = []
        self.odd: dict[tuple[str, str], int] = {}
        self._lock, self._stop = threading.Lock(), threading.Event()
        if not jobs:
            return
        tracks = sorted({job["assignment"].rsplit("_", 1)[-1] for job, _ids in jobs.values()})
        self.proc = None
        if zygote is not None:  # the run's zygote has torch and TensorFlow imported: fork the checker from it
            try:
                self.proc = zygote.fork_checker(tracks)
            except OSError:
                self.proc = None
        if self.proc is None:
            env = quiet_tensorflow(dict(os.environ, PYTHONWARNINGS="ignore"))  # the same float sums as the kernels
            self.proc = subprocess.Popen([sys.executable, "-m", "prunerl.course.grading.judging", *tracks],
                                         text=True, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_limited(limits))
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _send(self, key: tuple[str, str]) -> None:
        with self._lock:
            if key in self.odd:
                return
            job = self.jobs[key][0]
            self.odd[key] = clean_records(Path(job["records"]))
            self.sent.append(key)
            try:
                self.proc.stdin.write(json.dumps(job) + "\n")
                self.proc.stdin.flush()
            except OSError:
                pass

    def _feed(self) -> None:
        while not self._stop.wait(0.5):
            for key in self.jobs:
                if key not in self.odd and (sandbox.job_dir(self.batch, *key) / "status.json").exists():
                    self._send(key)

    def close(self) -> None:
        """Stop judging (the run was cancelled)."""
        if self.jobs:
            self._stop.set()
            self.proc.kill()
            self.proc.communicate()

    def verdicts(self) -> dict[tuple[str, str], dict]:
        """Every notebook's verdict; call once nbgrader has exited (every kernel of the batch dead)."""
        if not self.jobs:
            return {}
        self._stop.set()
        self._thread.join()
        for key in self.jobs:
            self._send(key)
        try:
            out, _ = self.proc.communicate(timeout=600 + 60 * len(self.jobs))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        lines = (out or "").splitlines()
        result = {}
        for i, key in enumerate(self.sent):
            try:
                verdict = json.loads(lines[i]) if i < len(lines) else None
            except json.JSONDecodeError:
                verdict = None
            if not isinstance(verdict, dict):  # this notebook's records broke the judge: once more, alone
                one = _judge([self.jobs[key][0]], self.batch, self.limits)
                verdict = one[0] if one else {"tests": {g: {"passed": False, "message": "the hidden check could not "
                                                            "read what this notebook recorded"}
                                                        for g in self.jobs[key][1]}, **FAILED}
            if self.odd[key]:
                verdict.setdefault("flags", []).append(
                    f"the notebook left {self.odd[key]} links or special files among its check records: ignored")
            result[key] = verdict
        return result


def serve(tracks: list[str]) -> None:
    """The judge process: job lines (``{"assignment", "params", "records"}``) in, one verdict line each out."""
    os.nice(10)  # it only has to be done when the batch is: kernels and nbgrader go first (its own session, so
    try:  # its own autogroup, whose weight the scheduler shares out between sessions)
        with open("/proc/self/autogroup", "w") as f:
            f.write("10")
    except OSError:
        pass
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the checks print stays out of the verdicts
    if "torch" in tracks:
        import torch  # noqa: F401 - imported while nbgrader still runs
    if "tf" in tracks:
        import keras  # noqa: F401
    from .checker import judge_notebook

    for line in sys.stdin:
        try:
            job = json.loads(line)
            params = json.loads(Path(job["params"]).read_text(encoding="utf-8"))
            if params.get("assignment") != job["assignment"]:
                raise ValueError("the params of another assignment")
            verdict = judge_notebook(params, Path(job["records"]), params.get("cells"))
        except Exception:  # noqa: BLE001 - reported as "could not judge", then judged alone by the checker's CLI
            verdict = None
        proto.write(json.dumps(verdict) + "\n")
        proto.flush()


def apply_verdicts(course: Path, entries, verdicts: dict, timeout: int, limits=None) -> None:
    """Final scores into the batch gradebook (and the checker's message into the autograded notebook), so that
    nbgrader's feedback shows what the learner scored; ``verdicts`` gains them too.

    Whether a graded cell ran is read from the notebook nbgrader saved, never from the kernel: nbgrader clears every
    count and output before it runs a notebook, so a cell the kernel never ran (skipped by a tag, say) has neither
    and scores 0 (a cell the grader stopped carries the grader's own error, and that message stands). A cell held
    for review is marked as needing a manual grade, as formgrader shows it. The note added to a failed cell (what the
    feedback shows) is the learner's own mistake where the cell failed before its check (``results.failed_test``)."""
    from nbgrader.api import Gradebook, MissingEntry

    from .results import failed_test

    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")
        for sid, assignment, _nb in entries:
            path = course / "autograded" / sid / assignment / f"{assignment}.ipynb"
            try:
                nb_grades = gb.find_submission_notebook(assignment, assignment, sid).grades
            except MissingEntry:
                continue
            if not path.exists():
                continue
            nb = nbformat.read(path, as_version=4)
            ran = {grade_id(c) for c in nb.cells  # outputs without a count: the grader's own note of a stopped run
                   if c.cell_type == "code" and (c.get("execution_count") is not None or c.get("outputs"))}
            verdict = verdicts.setdefault((sid, assignment), {"tests": {}, "flags": []})
            for g in nb_grades:
                if g.cell.cell_type == "code" and g.name not in ran:
                    verdict["tests"][g.name] = {"passed": False, "message": NOT_RUN}
            failed = {g: v for g, v in verdict["tests"].items() if not v.get("passed")}
            if not failed:
                continue
            for g in nb_grades:
                if g.name in failed:
                    g.auto_score = 0.0
                    g.needs_manual_grade = str(failed[g.name].get("message", "")).startswith(REVIEW)
            gb.db.commit()
            for cell in nb.cells:
                if grade_id(cell) in failed:
                    note = failed_test(nb, cell, failed[grade_id(cell)].get("message") or None, timeout, limits).message
                    cell.outputs.append(nbformat.v4.new_output(
                        "error", ename="HiddenCheckFailed", evalue=note, traceback=[f"HiddenCheckFailed: {note}"]))
            nbformat.write(nb, path)


if __name__ == "__main__":
    serve(sys.argv[1:])
