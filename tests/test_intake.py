"""Intake that trusts nothing, and feedback that carries no learner markup (issue 21).

One grading run of an nbgrader course's ``submitted/`` tree (the small fx_demo assignment, 4 points): alice hands in
the solution; xena the solution with outputs and a markdown cell full of markup (tests/fixtures/intake) and a
``timestamp.txt`` hard-linked to a file of the instructor's; nico the solution, but only deep inside his folder,
under ``deep/submitted/bob/...`` beside a ``nbgrader_config.py`` of his; mallory a symbolic link to a notebook
outside the tree, beside which waits another ``nbgrader_config.py``; carol a link to alice's assignment folder;
harry a hard link to a notebook outside the tree; olga a 200 MiB notebook. The honest ones keep full marks under
their own ids, each trick scores 0 under its folder's owner with the reason, no configuration of theirs runs, and
the feedback and autograded notebooks that formgrader and release_feedback show hold no script. The same results
folder then refuses two loose notebooks that would share a student id, grading nothing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from prunerl.cli import main
from prunerl.course.grading import sandbox
from prunerl.course.grading.grade import grade
from prunerl.course.grading.layout import Layout, grade_id
from prunerl.course.grading.submissions import MAX_BYTES, collect

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
A, MAX = "fx_demo", 4.0
HONEST = ("alice", "xena", "nico")
TRICKS = {"mallory": "is a symbolic link", "carol": "is a symbolic link", "harry": "is a hard link",
          "olga": f"more than the {MAX_BYTES // 1024 ** 2} MiB"}
# What xss_outputs.py and xss_markdown.md show that is harmless, found as rendered markup (not in a code listing).
KEPT = {"<b>bold is fine</b>", "is <em>right</em>", 'src="data:image/png;base64,iVBORw0KGgo="'}
MARKERS = [f"XSS_{n}" for n in ("ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")]

needs_sandbox = pytest.mark.skipif(sandbox.unavailable() is not None, reason="no sandbox on this system")


@pytest.fixture(scope="module")
def course(fx_course) -> Layout:
    return fx_course


def _solution(layout: Layout):
    nb = nbformat.read(layout.exercises / f"{A}.ipynb", as_version=4)
    sol = {grade_id(c): c.source for c in nbformat.read(layout.solutions / f"{A}.ipynb", as_version=4).cells}
    for cell in nb.cells:
        if grade_id(cell) in ("threshold_prune", "double"):
            cell.source = sol[grade_id(cell)]
    return nb


def _write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _evil_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(FIXTURES / "intake" / "nbgrader_config.py", folder / "nbgrader_config.py")
    return folder / "PWNED"


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("intake")
    klass = root / "class"  # the instructor's course
    klass.mkdir()
    shutil.copy2(course.course / "nbgrader_config.py", klass / "nbgrader_config.py")
    sub = klass / "submitted"
    sol = _solution(course)
    _write(sol, sub / "alice" / A / f"{A}.ipynb")
    xss = nbformat.from_dict(sol)
    xss.cells.insert(2, nbformat.v4.new_code_cell((FIXTURES / "intake" / "xss_outputs.py").read_text()))
    xss.cells.insert(3, nbformat.v4.new_markdown_cell((FIXTURES / "intake" / "xss_markdown.md").read_text()))
    _write(xss, sub / "xena" / A / f"{A}.ipynb")
    (root / "instructor-secret.txt").write_text("not for learners")
    os.link(root / "instructor-secret.txt", sub / "xena" / A / "timestamp.txt")
    _write(sol, sub / "nico" / A / "deep" / "submitted" / "bob" / A / f"{A}.ipynb")
    markers = [_evil_config(sub / "nico" / A / "deep")]
    target = _write(sol, root / "elsewhere" / "submitted" / "eve" / A / f"{A}.ipynb")
    markers.append(_evil_config(root / "elsewhere"))
    (sub / "mallory" / A).mkdir(parents=True)
    (sub / "mallory" / A / f"{A}.ipynb").symlink_to(target)
    (sub / "carol").mkdir()
    (sub / "carol" / A).symlink_to(Path("..") / "alice" / A)
    (sub / "harry" / A).mkdir(parents=True)
    os.link(_write(sol, root / "outside.ipynb"), sub / "harry" / A / f"{A}.ipynb")
    (sub / "olga" / A).mkdir(parents=True)
    with open(sub / "olga" / A / f"{A}.ipynb", "wb") as f:
        f.truncate(200 * 1024 ** 2)  # sparse: no disk used, 200 MiB to anyone who reads it
    out = root / "out"
    summary = grade([sub], course, out, timeout=30, feedback=True)
    return {"root": root, "class": klass, "out": out, "summary": summary, "markers": markers, "course": course,
            "by": {nb["student"]: nb for nb in summary["notebooks"]}, "solution": sol}


@needs_sandbox
@pytest.mark.slow
def test_honest_learners_keep_full_marks_under_their_own_ids(graded):
    by = graded["by"]
    assert set(by) == set(HONEST) | set(TRICKS)  # no "bob", no "eve": ids never come from inside or beyond a link
    for student in HONEST:
        assert (by[student]["score"], by[student]["max_score"]) == (MAX, MAX), (student, by[student]["flags"])


@needs_sandbox
@pytest.mark.slow
def test_links_and_oversized_notebooks_score_zero_as_their_folders_owner(graded):
    for student, reason in TRICKS.items():
        nb = graded["by"][student]
        assert nb["assignment"] == A and (nb["score"], nb["max_score"]) == (0.0, MAX)
        assert reason in nb["flags"][0], (student, nb["flags"])
        assert str(graded["root"]) not in nb["flags"][0]  # the learner's terms, not the grader's paths


@needs_sandbox
@pytest.mark.slow
def test_no_configuration_from_a_submission_runs(graded):
    assert not any(marker.exists() for marker in graded["markers"])
    assert (graded["class"] / "autograded" / "nico" / A / f"{A}.ipynb").is_file()  # the instructor's course only
    assert not (graded["root"] / "elsewhere" / "autograded").exists()


@needs_sandbox
@pytest.mark.slow
def test_a_hard_linked_file_beside_a_submission_is_not_copied(graded):
    placed = graded["class"] / "autograded" / "xena" / A
    assert (placed / f"{A}.ipynb").is_file() and not (placed / "timestamp.txt").exists()


class _Markup(HTMLParser):
    """Every tag and attribute that can run script or load a frame, as (tag, attribute, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "style", "svg", "base", "form", "meta", "link"):
            self.found.append((tag, None, None))
        for name, value in attrs:
            url = (value or "").strip().lower()
            if name.startswith("on") or url.startswith(("javascript:", "vbscript:")) or (
                    url.startswith("data:") and not (tag == "img" and url.startswith("data:image/png"))):
                self.found.append((tag, name, value))


