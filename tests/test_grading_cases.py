"""Every exercise, graded for real: solution = full marks, released notebook = 0, every grading case as expected.

A grading case is ``tests/grading_cases/<assignment>/<case>.py``::

    # expect: full                                  (must score the maximum), or
    # expect-fail: test_id_a, test_id_b             (must lose exactly those graded cells' points, nothing else)
    # %% <solution grade_id>
    <code that replaces the body of that solution cell>
    # %% <another solution grade_id>
    ...

Comment lines before the first section are ignored.

The case notebook is the released notebook with every solution cell holding the reference solution, except
the cells the case names, which hold the case's code. So a case only writes the cells it is about.

The sources are built into a temporary course (no execution), and everything is graded through
``prunerl.course.grading.grade`` (real ``nbgrader autograde``): all notebooks of all assignments as separate
"students", two nbgrader processes in parallel, so nbgrader's start-up is paid twice, not once per notebook.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from prunerl.course.grading.build import build
from prunerl.course.grading.layout import Layout, grade_id, is_solution

REPO = Path(__file__).resolve().parents[1]
LAYOUT = Layout(REPO)
CASES_DIR = Path(__file__).parent / "grading_cases"
ASSIGNMENTS = LAYOUT.assignments()
CELL_TIMEOUT = 300
SECTION = re.compile(r"^# %% +([A-Za-z0-9_-]+)\s*$")


def parse_case(path: Path) -> tuple[set[str], dict[str, str]]:
    """-> (graded cell ids expected to fail, {solution grade_id: replacement code})."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    head = lines[0].strip() if lines else ""
    if head == "# expect: full":
        expected: set[str] = set()
    elif head.startswith("# expect-fail:"):
        expected = {t.strip() for t in head.split(":", 1)[1].split(",") if t.strip()}
        if not expected:
            raise ValueError(f"{path}: '# expect-fail:' names no test ids")
    else:
        raise ValueError(f"{path}: the first line must be '# expect: full' or '# expect-fail: id, ...'")
    sections: dict[str, list[str]] = {}
    current = None
    for line in lines[1:]:
        m = SECTION.match(line)
        if m:
            current = m.group(1)
            if current in sections:
                raise ValueError(f"{path}: section {current!r} appears twice")
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
        elif line.strip() and not line.lstrip().startswith("#"):  # comment lines (lint directives) are fine
            raise ValueError(f"{path}: code before the first '# %% <grade_id>' section")
    if not sections:
        raise ValueError(f"{path}: no '# %% <solution grade_id>' section")
    return expected, {k: "".join(v).strip("\n") + "\n" for k, v in sections.items()}


def _cases() -> list[tuple[str, str]]:
    return [(a, p.stem) for a in ASSIGNMENTS for p in sorted((CASES_DIR / a).glob("*.py"))]


CASES = _cases()


def selected_assignments(items) -> list[str]:
    """The assignments of the selected tests that grade (``-k ex5_compare`` grades only that exercise's notebooks;
    the default run selects them all)."""
    chosen = {item.callspec.params["assignment"] for item in items
              if "graded_course" in getattr(item, "fixturenames", ()) and hasattr(item, "callspec")}
    return [a for a in ASSIGNMENTS if a in chosen]


