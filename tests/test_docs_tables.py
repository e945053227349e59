"""Tables in the docs that describe the exercises say what the exercise notebooks hold."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebook_contract(path: Path) -> tuple[list[str], int]:
    """(functions the learner writes, points): from the nbgrader metadata of the released notebook."""
    cells = json.loads(path.read_text())["cells"]
    meta = [c["metadata"].get("nbgrader", {}) for c in cells]
    functions = [name for c, m in zip(cells, meta) if m.get("solution") and c["cell_type"] == "code"
                 for name in re.findall(r"^def (\w+)\(", "".join(c["source"]), re.M)]
    return functions, sum(m.get("points", 0) for m in meta if m.get("grade"))


def test_the_exercise_table_matches_the_notebooks():
    text = (ROOT / "docs" / "lessons.md").read_text()
    rows = re.findall(r"^\| `(ex\d_\w+)` \| (.*) \| (\d+) \|$", text, re.M)
    exercises = sorted({p.stem.rsplit("_", 1)[0] for p in (ROOT / "exercises").glob("ex*.ipynb")})
    assert [r[0] for r in rows] == exercises, "docs/lessons.md must list every exercise once, in order"
    for name, functions, points in rows:
        listed = re.findall(r"`(\w+)\(", functions)
        for track in ("torch", "tf"):
            wanted, total = notebook_contract(ROOT / "exercises" / f"{name}_{track}.ipynb")
            assert listed == wanted, f"{name}_{track}: the notebook asks for {wanted}, docs/lessons.md lists {listed}"
            assert int(points) == total, f"{name}_{track}: {total} points, docs/lessons.md says {points}"


def test_the_interview_history_path_is_the_one_the_code_uses(monkeypatch, tmp_path, capsys):
    from prunerl import cli
    from prunerl.course.interview import default_history_path

    monkeypatch.delenv("PRUNERL_INTERVIEW_HISTORY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    shown = "~/" + default_history_path().relative_to(tmp_path).as_posix()
    assert cli.main(["interview", "--help"]) == 0
    assert shown in " ".join(capsys.readouterr().out.split())
    docs = (ROOT / "docs" / "interview.md").read_text()
    assert shown in docs and not re.findall(r"~/\.prunerl/[\w/]*interview\.json", docs.replace(shown, ""))


def test_the_notebook_size_limit_the_grading_docs_state_is_the_codes():
    from prunerl.course.grading import submissions

    docs = (ROOT / "docs" / "grading.md").read_text()
    assert f"one over {submissions.MAX_BYTES / 1024**2:g} MiB (`submissions.MAX_BYTES`)" in docs
