"""nbgrader's Execute preprocessor with the notebook's limits, enforced on nbgrader's side (the grader's process,
out of every sandbox's reach; ``batch`` puts it in place of nbgrader's own ``Execute``).

- **One time budget per notebook** (``budget`` seconds for all its cells, whatever their number): a cell's timeout
  is what is left of the budget when that is less than ``--timeout``; a notebook that runs out is stopped there.
- **A cell that cannot be interrupted** (it ignores SIGINT) stops the notebook there, instead of nbgrader giving
  the whole notebook up.
- **A kernel a limit killed** (CPU time, or its launcher's backstop: ``status.json``) stops the notebook there; a
  kernel that died otherwise (``os._exit``, a crash) fails as before.
- **Bounded outputs:** at most ``max_output`` bytes of a notebook's outputs are kept while it runs.

Stopping kills the sandbox (SIGTERM to the kernel command: its launcher kills the sandbox, copies the records out
and writes ``status.json``). A stopped notebook is still graded: the stopped cell carries a ``GradingLimit`` error
that names the limit in the learner's terms, and every later code cell a ``NotRun`` error, so nbgrader scores
those 0 (a test cell with no output would score full marks) while the cells before keep what they earned.
"""
from __future__ import annotations

import json
import os
import signal
import time

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

from .sandbox import CONFIG_ENV
from .sandbox_launch import job_of

STOPPED, NOT_RUN = "GradingLimit", "NotRun"  # enames results.py reads


def limit_error(ename: str, message: str):
    return new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class LimitedExecute(Execute):
    budget = Integer(0, help="seconds all cells of a notebook may take together (0: no budget)").tag(config=True)
    max_output = Integer(16 * 1024 ** 2, help="bytes of outputs kept per notebook").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline, self._stopped, self._kept = None, None, 0
        self._folder = ((resources or {}).get("metadata") or {}).get("path")
        return super().preprocess(nb, resources, km)

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self._deadline is None:
            return timeout
        left = max(1, int(self._deadline - time.monotonic() + 0.999))
        return left if timeout is None else min(timeout, left)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        if self._stopped is not None:
            cell.outputs = [limit_error(NOT_RUN, "not run: a grading limit stopped the notebook at an earlier cell")]
            return cell, self.resources
        if self._deadline is not None and time.monotonic() >= self._deadline:  # the budget ran out just before
            cell.outputs = []
            return self._stopped_here(cell, self._budget_ran_out()), self.resources
        if self._deadline is None and self.budget:
            self._deadline = time.monotonic() + self.budget
        timeout = self._get_timeout(cell)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # interrupted, and still no reply: the cell ignores SIGINT
            why = self._budget_ran_out() or (f"stopped after {timeout} s: the cell did not finish and did not stop "
                                              "when interrupted, so the notebook was stopped here")
            return self._stopped_here(cell, why), self.resources
        except DeadKernelError:
            why = self._limit_killed()
            if why is None:
                raise  # died on its own: nbgrader reports it, as before
            return self._stopped_here(cell, why), self.resources
        why = self._budget_ran_out()
        if why is not None and any(o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            cell.outputs = [o for o in cell.outputs if o.get("ename") != "CellTimeoutError"]
            return self._stopped_here(cell, why), self.resources
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content") or {}
        size = len(content.get("text") or "") + sum(len(str(v)) for v in (content.get("data") or {}).values())
        self._kept += size
        if self._kept > self.max_output:
            if self._kept - size <= self.max_output:
                outs.append(new_output("stream", name="stdout",
                                       text=f"\n[output cut: more than {self.max_output // 1024 ** 2} MiB]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    # ------------------------------------------------------------------------------------------ stopping
    def _budget_ran_out(self) -> str | None:
        if self._deadline is not None and time.monotonic() >= self._deadline - 0.5:
            return self._budget_message()
        return None

    def _budget_message(self) -> str:
        return (f"stopped after {self.budget} s: the notebook did not finish within its time limit "
                f"({self.budget} s for all cells together)")

    def _stopped_here(self, cell, why: str):
        cell.outputs.append(limit_error(STOPPED, why))
        self._stop(why)
        return cell

    def _stop(self, why: str) -> None:
        """Kill the kernel's sandbox; every later code cell is marked not run."""
        self._stopped = why
        self.log.warning("prunerl: %s", why)
        try:
            run_sync(self.km.signal_kernel)(signal.SIGTERM)
            for _ in range(300):
                if not run_sync(self.km.is_alive)():
                    return
                time.sleep(0.1)
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as exc:  # noqa: BLE001 - a kernel already gone is what we want
            self.log.warning("prunerl: stopping the kernel: %s", exc)

    def _limit_killed(self) -> str | None:
        """Why the kernel's sandbox ended, when a limit ended it (its launcher's ``status.json``)."""
        status = self._status()
        rc = status.get("returncode")
        if status.get("stopped") == "budget":
            return self._budget_message()
        if rc in (128 + signal.SIGXCPU, -signal.SIGXCPU):
            cpu = self._config().get("limits", {}).get("cpu", "?")
            return f"stopped: the notebook used more than {cpu} s of CPU time, the grading limit"
        return None

    def _config(self) -> dict:
        try:
            with open(os.environ[CONFIG_ENV]) as f:
                return json.load(f)
        except (KeyError, OSError, ValueError):
            return {}

    def _status(self) -> dict:
        cfg = self._config()
        if not cfg.get("jobs") or not self._folder:
            return {}
        path = os.path.join(job_of(cfg, os.path.abspath(self._folder)), "status.json")
        for _ in range(100):  # the launcher writes it once the sandbox is gone, just after the kernel died
            try:
                with open(path) as f:
                    return json.load(f)
            except (OSError, ValueError):
                time.sleep(0.05)
        return {}
