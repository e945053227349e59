"""``prunerl grade --scheduler``: a class graded through a Dask cluster scores exactly as graded locally.

Six learners hand in two exercises (ex1_threshold_torch, ex3_sparsify_torch) in an nbgrader ``submitted/`` tree:
solutions, grading cases from tests/grading_cases (each one says which tests it loses), released notebooks with
nothing done, and mallory: forged check records on ex1 and, on ex3, a cell that signals every process it can see
(tests/fixtures/hostile/kill_grader.py), which must not reach a Dask worker. The class is graded (a) locally,
(b) through a 2-worker ``LocalCluster`` on loopback and (c) through a fresh one whose first worker to start a batch
is killed, with everything it started, while that batch runs; that cluster then gets a run interrupted as Ctrl-C
would, and a one-worker cluster without bubblewrap refuses to grade.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from test_grading_cases import parse_case
from test_sandbox import _with_attack

from prunerl.course.grading import dispatch
from prunerl.course.grading import distributed as dist
from prunerl.course.grading import sandbox
from prunerl.course.grading.build import build
from prunerl.course.grading.grade import _ACTIVE, SandboxUnavailable, grade
from prunerl.course.grading.layout import Layout, default_layout, grade_id, is_solution
from prunerl.course.grading.progress import BarTracker

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "grading_cases"
EX1, EX3 = "ex1_threshold_torch", "ex3_sparsify_torch"
ALL = "every test"  # a notebook that earns nothing
CLASS = {  # learner -> {assignment: grading case, "solution", "release" or an attack on the release}
    "alice": {EX1: "solution", EX3: "solution"},
    "bob": {EX1: "keeps_equal_ge", EX3: "solution"},
    "carol": {EX1: "solution", EX3: "row_ptr_off_by_one"},
    "dave": {EX1: "layerwise_threshold", EX3: "converter_scipy"},
    "erin": {EX1: "release", EX3: "release"},
    "mallory": {EX1: "hostile_forged_records", EX3: "attack:kill_grader"},
}
TIMEOUT = 120

needs_sandbox = pytest.mark.skipif(sandbox.unavailable() is not None, reason="no sandbox on this system")


class Counting(BarTracker):
    """The live bar, drawn into a buffer, remembering every notebook it was told of."""

    def __init__(self) -> None:
        from rich.console import Console

        super().__init__(Console(file=io.StringIO(), width=120, force_terminal=True))
        self.keys: list = []
        self.last = None

    def graded(self, key, result: dict) -> None:
        self.keys.append(key)
        super().graded(key, result)

    def close(self) -> None:
        if self.task is not None:
            self.last = self.bar.tasks[0]
        super().close()


def _notebook(layout: Layout, a: str, what: str):
    release = nbformat.read(layout.exercises / f"{a}.ipynb", as_version=4)
    if what == "release":
        return release, ALL
    if what.startswith("attack:"):
        return _with_attack(release, what.split(":", 1)[1]), ALL
    solution = nbformat.read(layout.solutions / f"{a}.ipynb", as_version=4)
    reference = {grade_id(c): c.source for c in solution.cells if is_solution(c) and grade_id(c)}
    expected, sections = (set(), {}) if what == "solution" else parse_case(CASES / a / f"{what}.py")
    for cell in release.cells:
        if is_solution(cell) and grade_id(cell) in reference:
            cell.source = sections.get(grade_id(cell), reference[grade_id(cell)])
    return release, expected


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> dict:
    """A course of the two exercises, and the class's submitted/ tree with what each notebook must lose."""
    real = default_layout()
    root = tmp_path_factory.mktemp("dist")
    layout = Layout(root / "repo")
    layout.sources.mkdir(parents=True)
    shutil.copy2(real.course / "nbgrader_config.py", layout.course / "nbgrader_config.py")
    for a in (EX1, EX3):
        source = real.source_files()[a][0]
        shutil.copy2(source, layout.sources / source.name)
    build(layout, [EX1, EX3], execute=False, log=lambda _m: None)
    expected = {}
    for student, work in CLASS.items():
        for a, what in work.items():
            nb, expected[(student, a)] = _notebook(layout, a, what)
            dest = root / "submitted" / student / a / f"{a}.ipynb"
            dest.parent.mkdir(parents=True)
            nbformat.write(nb, dest)
    return {"layout": layout, "subs": root / "submitted", "root": root, "expected": expected}


