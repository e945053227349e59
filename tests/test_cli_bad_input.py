"""Every subcommand, given bad input, answers with one line naming the problem and exit code 2 - never a traceback.

The commands run as real subprocesses with PRUNERL_DEBUG=1, so a bug that only the CLI's last-resort guard
would catch still shows its traceback here and fails the test.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest

from prunerl import cli

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures"
LIMIT = 180  # seconds: bad input is refused at once (a busy machine makes "at once" slow); one still running took it


# (argv, a phrase the one-line message must contain); {names} are filled in by the fixture.
CASES = [
    (["nosuch"], "invalid choice"),
    ([], "required"),
    (["zoo", "--bogus"], "unrecognized arguments: --bogus"),
    (["zoo", "extra"], "unrecognized arguments: extra"),
    (["evaluate"], "required: name"),
    (["evaluate", "cartpole-dqn", "--episodes", "0"], "--episodes"),
    (["evaluate", "cartpole-dqn", "--episodes", "-3"], "--episodes"),
    (["evaluate", "cartpole-dqn", "--episodes", "two"], "not an integer"),
    (["evaluate", "cartpole-dqn", "--seed", "-1"], "--seed"),
    (["evaluate", "nosuch"], "unknown agent 'nosuch'"),
    (["evaluate", "cartpole-dqn", "--framework", "jax"], "unknown framework 'jax'"),
    (["train", "nosuch", "--zoo-dir", "{zoo}"], "unknown agent 'nosuch'"),
    (["train", "cartpole-dqn", "--steps", "0", "--zoo-dir", "{zoo}"], "--steps"),
    (["train", "cartpole-dqn", "--steps", "-5", "--zoo-dir", "{zoo}"], "--steps"),
    (["train", "cartpole-dqn", "--seed", "-1", "--zoo-dir", "{zoo}"], "--seed"),
    (["build", "nosuch"], "no source for nosuch"),
    (["build", "--jobs", "0"], "--jobs"),
    (["build", "--root", "{nodir}"], "no such folder"),
    (["grade", "{nope}"], "no such file"),
    (["grade", "{notes}"], "not a notebook"),
    (["grade", "{empty}"], "no notebook"),
    (["grade", "{empty}", "--jobs", "0"], "--jobs"),
    (["grade", "{empty}", "--timeout", "-1"], "--timeout"),
    (["grade", "{empty}", "--cpu", "0"], "--cpu"),
    (["grade", "{empty}", "--batch-size", "0"], "--batch-size"),
    (["grade", "{empty}", "--memory", "lots"], "lots"),
    (["grade", "exercises/ex1_threshold_torch.ipynb", "--scheduler", "tcp://127.0.0.1:1", "--out", "{empty}/o"],
     "cannot reach the Dask scheduler at tcp://127.0.0.1:1"),
    (["check", "{nope}"], "no such file"),
    (["check", "nosuch"], "no such exercise"),
    (["check", "{notes}"], "not a notebook"),
    (["check", "{empty}"], "is a folder"),
    (["check", "ex1_threshold_torch", "--timeout", "0"], "--timeout"),
    (["check", "lessons/01_what_is_pruning.ipynb"], "not an exercise (it has no nbgrader grade cells)"),
    (["compare", "--threads", "0"], "--threads"),
    (["compare", "--episodes", "0"], "episodes"),
    (["compare", "--seeds", "-1"], "seeds"),
    (["compare", "--sparsities", "1.5"], "sparsity"),
    (["compare", "--strategies", "magic"], "unknown strategy 'magic'"),
    (["compare", "--agent", "nosuch"], "unknown agent 'nosuch'"),
    (["interview", "--dry-run", "--question", "nope"], "unknown question id 'nope'"),
    (["interview", "--count", "0"], "--count"),
    (["interview", "--mock", "-2"], "--mock"),
    (["interview", "--time-limit", "0"], "--time-limit"),
    (["interview", "--lang", "fr"], "invalid choice: 'fr'"),
    (["interview", "--coding", "nope"], "invalid choice: 'nope'"),
    (["interview", "--answers", "{nope}"], "not found"),
    (["report"], "required: GRADES_DIR"),
    (["report", "{nodir}"], "nope"),
    (["report", "{empty}"], "empty"),
    (["site", "--bogus"], "unrecognized arguments: --bogus"),
    (["site", "--check", "--root", "{empty}"], "lessons"),
    (["site", "--all"], "--execute"),
]
# Run outside the checkout (the installed course's tree must not be written to).
ELSEWHERE = [
    (["site"], "is not a prunerl checkout"),
    (["site", "--execute"], "is not a prunerl checkout"),
]


def _fill(argv: list[str], tmp: Path) -> list[str]:
    paths = {"notes": tmp / "notes.txt", "empty": tmp / "empty", "zoo": tmp / "zoo", "nodir": tmp / "nope",
             "nope": tmp / "nope" / "nope.ipynb"}
    return [a.format(**{k: str(v) for k, v in paths.items()}) for a in argv]


def _run(argv: list[str], tmp: Path, cwd: Path = REPO) -> tuple[int | None, str, str]:
    env = dict(os.environ, PRUNERL_DEBUG="1", OMP_NUM_THREADS="1", PRUNERL_INTERVIEW_HISTORY=str(tmp / "h.json"))
    with subprocess.Popen([sys.executable, "-m", "prunerl.cli", *argv], cwd=cwd, env=env, text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            out, err = proc.communicate(timeout=LIMIT)
        except subprocess.TimeoutExpired:  # it accepted the input and started working
            proc.kill()
            out, err = proc.communicate()
            return None, out, err
        return proc.returncode, out, err


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad_input")
    (tmp / "notes.txt").write_text("not a notebook\n")
    (tmp / "empty").mkdir()
    with ThreadPoolExecutor(4) as pool:
        here = list(pool.map(lambda case: _run(_fill(case[0], tmp), tmp), CASES))
        return here + list(pool.map(lambda case: _run(case[0], tmp, cwd=tmp / "empty"), ELSEWHERE))


def test_every_subcommand_is_walked():
    assert set(cli.COMMANDS) <= {argv[0] for argv, _ in CASES if argv}


@pytest.mark.parametrize("index", range(len(CASES + ELSEWHERE)),
                         ids=[" ".join(argv) or "(nothing)" for argv, _ in CASES]
                         + [" ".join(argv) + " (outside a checkout)" for argv, _ in ELSEWHERE])
def test_bad_input_is_one_line_and_exit_code_2(walked, index):
    argv, phrase = (CASES + ELSEWHERE)[index]
    code, out, err = walked[index]
    shown = f"prunerl {' '.join(argv)}\nexit code {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert "Traceback" not in out + err, shown
    assert code == 2, shown
    lines = (out + err).strip().splitlines()
    assert len(lines) == 1, shown
    assert phrase in lines[0], shown


def test_version():
    proc = subprocess.run([sys.executable, "-m", "prunerl.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"prunerl {version('prunerl')}"


def _command(monkeypatch, exc: Exception) -> None:
    """A subcommand whose run raises ``exc``: what the guard does with an error no command handled."""
    module = types.ModuleType("prunerl.commands._raises")
    module.add_arguments = lambda parser: None

    def run(_args):
        raise exc

    module.run = run
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(cli.COMMANDS, "_raises", "raises")


@pytest.mark.parametrize("exc, code", [(ValueError("bad value\nsecond line"), 2), (KeyError("no such key"), 2),
                                       (FileNotFoundError("gone.txt"), 2), (RuntimeError("a bug"), 1)])
def test_last_resort_guard_prints_one_line(monkeypatch, capsys, exc, code):
    _command(monkeypatch, exc)
    monkeypatch.delenv("PRUNERL_DEBUG", raising=False)
    assert cli.main(["_raises"]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("prunerl _raises: error: ") and "Traceback" not in err
    assert str(exc.args[0]).split("\n")[0] in err


def test_last_resort_guard_shows_the_traceback_with_debug(monkeypatch, capsys):
    _command(monkeypatch, RuntimeError("a bug"))
    monkeypatch.setenv("PRUNERL_DEBUG", "1")
    assert cli.main(["_raises"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith("prunerl _raises: error: a bug")


@pytest.mark.slow
def test_grade_exits_non_zero_naming_what_it_could_not_grade(tmp_path):
    """A corrupt notebook and one matching no assignment are listed, and the exit code is 1."""
    from prunerl.course.grading.build import build
    from prunerl.course.grading.layout import Layout

    layout = Layout(tmp_path / "course")
    layout.sources.mkdir(parents=True)
    shutil.copy2(REPO / "autograder" / "nbgrader_config.py", layout.course / "nbgrader_config.py")
    shutil.copy2(FIXTURE / "grading" / "sources" / "fx_demo.py", layout.sources / "fx_demo.py")
    build(layout, execute=False, log=lambda _m: None)
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "broken.ipynb").write_text("{ not json")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), subs / "stray.ipynb")
    proc = subprocess.run([sys.executable, "-m", "prunerl.cli", "grade", str(subs), "--root", str(layout.root),
                           "--out", str(tmp_path / "out"), "--unsafe-no-sandbox", "--quiet"],
                          capture_output=True, text=True, env=dict(os.environ, PRUNERL_DEBUG="1"), timeout=600)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stdout + proc.stderr
    not_graded = [line for line in proc.stderr.splitlines() if line.startswith("not graded: ")]
    assert len(not_graded) == 2, proc.stderr
    assert any("broken.ipynb" in line for line in not_graded)
    assert any("stray.ipynb" in line and "could not tell which assignment" in line for line in not_graded)


@pytest.mark.slow
def test_check_counts_points_shows_expected_and_no_kernel_warning(tmp_path):
    """A threshold_prune that also prunes |w| == t fails the ties test: the report shows what was expected."""
    nb = nbformat.read(REPO / "solutions" / "ex1_threshold_torch.ipynb", as_version=4)
    right, wrong = "module.weight.abs() > threshold", "module.weight.abs() >= threshold"
    cells = [c for c in nb.cells if right in c.source]
    assert len(cells) == 1, "the solution's comparison changed: update this test"
    cells[0].source = cells[0].source.replace(right, wrong)
    nbformat.write(nb, tmp_path / "ties.ipynb")
    env = dict(os.environ, PRUNERL_DEBUG="1", OMP_NUM_THREADS="1", COLUMNS="300")
    proc = subprocess.run([sys.executable, "-m", "prunerl.cli", "check", str(tmp_path / "ties.ipynb")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr  # no IPKernelApp "running over TCP without encryption" warning
    assert "Traceback" not in proc.stdout
    ties = next(line for line in proc.stdout.splitlines() if "test_threshold_ties" in line)
    assert "got [[True, True], [False, True]] (expected: masks['0.weight'].tolist() == [[False, False], [False, " \
           "True]])" in ties
    points = sum(c.metadata["nbgrader"]["points"] for c in nb.cells
                 if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))
    ties_points = next(c.metadata["nbgrader"]["points"] for c in nb.cells
                       if c.metadata.get("nbgrader", {}).get("grade_id") == "test_threshold_ties")
    assert f"{points - ties_points:g} / {points:g} points" in proc.stdout
