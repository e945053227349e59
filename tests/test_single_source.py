"""One authored source per exercise builds both tracks: marks, grade_ids and points come from that one file."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from prunerl.course.grading.layout import (
    TRACKS,
    Layout,
    graded_cells,
    render_track,
    source_tracks,
    strip_hidden_tests,
)
from prunerl.course.grading.selfcheck import expected

REPO = Path(__file__).resolve().parents[1]
LAYOUT = Layout(REPO)
SOURCES = sorted(LAYOUT.sources.glob("*.py"))
LINE_MARK = re.compile(r"^(.*?)[ \t]*# \[(torch|tf)\]$")

TOY = '''# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3}
# # Toy
# In PyTorch.  # [torch]
# In Keras.  # [tf]

# %% track="torch" nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3}
import torch

# %% track="tf" nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3}
import keras

# %% nbgrader={"grade": true, "grade_id": "test_x", "locked": true, "points": 2, "schema_version": 3}
x = 1  # [torch]
# [torch]
x = 2  # [tf]
assert x
'''


def cells_of(text: str) -> list[str]:
    """The ``# %%`` chunks of a percent-format text (the header, if any, first)."""
    return [c for c in re.split(r"(?m)^(?=# %%)", text) if c]


def test_render_track_keeps_shared_cells_and_drops_the_other_track():
    torch_text, tf_text = render_track(TOY, "torch"), render_track(TOY, "tf")
    assert "import torch" in torch_text and "import keras" not in torch_text
    assert "import keras" in tf_text and "import torch" not in tf_text
    assert "x = 1\n\nassert x" in torch_text and "x = 2\nassert x" in tf_text
    assert "# In PyTorch.\n" in torch_text and "In Keras" not in torch_text
    assert "track=" not in torch_text + tf_text and "# [" not in torch_text + tf_text
    assert source_tracks(TOY) == TRACKS
    plain = TOY.replace('track="torch" ', "").replace('track="tf" ', "")
    plain = "\n".join(LINE_MARK.sub(r"\1", line) for line in plain.splitlines())
    assert source_tracks(plain) == (None,) and render_track(plain, None) == plain


def test_an_unmarked_source_builds_one_assignment_named_after_it(tmp_path):
    layout = Layout(tmp_path)
    layout.sources.mkdir(parents=True)
    (layout.sources / "toy.py").write_text(TOY)
    (layout.sources / "plain.py").write_text("# %%\nx = 1\n")
    assert layout.assignments() == ["plain", "toy_tf", "toy_torch"]
    assert layout.source_text("plain") == "# %%\nx = 1\n"


