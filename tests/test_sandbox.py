"""Hostile notebooks graded through the real ``prunerl grade`` path (tests/fixtures/hostile).

One grading run (``--jobs 2``) holds every attack beside honest notebooks whose scores are known from grading them
alone (full 4, partial 2, zero 0, as in test_grading_infra); a second run on a real course exercise holds the
cell-hook attack, which only the out-of-process checker can defeat.
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from prunerl.cli import main
from prunerl.commands import grade as grade_command
from prunerl.course.grading import sandbox
from prunerl.course.grading.build import build
from prunerl.course.grading.layout import Layout, default_layout, grade_id
from prunerl.course.grading.grade import grade

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures"
HOSTILE = FIXTURE / "hostile"
A = "fx_demo"
LIMITS = sandbox.Limits(memory=2 * sandbox.GiB, disk=64 * 1024 ** 2, records_bytes=32 * 1024 ** 2)
HONEST = {"v1_full": 4.0, "v2_partial": 2.0, "v3_zero": 0.0, "v4_full": 4.0}
ATTACKS = ("find_databases", "rewrite_others", "read_secrets", "kill_grader", "detach", "fork_bomb", "huge_alloc",
           "huge_file", "flood_records")

pytestmark = pytest.mark.skipif(sandbox.unavailable() is not None, reason="no sandbox on this system")


def _cell(nb, gid):
    return next(c for c in nb.cells if grade_id(c) == gid)


def _with_attack(nb, name: str):
    nb = copy.deepcopy(nb)
    nb.cells.insert(2, nbformat.v4.new_code_cell((HOSTILE / f"{name}.py").read_text()))
    return nb


def _attack_output(out: Path, label: str) -> str:
    """What the attack cell printed, from the autograded notebook the grader kept."""
    path = next((out / "autograded").glob(f"*-{label}.ipynb".replace("/", "_")), None)
    if path is None:
        path = next(p for p in (out / "autograded").iterdir() if label in p.name)
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for o in nb.cells[2].outputs if o.get("output_type") == "stream")


@pytest.fixture(scope="session")
def fx_course(tmp_path_factory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("sbx_course"))
    layout.sources.mkdir(parents=True)
    shutil.copy2(REPO / "autograder" / "nbgrader_config.py", layout.course / "nbgrader_config.py")
    shutil.copy2(FIXTURE / "grading" / "sources" / f"{A}.py", layout.sources / f"{A}.py")
    build(layout, log=lambda _m: None)
    return layout


@pytest.fixture(scope="session")
def attacked(fx_course, tmp_path_factory) -> dict:
    """Every attack (on the released notebook: nothing implemented, so any point is unearned) in one run,
    with honest notebooks in both batches."""
    d = tmp_path_factory.mktemp("sbx_subs")
    rel = nbformat.read(fx_course.exercises / f"{A}.ipynb", as_version=4)
    sol = nbformat.read(fx_course.solutions / f"{A}.ipynb", as_version=4)
    full = copy.deepcopy(rel)
    for gid in ("threshold_prune", "double"):
        _cell(full, gid).source = _cell(sol, gid).source
    partial = copy.deepcopy(full)
    _cell(partial, "threshold_prune").source = (
        "def threshold_prune(w, threshold):\n    w = np.asarray(w, dtype=float)\n"
        "    return np.where(np.abs(w) >= threshold, w, 0.0)\n")
    honest = {"v1_full": full, "v2_partial": partial, "v3_zero": rel, "v4_full": full}
    names = sorted(list(HONEST) + [f"a_{n}" for n in ATTACKS], key=lambda n: n[-3:])  # victims in both batches
    for name in names:
        nb = honest[name] if name in honest else _with_attack(rel, name[2:])
        nbformat.write(nb, d / f"{A}_{name}.ipynb")
    out = tmp_path_factory.mktemp("sbx_out")
    t0 = time.time()
    summary = grade([d], fx_course, out, jobs=2, timeout=60, limits=LIMITS)
    by = {Path(nb["path"]).stem[len(A) + 1:]: nb for nb in summary["notebooks"]}
    return {"by": by, "out": out, "subs": d, "summary": summary, "seconds": time.time() - t0,
            "state": (out / "state.json").read_text()}


@pytest.mark.slow
def test_honest_notebooks_score_as_alone_and_every_result_is_written(attacked):
    by = attacked["by"]
    assert {n: by[n]["score"] for n in HONEST} == HONEST
    assert all(not by[n]["flags"] for n in HONEST)
    assert set(by) == set(HONEST) | {f"a_{n}" for n in ATTACKS}
    state = json.loads(attacked["state"])
    assert len(state["results"]) == len(by)


@pytest.mark.slow
@pytest.mark.parametrize("attack", ATTACKS)
def test_attackers_earn_nothing(attacked, attack):
    res = attacked["by"][f"a_{attack}"]
    assert res["score"] == 0 and res["max_score"] == 4


@pytest.mark.slow
def test_gradebooks_notebooks_and_secrets_are_out_of_reach(attacked):
    out = attacked["out"]
    text = _attack_output(out, "a_find_databases")
    assert text.startswith("ATTACK databases: wrote 0 of [")
    found = ast.literal_eval(text.split(" of ", 1)[1])  # only read-only files of the installed runtime
    assert all(p.startswith((sys.prefix + "/", "/usr/")) for p in found), found
    assert _attack_output(out, "a_rewrite_others").startswith("ATTACK rewrite: overwrote 0 files")
    assert _attack_output(out, "a_read_secrets").startswith("ATTACK secrets: read 0 files")
    for sub in attacked["subs"].iterdir():  # the submissions themselves are untouched
        assert len(nbformat.read(sub, as_version=4).cells) > 3


@pytest.mark.slow
def test_kernel_sees_no_other_process_and_no_network(attacked):
    text = _attack_output(attacked["out"], "a_kill_grader")
    assert text.startswith("ATTACK kill: saw pids [1], network blocked")


@pytest.mark.slow
def test_nothing_outlives_its_notebook(attacked):
    assert "left a process behind" in _attack_output(attacked["out"], "a_detach")
    time.sleep(2)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 1234.5" not in ps
    assert (attacked["out"] / "state.json").read_text() == attacked["state"]


@pytest.mark.slow
@pytest.mark.parametrize("attack, says", [
    ("fork_bomb", f"started more than {LIMITS.resolved().processes} processes or threads, the grading limit"),
    ("huge_alloc", "used more than 2 GiB of memory, the grading limit"),
    ("huge_file", "64 MiB"),
])
def test_limits_are_reported_in_the_learners_terms(attacked, attack, says):
    flags = " ".join(attacked["by"][f"a_{attack}"]["flags"])
    assert f"cell 2 {says}" in flags or ("cell 2 " in flags and says in flags)


@pytest.mark.slow
def test_flooding_the_records_folder_stops_that_notebook_only(attacked):
    res = attacked["by"]["a_flood_records"]
    assert "wrote more than 32 MiB" in res["flags"][0] and "check-records folder" in res["flags"][0]


@pytest.mark.slow
def test_resume_regrades_records_changed_after_the_run(fx_course, attacked, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(attacked["out"], out)
    subs = [attacked["subs"] / f"{A}_v3_zero.ipynb", attacked["subs"] / f"{A}_v2_partial.ipynb"]
    state = json.loads((out / "state.json").read_text())
    for entry in state["results"].values():  # what a surviving process would do: full marks for everyone
        entry["result"]["score"] = entry["result"]["max_score"]
    (out / "state.json").write_text(json.dumps(state))
    with (out / "gradebook.db").open("r+b") as f:
        f.seek(100)
        f.write(b"x")
    cached = next((out / ".cache").glob(f"course-*/source/{A}/{A}.ipynb"))
    master = cached.read_text()
    cached.write_text(master.replace("assert double(3) == 6", "assert True"))  # a weakened master copy
    calls: list[str] = []
    again = grade(subs, fx_course, out, timeout=60, limits=LIMITS, progress=calls.append)
    assert "2 to grade" in calls[0]
    assert [n["score"] for n in again["notebooks"]] == [0.0, 2.0]
    assert all(any("signature did not match" in f for f in n["flags"]) for n in again["notebooks"])
    assert any("gradebook.db had been changed" in c for c in calls)
    assert cached.read_text() == master  # the cached course copy was rebuilt, not trusted
    assert oct((out / ".key").stat().st_mode & 0o777) == "0o600"
    calls.clear()
    grade(subs, fx_course, out, timeout=60, limits=LIMITS, progress=calls.append)  # the rebuilt db verifies
    assert "0 to grade" in calls[0] and not any("gradebook.db had been changed" in c for c in calls)


# ----------------------------------------------------------------------------------------- refusal and CLI
def test_no_sandbox_refuses_untrusted_work_in_one_line(fx_course, tmp_path, monkeypatch, capsys):
    sub = tmp_path / f"{A}.ipynb"
    shutil.copy2(fx_course.exercises / f"{A}.ipynb", sub)
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap
    args = ["grade", str(sub), "--root", str(fx_course.root), "--out", str(tmp_path / "out")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bubblewrap" in err and "--unsafe-no-sandbox" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_unsafe_no_sandbox_still_grades(fx_course, tmp_path, monkeypatch, capsys):
    nb = nbformat.read(fx_course.exercises / f"{A}.ipynb", as_version=4)
    sol = nbformat.read(fx_course.solutions / f"{A}.ipynb", as_version=4)
    for gid in ("threshold_prune", "double"):
        _cell(nb, gid).source = _cell(sol, gid).source
    nbformat.write(nb, tmp_path / f"{A}.ipynb")
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # no bwrap
    args = ["grade", str(tmp_path / f"{A}.ipynb"), "--root", str(fx_course.root), "--out", str(tmp_path / "out"),
            "--json", "--unsafe-no-sandbox", "--timeout", "60"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["total"] == 4 and "NO SANDBOX" in captured.err


@pytest.mark.parametrize("bad", [["--memory", "lots"], ["--disk", "0"], ["--cpu", "0"]])
def test_bad_limits_are_one_line_errors(tmp_path, capsys, bad):
    assert main(["grade", str(tmp_path), *bad]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_grading_page_states_the_default_limits():
    section = " ".join((REPO / "docs" / "grading.md").read_text().split())  # the README links this page
    lim, parser = sandbox.Limits(), argparse.ArgumentParser()
    grade_command.add_arguments(parser)
    args = parser.parse_args([str(REPO)])
    assert sandbox.parse_size(args.memory) == lim.memory and sandbox.parse_size(args.disk) == lim.disk
    assert args.cpu == lim.cpu
    assert (f"`--memory` {sandbox.human(lim.memory)} per process, `--disk` {sandbox.human(lim.disk)} per file and "
            f"per scratch folder, `--cpu` {lim.cpu} CPU seconds per process), plus {lim.files} open files and "
            "max(128, 16 × CPU count) processes") in section
    assert max(128, 16 * (os.cpu_count() or 1)) == lim.resolved().processes
    assert f"capped at {sandbox.human(lim.records_bytes)} and {lim.records_files:,} files" in section
    assert f"`prunerl grade --memory {args.memory} --disk {args.disk} --cpu {args.cpu}`" in section


def test_records_keep_only_plain_files_and_folders(tmp_path):
    from prunerl.course.grading.judging import clean_records

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ok.json").write_text("{}")
    (tmp_path / "leak.json").symlink_to("/etc/passwd")  # would point the checker at a host file
    os.mkfifo(tmp_path / "sub" / "block.npz")  # would block the checker's read
    assert clean_records(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["ok.json", "sub"]


def test_sizes_parse_and_print():
    assert sandbox.parse_size("4G") == 4 * sandbox.GiB and sandbox.parse_size("512MiB") == 512 * 1024 ** 2
    assert sandbox.human(4 * sandbox.GiB) == "4 GiB" and sandbox.human(64 * 1024 ** 2) == "64 MiB"
    with pytest.raises(ValueError, match="not a size"):
        sandbox.parse_size("-1G")


# ------------------------------------------------------------------------------- the checker decides, not the kernel
@pytest.mark.slow
def test_a_cell_hook_earns_nothing_on_a_checked_exercise(tmp_path):
    """Wrapping every later cell in try/except makes nbgrader see no failure; the checker sees no work."""
    layout = default_layout()
    a = "ex1_threshold_torch"
    rel = nbformat.read(layout.exercises / f"{a}.ipynb", as_version=4)
    sol = nbformat.read(layout.solutions / f"{a}.ipynb", as_version=4)
    for cell in sol.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    d = tmp_path / "subs"
    d.mkdir()
    nbformat.write(_with_attack(rel, "hook_cells"), d / f"{a}_hook.ipynb")
    nbformat.write(sol, d / f"{a}_solution.ipynb")
    summary = grade([d], layout, tmp_path / "out", timeout=120)
    by = {Path(n["path"]).stem: n for n in summary["notebooks"]}
    hook, honest = by[f"{a}_hook"], by[f"{a}_solution"]
    assert honest["score"] == honest["max_score"] > 0
    assert hook["score"] == 0
    assert all(t["message"] for t in hook["tests"])
    assert os.path.exists(tmp_path / "out" / "state.json")
