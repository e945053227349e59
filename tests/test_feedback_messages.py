"""Feedback that names the learner's own mistake, and nbgrader's layout for the results folder.

One grading run of a class of six (``prunerl grade submitted/ --out grades --feedback``, the README's instructor
path) on exercise 1 (torch): a correct notebook, the release handed in blank, a ``threshold_prune`` with a syntax
error, one that crashes (it asks every module, the Sequential itself included, for its ``.weight``), and the two
wrong implementations of tests/grading_cases/ex1_threshold_torch (ties kept with ``>=``; a global threshold that
averages per-layer quantiles). Every failing test's message must name what went wrong in that learner's code, the
class report must group the failures by cause, and formgrader's own API must find every autograded notebook.
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from prunerl.course.grading import sandbox
from prunerl.course.grading.layout import default_layout, grade_id, is_solution
from prunerl.course.grading.results import BLANK, CRASHED, WRONG, failure, failed_test

A = "ex1_threshold_torch"
CASES = Path(__file__).resolve().parent / "grading_cases" / A
SYNTAX = "def threshold_prune(model, threshold):\n    masks = {}\n    for name in range(3)\n        pass\n"
CRASH = ("def threshold_prune(model, threshold):\n    masks = {}\n    with torch.no_grad():\n"
         "        for name, module in model.named_modules():\n"
         "            keep = module.weight.abs() > threshold\n            module.weight.mul_(keep)\n"
         "            masks[f'{name}.weight'] = keep.numpy().copy()\n    return masks\n")
THRESHOLD_TESTS = {"test_threshold_keys", "test_threshold_masks", "test_threshold_zeroes", "test_threshold_ties",
                   "test_threshold_biases", "test_threshold_conv"}
# learner -> (score, the failed tests)
EXPECTED = {"ann": (11.0, set()), "ben": (0.0, THRESHOLD_TESTS | {"test_global_threshold"}),
            "cid": (2.0, THRESHOLD_TESTS), "dan": (2.0, THRESHOLD_TESTS), "eve": (10.0, {"test_threshold_ties"}),
            "fay": (9.0, {"test_global_threshold"})}

needs_sandbox = pytest.mark.skipif(sandbox.unavailable() is not None, reason="no sandbox on this system")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="300", PRUNERL_DEBUG="1")
    return subprocess.run([sys.executable, "-m", "prunerl.cli", *args], capture_output=True, text=True, env=env,
                          timeout=1800, cwd=cwd)


def _case(name: str) -> dict[str, str]:
    """{solution grade_id: code} of a grading case file (its ``# %% <grade_id>`` sections)."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in (CASES / f"{name}.py").read_text().splitlines(keepends=True):
        if line.startswith("# %% "):
            current = line[5:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return {k: "".join(v) for k, v in sections.items()}


def _notebooks() -> dict:
    layout = default_layout()
    solution = nbformat.read(layout.solutions / f"{A}.ipynb", as_version=4)
    for cell in solution.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    code = {"ann": {}, "cid": {"threshold_prune": SYNTAX}, "dan": {"threshold_prune": CRASH},
            "eve": _case("keeps_equal_ge"), "fay": _case("layerwise_threshold")}
    notebooks = {"ben": nbformat.read(layout.exercises / f"{A}.ipynb", as_version=4)}
    for student, cells in code.items():
        nb = nbformat.from_dict(json.loads(json.dumps(solution)))
        for cell in nb.cells:
            if is_solution(cell) and grade_id(cell) in cells:
                cell.source = cells[grade_id(cell)]
        notebooks[student] = nb
    return notebooks


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """The class graded once (non-quiet, with feedback and --csv), its class report, the same command again with
    --quiet (resumed: nothing is graded twice), and ``prunerl check`` on the syntax error."""
    root = tmp_path_factory.mktemp("class6")
    for student, nb in _notebooks().items():
        path = root / "submitted" / student / A / f"{A}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    # two nbgrader processes, as on CI's two cores; the default --jobs 1 is the README's instructor path's
    first = _cli("grade", "submitted/", "--out", "grades", "--feedback", "--json", "--csv", "scores.csv", "--jobs", "2",
                 cwd=root)
    report = _cli("report", "grades", cwd=root)
    quiet = _cli("grade", "submitted/", "--out", "grades", "--feedback", "--quiet", cwd=root)
    check = _cli("check", f"submitted/cid/{A}/{A}.ipynb", "--json", cwd=root)
    with open(root / "scores.csv", newline="", encoding="utf-8") as f:
        scores = {r["student"]: r for r in csv.DictReader(f)}
    with open(root / "grades" / "report" / "report.csv", newline="", encoding="utf-8") as f:
        tests = {r["test"]: r for r in csv.DictReader(f)}
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads(first.stdout)
    return {"root": root, "first": first, "report": report, "quiet": quiet, "check": check, "scores": scores,
            "tests": tests, "by": {nb["student"]: nb for nb in summary["notebooks"]}}


def _failed(nb: dict) -> dict[str, dict]:
    return {t["id"]: t for t in nb["tests"] if t["score"] < t["max_score"]}


@needs_sandbox
@pytest.mark.slow
def test_every_failing_test_names_the_learners_own_mistake(graded):
    by = graded["by"]
    assert {s: (nb["score"], set(_failed(nb))) for s, nb in by.items()} == EXPECTED
    for gid, test in _failed(by["ben"]).items():  # blank: never the generic "never reached its hidden check"
        function = "global_threshold" if gid == "test_global_threshold" else "threshold_prune"
        assert (test["kind"], test["message"]) == (BLANK, f"NotImplementedError: {function} is not written yet")
    for test in _failed(by["cid"]).values():  # the NameError of the test cells is traced to its cause
        assert test["kind"] == CRASHED
        assert test["message"].startswith("SyntaxError in cell ") and "(threshold_prune), line 3: " in test["message"]
    for test in _failed(by["dan"]).values():  # the zoo agent, or the test's own Sequential: neither has a .weight
        assert test["kind"] == CRASHED and re.fullmatch(r"AttributeError: '\w+' object has no attribute 'weight'",
                                                        test["message"]), test["message"]
    ties = _failed(by["eve"])["test_threshold_ties"]  # the visible assert's own message (what the code computed)
    assert (ties["kind"], ties["message"]) == (WRONG, "AssertionError: got [[True, True], [False, True]]")
    assert _failed(by["fay"])["test_global_threshold"]["kind"] == WRONG
    for nb in by.values():
        for test in _failed(nb).values():
            assert "never reached its hidden check" not in test["message"]
            assert "checks." not in test["message"] and "==" not in test["message"]  # never test source


@needs_sandbox
@pytest.mark.slow
def test_csv_and_table_carry_the_causes(graded):
    scores = graded["scores"]
    assert {s: r["outcome"] for s, r in scores.items()} == {
        "ann": "full marks", "ben": "blank / not written", "cid": "crashed", "dan": "crashed", "eve": "wrong",
        "fay": "wrong"}
    assert "test_threshold_keys: blank / not written: NotImplementedError: threshold_prune" in scores["ben"]["failures"]
    assert scores["cid"]["failures"].count("SyntaxError") == len(THRESHOLD_TESTS)
    quiet = graded["quiet"]
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    lines = quiet.stdout.splitlines()
    assert len(lines) == len(EXPECTED) + 1 and lines[-1] == f"{len(EXPECTED)} notebook(s): 34 / 66 points"


@needs_sandbox
@pytest.mark.slow
def test_class_report_groups_failures_by_cause(graded):
    assert graded["report"].returncode == 0, graded["report"].stderr
    ties = graded["tests"]["test_threshold_ties"]
    assert ties["failed"] == "4"
    causes = ties["causes"].split(" | ")
    assert len(causes) == 4 and all(c.startswith("1 learner: ") for c in causes)  # four learners, four causes
    kinds = sorted(c.split(": ")[1] for c in causes)
    assert kinds == ["blank / not written", "crashed", "crashed", "wrong"]
    assert graded["tests"]["test_threshold_keys"]["causes"].count("crashed: ") == 2
    page = (graded["root"] / "grades" / "report" / "report.html").read_text(encoding="utf-8")
    for outcome in ("full marks: 1 (ann)", "blank / not written: 1 (ben)", "crashed: 2 (cid, dan)",
                    "wrong: 2 (eve, fay)"):
        assert outcome in page


@needs_sandbox
@pytest.mark.slow
def test_results_folder_is_an_nbgrader_course_formgrader_reads(graded):
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    out = graded["root"] / "grades"
    config = Config()
    config.CourseDirectory.root = str(out)
    config.CourseDirectory.course_id = "prunerl"
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    subs = {s["student"]: s for s in api.get_submissions(A)}
    assert set(subs) == set(EXPECTED) and all(s["autograded"] for s in subs.values())
    assert {s: sub["score"] for s, sub in subs.items()} == {s: e[0] for s, e in EXPECTED.items()}
    assert len(api.get_notebook_submission_indices(A, A)) == len(EXPECTED)
    for student in EXPECTED:
        assert nbformat.read(out / "autograded" / student / A / f"{A}.ipynb", as_version=4).cells
        assert (out / "feedback" / student / A / f"{A}.html").is_file()
    written = [p.relative_to(out) for p in out.rglob("*") if p.is_file() and p.parts[len(out.parts)] in (
        "autograded", "feedback")]
    assert len(written) == 2 * len(EXPECTED) and not [p for p in written if str(p).count(".ipynb") > 1]
    export = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "grades.csv"], cwd=out,
                            capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stderr[-2000:]
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["assignment"] == A]
    assert {r["student_id"]: float(r["score"]) for r in rows} == {s: e[0] for s, e in EXPECTED.items()}


