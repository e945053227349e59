"""The README's "start here" paths work as written: the learner's and the instructor's commands are read from the
README and run, in order, on the fast configuration (PRUNERL_FAST=1), in a scratch folder beside the course."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from shared_runs import BUILD_CHECK, run, scratch_checkout

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def path_commands(reader: str) -> list[str]:
    """The commands of the ```bash block after ``<!-- path: reader -->``, comments dropped; ``.venv/bin/`` too, as
    the README's venv is the one running the tests."""
    m = re.search(rf"<!-- path: {reader} -->\s*```bash\n(.*?)```", README, re.S)
    assert m, f"the README has no <!-- path: {reader} --> block"
    return [line.split("  #")[0].strip().replace(".venv/bin/", "") for line in m.group(1).splitlines() if line.strip()]


@pytest.fixture
def course(tmp_path):
    """A scratch working folder that sees the course as a learner's checkout does."""
    return scratch_checkout(tmp_path)


def test_the_three_readers_have_a_path_and_the_readme_is_short():
    assert len(README.splitlines()) < 120
    for reader in ("learner", "instructor", "candidate"):
        assert path_commands(reader), reader
    assert any(c.startswith("prunerl interview") for c in path_commands("candidate"))


@pytest.mark.slow
def test_learner_path(course):
    commands = path_commands("learner")
    check = next(c for c in commands if c.startswith("prunerl check"))
    for command in commands:
        proc = run(command, course)
        if command == check:  # the untouched copy: every test fails, and the report says so in one table
            assert proc.returncode == 1 and "NotImplementedError" in proc.stdout + proc.stderr, proc.stdout[-2000:]
        else:
            assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    copy = Path(re.search(r"(\S+\.ipynb)$", check).group(1))
    shutil.copy(ROOT / "solutions" / "ex1_threshold_torch.ipynb", course / copy)  # the learner writes the code
    proc = run(check, course)
    assert proc.returncode == 0, proc.stdout[-2000:]


@pytest.mark.slow
def test_instructor_path(course, build_check):
    learner = course / "submitted" / "alice" / "ex1_threshold_torch"
    learner.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "ex1_threshold_torch.ipynb", learner)
    for command in path_commands("instructor"):
        # `prunerl build --check` writes nothing where it runs: its run in a scratch checkout is shared (conftest)
        proc = build_check if command == BUILD_CHECK else run(command, course)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    csv = next(course.glob("*.csv")).read_text().splitlines()
    row = next(line for line in csv if line.startswith("ex1_threshold_torch,") and ",alice," in line)
    assert row.split(",")[-2:] == ["11.0", "11.0"], row
    graded = course / "grades" / "autograded" / "alice" / "ex1_threshold_torch" / "ex1_threshold_torch.ipynb"
    feedback = course / "grades" / "feedback" / "alice" / "ex1_threshold_torch" / "ex1_threshold_torch.html"
    assert graded.is_file() and feedback.is_file(), "grades/ is not laid out as the nbgrader course formgrader reads"


def test_disk_and_time_are_the_measured_ones():
    measured = json.loads((ROOT / "bench" / "install.json").read_text())
    m = re.search(r"the venv takes ([\d.]+) GB \(([\d.]+) GB with the `dev` and `site` extras\) and the install\s+"
                  r"(\d+) min (\d+) s", README)
    assert m, "the README's set-up section no longer says how much disk and time the install takes"
    assert float(m.group(1)) == measured["main_venv_gb"] and float(m.group(2)) == measured["dev_site_venv_gb"]
    assert int(m.group(3)) * 60 + int(m.group(4)) == measured["main_seconds"]


def test_readme_links_point_at_files_that_exist():
    for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", README):
        if not re.match(r"[a-z]+:", target):
            assert (ROOT / target).exists(), f"the README links to {target}, which does not exist"


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    command = next(line for line in ci if line.startswith("python3 -m venv .venv"))
    assert command in README, f"the README's test set-up is not CI's: {command}"
