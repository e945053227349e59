"""The executed lesson notebooks: ``lessons/NN_name.ipynb`` beside each ``lessons/NN_name.py``.

The committed ``.ipynb`` files are the cache of a full-mode execution: the site and GitHub/Colab show their
outputs. Each carries, in its metadata, the SHA-256 of the ``.py`` it was executed from; a lesson whose ``.py``
changed since is stale, and the site refuses to build from it.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

META_KEY = "prunerl"
PAIRING = "ipynb,py:percent"  # jupytext pairs the two files: Jupyter opens either with the outputs of the .ipynb


def lesson_sources(root: Path) -> list[Path]:
    return sorted((root / "lessons").glob("0*_*.py"))


def source_hash(py: Path) -> str:
    """SHA-256 of the lesson's cells: line endings normalised (a Windows checkout converts them) and the jupytext
    header left out (saving in Jupyter adds version lines to it)."""
    text = py.read_text(encoding="utf-8").replace("\r\n", "\n")
    return hashlib.sha256(re.sub(r"\A# ---\n.*?\n# ---\n", "", text, flags=re.S).encode()).hexdigest()


def cached_meta(py: Path) -> dict | None:
    """The ``prunerl`` metadata of the lesson's executed notebook, or None if there is none."""
    import json

    ipynb = py.with_suffix(".ipynb")
    if not ipynb.exists():
        return None
    return json.loads(ipynb.read_text(encoding="utf-8")).get("metadata", {}).get(META_KEY)


def staleness(py: Path) -> str | None:
    """Why the cached outputs of lesson ``py`` cannot be used, or None when they are fresh."""
    meta = cached_meta(py)
    ipynb = py.with_suffix(".ipynb").name
    if meta is None:
        return f"{ipynb} is missing or was not executed by `prunerl site --execute`"
    if meta.get("mode") != "full":
        return f"{ipynb} holds {meta.get('mode')}-mode outputs; the site shows full-mode ones"
    if meta.get("source_sha256") != source_hash(py):
        return f"{py.name} changed after {ipynb} was executed: its outputs are stale"
    return None


def stale_lessons(root: Path) -> dict[Path, str]:
    return {py: why for py in lesson_sources(root) if (why := staleness(py))}


def execute(py: Path, timeout: int = 3600) -> tuple[Path, float]:
    """Execute lesson ``py`` in full mode and write ``py.with_suffix('.ipynb')`` with its outputs and hash; the
    numbers it records (``L.record``) go to the checkout's ``docs/lesson_numbers.json``, so the page that quotes them
    and the cached notebook come from the same run."""
    import jupytext

    from .. import lessons as L

    digest = source_hash(py)  # before running: an edit made while it runs leaves the result stale
    numbers = py.resolve().parents[1] / "docs" / "lesson_numbers.json"
    nb, seconds = L.execute_lesson(py, fast=False, timeout=timeout,
                                   record_to=numbers if numbers.parent.is_dir() else None)
    for i, cell in enumerate(nb.cells):  # stable ids: re-running a lesson changes outputs, not every cell id
        cell.id = f"c{i:02d}-{hashlib.sha1(cell.source.encode()).hexdigest()[:8]}"
    nb.metadata.setdefault("jupytext", {})["formats"] = PAIRING
    nb.metadata[META_KEY] = {"source_sha256": digest, "mode": "full", "seconds": round(seconds, 1)}
    out = py.with_suffix(".ipynb")
    jupytext.write(nb, out, fmt="ipynb")
    return out, seconds


def colab_cell() -> str:
    """The first code cell of every lesson: on Colab it installs the course (:mod:`prunerl.course.colab`); anywhere
    else it does nothing."""
    from ..colab import install_cell

    return "# %%\n" + install_cell()