@needs_sandbox
@pytest.mark.slow
def test_feedback_names_the_learners_error(graded):
    html = (graded["root"] / "grades" / "feedback" / "ben" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "NotImplementedError" in html


@needs_sandbox
@pytest.mark.slow
def test_progress_says_what_the_run_is_doing(graded):
    err = graded["first"].stderr.splitlines()
    assert "starting sandboxes..." in err, err


@needs_sandbox
@pytest.mark.slow
def test_check_traces_name_errors_to_the_syntax_error(graded):
    report = json.loads(graded["check"].stdout)
    failed = [t for t in report["tests"] if not t["passed"]]
    assert {t["id"] for t in failed} == THRESHOLD_TESTS
    assert all(t["message"].startswith("SyntaxError in cell ") and t["kind"] == CRASHED for t in failed)


# ------------------------------------------------------------------------------------- no grading run
def _cell(source: str, *outputs, **nbgrader):
    cell = nbformat.v4.new_code_cell(source, outputs=list(outputs))
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def _error(ename: str, evalue: str, *frames: str):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=["-" * 20, f"{ename}  Traceback (most recent call last)", *frames,
                                             f"{ename}: {evalue}"])


def test_messages_come_from_the_cell_outputs_and_show_no_hidden_source():
    from prunerl.course.grading.checker.judges import NEVER_RAN

    library = _error("NotImplementedError", "sparse mm", "Cell In[5], line 2\n----> 2 f(x)",
                     "Cell In[3], line 4, in f(x)\n----> 4 torch.mm(x)", "File /site/torch/x.py:10, in mm()")
    own = _error("NotImplementedError", "", "Cell In[5], line 1\n----> 1 f(x)", "Cell In[3], line 2, in f(x)")
    hidden = _error("AssertionError", "got 3", "Cell In[6], line 3\n----> 3 assert secret == 4, f'got {secret}'")
    note = nbformat.v4.new_output("error", ename="HiddenCheckFailed", evalue=NEVER_RAN, traceback=[])
    nb = nbformat.v4.new_notebook(cells=[
        _cell("def f(x):\n    raise NotImplementedError()", grade_id="f", solution=True),
        _cell("f(x)", library, note, grade_id="t1", grade=True),
        _cell("f(x)", own, note, grade_id="t2", grade=True),
        _cell("y = 1\nassert y == 1\n### BEGIN HIDDEN TESTS\nassert secret == 4, f'got {secret}'\n"
              "### END HIDDEN TESTS", hidden, grade_id="t3", grade=True)])
    first = failed_test(nb, nb.cells[1], NEVER_RAN, 120)
    assert (first.kind, first.message) == (CRASHED, "NotImplementedError: sparse mm")  # a library's, not the stub
    assert failed_test(nb, nb.cells[2], NEVER_RAN, 120).message == "NotImplementedError: f is not written yet"
    assert failure(nb, nb.cells[3], 120).message == "AssertionError: got 3"  # no condition from the hidden part
    assert failed_test(nb, nb.cells[2], "3 ties kept", 120).kind == BLANK
    assert failed_test(nb, nb.cells[0], "3 ties kept", 120) == failed_test(nb, None, "3 ties kept", 120)
