"""Every resource capped where it is consumed, graded beside honest learners in ONE run (tests/fixtures/hostile).

Attacks on memory (shared mappings), shared memory, the records folder's disk, the grader's own memory (fd 1), the
notebook's time (many cells; a cell that ignores the interrupt) and the environment's secrets, each in a notebook
that also holds the full solution: a limit stops the attack, the notebook is still graded for what it earned, its
flags name the limit, and the honest learners of both batches keep full marks. Plus the checker's limits and the
bounded record loader, without a grading run.
"""
from __future__ import annotations

import copy
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from prunerl.commands.grade import _ungraded
from prunerl.course.grading import sandbox
from prunerl.course.grading.batch import notebook_budget
from prunerl.course.grading.grade import grade
from prunerl.course.grading.layout import grade_id

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures"
HOSTILE = FIXTURE / "hostile"
A = "fx_demo"
MiB = 1024 ** 2
LIMITS = sandbox.Limits(memory=512 * MiB, disk=64 * MiB, records_bytes=32 * MiB)
TIMEOUT = 10  # per cell; 30 cells of 9 s each would take 270 s
SECRETS = {"JPY_API_TOKEN": "hub-token-0123", "GRADER_SECRET_TOKEN": "s3cret-4567"}
# sorted, so each of the two batches (--jobs 2) holds an honest learner
NAMES = ("1_honest", "2_fallocate", "3_mmap", "4_shm", "5_sigint", "6_honest", "7_sleeps", "8_stdout", "9_env")

pytestmark = pytest.mark.skipif(sandbox.unavailable() is not None, reason="no sandbox on this system")


def _cell(nb, gid):
    return next(c for c in nb.cells if grade_id(c) == gid)


def _peak_rss() -> int:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmHWM"].split()[0]) * 1024


@pytest.fixture(scope="module")
def run(tmp_path_factory, monkeypatch_module, fx_course) -> dict:
    layout = fx_course
    full = nbformat.read(layout.exercises / f"{A}.ipynb", as_version=4)
    sol = nbformat.read(layout.solutions / f"{A}.ipynb", as_version=4)
    for gid in ("threshold_prune", "double"):
        _cell(full, gid).source = _cell(sol, gid).source
    subs = tmp_path_factory.mktemp("lim_subs")
    for name in NAMES:
        nb = copy.deepcopy(full)
        attack = name.split("_", 1)[1]
        # after the first two tests (3 of 4 points), before `double` and its test (1 point)
        cells = {"fallocate": ["fallocate_records"], "mmap": ["mmap_shared"], "shm": ["shm_fill"],
                 "sigint": ["ignore_sigint"], "sleeps": ["sleep_cell"] * 30, "stdout": ["flood_stdout"],
                 "env": ["read_env"]}.get(attack, [])
        for fixture in reversed(cells):
            nb.cells.insert(5, nbformat.v4.new_code_cell((HOSTILE / f"{fixture}.py").read_text()))
        nbformat.write(nb, subs / f"{A}_{name}.ipynb")
    for key, value in SECRETS.items():
        monkeypatch_module.setenv(key, value)
    out = tmp_path_factory.mktemp("lim_out")
    baseline = _peak_rss()
    Path("/proc/self/clear_refs").write_text("5")  # restart this process's peak-RSS count (VmHWM) here
    summary = grade([subs], layout, out, jobs=2, timeout=TIMEOUT, limits=LIMITS)
    by = {Path(nb["path"]).stem[len(A) + 1:]: nb for nb in summary["notebooks"]}
    return {"by": by, "out": out, "peak": _peak_rss(), "baseline": baseline}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _autograded(run, name: str):
    path = next(p for p in (run["out"] / "autograded").rglob("*.ipynb") if name in str(p))
    return nbformat.read(path, as_version=4)


def _printed(run, name: str) -> str:
    nb = _autograded(run, name)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def _tests(result) -> dict:
    return {t["id"]: t["score"] for t in result["tests"]}


@pytest.mark.slow
def test_honest_learners_keep_full_marks_and_every_notebook_is_graded(run):
    by = run["by"]
    assert set(by) == set(NAMES)
    assert by["1_honest"]["score"] == by["6_honest"]["score"] == 4
    assert not by["1_honest"]["flags"] and not by["6_honest"]["flags"]
    for name in NAMES:  # a limit is a graded result: every test has a score and a message, none "not graded"
        assert not any((t["message"] or "").startswith("not graded") for t in by[name]["tests"]), by[name]
        assert not _ungraded(by[name])  # so `prunerl grade` exits 0


@pytest.mark.slow
def test_memory_counts_shared_mappings(run):
    res = run["by"]["3_mmap"]
    mapped = int(_printed(run, "3_mmap").split("mapped ")[1].split()[0])
    assert mapped * sandbox.GiB <= LIMITS.memory + sandbox.HEADROOM
    assert any("used more than 512 MiB of memory" in f for f in res["flags"]), res["flags"]
    assert res["score"] == 4  # the rest of the notebook still ran


@pytest.mark.slow
def test_shared_memory_and_records_are_size_capped_tmpfs(run):
    shm = int(_printed(run, "4_shm").split("wrote ")[1].split()[0])
    assert shm <= LIMITS.disk // MiB and run["by"]["4_shm"]["score"] == 4
    text = _printed(run, "2_fallocate")
    assert "No space left on device" in text and "reserved 0 of 4 files" in text, text
    assert run["by"]["2_fallocate"]["score"] == 4


