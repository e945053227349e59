"""docs/claims.md's "field's claims on trial": its blocks are rendered from bench/sparse_training.json and
bench/wide_pruned.json, and every verdict word follows from the paired interval it sits beside."""
from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("sparse_training_tables", ROOT / "bench" / "sparse_training_tables.py")
T = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(T)
TITLE = "## The field's claims on trial"
ROW = re.compile(r"^\| (?P<arm>\w+) \| (?P<sp>\d+) % \| [^|]+ \| (?P<dense>[^|]*) \| (?P<gmp>[^|]*) \|$", re.M)
PAIR = re.compile(r"(?P<d>[+−][\d.]+) \[(?P<lo>[+−][\d.]+), (?P<hi>[+−][\d.]+)\]: (?P<word>beats|loses to|undecided)")


@pytest.fixture(scope="module")
def data():
    return T.load()


@pytest.fixture(scope="module")
def wide():
    return T.load(T.WIDE)


def section() -> str:
    text = (ROOT / "docs" / "claims.md").read_text()
    assert TITLE in text
    return text[text.index(TITLE):]


def test_section_is_the_render_of_the_artefact(data, wide):
    text = section()
    assert T.render(text, data, wide) == text, "run `python bench/sparse_training_tables.py`"
    shown = {m["name"] for m in T.BLOCK.finditer(text)}
    assert {"verdict", "run", *data["summary"], *T.WIDE_RENDER} <= shown, "a block of an artefact is missing"
    assert f"**Verdict: {T.overall(data)}.**" in text


def test_the_prose_under_the_sweep_says_what_its_artefact_shows(data):
    """"What it shows" on the claims page, claim by claim, against the recorded intervals."""
    assert "**What it shows.** No sparse arm beats dense on either agent at any sparsity." in section()
    word = {a: {(c["arm"], c["sparsity"]): (T.verdict(c["vs_dense"]), T.verdict(c["vs_gmp"]) if "vs_gmp" in c else None)
                for c in s["cells"]} for a, s in data["summary"].items()}
    assert all(v[0] != "beats" for w in word.values() for v in w.values())
    ppo, dqn = word["cartpole-ppo"], word["cartpole-dqn"]
    assert all(v[0] != "loses to" for (arm, sp), v in ppo.items() if arm == "gmp" and sp < 0.95)
    assert all(v[0] == "loses to" for (arm, sp), v in ppo.items() if arm != "gmp" and sp >= 0.8)
    assert sum(v[1] == "loses to" for v in ppo.values()) >= 2
    decided = {(arm, v[1]) for (arm, _), v in dqn.items() if v[1] not in (None, "undecided")}
    assert decided and {arm for arm, _ in decided} <= {"set", "static"} and {w for _, w in decided} == {"beats"}
    assert sum(v[0] == "undecided" for v in dqn.values()) > len(dqn) / 2


@pytest.mark.parametrize(("low", "high", "word"), [(1.0, 5.0, "beats"), (-5.0, -1.0, "loses to"),
                                                   (0.0, 5.0, "undecided"), (-5.0, 0.0, "undecided"),
                                                   (-1.0, 1.0, "undecided")])
def test_a_verdict_is_decided_only_when_the_interval_excludes_zero(low, high, word):
    assert T.verdict({"low": low, "high": high}) == word


def test_every_verdict_word_on_the_page_matches_its_interval(data):
    rows = [r for r in ROW.finditer(section()) if r["arm"] != "dense"]
    cells = sum(len(s["cells"]) for s in data["summary"].values())
    assert len(rows) == cells, "one table row per sparse cell of the artefact"
    seen = 0
    for row in rows:
        for col in ("dense", "gmp"):
            m = PAIR.search(row[col])
            if m is None:
                assert not row[col].strip() and (col == "gmp" and row["arm"] == "gmp"), row.group(0)
                continue
            lo, hi = (float(m[k].replace("−", "-")) for k in ("lo", "hi"))
            assert lo <= float(m["d"].replace("−", "-")) <= hi
            want = "beats" if lo > 0 else "loses to" if hi < 0 else "undecided"
            assert m["word"] == want, row.group(0)
            seen += 1
    assert seen >= cells


def test_verdicts_follow_a_changed_artefact(data):
    changed = copy.deepcopy(data)
    for s in changed["summary"].values():
        s["cells"][0]["vs_dense"].update(median_diff=20.0, low=10.0, high=30.0)
    assert T.overall(changed) == "held"
    block = T.render("<!-- field-table: verdict -->\n<!-- /field-table: verdict -->", changed)
    assert "beats dense: gmp at 50 % (+20.0 [+10.0, +30.0])" in block
    for s in changed["summary"].values():
        for c in s["cells"]:
            c["vs_dense"].update(median_diff=-20.0, low=-30.0, high=-10.0)
    assert T.overall(changed) == "not held at this budget"


def test_the_section_cites_a_lesson_heading_that_exists():
    headings = re.findall(r"\[lesson 8 › ([^\]]+)\]", section())
    nb = jupytext.read(ROOT / "lessons" / "08_where_the_field_goes.py")
    assert len(headings) == 2  # one per claim
    for heading in headings:
        assert any(f"## {heading}" in c.source for c in nb.cells if c.cell_type == "markdown"), heading


WIDE_ROW = re.compile(r"^\| x(?P<w>\d) \| (?P<sp>[\d.]+) % \| (?P<kept>[\d,]+) \| [^|]+ \| (?P<same>[^|]*) \| (?P<x1>[^|]*) \|$",
                      re.M)


def test_the_wide_then_pruned_block_shows_every_arm_and_its_verdict(wide):
    """Every arm of the artefact is a row; each verdict word follows from its interval; the page's verdict is the
    bench's, named from the pruned wide arms against dense x1 on the same seeds and env steps."""
    W = T._wide()
    rows = list(WIDE_ROW.finditer(section()))
    cells = wide["summary"]["cells"]
    assert [(int(r["w"]), float(r["sp"])) for r in rows] == [(c["width"], round(c["sparsity"] * 100, 1))
                                                              for c in cells]
    assert {(c["width"], c["sparsity"]) for c in cells} == set(W.arms(wide["config"]["widths"]))
    assert len(wide["summary"]["seeds"]) >= 5 and {r["hparams"]["total_steps"] for r in wide["rows"]} == {
        wide["config"]["total_steps"]}
    for row, cell in zip(rows, cells):
        assert int(row["kept"].replace(",", "")) == cell["prunable_nonzero"]
        for col, key in (("same", "vs_dense_same_width"), ("x1", "vs_dense_x1")):
            m = PAIR.search(row[col])
            assert (m is None) == (key not in cell), row.group(0)
            if m is not None:
                lo, hi = (float(m[k].replace("−", "-")) for k in ("lo", "hi"))
                assert (lo, hi) == (round(cell[key]["low"], 1), round(cell[key]["high"], 1))
                assert m["word"] == ("beats" if lo > 0 else "loses to" if hi < 0 else "undecided")
    assert W.summarize(wide["rows"]) == wide["summary"], "the summary is not the one its per-seed rows give"
    assert f"**Verdict: {W.verdict(wide['summary'])}.**" in section()
    equal = next(c for c in cells if c["width"] == max(wide["config"]["widths"]) and c["sparsity"])
    assert abs(equal["prunable_nonzero"] / W.prunable(1) - 1) < 1e-3  # the widest pruned arm: dense x1's count
