"""Verdicts from a trusted driver, and the use of the course's reference judged honestly (issue 21).

One real ``prunerl grade`` run (sandboxed, two nbgrader processes) holds every attack class of
``tests/fixtures/hostile/verdict_*.py`` beside honest learners: reference copies made from code objects (a), an
in-kernel hook switched off (b), a cell moved above the set-up cell (c), test cells skipped with records written by
the notebook itself (d), the check inputs looked for in the kernel (e). The attackers earn nothing they did not
write (reference use is held for an instructor's review, with the evidence, and marked as needing a manual grade
in the gradebook), every honest learner keeps full marks, and the run finishes.

A fixture is a list of sections: ``# %% <solution grade_id>`` replaces that solution cell of the course's solution
notebook, ``# %% insert-before <grade_id>`` inserts a code cell, ``# %% append`` adds one at the end, and
``# %% tag-tests <tag>`` tags every graded test cell.
"""
from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import nbformat
import pytest

from prunerl.course.grading import sandbox
from prunerl.course.grading.layout import default_layout, grade_id

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
EX1, EX5 = "ex1_threshold_torch", "ex5_compare_torch"
ATTACKS = {"reference_copies": EX5, "hook_switched_off": EX1, "cell_above_setup": EX1, "skipped_tests": EX1,
           "inputs_leak": EX1, "inputs_leak_twin": EX1}
HONEST = {"honest_ann": EX1, "honest_bo": EX1}  # the solutions' full marks on every exercise: test_grading_cases
SECTION = re.compile(r"^# %% (.+?)\s*$")

pytestmark = pytest.mark.skipif(sandbox.unavailable() is not None, reason="no sandbox on this system")


