"""A class graded through the real ``prunerl grade`` CLI: progress lines, ``--quiet``, ``--csv``, and the class
report (``prunerl report``).

One grading run of four learners in an nbgrader ``submitted/<student>/ex1_threshold_torch/`` tree: alice hands in
the solution, bob and dave the solution with ``global_threshold`` wrong in the same way (it ignores its sparsity
and always prunes half: the visible test passes, the hidden check does not), carol the release (nothing
implemented). The exercise's tests are worth 1+2+2+1+2+1+2 = 11 points, test_global_threshold 2 of them.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from prunerl.cli import main
from prunerl.course.grading import sandbox
from prunerl.course.grading.layout import default_layout, grade_id
from prunerl.course.grading.progress import BarTracker, LineTracker, Tracker, tracker_for

A = "ex1_threshold_torch"
MAX = 11.0
GLOBAL = "test_global_threshold"
EXPECTED = {"alice": MAX, "bob": MAX - 2, "carol": 0.0, "dave": MAX - 2}

needs_sandbox = pytest.mark.skipif(sandbox.unavailable() is not None, reason="no sandbox on this system")


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "prunerl.cli", *args], capture_output=True, text=True, env=env,
                          timeout=1800)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """The class graded once (non-quiet, stdout a pipe), then again with --quiet on the same folder (resumed)."""
    layout = default_layout()
    rel = nbformat.read(layout.exercises / f"{A}.ipynb", as_version=4)
    sol = nbformat.read(layout.solutions / f"{A}.ipynb", as_version=4)
    for cell in sol.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    broken = nbformat.from_dict(json.loads(json.dumps(sol)))
    cell = next(c for c in broken.cells if grade_id(c) == "global_threshold")
    assert "round(sparsity * " in cell.source
    cell.source = cell.source.replace("round(sparsity * ", "round(0.5 * ")  # right at 0.5 only (the visible test)
    root = tmp_path_factory.mktemp("class")
    for student, nb in (("alice", sol), ("bob", broken), ("carol", rel), ("dave", broken)):
        dest = root / "submitted" / student / A / f"{A}.ipynb"
        dest.parent.mkdir(parents=True)
        nbformat.write(nb, dest)
    out = root / "grades"
    first = _cli("grade", str(root / "submitted"), "--out", str(out), "--csv", str(root / "first.csv"),
                 "--jobs", "1", "--timeout", "120")
    quiet = _cli("grade", str(root / "submitted"), "--out", str(out), "--csv", str(root / "scores.csv"),
                 "--quiet", "--json")
    report = _cli("report", str(out))
    return {"root": root, "out": out, "first": first, "quiet": quiet, "report": report}


@needs_sandbox
@pytest.mark.slow
def test_csv_totals_per_student(graded):
    assert graded["first"].returncode == 0, graded["first"].stderr[-2000:]
    for name in ("first.csv", "scores.csv"):
        rows = _rows(graded["root"] / name)
        assert [r["student"] for r in rows] == sorted(EXPECTED)
        assert {r["student"]: float(r["score"]) for r in rows} == EXPECTED
        assert {r["assignment"] for r in rows} == {A}
        assert {float(r["max_score"]) for r in rows} == {MAX}


@needs_sandbox
@pytest.mark.slow
def test_non_tty_run_prints_one_line_per_notebook(graded):
    lines = [ln for ln in graded["first"].stderr.splitlines() if re.match(r"\[\d/4\] ", ln)]
    assert len(lines) == 4, graded["first"].stderr[-2000:]
    assert sorted(int(ln[1]) for ln in lines) == [1, 2, 3, 4]
    for student, score in EXPECTED.items():
        [line] = [ln for ln in lines if f"/{student}/" in ln]
        assert line.endswith(f": {score:g} / {MAX:g} " + ("ok" if score == MAX else "failed"))


@needs_sandbox
@pytest.mark.slow
def test_quiet_prints_the_summary_only(graded):
    quiet = graded["quiet"]
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    summary = json.loads(quiet.stdout)
    assert sorted(nb["score"] for nb in summary["notebooks"]) == sorted(EXPECTED.values())


@needs_sandbox
@pytest.mark.slow
def test_report_lists_failing_tests_with_their_shares(graded):
    assert graded["report"].returncode == 0, graded["report"].stderr
    messages = {Path(nb["path"]).parts[-3]: {t["id"]: t["message"] for t in nb["tests"]}
                for nb in json.loads(graded["quiet"].stdout)["notebooks"]}
    folder = graded["out"] / "report"
    rows = {r["test"]: r for r in _rows(folder / "report.csv")}
    assert len(rows) == 7 and all(r["assignment"] == A and r["learners"] == "4" for r in rows.values())
    assert rows[GLOBAL]["failed"] == "3" and float(rows[GLOBAL]["failed_share"]) == 0.75
    for test, row in rows.items():
        if test != GLOBAL:  # only carol, who implemented nothing
            assert row["failed"] == "1" and float(row["failed_share"]) == 0.25
            assert row["messages"] == f"{messages['carol'][test]} (1)"
    mistake = messages["bob"][GLOBAL]
    assert mistake == messages["dave"][GLOBAL] != messages["carol"][GLOBAL]
    assert rows[GLOBAL]["messages"] == f"{mistake} (2) | {messages['carol'][GLOBAL]} (1)"  # commonest first
    assert {r["student"]: float(r["score"]) for r in _rows(folder / "scores.csv")} == EXPECTED


@needs_sandbox
@pytest.mark.slow
def test_report_html_references_its_plots(graded):
    folder = graded["out"] / "report"
    page = (folder / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', page)
    assert sorted(images) == [f"{A}-scores.png", f"{A}-tests.png"]
    for name in images:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert GLOBAL in page and "3 / 4 (75 %)" in page


@needs_sandbox
@pytest.mark.slow
def test_report_refuses_a_tampered_state(graded, tmp_path, capsys):
    copy = tmp_path / "grades"
    shutil.copytree(graded["out"], copy)
    shutil.rmtree(copy / "report")
    state = json.loads((copy / "state.json").read_text())
    entry = next(e for e in state["results"].values() if e["result"]["score"] == 0)
    entry["result"]["score"] = MAX
    (copy / "state.json").write_text(json.dumps(state))
    assert main(["report", str(copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "changed after grading" in err
    assert not (copy / "report").exists()


def test_report_bad_input_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["report", str(tmp_path)]) == 2  # a folder without state.json
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no state.json" in err
    (tmp_path / "state.json").write_text("{}")
    assert main(["report", str(tmp_path)]) == 2  # no signing key
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be verified" in err


def test_trackers_count_notebooks_and_failures():
    from rich.console import Console

    buf = io.StringIO()
    lines = LineTracker(Console(file=buf, width=200))
    lines.start(2)
    lines.ran(("s0", A))
    assert buf.getvalue() == ""  # a finished kernel is not a result yet
    lines.graded(("s0", A), {"path": "x.ipynb", "score": 3.0, "max_score": 11.0})
    lines.graded(("s1", A), {"path": "y.ipynb", "score": 11.0, "max_score": 11.0})
    assert buf.getvalue().splitlines() == ["[1/2] x.ipynb: 3 / 11 failed", "[2/2] y.ipynb: 11 / 11 ok"]
    assert (lines.done, lines.failures) == (2, 1)

    buf = io.StringIO()
    bar = BarTracker(Console(file=buf, width=120, force_terminal=True))
    bar.start(3)
    bar.ran(("s0", A))
    bar.ran(("s0", A))  # the same kernel seen twice (a retry) counts once
    task = bar.bar.tasks[0]
    assert (task.completed, task.fields["failures"]) == (1, 0)
    bar.graded(("s0", A), {"path": "x.ipynb", "score": 0.0, "max_score": 11.0})
    bar.graded(("s1", A), {"path": "y.ipynb", "score": 11.0, "max_score": 11.0})
    assert (task.completed, task.total, task.fields["failures"]) == (2, 3, 1)
    bar.close()
    assert "2/3" in buf.getvalue() and "1 failed" in buf.getvalue()

    assert type(tracker_for(None, quiet=True, live=True)) is Tracker
    assert isinstance(tracker_for(Console(file=io.StringIO()), quiet=False, live=False), LineTracker)
