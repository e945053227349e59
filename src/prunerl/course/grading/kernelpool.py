"""Warm kernels: one fork server (``zygote.py``) for a run's batches, and the sandboxes of the next notebooks
started while one is graded.

nbgrader autograde runs a batch's notebooks one after the other in the order of their ``<student>/<assignment>``
paths (sorted). A grading run starts one zygote (``Zygote``; a batch on a cluster worker starts its own) that
imports, once, what the master copies of the assignments graded import. While notebook k runs, the pool keeps the
sandboxes of the next ``ahead`` notebooks started (``warm_launch --warm``): the same sandbox as today's, each for one
named notebook, with only its PID 1 in it. nbgrader's kernel command (``warm_launch --attach``) takes the one of its
own notebook, whose launcher has the zygote fork the kernel into it; with no sandbox or no zygote, the kernel starts
the old way. Nothing is shared between notebooks: a sandbox serves exactly one, every kernel is a fresh fork of a
zygote that never runs learner code, and whatever is still waiting when the batch ends is killed.

``PRUNERL_WARM_KERNELS`` sets ``ahead`` (default 2; 0: every kernel starts when nbgrader asks, today's path).
"""
from __future__ import annotations

import ast
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import sandbox
from .sandbox_launch import HOME, ask_zygote, checker_rlimits

WARM_LAUNCH = Path(__file__).with_name("warm_launch.py")
ZYGOTE = Path(__file__).with_name("zygote.py")
ENV = "PRUNERL_WARM_KERNELS"
DEFAULT_AHEAD = 2


def lookahead() -> int:
    """How many sandboxes to keep warm ahead (``PRUNERL_WARM_KERNELS``; a bad value means the default)."""
    try:
        return max(0, int(os.environ.get(ENV, DEFAULT_AHEAD)))
    except ValueError:
        return DEFAULT_AHEAD


# What a zygote may import, by the top-level package a notebook imports: the heavy modules only, never the
# course checks (the notebook imports those itself) nor matplotlib (it writes caches under HOME at import); the
# TensorFlow track imports torch only through a prunerl module its notebooks import by name (prunerl.train).
WARM = {"numpy": ("numpy",), "pandas": ("pandas",), "gymnasium": ("gymnasium",), "torch": ("torch",),
        "tensorflow": ("tensorflow",), "keras": ("tensorflow", "keras"),
        "prunerl": ("gymnasium", "prunerl.zoo", "prunerl.evaluation", "prunerl.metrics", "prunerl.pruning",
                    "prunerl.envs", "prunerl.specs", "prunerl.convert", "prunerl.structured", "prunerl.stats")}
TRACK = {"torch": ("torch", "prunerl.nets", "prunerl.train"), "tf": ("tensorflow", "keras", "prunerl.keras_nets"),
         "none": ()}


def framework(assignment: str) -> str:
    return "tf" if assignment.endswith("_tf") else "torch" if assignment.endswith("_torch") else "none"