def _scores(summary: dict) -> dict:
    return {(nb["student"], nb["assignment"]): [(t["id"], t["score"], t["max_score"], t["message"])
                                                for t in nb["tests"]] for nb in summary["notebooks"]}


def _graded(course: dict, name: str, **kwargs) -> dict:
    out, tracker, lines = course["root"] / name, Counting(), []
    summary = grade([course["subs"]], course["layout"], out, timeout=TIMEOUT, tracker=tracker, progress=lines.append,
                    **kwargs)
    return {"summary": summary, "tracker": tracker, "lines": lines, "out": out,
            "state": json.loads((out / "state.json").read_text())}


def _cluster():
    from distributed import LocalCluster

    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0")


@pytest.fixture(scope="module")
def local(course) -> dict:
    return _graded(course, "local", jobs=2)


@pytest.fixture(scope="module")
def on_cluster(course) -> dict:
    """Through the scheduler's address, as ``prunerl grade --scheduler`` does."""
    with _cluster() as cluster:
        return _graded(course, "cluster", scheduler=cluster.scheduler_address)


def _descendants(pid: int) -> list[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        try:
            parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80] or f"[{pid}]"
    except OSError:
        return f"[{pid} gone]"


def _running_nbgrader(pid: int) -> bool:
    for child in _descendants(pid):
        try:
            if b"autograde" in Path(f"/proc/{child}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


@pytest.fixture(scope="module")
def second_cluster():
    from distributed import Client

    with _cluster() as cluster, Client(cluster, set_as_default=False) as client:
        yield client


def _wait_for_nbgrader(pids: list[int], busy: Callable[[], bool]) -> int | None:
    """The first of ``pids`` seen running ``nbgrader autograde`` while ``busy()``."""
    deadline = time.time() + 600
    while busy() and time.time() < deadline:
        found = next((p for p in pids if _running_nbgrader(p)), None)
        if found is not None:
            return found
        time.sleep(0.2)
    return None


@pytest.fixture(scope="module")
def killed(course, second_cluster) -> dict:
    """Batches of 3 on a fresh cluster; the first worker seen running nbgrader dies, with all it started."""
    client = second_cluster
    pids = list(client.run(os.getpid).values())
    box: dict = {}
    runner = threading.Thread(target=lambda: box.update(_graded(course, "killed", scheduler=client, batch_size=3)))
    runner.start()
    victim = _wait_for_nbgrader(pids, runner.is_alive)
    if victim is not None:
        tree = _descendants(victim)
        os.kill(victim, signal.SIGKILL)
        for pid in tree:  # the machine is gone: its nbgrader and kernels too
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    runner.join()
    box["victim"] = victim
    box["pids_after"] = list(client.run(os.getpid).values())
    return box


def _tasks(client) -> list[str]:
    return client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks
                                                           if str(k).startswith("prunerl-")])


def _check_class(graded: dict, expected: dict) -> None:
    nbs = {(nb["student"], nb["assignment"]): nb for nb in graded["summary"]["notebooks"]}
    assert set(nbs) == set(expected)
    for key, nb in nbs.items():
        lost = {t["id"] for t in nb["tests"] if t["score"] < t["max_score"]}
        want = {t["id"] for t in nb["tests"]} if expected[key] == ALL else expected[key]
        assert nb["max_score"] > 0 and lost == want, (key, lost, want, nb["flags"])


@needs_sandbox
@pytest.mark.slow
def test_local_grading_scores_every_learner_as_expected(course, local):
    _check_class(local, course["expected"])


@needs_sandbox
@pytest.mark.slow
def test_cluster_scores_are_identical_to_local(course, local, on_cluster):
    assert _scores(on_cluster["summary"]) == _scores(local["summary"])
    _check_class(on_cluster, course["expected"])
    assert on_cluster["summary"]["total"] == local["summary"]["total"]


@needs_sandbox
@pytest.mark.slow
def test_cluster_run_records_each_notebook_once_signed_and_shows_progress(course, on_cluster):
    n = len(course["expected"])
    tracker = on_cluster["tracker"]
    assert len(tracker.keys) == len(set(tracker.keys)) == n
    assert (tracker.last.completed, tracker.last.total) == (n, n)
    failing = sum(1 for want in course["expected"].values() if want)
    assert tracker.last.fields["failures"] == failing
    assert len(on_cluster["state"]["results"]) == n and all(e["mac"] for e in on_cluster["state"]["results"].values())
    assert (on_cluster["out"] / "gradebook.db").exists()
    assert sum(int(line.split()[1]) for line in on_cluster["lines"] if line.startswith("graded ")) == n