def _sections(path: Path) -> list[tuple[str, str]]:
    out: list[tuple[str, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        m = SECTION.match(line)
        if m:
            out.append((m.group(1), []))
        elif out:
            out[-1][1].append(line)
    return [(head, "".join(body).strip("\n") + "\n") for head, body in out]


def _is_test(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def attacked(solution, fixture: Path):
    nb = copy.deepcopy(solution)
    for head, body in _sections(fixture):
        verb, _, arg = head.partition(" ")
        if verb == "tag-tests":
            for cell in filter(_is_test, nb.cells):
                cell.metadata["tags"] = [arg]
        elif verb == "insert-before":
            at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == arg)
            nb.cells.insert(at, nbformat.v4.new_code_cell(body))
        elif verb == "append":
            nb.cells.append(nbformat.v4.new_code_cell(body))
        else:
            next(c for c in nb.cells if grade_id(c) == verb).source = body
    return nb


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    from prunerl.course.grading.grade import grade

    layout = default_layout()
    subs = tmp_path_factory.mktemp("verdict_subs")
    solutions = {}
    for a in {EX1, EX5}:
        solutions[a] = nbformat.read(layout.solutions / f"{a}.ipynb", as_version=4)
        for cell in solutions[a].cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    for label, a in ATTACKS.items():
        fixture = HOSTILE / f"verdict_{label.removesuffix('_twin')}.py"
        nbformat.write(attacked(solutions[a], fixture), subs / f"{a}_{label}.ipynb")
    for label, a in HONEST.items():
        nbformat.write(solutions[a], subs / f"{a}_{label}.ipynb")
    out = tmp_path_factory.mktemp("verdict_out")
    summary = grade([subs], layout, out, jobs=2, timeout=600, resume=False)
    by = {Path(n["path"]).stem.split("_", 3)[-1]: n for n in summary["notebooks"]}
    return {"by": by, "out": out, "summary": summary}


def _tests(result: dict) -> dict[str, dict]:
    return {t["id"]: t for t in result["tests"]}


def _printed(out: Path, label: str) -> str:
    path = next(p for p in (out / "autograded").rglob("*.ipynb") if p.parent.parent.name.endswith(label))
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def test_the_run_finishes_and_every_honest_learner_keeps_full_marks(run):
    assert set(run["by"]) == set(ATTACKS) | set(HONEST)
    for label in HONEST:
        result = run["by"][label]
        assert result["score"] == result["max_score"] > 0, (label, result["tests"], result["flags"])
        assert not any("review" in f for f in result["flags"]), result["flags"]


def test_reference_copies_are_held_for_review_with_the_evidence(run):
    result = run["by"]["reference_copies"]
    tests = _tests(result)
    held = {g for g, t in tests.items() if t["message"] and t["message"].startswith("held for review")}
    assert held == {"test_schedule", "test_schedule_hold", "test_prune_random", "test_prune_layerwise",
                    "test_prune_global", "test_prune_structured", "test_compare_table", "test_compare_gradual"}
    assert all(tests[g]["score"] == 0 for g in held)
    assert tests["test_summary"]["score"] == tests["test_summary"]["max_score"]  # the learner's own work counts
    assert tests["test_plot"]["score"] == tests["test_plot"]["max_score"]
    evidence = " ".join(result["flags"])
    assert "__code__" in evidence and "FunctionType" in evidence and "compare_strategies: uses" in evidence


def test_the_held_cells_need_a_manual_grade_in_the_gradebook(run):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{run['out'] / 'gradebook.db'}") as gb:
        def manual(assignment: str, label: str) -> set[str]:
            nb = gb.find_submission_notebook(assignment, assignment, f"{assignment}_{label}")
            return {g.name for g in nb.grades if g.needs_manual_grade}

        assert {"test_prune_global", "test_compare_table"} <= manual(EX5, "reference_copies")
        assert "test_summary" not in manual(EX5, "reference_copies")
        assert "test_threshold_keys" in manual(EX1, "cell_above_setup")
        assert not manual(EX1, "honest_ann") and not manual(EX1, "skipped_tests")


@pytest.mark.parametrize("label", ["hook_switched_off", "cell_above_setup"])
def test_the_reference_loaded_behind_the_kernels_back_earns_nothing(run, label):
    result = run["by"][label]
    tests = _tests(result)
    uses = [g for g in tests if g != "test_global_threshold"]  # the cells that call threshold_prune
    assert all(tests[g]["score"] == 0 and tests[g]["message"].startswith("held for review") for g in uses)
    evidence = " ".join(result["flags"])
    assert "threshold_prune" in evidence and ("exec" in evidence or "exec_module" in evidence)


def test_skipped_test_cells_with_records_written_by_the_notebook_score_nothing(run):
    result = run["by"]["skipped_tests"]
    assert "ATTACK skipped: records written" in _printed(run["out"], "skipped_tests")  # the forgery did run
    assert result["score"] == 0, result["tests"]
    assert all("did not run" in t["message"] for t in result["tests"]), result["tests"]
    assert not any("held for review" in f for f in result["flags"])  # caught by execution, not by the scan


def test_the_check_inputs_are_in_no_variable_and_differ_per_learner(run):
    seen = {}
    for label in ("inputs_leak", "inputs_leak_twin"):
        printed = _printed(run["out"], f"_{label}")
        env = ast.literal_eval(re.search(r"ATTACK env: (\[.*\])", printed).group(1))
        assert env == ["PRUNERL_CHECK_RECORDS"]
        seen[label] = json.loads(re.search(r"ATTACK inputs: (.*)", printed).group(1))
    assert seen["inputs_leak"] != seen["inputs_leak_twin"]  # same notebook, two learners: two sets of inputs
    assert run["by"]["inputs_leak"]["score"] == 0  # it named the grader's internals: every cell held


# ------------------------------------------------------------------------------ the source scan, without grading

def _learner_cells(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("locked")]


def test_no_course_solution_looks_like_the_reference():
    """Every solution function is further from every reference function than the threshold (measured: the
    closest, polynomial_sparsity, at 0.69), and no solution cell carries evidence."""
    from prunerl.course.grading.checker import evidence

    layout = default_layout()
    for path in sorted(layout.solutions.glob("*.ipynb")):
        exercise = path.stem.split("_")[0]
        cells = _learner_cells(nbformat.read(path, as_version=4))
        assert evidence.scan(cells, exercise) == ({}, []), path.stem
        for source in cells:
            for node in ast.parse(source).body:
                if isinstance(node, ast.FunctionDef) and evidence.REFERENCE[exercise]:
                    close = evidence.similarity(node, evidence.REFERENCE[exercise])
                    assert close is None, (path.stem, node.name, close)


def test_a_renamed_copy_of_a_reference_function_is_found():
    import inspect

    from prunerl import pruning
    from prunerl.course.grading.checker import evidence

    copied = inspect.getsource(pruning.magnitude_masks).replace("magnitude_masks", "my_masks")
    copied = re.sub(r"\bweights\b", "w", copied).replace("sparsity", "s")
    tainted, everywhere = evidence.scan([copied, "def threshold_prune(m, t):\n    return my_masks(m, t)\n"], "ex1")
    assert "is" in " ".join(tainted["my_masks"]) and "prunerl.pruning.magnitude_masks" in " ".join(tainted["my_masks"])
    assert tainted["threshold_prune"] == ["threshold_prune: uses my_masks"] and not everywhere