def test_five_sources_build_the_ten_track_notebooks():
    assert not (LAYOUT.course / "sources").exists()
    assert [p.stem for p in SOURCES] == ["ex1_threshold", "ex2_structured", "ex3_sparsify", "ex4_prune_agent",
                                         "ex5_compare"]
    files = LAYOUT.source_files()
    assert sorted(files) == sorted(f"{p.stem}_{t}" for p in SOURCES for t in TRACKS) == LAYOUT.built_assignments()
    assert {path for path, _track in files.values()} == set(SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_grade_ids_and_points_come_from_the_one_source(path):
    authored = jupytext.read(path, fmt="py:percent")  # an authored source is itself a jupytext notebook
    for track in TRACKS:
        own = [c for c in authored.cells if c.metadata.get("track") in (None, track)]
        expected = {gid: row["points"] for gid, row in graded_cells(nbformat.from_dict({"cells": own})).items()}
        master = nbformat.read(LAYOUT.source_notebook(f"{path.stem}_{track}"), as_version=4)
        assert {gid: row["points"] for gid, row in graded_cells(master).items()} == expected
        assert [c.metadata.get("nbgrader") for c in master.cells] == [c.metadata.get("nbgrader") for c in own]
    shared = {c.metadata["nbgrader"]["grade_id"] for c in authored.cells
              if "track" not in c.metadata and c.metadata.get("nbgrader", {}).get("grade")}
    assert shared, "the graded cells are written once, for both tracks"


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_a_line_or_cell_marked_for_one_track_never_reaches_the_other(path):
    text = path.read_text()
    marked = 0
    for chunk in cells_of(text):
        head = chunk.splitlines()[0]
        cell_track = re.search(r' track="(torch|tf)"', head)
        lines = chunk.splitlines()[1:]
        for track in TRACKS:
            other = next(t for t in TRACKS if t != track)
            rendered = render_track(chunk, other).splitlines()
            if cell_track and cell_track.group(1) == track:
                assert rendered == [], f"{path.name}: a {track} cell reaches the {other} track"
                marked += 1
                continue
            own = {m.group(1) for line in lines if (m := LINE_MARK.match(line)) and m.group(2) == track}
            kept = {line for line in lines if not LINE_MARK.match(line)} | {
                m.group(1) for line in lines if (m := LINE_MARK.match(line)) and m.group(2) == other}
            leaked = {line for line in own - kept if line.strip()} & set(rendered)
            assert not leaked, f"{path.name}: {track} lines in the {other} track: {sorted(leaked)}"
            marked += len(own)
    assert marked, f"{path.name} marks nothing: it would build a single assignment"
    tf_code = [c.source for c in jupytext.reads(render_track(text, "tf"), fmt="py:percent").cells
               if c.cell_type == "code"]
    assert not any(re.search(r"^\s*(import|from) torch\b", src, re.M) for src in tf_code)


def test_no_generated_notebook_carries_a_track_mark():
    for a in LAYOUT.assignments():
        for path in (LAYOUT.source_notebook(a), LAYOUT.exercises / f"{a}.ipynb", LAYOUT.solutions / f"{a}.ipynb"):
            nb = nbformat.read(path, as_version=4)
            assert not any("track" in c.metadata for c in nb.cells), path
            assert not any(LINE_MARK.match(line) for c in nb.cells for line in c.source.splitlines()), path


def visible_asserts():
    """(assignment, grade_id, assert node) for every assert a learner sees in a visible test cell."""
    for a in LAYOUT.assignments():
        nb = jupytext.reads(LAYOUT.source_text(a), fmt="py:percent")
        for gid, row in graded_cells(nb).items():
            tree = ast.parse(strip_hidden_tests(row["cell"].source))
            yield from ((a, gid, node) for node in ast.walk(tree) if isinstance(node, ast.Assert))


def test_every_visible_failure_shows_what_was_computed_and_what_was_expected():
    found, only_computed = 0, set()
    for a, gid, node in visible_asserts():
        found += 1
        assert node.msg is not None, f"{a}:{gid}: `assert {ast.unparse(node.test)}` has no message"
        shows_value = any(isinstance(n, ast.FormattedValue) for n in ast.walk(node.msg))
        identity = isinstance(node.test, ast.Compare) and isinstance(node.test.ops[0], (ast.Is, ast.IsNot))
        assert shows_value or identity, f"{a}:{gid}: the message of `assert {ast.unparse(node.test)}` shows no value"
        if "expected" not in ast.unparse(node.msg):
            only_computed.add((a, gid))
    assert found > 60
    # The ties test says only what the code returned; `prunerl check` adds the assert's condition as "expected".
    assert only_computed == {(f"ex1_threshold_{t}", "test_threshold_ties") for t in TRACKS}


def test_check_shows_the_failed_condition_when_the_message_has_no_expected_value():
    source = 'x = [1]\nassert x == [2], f"got {x}"\n'
    tb = ["\x1b[31mAssertionError\x1b[0m", "Cell \x1b[32mIn[4], line 2\x1b[0m", "AssertionError: got [1]"]
    cell = {"cell_type": "code", "source": source,
            "outputs": [{"output_type": "error", "ename": "AssertionError", "evalue": "got [1]", "traceback": tb}]}
    assert expected(cell, "AssertionError: got [1]") == "x == [2]"
    assert expected(cell, "AssertionError: got [1], expected [2]") is None