@needs_sandbox
@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(course, local, killed):
    assert killed["victim"] is not None, "no worker was seen running a batch"
    assert killed["victim"] not in killed["pids_after"]
    assert _scores(killed["summary"]) == _scores(local["summary"])
    n = len(course["expected"])
    assert len(killed["tracker"].keys) == len(set(killed["tracker"].keys)) == n
    names = list(killed["state"]["results"])
    assert len(names) == len(set(names)) == n
    assert not any(nb["flags"] and "grader failed" in " ".join(nb["flags"]) for nb in killed["summary"]["notebooks"])
    assert sum(int(line.split()[1]) for line in killed["lines"] if line.startswith("graded ")) == n


@needs_sandbox
@pytest.mark.slow
def test_a_cluster_runs_results_resume_here(course, on_cluster):
    """The state a cluster run signed on this machine is this machine's: a local run trusts it, grades nothing."""
    lines: list[str] = []
    again = grade([course["subs"]], course["layout"], on_cluster["out"], timeout=TIMEOUT, progress=lines.append)
    assert "0 to grade" in lines[0]
    assert _scores(again) == _scores(on_cluster["summary"])


@needs_sandbox
@pytest.mark.slow
def test_ctrl_c_cancels_the_tasks_and_stops_the_workers_nbgrader(course, monkeypatch):
    """Interrupted once a worker grades. This machine has no bubblewrap on its PATH: only the workers need it.

    Every wait is on a condition, never on a time: a cluster of its own (no worker of it waits to be restarted),
    whose nannies run in this process, so its workers and their nbgrader processes descend from it; nbgrader
    processes already running before this run (another run's) are not this run's."""
    from distributed import Client

    with _cluster() as cluster, Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=600)
        monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # after the workers started, with bubblewrap
        me = os.getpid()
        before = _nbgrader_below(me)
        # The watcher must see a worker's nbgrader before it can interrupt; a run it never saw grade (the batches
        # came and went between two looks) proves nothing either way, so it is tried again on a fresh folder.
        for attempt in range(3):
            out, fired = course["root"] / f"interrupted-{attempt}", threading.Event()
            grading = threading.Event()

            def interrupt_once_a_worker_grades(grading: threading.Event, fired: threading.Event) -> None:
                while grading.is_set():
                    if _nbgrader_below(me) - before:
                        fired.set()
                        os.kill(me, signal.SIGINT)  # what Ctrl-C sends
                        return
                    time.sleep(0.05)

            watcher = threading.Thread(target=interrupt_once_a_worker_grades, args=(grading, fired))
            grading.set()
            watcher.start()
            try:
                grade([course["subs"]], course["layout"], out, timeout=TIMEOUT, scheduler=client, batch_size=3)
            except KeyboardInterrupt:
                break
            finally:
                grading.clear()
                watcher.join()
            assert not fired.is_set(), "Ctrl-C came while a worker graded, and grade() finished as if it had not"
        else:
            pytest.fail("in 3 runs the watcher never saw a worker's nbgrader below this process: "
                        + ", ".join(_command(p) for p in _descendants(me)))
        deadline = time.time() + 600  # a bound for a stuck run only: the loop ends as soon as the workers are idle
        while time.time() < deadline and (_nbgrader_below(me) - before or _tasks(client)):
            time.sleep(0.5)
        assert _nbgrader_below(me) - before == set()
        assert _tasks(client) == []
        assert not (out / "state.json").exists() or json.loads((out / "state.json").read_text())["results"] == {}


def _nbgrader_below(pid: int) -> set[int]:
    """The ``nbgrader autograde`` processes descending from ``pid``."""
    found = set()
    for child in _descendants(pid):
        try:
            if b"autograde" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
        except OSError:
            continue
    return found


@needs_sandbox
@pytest.mark.slow
def test_a_worker_without_the_sandbox_refuses_the_run(course, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                      env={"PATH": os.path.dirname(sys.executable)}) as cluster:
        with pytest.raises(SandboxUnavailable, match=r"worker tcp://127\.0\.0\.1:\d+: .*bubblewrap.*refusing"):
            grade([course["subs"]], course["layout"], tmp_path / "out", timeout=TIMEOUT,
                  scheduler=cluster.scheduler_address)
    assert not (tmp_path / "out" / "state.json").exists()


