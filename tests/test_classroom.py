"""A class graded through the real ``prunerl grade`` CLI into nbgrader's own course gradebook: progress lines,
``--quiet``, ``--csv``, the course's gradebook, formgrader's and release_feedback's files, ``nbgrader export``, the
class report (``prunerl report``) and a zip of LMS downloads.

One grading run of seven learners laid out as nbgrader's ``<course>/submitted/<student>/ex1_threshold_torch/`` tree
(with the ``timestamp.txt`` and ``submission_secret.txt`` nbgrader's exchange leaves) in a temporary copy of the
course: alice and erin hand in the solution, bob and dave the solution with ``global_threshold`` wrong in the same
way (it ignores its sparsity and always prunes half: the visible test passes, the hidden check does not), carol the
release (nothing implemented), and two hostile learners the release with an attack cell from tests/fixtures/hostile
(frank writes full marks into every sqlite database he can find, gina overwrites every notebook she can reach):
like every attacker of tests/test_sandbox.py they earn nothing. The exercise's tests are worth 1+2+2+1+2+1+2 = 11
points, test_global_threshold 2 of them.
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
import zipfile
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from prunerl.cli import main
from prunerl.course.grading import lms, sandbox
from prunerl.course.grading.classreport import cause
from prunerl.course.grading.layout import default_layout, grade_id
from prunerl.course.grading.progress import BarTracker, LineTracker, Tracker, tracker_for

A = "ex1_threshold_torch"
MAX = 11.0
GLOBAL = "test_global_threshold"
EXPECTED = {"alice": MAX, "bob": MAX - 2, "carol": 0.0, "dave": MAX - 2, "erin": MAX, "frank": 0.0, "gina": 0.0}
HOSTILE = {"frank": "find_databases", "gina": "rewrite_others"}
REVIEWED = ("dave", GLOBAL, 2.0)  # the instructor's manual score in formgrader between the two runs
FIXTURES = Path(__file__).resolve().parent / "fixtures"

needs_sandbox = pytest.mark.skipif(sandbox.unavailable() is not None, reason="no sandbox on this system")


def _cli(*args: str, cwd: Path | None = None, module: str = "prunerl.cli", **env_extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200", **env_extra)
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env,
                          timeout=1800, cwd=cwd)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _gradebook(course: Path) -> dict:
    """{student: {test: (auto_score, manual_score)}} of A in the course's gradebook, and its row counts."""
    import warnings

    from nbgrader.api import Grade, Gradebook, SubmittedAssignment

    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="prunerl") as gb:
        warnings.simplefilter("ignore")
        subs = gb.find_assignment(A).submissions
        return {"scores": {s.student.id: {g.name: (g.auto_score, g.manual_score) for g in s.notebooks[0].grades}
                           for s in subs},
                "totals": {s.student.id: s.score for s in subs}, "students": len(gb.students),
                "submissions": gb.db.query(SubmittedAssignment).count(), "grades": gb.db.query(Grade).count()}


def _set_score(course: Path, student: str, test: str, **values) -> None:
    import warnings

    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="prunerl") as gb:
        warnings.simplefilter("ignore")
        grade = gb.find_grade(test, A, A, student)
        for name, value in values.items():
            setattr(grade, name, value)
        gb.db.commit()


