"""The project's dependencies resolve from PyPI, wheels only, where learners are: Linux x86-64 and aarch64, macOS on
Apple silicon and Windows, on every Python version the project declares, and with the lock file
(``constraints/lock.txt``, written by ``constraints/make_lock.sh``) to one set of versions: one torch everywhere.

pip's ``--dry-run --platform`` evaluates environment markers for the machine it runs on, not for the target (so
it would ask for ``tensorflow-cpu`` on a Mac); uv's resolver evaluates them for ``--python-platform``, hence uv.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = ("3.11", "3.12", "3.13")
# uv's platform name -> the TensorFlow distribution that platform must get (tensorflow-cpu has no wheel elsewhere)
PLATFORMS = {
    "x86_64-manylinux_2_28": "tensorflow-cpu",
    "aarch64-manylinux_2_28": "tensorflow",
    "aarch64-apple-darwin": "tensorflow",
    "x86_64-pc-windows-msvc": "tensorflow-cpu",
}
EXTRAS = ("course", "dev", "site")
LOCK = ROOT / "constraints" / "lock.txt"


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        pytest.fail("uv is missing: install the project with its dev extra (pip install -e '.[dev]')")
    return found


def _resolve(platform: str, python: str, out: Path) -> subprocess.CompletedProcess:
    cmd = [_uv(), "pip", "compile", str(ROOT / "pyproject.toml"), "--quiet", "--no-header", "--only-binary", ":all:",
           "--python-platform", platform, "--python-version", python, "-c", str(LOCK), "-o", str(out)]
    cmd += [arg for extra in EXTRAS for arg in ("--extra", extra)]
    # Apple silicon Macs run macOS 14 or newer; uv would otherwise assume an older macOS and older wheels.
    env = {**os.environ, "MACOSX_DEPLOYMENT_TARGET": "14.0"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split(";")[0].strip().split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def _locked() -> dict[str, set[str]]:
    """Every version the lock holds per package (a package may have one per Python version)."""
    from packaging.utils import canonicalize_name

    locked: dict[str, set[str]] = {}
    for line in LOCK.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split(";")[0].strip().split("==")
            locked.setdefault(canonicalize_name(name), set()).add(version.strip())
    return locked


def test_declared_pythons_are_the_tested_ones():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    assert set(project["optional-dependencies"]) >= set(EXTRAS)
    environments = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["environments"]
    assert len(environments) == len(PLATFORMS) and all("python_version < '3.14'" in e for e in environments)


def test_the_lock_pins_every_declared_dependency_and_the_recorded_versions():
    """A dependency added to pyproject.toml without re-running constraints/make_lock.sh fails here."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [r for extra in EXTRAS for r in project["optional-dependencies"][extra]]
    locked = _locked()
    missing = {canonicalize_name(Requirement(r).name) for r in declared} - set(locked)
    assert not missing, f"not in constraints/lock.txt (run constraints/make_lock.sh): {sorted(missing)}"
    for line in (ROOT / "constraints" / "recorded.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            assert locked[canonicalize_name(name)] == {version}, name


def test_constraints_pin_the_cpu_torch_within_the_declared_range():
    from packaging.requirements import Requirement
    from packaging.version import Version

    pin = _pins(ROOT / "constraints" / "linux-cpu.txt")["torch"]
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch = next(Requirement(d) for d in deps if Requirement(d).name == "torch")
    assert pin.endswith("+cpu") and Version(pin) in torch.specifier


@pytest.fixture(scope="module")
def resolutions(tmp_path_factory):
    out = tmp_path_factory.mktemp("resolved")
    jobs = [(p, v) for p in PLATFORMS for v in PYTHONS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = pool.map(lambda job: (job, _resolve(*job, out / f"{job[0]}-{job[1]}.txt")), jobs)
        return {job: (proc, out / f"{job[0]}-{job[1]}.txt") for job, proc in runs}


@pytest.mark.slow
@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_install_resolves_from_wheels(resolutions, platform, python):
    proc, out = resolutions[platform, python]
    assert proc.returncode == 0, f"{platform} / Python {python} does not resolve:\n{proc.stderr[-3000:]}"
    pins = _pins(out)
    wanted, other = PLATFORMS[platform], {"tensorflow", "tensorflow-cpu"} - {PLATFORMS[platform]}
    assert wanted in pins and not other & set(pins), f"{platform}: expected {wanted}, got {sorted(pins)[:50]}"
    for name in ("torch", "keras", "gymnasium", "minigrid", "nbgrader", "jupytext", "jupyter-book", "selenium"):
        assert name in pins, f"{name} missing from the {platform} / {python} resolution"
    locked = _locked()
    assert pins["torch"] == "2.13.0", f"{platform} / {python}: torch {pins['torch']}, not the locked 2.13.0"
    assert all(version in locked[name] for name, version in pins.items() if name in locked), "outside the lock"
    box2d = bool({"box2d", "box2d-py"} & set(pins))
    assert box2d == (platform != "aarch64-manylinux_2_28"), "Box2D (LunarLander) where it has wheels, only there"
