"""Where the course is published, and how a lesson or an exercise installs it on Colab.

The repository is one setting, ``[project.urls] Repository`` in ``pyproject.toml``, read from the installed
package's metadata (or from ``pyproject.toml`` in a source tree that was never installed); badges and install cells
point at the release tag of the installed version, ``v<version>``, never at a moving branch.

Colab ships its own torch, TensorFlow, Keras, NumPy, SciPy, pandas, matplotlib, rich and gymnasium
(``constraints/colab.txt``, its published ``pip freeze``). Installing prunerl with its dependencies there would add
``tensorflow-cpu`` beside Colab's ``tensorflow`` and could move its pinned packages. So the install cell installs
prunerl and the few packages Colab lacks **without their dependencies**: nothing Colab installed changes
(``tests/test_packaging.py`` checks every requirement against Colab's freeze).
"""
from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path

# What prunerl needs that Colab does not ship, each installed with --no-deps. minigrid imports `pygame`, which
# Colab's pygame provides (minigrid asks for pygame-ce, a fork installing the same module: it would overwrite it).
COLAB_LACKS = ("minigrid>=3.0,<4", "box2d==2.3.10", "minatar>=1.0.15,<2")


def _project() -> tuple[str, str]:
    """(repository URL, version) from the installed metadata, else from the source tree's pyproject.toml."""
    try:
        meta = metadata("prunerl")
        urls = dict(entry.split(", ", 1) for entry in meta.get_all("Project-URL") or [])
        if "Repository" in urls:
            return urls["Repository"], meta["Version"]
    except PackageNotFoundError:
        pass
    project = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["project"]
    return project["urls"]["Repository"], project["version"]


def repository() -> str:
    """``owner/name`` of the GitHub repository the course is published from."""
    url, _ = _project()
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", url)
    if not match:
        raise ValueError(f"[project.urls] Repository must be a https://github.com/OWNER/NAME address, got {url!r}")
    return match.group(1)


def release() -> str:
    """The git tag of the installed version, ``v<version>``: what badges and install cells point at."""
    return f"v{_project()[1]}"


def install_requirements() -> list[str]:
    """What the Colab cell installs, with ``pip install --no-deps``: prunerl at its release, then what Colab lacks."""
    return [f"prunerl @ git+https://github.com/{repository()}@{release()}", *COLAB_LACKS]


def install_cell() -> str:
    """The body of the first code cell of every lesson and exercise: installs the course on Colab only."""
    args = ", ".join(f'"{req}"' for req in install_requirements())
    return (
        "# On Colab only: install the course without touching Colab's own torch, TensorFlow and NumPy; elsewhere this"
        " cell does nothing.\n"
        "import sys\n\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n\n"
        f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", {args}], check=True)\n'
    )