def warm_modules(course: Path, assignment: str) -> list[str]:
    """The modules a zygote imports for ``assignment``: those of ``WARM`` and of its track that the master
    notebook's code imports (by top-level package)."""
    import nbformat

    tops, explicit = set(), set()
    try:
        nb = nbformat.read(Path(course) / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    except (OSError, ValueError):
        return []
    for cell in nb.cells:
        try:
            tree = ast.parse(cell.source) if cell.cell_type == "code" else None
        except SyntaxError:
            continue
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = {node.module}
            else:
                continue
            tops |= {name.split(".")[0] for name in names}
            explicit |= {n for n in names if n.startswith("prunerl.") and not n.startswith("prunerl.course")}
    track = framework(assignment)
    wanted = [m for top in sorted(tops) for m in WARM.get(top, ())]
    wanted += [m for m in TRACK[track] if m.split(".")[0] in tops or m.startswith("prunerl.") and "prunerl" in tops]
    if track == "tf":  # torch only when the notebook itself imports a module that needs it (prunerl.train)
        wanted = [m for m in wanted if m.split(".")[0] != "torch" and m not in TRACK["torch"]]
    wanted += sorted(explicit)
    # prunerl first, as the notebooks import it: prunerl.keras_nets sets TensorFlow's environment (quiet, oneDNN
    # off for float sums the checker reproduces) before TensorFlow loads
    return sorted(dict.fromkeys(wanted), key=lambda m: not m.startswith("prunerl."))


def nbgrader_order(jobs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The order nbgrader autograde grades ``(student, assignment)`` in: sorted submission folder paths."""
    return sorted(jobs, key=lambda job: f"{job[0]}/{job[1]}")


class Zygote:
    """The fork server the kernels of one batch, or of every batch of a run, start from: it imports what the
    master copies of ``assignments`` import (both frameworks when both tracks are graded: a torch kernel computes
    the same with TensorFlow imported, which a test checks). Start it from a thread that lives as long as it (it
    dies with that thread: PR_SET_PDEATHSIG); ``folder`` holds its socket and must be one no sandbox sees."""

    def __init__(self, folder: Path, course: Path, assignments, log=None):
        self.socket = Path(folder) / "zygote.sock"
        self.modules: list[str] = []
        for a in sorted(set(assignments)):
            self.modules += [m for m in warm_modules(course, a) if m not in self.modules]
        self.modules.sort(key=lambda m: not m.startswith("prunerl."))  # prunerl sets TensorFlow's environment
        self.log = log if log is not None else subprocess.DEVNULL
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Zygote:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> Zygote:
        env = dict(sandbox.passed_env(), HOME=HOME, TMPDIR="/tmp")  # a kernel's, but the notebook's own check files
        cmd = [sys.executable, str(ZYGOTE), str(self.socket), ",".join(self.modules),
               os.pathsep.join(sandbox.hidden_paths())]
        self.proc = subprocess.Popen(cmd, cwd="/", env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log)
        return self

    def fork_checker(self, tracks: list[str], limits: dict | None = None) -> Forked:
        """A batch's checker forked from this zygote (it has torch and TensorFlow imported already), under the
        checker's resource limits when ``limits`` (``sandbox.kernel_limits``) are given."""
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        null = os.open(os.devnull, os.O_WRONLY)
        request = {"checker": tracks, "rlimits": checker_rlimits(limits) if limits else []}
        try:
            pid = ask_zygote(str(self.socket), request, [in_r, out_w, null],
                             alive=lambda: self.proc is not None and self.proc.poll() is None)
            return Forked(pid, os.fdopen(in_w, "w"), os.fdopen(out_r, "r"))
        except BaseException:
            os.close(in_w)
            os.close(out_r)
            raise
        finally:
            for fd in (in_r, out_w, null):
                os.close(fd)

    def limited(self, limits: dict) -> Limited:
        """This zygote, as a batch's checker sees it: every checker it forks runs under ``limits``."""
        return Limited(self, limits)

    def poll(self) -> None:
        """Mark a zygote that died (it could not import, or was killed), so launchers stop waiting for it."""
        dead = Path(f"{self.socket}.dead")
        if self.proc is not None and self.proc.poll() is not None and not dead.exists():
            dead.touch()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # what it forked is gone with its launchers' sandboxes
            self.proc.wait()


class Limited:
    """A zygote whose checkers run under the run's limits (what ``judging.Checker`` asks for a checker)."""

    def __init__(self, zygote: Zygote, limits: dict):
        self.zygote, self.limits = zygote, limits

    def fork_checker(self, tracks: list[str]) -> Forked:
        return self.zygote.fork_checker(tracks, self.limits)


class Forked:
    """A process the zygote forked for the grader, driven like a ``subprocess.Popen`` with text pipes."""

    def __init__(self, pid: int, stdin, stdout):
        self.pidfd, self.stdin, self.stdout = os.pidfd_open(pid), stdin, stdout

    def kill(self) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def communicate(self, timeout: float | None = None) -> tuple[str, None]:
        """Close its input, read its output to the end (``subprocess.TimeoutExpired`` after ``timeout``)."""
        try:
            self.stdin.close()
        except OSError:
            pass
        deadline = None if timeout is None else time.monotonic() + timeout
        chunks, fd = [], self.stdout.fileno()
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([fd], [], [], left)[0]:
                raise subprocess.TimeoutExpired("checker", timeout)
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        self.stdout.close()
        os.close(self.pidfd)
        return b"".join(chunks).decode(), None


class WarmPool:
    """At most ``ahead`` unattached warm sandboxes, in nbgrader's order, until ``stop``; their kernels come from
    ``zygote`` (shared by a run's batches) or from a zygote of this batch's own."""

    def __init__(self, batch: Path, course: Path, jobs: list[tuple[str, str]], ahead: int,
                 zygote: Zygote | None = None):
        self.batch, self.course, self.ahead = Path(batch), Path(course), ahead
        self.order = nbgrader_order(jobs)
        self.log = open(self.batch / "warm.log", "ab")  # what its zygote and launchers print
        self.own = zygote is None
        self.zygote = zygote or Zygote(self.batch, self.course, [a for _s, a in self.order] if ahead else [],
                                       self.log)
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prunerl-warm-pool", daemon=True)

    def __enter__(self) -> WarmPool:
        if self.ahead > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _waiting(self) -> int:
        return sum(proc.poll() is None and not (job / "attached").exists() for proc, job in self.procs)

    def _run(self) -> None:
        # Launchers (and this batch's own zygote) die with this thread (PR_SET_PDEATHSIG): it lives until stop().
        try:
            if self.own:
                self.zygote.start()
            while not self._stop.is_set():
                while len(self.procs) < len(self.order) and self._waiting() < self.ahead:
                    self._start(*self.order[len(self.procs)])
                self.zygote.poll()
                self._stop.wait(0.05)
        finally:
            for proc, job in self.procs:
                if proc.poll() is None and not (job / "attached").exists():
                    proc.kill()  # never attached: its sandbox dies with it (bwrap --die-with-parent)
            for proc, _job in self.procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if self.own:
                self.zygote.stop()

    def _start(self, student: str, assignment: str) -> None:
        job = sandbox.job_dir(self.batch, student, assignment)
        job.mkdir(parents=True, exist_ok=True)
        (job / "warming").touch()  # the launcher removes it once it has taken its notebook or died
        files = self.course / "source" / assignment  # what nbgrader copies next to the notebook
        cmd = [sys.executable, "-I", str(WARM_LAUNCH), "--warm", str(self.batch / "sandbox.json"), str(job),
               str(files), str(self.zygote.socket)]
        self.procs.append((subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log), job))

    def stop(self) -> None:
        """Kill every sandbox still waiting for its notebook (and this batch's own zygote); wait for all of them
        (nbgrader has ended)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.log.close()