def _unsafe(html: str) -> list[tuple]:
    parser = _Markup()
    parser.feed(html)
    return parser.found


@needs_sandbox
@pytest.mark.slow
def test_feedback_html_carries_no_learner_markup(graded):
    for folder in (graded["out"], graded["class"]):
        html = (folder / "feedback" / "xena" / A / f"{A}.html").read_text(encoding="utf-8")
        head, body = html.split("<body", 1)
        assert "<script" in head.lower()  # nbgrader's own MathJax: the template's head is kept
        assert [k for k in KEPT if k not in body] == [], folder  # harmless markup stays
        assert _unsafe(body) == [] and not [m for m in MARKERS if m in html], folder


@needs_sandbox
@pytest.mark.slow
def test_autograded_notebook_renders_no_learner_markup(graded):
    """What formgrader shows, and what ``nbgrader generate_feedback`` would render again from it."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(graded["class"] / "autograded" / "xena" / A / f"{A}.ipynb", as_version=4)
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    body = html.split("<body", 1)[1]
    assert [k for k in KEPT if k not in body] == [] and not [m for m in MARKERS if m in html]
    assert [f for f in _unsafe(body) if f[0] != "script" or "XSS" in str(f)] == []


@needs_sandbox
@pytest.mark.slow
def test_two_notebooks_one_student_id_are_refused_before_grading(graded, tmp_path, capsys):
    first = _write(graded["solution"], tmp_path / "x_alice.ipynb")
    second = _write(graded["solution"], tmp_path / "x_alice~.ipynb")
    state = (graded["out"] / "state.json").read_bytes()
    code = main(["grade", str(first), str(second), "--out", str(graded["out"]), "--root",
                 str(graded["course"].root), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "x_alice.ipynb" in err and "x_alice~.ipynb" in err and "student x_alice" in err
    assert (graded["out"] / "state.json").read_bytes() == state  # nothing graded, nothing lost


# ----------------------------------------------------------------------------------------------- fast parts
def test_a_linked_input_is_refused_in_one_line(tmp_path, capsys):
    real = _write(nbformat.v4.new_notebook(), tmp_path / "real" / "nb.ipynb")
    (tmp_path / "link.ipynb").symlink_to(real)
    assert main(["grade", str(tmp_path / "link.ipynb"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a symbolic link" in err
    assert not (tmp_path / "out").exists()


def test_ids_come_only_from_the_trees_own_levels(tmp_path):
    """A folder deep inside a submission is that submission's, whatever it is called; loose files stay loose."""
    sub = tmp_path / "downloads"
    _write(nbformat.v4.new_notebook(), sub / "mallory" / A / "deep" / "alice" / A / f"{A}.ipynb")
    _write(nbformat.v4.new_notebook(), sub / "loose.ipynb")
    found = {s.label: (s.student, s.assignment, s.course) for s in collect([sub])}
    assert found == {str(sub / "mallory" / A / "deep" / "alice" / A / f"{A}.ipynb"): ("mallory", A, None),
                     str(sub / "loose.ipynb"): (None, None, None)}