# ----------------------------------------------------------------------------------------------- fast parts
@pytest.mark.parametrize("left_behind", [lambda *_: None, signal.default_int_handler])
def test_a_run_owns_ctrl_c_and_gives_the_handler_back(left_behind):
    """Over a handler a library left (one swallowing SIGINT) as over Python's own: Ctrl-C raises, is remembered."""
    saved = signal.signal(signal.SIGINT, left_behind)
    try:
        with pytest.raises(KeyboardInterrupt), dispatch.ctrl_c_remembered() as pressed:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        assert pressed.is_set() and signal.getsignal(signal.SIGINT) is left_behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with dispatch.ctrl_c_remembered() as pressed:  # a background job's ignored SIGINT stays ignored
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
        assert not pressed.is_set()
    finally:
        signal.signal(signal.SIGINT, saved)


def test_ctrl_c_stops_a_local_run_over_a_swallowing_handler():
    """A local run (``--jobs``) stops at Ctrl-C even when a library left a handler that swallows SIGINT, and cancels
    its batches: the grading threads see the cancel. Nothing here waits on a time but a bound for a stuck run."""
    from prunerl.course.grading.batch import _CANCEL

    started, release, raised, finished = (threading.Event() for _ in range(4))
    saw_cancel = []

    def work(batch):  # a batch that grades until cancelled (or, if the run never stopped, until released)
        started.set()
        while not (release.is_set() or _CANCEL.is_set()):
            time.sleep(0.01)
        saw_cancel.append(_CANCEL.is_set())
        finished.set()

    def press_ctrl_c():
        started.wait(120)
        os.kill(os.getpid(), signal.SIGINT)
        raised.wait(120)
        release.set()

    swallow = lambda *_: None  # noqa: E731
    saved = signal.signal(signal.SIGINT, swallow)
    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            try:
                dispatch.run_local([("learner", "ex1", None)] * 4, 2, 2, work)
            except KeyboardInterrupt:
                raised.set()
                raise
        assert signal.getsignal(signal.SIGINT) is swallow  # given back after the run
        assert finished.wait(120) and all(saw_cancel)  # a batch still starting when Ctrl-C came ends on the cancel
    finally:
        raised.set()
        release.set()
        presser.join()
        signal.signal(signal.SIGINT, saved)


def test_unreachable_scheduler_is_one_clear_error(tmp_path):
    with pytest.raises(dist.ClusterError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:1"):
        grade([tmp_path], default_layout(), tmp_path / "out", scheduler="tcp://127.0.0.1:1", sandboxed=False)
    assert not (tmp_path / "out").exists()


def test_course_copy_travels_as_bytes_and_is_unpacked_once(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setattr(dist.tempfile, "tempdir", str(tmp_path / "worker"))
    (tmp_path / "worker").mkdir()
    src = tmp_path / "course"
    (src / "release" / "a").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), src / "release" / "a" / "a.ipynb")
    (src / "gradebook.db").write_bytes(b"db")
    (src / ".complete").write_text("this machine's signature")
    data = dist.pack(src)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert sorted(tar.getnames()) == ["gradebook.db", "release/a/a.ipynb"]
    sha = hashlib.sha256(data).hexdigest()
    first = dist.unpacked(data, sha, "digest")
    (first.path / "gradebook.db").write_bytes(b"kept")  # a second batch does not unpack again
    second = dist.unpacked(data, sha, "digest")
    assert second.path == first.path and (second.path / "gradebook.db").read_bytes() == b"kept"
    assert set(second.releases) == {"a"} and second.digest == "digest"
    with pytest.raises(dist.ClusterError, match="damaged"):
        dist.unpacked(data[:-1] + b"x", sha, "digest")


def test_abort_stops_only_that_runs_nbgrader(tmp_path):
    mine, other = tmp_path / "prunerl-run1-x" / "course", tmp_path / "prunerl-run2-y" / "course"
    procs = []
    for cwd in (mine, other):
        cwd.mkdir(parents=True)
        procs.append(subprocess.Popen(["sleep", "60"], cwd=cwd, start_new_session=True))
    _ACTIVE.update(procs)
    try:
        assert dist.abort("run1") == 1
        assert procs[0].wait(timeout=10) == -signal.SIGKILL
        assert procs[1].poll() is None
        assert "run1" in dist._ABORTED
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
            _ACTIVE.discard(proc)
        dist._ABORTED.discard("run1")