@pytest.mark.slow
def test_kernel_output_is_read_as_a_bounded_stream(run):
    assert run["by"]["8_stdout"]["score"] == 4
    # 512 MiB unless the cell timed out first (a pipe drains slowly on busy cores); reading it whole, as text, grew
    # the grader by more than twice what was written
    written = int(_printed(run, "8_stdout").split("wrote ")[1].split()[0]) * MiB
    grown = run["peak"] - run["baseline"]
    assert written >= 64 * MiB and grown < written / 2, f"wrote {written / MiB:.0f} MiB, grew {grown / MiB:.0f} MiB"


@pytest.mark.slow
def test_a_notebook_budget_stops_many_cells_and_keeps_what_was_earned(run):
    res = run["by"]["7_sleeps"]
    budget = notebook_budget(TIMEOUT)
    assert _tests(res) == {"test_shape": 1, "test_keeps_equal": 2, "test_double": 0}
    assert any(f"stopped after {budget} s: the notebook did not finish within its time limit" in f
               for f in res["flags"]), res["flags"]
    double = next(t for t in res["tests"] if t["id"] == "test_double")
    assert double["message"].startswith("not run")
    nb = _autograded(run, "7_sleeps")
    sleeps = [c for c in nb.cells if c.cell_type == "code" and "time.sleep(9)" in c.source]
    ran = [c for c in sleeps if not any(o.get("ename") == "NotRun" for o in c.outputs)]
    assert len(sleeps) == 30 and 0 < len(ran) <= budget / 9 + 1  # whatever the number of cells


@pytest.mark.slow
def test_a_cell_that_ignores_the_interrupt_stops_the_notebook_with_a_reason(run):
    res = run["by"]["5_sigint"]
    assert _tests(res) == {"test_shape": 1, "test_keeps_equal": 2, "test_double": 0}
    assert any(f"stopped after {TIMEOUT} s: the cell did not finish" in f for f in res["flags"]), res["flags"]
    assert not any("nbgrader could not grade" in f for f in res["flags"])


@pytest.mark.slow
def test_the_kernel_environment_holds_no_secret(run):
    assert "ATTACK env: found []" in _printed(run, "9_env")
    assert run["by"]["9_env"]["score"] == 4


@pytest.mark.slow
def test_nothing_survives_the_run(run):
    time.sleep(1)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "ignore_sigint" not in ps and "time.sleep(3600)" not in ps
    assert not [p for p in Path("/dev/shm").glob("fill*")]  # the sandbox's /dev/shm was its own


# ------------------------------------------------------------------------------------------- the checker
@pytest.mark.slow
def test_the_forked_checker_runs_under_the_limits(tmp_path):
    """The checker a zygote forks for a batch reads what kernels recorded: it runs with an address-space and a CPU
    limit."""
    from prunerl.course.grading import kernelpool

    limits = sandbox.kernel_limits(LIMITS)
    with kernelpool.Zygote(tmp_path, tmp_path, []) as zygote:
        checker = zygote.limited(limits).fork_checker([])
        for _ in range(300):  # the child sets its limits right after the fork
            seen = Path(f"/proc/{_pid_of(checker.pidfd)}/limits").read_text()
            if "unlimited" not in next(line for line in seen.splitlines() if line.startswith("Max address space")):
                break
            time.sleep(0.1)
        checker.kill()
    rows = {line[:26].strip(): line[26:].split() for line in seen.splitlines()[1:]}
    assert rows["Max address space"][:2] == [str(limits["address_space"])] * 2
    assert rows["Max cpu time"][0] == str(limits["cpu"])


def _pid_of(pidfd: int) -> int:
    info = dict(line.split(":", 1) for line in Path(f"/proc/self/fdinfo/{pidfd}").read_text().splitlines())
    return int(info["Pid"])


def test_the_address_space_limit_is_memory_plus_the_measured_headroom():
    from prunerl.course.grading.sandbox_launch import rlimits

    limits = sandbox.kernel_limits(LIMITS)
    assert limits["address_space"] == LIMITS.memory + sandbox.HEADROOM
    assert ("RLIMIT_AS", (limits["address_space"],) * 2) in rlimits(limits)
    assert not any(name == "RLIMIT_DATA" for name, _value in rlimits(limits))


def test_nbgrader_keeps_a_bounded_share_of_a_notebooks_outputs():
    from nbclient import NotebookClient

    from prunerl.course.grading.limited_execute import LimitedExecute

    ep = LimitedExecute(max_output=3 * MiB)
    NotebookClient.__init__(ep, nbformat.v4.new_notebook())
    ep._kept, ep.clear_before_next_output, outs = 0, False, []
    for _ in range(10):  # 10 MiB printed in 1 MiB messages
        msg = {"msg_type": "stream", "header": {"msg_type": "stream"}, "parent_header": {"msg_id": "m"},
               "content": {"name": "stdout", "text": "x" * MiB}}
        ep.output(outs, msg, None, 0)
    assert sum(len(o.get("text", "")) for o in outs) <= 3 * MiB + 100
    assert "output cut" in outs[-1]["text"]


def test_the_grading_page_states_the_time_and_output_limits():
    from prunerl.course.grading.batch import LOG_TAIL
    from prunerl.course.grading.limited_execute import LimitedExecute

    section = " ".join((REPO / "docs" / "grading.md").read_text().split())
    assert all(notebook_budget(t) == 2 * t + 30 for t in (3, 10, 120))
    assert "one time budget for all its cells, 2 × `--timeout` + 30 s (`batch.notebook_budget`)" in section
    assert f"stopped after {notebook_budget(3)} s: the notebook did not finish" in section
    assert f"the grader keeps the last {LOG_TAIL // MiB} MiB" in section
    assert f"nbgrader keeps at most {LimitedExecute.max_output.default_value // MiB} MiB" in section