@pytest.fixture(scope="session")
def graded_course(request, tmp_path_factory):
    """Build every selected source into a temporary course, write every notebook as a student, grade them all."""
    from prunerl.course.grading.grade import grade

    wanted = selected_assignments(request.session.items)
    tmp = tmp_path_factory.mktemp("grading-cases")
    layout = Layout(tmp / "repo")
    layout.sources.mkdir(parents=True)
    shutil.copy2(LAYOUT.course / "nbgrader_config.py", layout.course / "nbgrader_config.py")
    for a in wanted:
        origin = LAYOUT.source_files()[a][0]  # one authored source serves both tracks
        shutil.copy2(origin, layout.sources / origin.name)
        extra = LAYOUT.course / "source" / a  # data files beside a master notebook travel with it
        if extra.is_dir():
            shutil.copytree(extra, layout.course / "source" / a, dirs_exist_ok=True)
    build(layout, execute=False, log=lambda _m: None)
    subs = tmp / "submitted"
    problems: dict[tuple[str, str], str] = {}

    def put(student: str, a: str, nb) -> None:
        path = subs / student / a / f"{a}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)

    for a in wanted:
        released = nbformat.read(layout.exercises / f"{a}.ipynb", as_version=4)
        solution = nbformat.read(layout.solutions / f"{a}.ipynb", as_version=4)
        put("solution", a, solution)
        put("released", a, released)
        reference = {grade_id(c): c.source for c in solution.cells if is_solution(c) and grade_id(c)}
        for _, case in [c for c in CASES if c[0] == a]:
            try:
                _expected, sections = parse_case(CASES_DIR / a / f"{case}.py")
            except ValueError as exc:
                problems[(a, case)] = str(exc)
                continue
            unknown = sorted(set(sections) - set(reference))
            if unknown:
                problems[(a, case)] = (f"{a}/{case}: sections {unknown} are not solution cells of {a} "
                                       f"(solution cells: {sorted(reference)})")
                continue
            nb = nbformat.read(layout.exercises / f"{a}.ipynb", as_version=4)
            for cell in nb.cells:
                gid = grade_id(cell)
                if is_solution(cell) and gid in reference:
                    cell.source = sections.get(gid, reference[gid])
            put(f"case-{case}", a, nb)
    summary = grade([subs], layout, tmp / "out", jobs=2, timeout=CELL_TIMEOUT, resume=False)
    results = {(r["student"], r["assignment"]): r for r in summary["notebooks"]}
    return results, problems


def _describe(result: dict) -> str:
    lines = [f"    {t['id']}: {t['score']:g}/{t['max_score']:g} {t['message'] or ''}" for t in result["tests"]]
    lines += [f"    ! {f}" for f in result["flags"]]
    return "\n".join(lines)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(graded_course, assignment):
    result = graded_course[0][("solution", assignment)]
    assert result["max_score"] > 0
    assert result["score"] == result["max_score"], (
        f"{assignment}: the solution notebook scores {result['score']:g}/{result['max_score']:g}\n{_describe(result)}")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebook_scores_zero(graded_course, assignment):
    result = graded_course[0][("released", assignment)]
    passing = [t["id"] for t in result["tests"] if t["score"] > 0]
    assert not passing, f"{assignment}: the released notebook (no solutions) earns points on {passing}"


@pytest.mark.parametrize("assignment, case", CASES, ids=[f"{a}/{c}" for a, c in CASES])
def test_grading_case(graded_course, assignment, case):
    results, problems = graded_course
    assert (assignment, case) not in problems, problems.get((assignment, case))
    expected, _ = parse_case(CASES_DIR / assignment / f"{case}.py")
    result = results[(f"case-{case}", assignment)]
    ids = {t["id"] for t in result["tests"]}
    assert expected <= ids, f"{assignment}/{case}: expects failures of unknown test ids {sorted(expected - ids)}"
    lost = {t["id"] for t in result["tests"] if t["score"] < t["max_score"]}
    partial = {t["id"] for t in result["tests"] if 0 < t["score"] < t["max_score"]}
    assert lost == expected and not partial, (
        f"case {assignment}/{case}: expected to lose {sorted(expected) or 'nothing'}, "
        f"actually lost {sorted(lost) or 'nothing'}"
        + (f" (partial credit on {sorted(partial)})" if partial else "") + f"\n{_describe(result)}")


def test_every_grading_case_folder_has_an_exercise_source():
    folders = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir()) if CASES_DIR.is_dir() else []
    orphans = [f for f in folders if f not in ASSIGNMENTS]
    assert not orphans, f"tests/grading_cases/ folders that no autograder/authored/ source builds: {orphans}"


def test_generated_files_are_up_to_date(build_check):
    """`prunerl build --check` passes on the repository (its one run is shared with the README's instructor path)."""
    assert build_check.returncode == 0, "generated files are stale; run `prunerl build`:\n" + build_check.stdout
    assert f"up to date: {len(ASSIGNMENTS)} assignment(s)" in build_check.stderr, build_check.stderr[-2000:]
