"""Two audiences, two installs: ``pip install prunerl`` is the library and what the lessons and exercise notebooks
import; ``prunerl[course]`` adds the instructor's and candidate's tools. On Colab the install cell changes nothing
Colab ships."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from prunerl import cli
from prunerl.course import colab

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
COURSE = [Requirement(r) for r in PROJECT["optional-dependencies"]["course"]]

# Runs a script with every module of the course extra unimportable, as in a venv where only `prunerl` was installed.
BLOCKED_RUN = textwrap.dedent("""
    import importlib.abc, runpy, sys
    BLOCKED = set(sys.argv[1].split(","))
    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, Blocker())
    sys.argv = sys.argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")
""")


def _closure(requirements) -> set[str]:
    """The installed distributions ``requirements`` pull in on this machine, themselves included."""
    wanted, seen = [canonicalize_name(Requirement(r).name) for r in requirements], set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:  # a marker-excluded dependency (another platform's)
            continue
        wanted += [canonicalize_name(Requirement(r).name) for r in requires
                   if not Requirement(r).marker or Requirement(r).marker.evaluate({"extra": ""})]
    return seen


def _course_modules() -> set[str]:
    """Import names of every distribution the course extra installs that the core install does not."""
    only_course = _closure(PROJECT["optional-dependencies"]["course"]) - _closure(PROJECT["dependencies"])
    return {mod for mod, dists in packages_distributions().items()
            if {canonicalize_name(d) for d in dists} & only_course and not mod.startswith("_")}


def _run_blocked(tmp_path: Path, script: str, blocked: set[str], **env) -> subprocess.CompletedProcess:
    runner, body = tmp_path / "blocked.py", tmp_path / "script.py"
    runner.write_text(BLOCKED_RUN)
    body.write_text(script)
    return subprocess.run([sys.executable, str(runner), ",".join(sorted(blocked)), str(body)], capture_output=True,
                          text=True, timeout=900, cwd=ROOT, env={**__import__("os").environ, **env})


def test_the_course_tools_are_an_extra_not_a_dependency():
    core = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    for name in ("nbgrader", "jupyter", "jupytext", "nbclient", "dask", "fsrs", "genanki"):
        assert name not in core and name in {canonicalize_name(r.name) for r in COURSE}, name


def test_the_cli_names_every_course_package_the_code_imports():
    """A course command run without the extra says how to install it: so the CLI must know every package of the
    extra that prunerl's code imports."""
    import ast

    imported = set()
    for py in (ROOT / "src" / "prunerl").rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    known = set().union(*cli.EXTRA_MODULES.values())
    course_only = imported & _course_modules()
    assert {"nbgrader", "fsrs"} <= course_only and course_only <= known, course_only - known


@pytest.mark.slow
def test_library_lessons_and_exercise_helpers_run_without_the_course_extra(tmp_path):
    """Every library module, the lessons' and the exercise notebooks' helpers import, and lesson 1 runs to the end
    (fast mode), with nothing of the course extra importable."""
    script = textwrap.dedent("""
        import importlib, pkgutil, runpy
        import prunerl
        skip = ("prunerl.course", "prunerl.commands")
        for mod in pkgutil.walk_packages(prunerl.__path__, "prunerl."):
            if not mod.name.startswith(skip):
                importlib.import_module(mod.name)
        import prunerl.course.lessons, prunerl.course.grading.checks
        runpy.run_path("lessons/01_what_is_pruning.py", run_name="__main__")
        print("LESSON-DONE")
    """)
    proc = _run_blocked(tmp_path, script, _course_modules(), PRUNERL_FAST="1", MPLBACKEND="Agg")
    assert proc.returncode == 0 and "LESSON-DONE" in proc.stdout, proc.stderr[-3000:]


def test_a_course_command_without_the_extra_says_how_to_install_it(tmp_path):
    script = "import sys\nfrom prunerl import cli\nsys.exit(cli.main(['grade', 'nothing.ipynb']))\n"
    proc = _run_blocked(tmp_path, script, _course_modules())
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert "pip install 'prunerl[course]'" in lines[0] and lines[0].startswith("prunerl grade: ")


# --------------------------------------------------------------------------------------------------------- Colab
COLAB_ENV = {"python_version": "3.13", "python_full_version": "3.13.15", "sys_platform": "linux",
             "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix", "extra": "",
             "implementation_name": "cpython", "platform_python_implementation": "CPython"}
# Distributions that install the same module as one Colab has: what Colab has stands in for them.
SAME_MODULE = {"tensorflow-cpu": "tensorflow", "pygame-ce": "pygame"}


def _colab_freeze() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints" / "colab.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_the_colab_cell_installs_no_dependency_and_points_at_the_release():
    reqs = colab.install_requirements()
    assert reqs[0] == f"prunerl @ git+https://github.com/{colab.repository()}@v{PROJECT['version']}"
    assert PROJECT["urls"]["Repository"] == f"https://github.com/{colab.repository()}"
    cell = colab.install_cell()
    assert '"--no-deps"' in cell and all(f'"{r}"' in cell for r in reqs)
    namespace: dict = {}
    exec(cell, namespace)  # noqa: S102 - off Colab the cell must do nothing (no subprocess imported)
    assert "subprocess" not in namespace


def test_colab_already_has_everything_else_the_course_needs():
    """The cell installs prunerl and COLAB_LACKS with --no-deps, so every requirement of prunerl and of those
    packages must already be met by Colab's own versions (constraints/colab.txt), or be one of those packages."""
    freeze = _colab_freeze()
    installed = {canonicalize_name(Requirement(r).name): Requirement(r) for r in colab.COLAB_LACKS}
    needs = [(r, "prunerl") for r in map(Requirement, PROJECT["dependencies"])]
    for name, req in installed.items():
        meta = distribution(name)  # the version this machine installed: the one the cell's range gives
        assert meta.version in req.specifier, f"{name} {meta.version} outside the cell's {req.specifier}"
        needs += [(Requirement(r), name) for r in meta.requires or []]
    unmet = []
    for req, who in needs:
        if req.marker and not req.marker.evaluate(COLAB_ENV):
            continue
        name = canonicalize_name(req.name)
        if name in installed:
            continue
        have = freeze.get(canonicalize_name(SAME_MODULE.get(name, name)))
        if have is None or (name not in SAME_MODULE and not req.specifier.contains(have, prereleases=True)):
            unmet.append(f"{who} needs {req} (Colab has {have})")
    assert not unmet, unmet


def test_every_exercise_opens_with_the_colab_cell():
    """The released exercises (what learners open on Colab) install the course as the lessons do."""
    import json

    for path in sorted((ROOT / "exercises").glob("ex*.ipynb")):
        code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert "".join(code[0]["source"]).strip() == colab.install_cell().strip(), f"{path.name}: stale Colab cell"
