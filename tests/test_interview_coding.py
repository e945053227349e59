"""Timed coding rounds: a correct answer typed in a terminal, a broken one from a file; visible + hidden checks."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from prunerl.cli import main
from prunerl.course.grading.layout import Layout
from prunerl.course.interview import coding

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def solutions():
    """The reference solution of exercise 1 (from its authored source) and a broken variant of it."""
    source = Layout(ROOT).source_text("ex1_threshold_torch")
    cells = [c for c in re.split(r"^# %%.*$", source, flags=re.M) if "### BEGIN SOLUTION" in c]
    code = "\n\n\n".join(re.sub(r"\n\s*### (BEGIN|END) SOLUTION", "", c).strip() for c in cells)
    good = "import numpy as np\nimport torch\n\n\n" + code + "\n"
    # two bugs: ties kept (the visible tests catch it) and k rounded down (only the hidden checks catch it)
    broken = good.replace("abs() > threshold", "abs() >= threshold").replace("int(round(sparsity *", "int((sparsity *")
    assert broken.count(">= threshold") == 1 and broken.count("int((sparsity *") == 1
    return {"good": good, "broken": broken}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("coding")  # shared: the grading template is built once


def test_every_problem_has_a_task_with_its_own_tests(tmp_path, capsys):
    for problem, spec in coding.PROBLEMS.items():
        nb = coding.released(problem)
        tests = coding.task_tests(nb, spec["cells"])
        assert tests and all(t.startswith("test_") for t in tests), problem
        text = coding.scratch_text(problem, "zh")
        assert all(f"def {name}" in text or f"class {name}" in text for name in spec["cells"]), problem
        assert "### BEGIN HIDDEN" not in text and "checks." not in text.split("import torch\n\n\n", 1)[1]
    assert coding.task_tests(coding.released("prune-agent"), coding.PROBLEMS["prune-agent"]["cells"]) == [
        "test_sweep_table", "test_sweep_sparsity", "test_sweep_returns", "test_sweep_unchanged"]
    assert main(["interview", "--coding", "sparsify", "--dry-run", "--workdir", str(tmp_path), "--lang", "zh"]) == 0
    assert "手写 CSR 矩阵" in capsys.readouterr().out
    assert "def to_csr(matrix):" in (tmp_path / "sparsify.py").read_text()


def test_candidate_code_replaces_only_the_task_cells(tmp_path):
    path = coding.build_notebook("compare", "def polynomial_sparsity():\n    return 1\n", tmp_path)
    nb = coding.released("compare")
    built = coding.nbformat.read(path, as_version=4)
    changed = [coding._gid(a) for a, b in zip(nb.cells, built.cells) if a.source != b.source]
    assert changed == ["polynomial_sparsity", "prune"] and path.name == "ex5_compare_torch.ipynb"


@pytest.mark.slow
def test_coding_round_in_a_terminal_with_a_correct_answer(tmp_path, solutions, workdir):
    env = dict(os.environ, TERM="dumb", NO_COLOR="1", COLUMNS="200", PYTHONIOENCODING="utf-8", OMP_NUM_THREADS="1")
    child = pexpect.spawn(sys.executable, ["-m", "prunerl.cli", "interview", "--coding", "threshold", "--workdir",
                                           str(workdir), "--lang", "en"],
                          env=env, encoding="utf-8", timeout=600, dimensions=(50, 200), cwd=str(tmp_path))
    child.expect(r"Coding round: magnitude pruning with a threshold \(15 min\)")
    child.expect("press Enter here to run the checks")
    scratch = workdir / "threshold.py"
    assert "raise NotImplementedError()" in scratch.read_text()
    scratch.write_text(solutions["good"])
    child.sendline("")
    child.expect(r"Running the visible checks")
    child.expect(r"test_global_threshold\W+passed\W+passed")  # visible and hidden
    child.expect(r"7/7 checks passed")
    child.expect(r"Time used: \d+ s of 900 s")
    output = child.before
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Hidden checks unavailable" not in output, output  # prunerl grade ran the hidden checks


@pytest.mark.slow
def test_coding_round_reports_a_broken_answer(tmp_path, solutions, workdir, capsys):
    answer = tmp_path / "mine.py"
    answer.write_text(solutions["broken"])
    assert main(["interview", "--coding", "threshold", "--answers", str(answer), "--workdir", str(workdir),
                 "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    tests = {t["id"]: t for t in report["tests"]}
    assert len(tests) == 7 and report["passed"] == 5 and report["hidden_available"], report["hidden_reason"]
    assert not tests["test_threshold_ties"]["visible"] and "got [[" in tests["test_threshold_ties"]["message"]
    # rounding down passes the visible test (sparsity 0.5) and fails the hidden ones: the verdict, not the code
    assert tests["test_global_threshold"]["visible"] and tests["test_global_threshold"]["hidden"] is False
    assert tests["test_global_threshold"]["message"] is None
    assert all(tests[t]["visible"] and tests[t]["hidden"] for t in tests if t not in {
        "test_threshold_ties", "test_global_threshold"})
    assert "BEGIN HIDDEN" not in json.dumps(report) and "checks." not in json.dumps(report)