def test_an_oversized_notebook_is_refused_before_it_is_read(tmp_path):
    """A 200 MiB notebook costs the grader no memory: refused from fstat, before any read or parse."""
    big = tmp_path / "submitted" / "olga" / A / f"{A}.ipynb"
    big.parent.mkdir(parents=True)
    with open(big, "wb") as f:
        f.truncate(200 * 1024 ** 2)
    script = ("import resource, sys\nfrom prunerl.course.grading.submissions import collect, read_capped\n"
              "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
              "[sub] = collect([sys.argv[1]])\nbefore = peak()\ntry:\n    read_capped(sub.path)\n"
              "except ValueError as exc:\n    print(exc)\nprint(peak() - before)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "submitted")], capture_output=True,
                          text=True, check=True)
    reason, grown_mib = done.stdout.splitlines()
    assert f"is 200 MiB, more than the {MAX_BYTES // 1024 ** 2} MiB a submission may be" in reason
    assert int(grown_mib) < 10, grown_mib  # reading it would add 200 MiB, parsing it 900


def test_a_track_named_at_either_end_of_the_file_name_is_that_track(tmp_path):
    """Both tracks of an exercise carry the same grade_ids, so a loose file is matched by the assignment its name
    starts or ends with (an LMS prefixes the learner's name), never by a tie of cell ids."""
    from types import SimpleNamespace

    from prunerl.course.grading.submissions import Submission, match_assignment

    known = {"ex1_threshold_torch": {"a", "b"}, "ex1_threshold_tf": {"a", "b"}}
    template = SimpleNamespace(gids=lambda: known)
    cases = (("alice_ex1_threshold_torch", "ex1_threshold_torch"), ("ex1_threshold_tf_v2", "ex1_threshold_tf"),
             ("carol_ex1_threshold_tf", "ex1_threshold_tf"))
    for name, want in cases:
        sub = Submission(path=tmp_path / f"{name}.ipynb", label=name)
        match_assignment(sub, template)
        assert sub.assignment == want, name