def _class_notebooks(layout) -> dict:
    rel = nbformat.read(layout.exercises / f"{A}.ipynb", as_version=4)
    sol = nbformat.read(layout.solutions / f"{A}.ipynb", as_version=4)
    for cell in sol.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    broken = nbformat.from_dict(json.loads(json.dumps(sol)))
    cell = next(c for c in broken.cells if grade_id(c) == "global_threshold")
    assert "round(sparsity * " in cell.source
    cell.source = cell.source.replace("round(sparsity * ", "round(0.5 * ")  # right at 0.5 only (the visible test)
    notebooks = {"alice": sol, "bob": broken, "carol": rel, "dave": broken, "erin": sol}
    for student, attack in HOSTILE.items():
        nb = nbformat.from_dict(json.loads(json.dumps(rel)))
        nb.cells.insert(2, nbformat.v4.new_code_cell((FIXTURES / "hostile" / f"{attack}.py").read_text()))
        notebooks[student] = nb
    return {"notebooks": notebooks, "solution": sol, "broken": broken}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """The class graded once (non-quiet, stdout a pipe, feedback on), then the instructor reviews dave in
    formgrader and the gradebook loses one of alice's scores, then the class is graded again with --quiet on the
    same folder (resumed); the report, nbgrader's export and release_feedback follow; last, a zip of LMS downloads
    is graded into the same results folder (after the report, which it would otherwise join) and its own gradebook."""
    layout = default_layout()
    made = _class_notebooks(layout)
    root = tmp_path_factory.mktemp("class")
    course = root / "course"  # the instructor's nbgrader course: config and master copies, no gradebook yet
    course.mkdir()
    shutil.copy2(layout.course / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(layout.course / "source", course / "source")
    for n, (student, nb) in enumerate(sorted(made["notebooks"].items())):
        folder = course / "submitted" / student / A
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{A}.ipynb")
        (folder / "timestamp.txt").write_text(f"2026-11-2{n} 10:00:00.000000 UTC")
        (folder / "submission_secret.txt").write_text(f"secret-of-{student}")
    out = root / "grades"
    first = _cli("grade", str(course / "submitted"), "--out", str(out), "--csv", str(root / "first.csv"),
                 "--feedback", "--jobs", "2", "--timeout", "120")  # two nbgrader processes, as on CI's two cores
    after_first = _gradebook(course)
    student, test, score = REVIEWED
    _set_score(course, student, test, manual_score=score)
    _set_score(course, "alice", GLOBAL, auto_score=0.0)
    quiet = _cli("grade", str(course / "submitted"), "--out", str(out), "--csv", str(root / "scores.csv"),
                 "--feedback", "--quiet", "--json")
    report = _cli("report", str(out))
    export = _cli("export", "--to", str(root / "export.csv"), cwd=course, module="nbgrader")
    exchange = root / "exchange"
    exchange.mkdir()
    released = _cli("release_feedback", f"--assignment={A}", f"--Exchange.root={exchange}", cwd=course,
                    module="nbgrader")
    ours = {s: (course / "feedback" / s / A / f"{A}.html").read_text(encoding="utf-8") for s in EXPECTED}
    regenerated = _cli("generate_feedback", f"--assignment={A}", "--force", cwd=course, module="nbgrader")
    downloads = root / "downloads.zip"
    with zipfile.ZipFile(downloads, "w") as zf:
        zf.writestr(f"doejane_12345_678901_{A}.ipynb", nbformat.writes(made["broken"]))
        zf.writestr(f"doejane_LATE_12345_678901_{A}-1.ipynb", nbformat.writes(made["solution"]))
        zf.writestr(f"smithjohn_23456_678902_{A}.ipynb", nbformat.writes(made["broken"]))
    zipped = _cli("grade", str(downloads), "--out", str(out), "--gradebook", str(root / "lms.db"), "--json",
                  "--quiet", "--jobs", "2", "--timeout", "120", XDG_CACHE_HOME=str(root / "cache"))
    return {"root": root, "course": course, "out": out, "first": first, "quiet": quiet, "report": report,
            "after_first": after_first, "after_quiet": _gradebook(course), "export": export, "released": released,
            "exchange": exchange, "zipped": zipped, "feedback": ours, "regenerated": regenerated}


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
    n = len(EXPECTED)
    lines = [ln for ln in graded["first"].stderr.splitlines() if re.match(rf"\[\d+/{n}\] ", ln)]
    assert len(lines) == n, graded["first"].stderr[-2000:]
    assert sorted(int(ln[1:].split("/")[0]) for ln in lines) == list(range(1, n + 1))
    for student, score in EXPECTED.items():
        [line] = [ln for ln in lines if f"/{student}/" in ln]
        assert line.endswith(f": {score:g} / {MAX:g} " + ("ok" if score == MAX else "failed"))
    assert f"{n} result(s) written to the nbgrader gradebook sqlite:///" in graded["first"].stderr


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
def test_course_gradebook_holds_every_learner_under_their_ids(graded):
    first = graded["after_first"]
    assert first["totals"] == EXPECTED
    assert first["students"] == first["submissions"] == len(EXPECTED) and first["grades"] == 7 * len(EXPECTED)
    assert all(len(tests) == 7 and all(manual is None for _auto, manual in tests.values())
               for tests in first["scores"].values())
    assert first["scores"]["bob"][GLOBAL] == (0.0, None) and first["scores"]["alice"][GLOBAL] == (2.0, None)


@needs_sandbox
@pytest.mark.slow
def test_regrading_updates_keeps_manual_scores_and_never_duplicates(graded):
    again = graded["after_quiet"]
    student, test, score = REVIEWED
    assert again["students"] == again["submissions"] == len(EXPECTED) and again["grades"] == 7 * len(EXPECTED)
    assert again["scores"]["alice"] == graded["after_first"]["scores"]["alice"]  # the lost score is back
    assert again["scores"][student][test] == (0.0, score)  # the instructor's review stays
    assert again["totals"] == dict(EXPECTED, **{student: EXPECTED[student] + score})


@needs_sandbox
@pytest.mark.slow
def test_nbgrader_export_lists_every_learner_with_the_right_totals(graded):
    assert graded["export"].returncode == 0, graded["export"].stderr[-2000:]
    rows = _rows(graded["root"] / "export.csv")
    student, _test, score = REVIEWED
    assert sorted(r["student_id"] for r in rows) == sorted(EXPECTED)
    assert {r["student_id"]: float(r["score"]) for r in rows} == dict(EXPECTED, **{student: EXPECTED[student] + score})
    assert {(r["assignment"], float(r["max_score"])) for r in rows} == {(A, MAX)}
    assert {r["student_id"]: r["timestamp"][:10] for r in rows}["alice"] == "2026-11-20"


@needs_sandbox
@pytest.mark.slow
def test_formgrader_and_release_feedback_find_their_files(graded):
    from nbgrader.utils import notebook_hash

    from prunerl.course.grading.build import nbgrader_api

    course = graded["course"]
    subs = {s["student"]: s for s in nbgrader_api(course).get_submissions(A)}  # formgrader's own listing
    assert set(subs) == set(EXPECTED) and all(s["autograded"] for s in subs.values())
    assert {sid: s["max_score"] for sid, s in subs.items()} == dict.fromkeys(EXPECTED, MAX)
    for student in EXPECTED:
        autograded = course / "autograded" / student / A
        assert nbformat.read(autograded / f"{A}.ipynb", as_version=4).cells
        assert (autograded / "timestamp.txt").read_text() == (course / "submitted" / student / A / "timestamp.txt"
                                                              ).read_text()
        assert f"{A} (Score: {EXPECTED[student]:.1f} / {MAX:.1f})" in graded["feedback"][student]
    assert graded["released"].returncode == 0, graded["released"].stderr[-2000:]
    released = graded["exchange"] / "prunerl" / "feedback"
    assert sorted(p.name for p in released.iterdir()) == sorted(
        f"{notebook_hash(secret=f'secret-of-{s}', notebook_id=A)}.html" for s in EXPECTED)


@needs_sandbox
@pytest.mark.slow
def test_nbgrader_generate_feedback_renders_the_gradebook(graded):
    assert graded["regenerated"].returncode == 0, graded["regenerated"].stderr[-2000:]
    student, _test, score = REVIEWED
    for sid, expected in dict(EXPECTED, **{student: EXPECTED[student] + score}).items():
        html = (graded["course"] / "feedback" / sid / A / f"{A}.html").read_text(encoding="utf-8")
        assert f"{A} (Score: {expected:.1f} / {MAX:.1f})" in html


@needs_sandbox
@pytest.mark.slow
def test_hostile_learners_reach_no_gradebook_and_change_no_grade(graded):
    course = graded["course"]
    printed = {}
    for student in HOSTILE:
        nb = nbformat.read(course / "autograded" / student / A / f"{A}.ipynb", as_version=4)
        printed[student] = "".join(o.get("text", "") for o in nb.cells[2].outputs if o.get("output_type") == "stream")
    assert printed["frank"].startswith("ATTACK databases: wrote 0 of ["), printed["frank"]
    assert str(course) not in printed["frank"] and str(graded["out"]) not in printed["frank"]
    assert printed["gina"].startswith("ATTACK rewrite:"), printed["gina"]
    assert graded["after_first"]["totals"] == EXPECTED  # hostile ones 0, everyone else as their work deserves
    for student in EXPECTED:  # nobody's submission was touched
        nb = nbformat.read(course / "submitted" / student / A / f"{A}.ipynb", as_version=4)
        assert len(nb.cells) > 3


@needs_sandbox
@pytest.mark.slow
def test_report_lists_failing_tests_with_their_shares(graded):
    assert graded["report"].returncode == 0, graded["report"].stderr
    messages = {Path(nb["path"]).parts[-3]: {t["id"]: cause(t) for t in nb["tests"]}
                for nb in json.loads(graded["quiet"].stdout)["notebooks"]}
    folder = graded["out"] / "report"
    rows = {r["test"]: r for r in _rows(folder / "report.csv")}
    n = len(EXPECTED)
    assert len(rows) == 7 and all(r["assignment"] == A and r["learners"] == str(n) for r in rows.values())
    failing = {test: [s for s in sorted(EXPECTED) if s in ("carol", *HOSTILE) or (test == GLOBAL and s in ("bob",
                                                                                                        "dave"))]
               for test in rows}
    assert len(failing[GLOBAL]) == 5 and all(len(f) == 3 for t, f in failing.items() if t != GLOBAL)
    for test, row in rows.items():
        assert row["failed"] == str(len(failing[test]))
        assert float(row["failed_share"]) == round(len(failing[test]) / n, 4)
        top = Counter(messages[s][test] for s in failing[test]).most_common()
        assert row["causes"] == " | ".join(f"{c} learner{'s' * (c > 1)}: {m}" for m, c in top)
    mistake = messages["bob"][GLOBAL]
    assert mistake == messages["dave"][GLOBAL] != messages["carol"][GLOBAL]
    assert mistake.startswith("wrong: ") and messages["carol"][GLOBAL] == (
        "blank / not written: NotImplementedError: global_threshold is not written yet")
    assert {r["student"]: float(r["score"]) for r in _rows(folder / "scores.csv")} == EXPECTED


@needs_sandbox
@pytest.mark.slow
def test_lms_zip_grades_the_newest_file_under_the_lms_ids(graded):
    import warnings

    from nbgrader.api import Gradebook

    zipped = graded["zipped"]
    assert zipped.returncode == 0, zipped.stderr[-2000:]
    by = {nb["student"]: nb for nb in json.loads(zipped.stdout)["notebooks"]}
    assert {s: nb["score"] for s, nb in by.items()} == {"doejane": MAX, "smithjohn": MAX - 2}
    assert by["doejane"]["path"].endswith(f"downloads.zip:doejane_LATE_12345_678901_{A}-1.ipynb")
    assert any("2 files for" in f and "graded the newest" in f for f in by["doejane"]["flags"])
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{graded['root'] / 'lms.db'}", course_id="prunerl") as gb:
        warnings.simplefilter("ignore")
        assert {s.student.id: s.score for s in gb.find_assignment(A).submissions} == {"doejane": MAX,
                                                                                        "smithjohn": MAX - 2}


@needs_sandbox
@pytest.mark.slow
def test_report_html_references_its_plots(graded):
    folder = graded["out"] / "report"
    page = (folder / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', page)
    assert sorted(images) == [f"{A}-scores.png", f"{A}-tests.png"]
    for name in images:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert GLOBAL in page and "5 / 7 (71 %)" in page


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
    lines.phase("judging 2 notebook(s)")
    assert buf.getvalue().splitlines() == ["[1/2] x.ipynb: 3 / 11 failed", "[2/2] y.ipynb: 11 / 11 ok",
                                           "judging 2 notebook(s)..."]
    assert (lines.done, lines.failures) == (2, 1)

    buf = io.StringIO()
    bar = BarTracker(Console(file=buf, width=120, force_terminal=True))
    bar.start(3)
    bar.ran(("s0", A))
    bar.ran(("s0", A))  # the same kernel seen twice (a retry) counts once
    task = bar.bar.tasks[0]
    assert (task.completed, task.fields["failures"], task.description) == (1, 0, "grading 2 of 3")
    bar.phase("starting sandboxes")  # the bar says what the run does while no notebook moves it
    assert task.description == "starting sandboxes"
    bar.phase(None)
    assert task.description == "grading 2 of 3"
    bar.graded(("s0", A), {"path": "x.ipynb", "score": 0.0, "max_score": 11.0})
    bar.graded(("s1", A), {"path": "y.ipynb", "score": 11.0, "max_score": 11.0})
    assert (task.completed, task.total, task.fields["failures"]) == (2, 3, 1)
    bar.close()
    assert "2/3" in buf.getvalue() and "1 failed" in buf.getvalue()

    assert type(tracker_for(None, quiet=True, live=True)) is Tracker
    assert isinstance(tracker_for(Console(file=io.StringIO()), quiet=False, live=False), LineTracker)


def test_watching_reports_kernels_then_judging(tmp_path):
    import time

    from prunerl.course.grading.progress import watching

    tracker = Tracker()
    tracker.start(2)
    keys = [("s0", A), ("s1", A)]
    with watching(tracker, tmp_path, keys, every=0.05):
        for n, (sid, a) in enumerate(keys):
            status = tmp_path / "batch" / "sandbox" / sid / a / "status.json"
            status.parent.mkdir(parents=True)
            status.write_text("{}")
            want = "grading 2 of 2" if n == 0 else "judging 2 notebook(s)"
            deadline = time.monotonic() + 30
            while tracker.now() != want and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (len(tracker.seen), tracker.now()) == (n + 1, want)


# ----------------------------------------------------------------------------------- LMS zips (no grading)
def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def _refused(capsys, zip_path: Path, out: Path) -> str:
    assert main(["grade", str(zip_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot grade" in err, err
    return err


def test_lms_names_give_student_ids_and_the_newest_file():
    from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

    first = lms.parse_name(f"doejane_12345_678901_{A}.ipynb")
    assert (first.student, first.user_id, first.order, first.base, first.flags) == (
        "doejane", "12345", (678901, 0), f"{A}.ipynb", [])
    late = lms.parse_name(f"doejane_LATE_12345_678901_{A}-1.ipynb")
    assert (late.student, late.order, late.file_id, late.base) == ("doejane", (678901, 1), f"{A}-1.ipynb", f"{A}.ipynb")
    assert "LATE" in late.flags[0]
    assert lms.parse_name("my notes.ipynb").student is None
    collected = FileNameCollectorPlugin(named_regexp=lms.NAME_PATTERN).collect(f"/x/extracted/{late.member}")
    assert (collected["student_id"], collected["file_id"]) == ("doejane", f"{A}-1.ipynb")  # nbgrader zip_collect agrees

    names = [f"doejane_LATE_12345_678901_{A}-2.ipynb", f"doejane_12345_678901_{A}.ipynb",
             f"doejane_LATE_12345_678901_{A}-1.ipynb", f"doejane_12345_678901_{A[:-5]}tf.ipynb",
             f"smithjohn_23456_700000_{A}.ipynb", f"smithjohn_34567_700001_{A}.ipynb"]
    kept = lms.select([lms.parse_name(n) for n in names], Path("downloads.zip"))
    by = {(d.student, d.base): d for d in kept}
    assert sorted(by) == [("doejane", f"{A[:-5]}tf.ipynb"), ("doejane", f"{A}.ipynb"),
                          ("smithjohn-23456", f"{A}.ipynb"), ("smithjohn-34567", f"{A}.ipynb")]
    newest = by[("doejane", f"{A}.ipynb")]
    assert newest.member == names[0]
    assert any(f.startswith(f"3 files for {A}.ipynb") and "graded the newest" in f for f in newest.flags)
    assert not by[("doejane", f"{A[:-5]}tf.ipynb")].flags
    assert any("2 LMS users share the name 'smithjohn'" in f for f in by[("smithjohn-23456", f"{A}.ipynb")].flags)


def test_lms_zip_is_unpacked_once_with_learner_ids(tmp_path, monkeypatch):
    from prunerl.course.grading.submissions import collect

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    zip_path = _zip(tmp_path / "downloads.zip", {f"doejane_12345_678901_{A}.ipynb": "old",
                                                 f"doejane_LATE_12345_678901_{A}-1.ipynb": "new",
                                                 "notes/readme.txt": "not a notebook"})
    [sub] = collect([zip_path])
    assert (sub.student, sub.path.name, sub.path.read_text()) == ("doejane", f"{A}-1.ipynb", "new")
    assert sub.label == f"{zip_path}:doejane_LATE_12345_678901_{A}-1.ipynb"
    assert tmp_path / "cache" in sub.path.parents
    [again] = collect([zip_path])
    assert again.path == sub.path  # the same file every run, so a resumed run skips it


def test_lms_zip_refusals_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "out"
    slip = _zip(tmp_path / "slip.zip", {f"doejane_1_2_{A}.ipynb": "{}", f"../../evil_1_2_{A}.ipynb": "{}"})
    assert "zip-slip" in _refused(capsys, slip, out)
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo(f"doejane_1_2_{A}.ipynb")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    assert "symbolic link" in _refused(capsys, link, out)
    (tmp_path / "fake.zip").write_text("not a zip")
    assert "not a readable zip file" in _refused(capsys, tmp_path / "fake.zip", out)
    many = _zip(tmp_path / "many.zip", {f"s{i}_1_{i}_{A}.ipynb": "" for i in range(lms.MAX_FILES + 1)})
    assert "zip bomb" in _refused(capsys, many, out)
    monkeypatch.setattr(lms, "MAX_BYTES", 1000)
    bomb = _zip(tmp_path / "bomb.zip", {f"doejane_1_2_{A}.ipynb": " " * 5000})
    assert "zip bomb" in _refused(capsys, bomb, out)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.ipynb"))
    assert not out.exists()  # refused before anything was graded


def test_lms_limits_in_the_docs_are_the_codes():
    page = " ".join((Path(__file__).resolve().parents[1] / "docs" / "grading.md").read_text().split())
    assert f"more than {lms.MAX_FILES:,} files or unpacks to more than {lms.MAX_BYTES // 1024 ** 3} GiB" in page
    assert lms.MAX_BYTES % 1024 ** 3 == 0


def test_nbgrader_ids_however_the_tree_is_named(tmp_path, capsys):
    from prunerl.course.grading.gradebook import course_of
    from prunerl.course.grading.submissions import collect

    course = tmp_path / "course"
    nb = course / "submitted" / "jane.doe" / A / f"{A}.ipynb"
    nb.parent.mkdir(parents=True)
    nb.write_text("{}")
    for given in (course / "submitted", course / "submitted" / "jane.doe", nb.parent, nb):
        [sub] = collect([given])
        assert (sub.student, sub.assignment) == ("jane.doe", A)
    assert course_of(nb) is None  # no nbgrader_config.py: not a course, today's results folder only
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    assert course_of(nb) == course
    assert main(["grade", str(nb), "--gradebook", str(tmp_path / "missing" / "gradebook.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such folder" in err


def test_gradebook_record_updates_and_refuses_other_definitions(tmp_path):
    import warnings

    from nbgrader.api import Gradebook

    from prunerl.course.grading.gradebook import GradebookError, Target, record

    def definitions(url: str, points: dict[str, float]) -> None:
        with warnings.catch_warnings(), Gradebook(url, course_id="c") as gb:
            warnings.simplefilter("ignore")
            gb.add_assignment("a")
            gb.add_notebook("a", "a")
            for name, p in points.items():
                gb.add_grade_cell(name, "a", "a", max_score=p, cell_type="code")

    src = tmp_path / "template.db"
    definitions(f"sqlite:///{src}", {"t1": 1.0, "t2": 2.0})
    target = Target(f"sqlite:///{tmp_path / 'course.db'}", "c")
    result = {"assignment": "a", "tests": [{"id": "t1", "score": 1.0}, {"id": "t2", "score": 0.0}]}
    assert record(target, src, "c", [("ann", result, None), ("ben", dict(result, assignment=None), None)]) == 1
    with warnings.catch_warnings(), Gradebook(target.url, course_id="c") as gb:
        warnings.simplefilter("ignore")
        gb.find_grade("t2", "a", "a", "ann").manual_score = 1.5
        gb.db.commit()
    record(target, src, "c", [("ann", result, None)])
    with warnings.catch_warnings(), Gradebook(target.url, course_id="c") as gb:
        warnings.simplefilter("ignore")
        [sub] = gb.find_assignment("a").submissions
        assert (sub.student.id, sub.score, sub.max_score) == ("ann", 2.5, 3.0)
        assert gb.find_grade("t2", "a", "a", "ann").needs_manual_grade  # a manual score is reviewed, as nbgrader does
    other = Target(f"sqlite:///{tmp_path / 'other.db'}", "c")
    definitions(other.url, {"t1": 5.0})
    with pytest.raises(GradebookError, match="other tests or points"):
        record(other, src, "c", [("ann", result, None)])
    with pytest.raises(GradebookError, match="could not write the gradebook"):
        record(Target(f"sqlite:///{tmp_path / 'no' / 'such.db'}", "c"), src, "c", [("ann", result, None)])
