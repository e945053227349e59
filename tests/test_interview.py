"""`prunerl interview`: the bank, dry-run, answers-file mode, history and its weighting."""
from __future__ import annotations

import json
import random

import pytest

from prunerl import interview as iv
from prunerl.cli import main


def test_bank_has_eight_complete_questions():
    bank = iv.load_bank()
    assert sorted(q["lesson"] for q in bank) == list(range(1, 9))
    assert len({q["id"] for q in bank}) == 8
    for q in bank:
        assert q["question"] and len(q["answer"]) > 200
        assert len(q["follow_ups"]) >= 3 and all(f["q"] and f["a"] for f in q["follow_ups"])
        assert len(q["rubric"]) >= 3


def test_dry_run_prints_answer_and_rubric_and_keeps_no_history(tmp_path, capsys):
    hist = tmp_path / "h.json"
    assert main(["interview", "--dry-run", "--seed", "0", "--history", str(hist)]) == 0
    out = capsys.readouterr().out
    assert "model answer" in out and "Rubric" in out
    assert not hist.exists()


def test_dry_run_named_question(tmp_path, capsys):
    hist = str(tmp_path / "h")
    assert main(["interview", "--dry-run", "--question", "l1-norm-case", "--history", hist]) == 0
    assert "Li et al." in capsys.readouterr().out


def test_answers_file_records_history(tmp_path, capsys):
    hist, answers = tmp_path / "sub" / "h.json", tmp_path / "a.json"
    answers.write_text(json.dumps([{"id": "what-is-pruning", "answer": "zeroing small weights", "score": 1},
                                   {"answer": "drawn by weight", "score": 3, "seconds": 42}]))
    assert main(["interview", "--answers", str(answers), "--history", str(hist), "--seed", "1"]) == 0
    attempts = json.loads(hist.read_text())["attempts"]
    assert [a["score"] for a in attempts] == [1, 3]
    assert attempts[0]["id"] == "what-is-pruning" and attempts[1]["seconds"] == 42
    assert "2 answer(s) recorded" in capsys.readouterr().out
    # a second session appends
    assert main(["interview", "--answers", str(answers), "--history", str(hist)]) == 0
    assert len(json.loads(hist.read_text())["attempts"]) == 4


def test_history_path_from_environment(tmp_path, monkeypatch):
    hist = tmp_path / "env.json"
    monkeypatch.setenv(iv.HISTORY_ENV, str(hist))
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps([{"id": "where-applied", "answer": "x", "score": 2}]))
    assert main(["interview", "--answers", str(answers)]) == 0
    assert json.loads(hist.read_text())["attempts"][0]["id"] == "where-applied"


@pytest.mark.parametrize("entries", [[{"id": "nope", "answer": "x", "score": 1}],
                                     [{"answer": "x", "score": 7}], [{"answer": "no score"}]])
def test_bad_answers_are_refused(tmp_path, entries):
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(entries))
    assert main(["interview", "--answers", str(answers), "--history", str(tmp_path / "h.json")]) == 2
    assert not (tmp_path / "h.json").exists()


def test_weighting_prefers_low_scores_and_unseen():
    bank = iv.load_bank()
    attempts = []
    for q in bank:
        iv.record(attempts, q["id"], 3, 30.0)
    iv.record(attempts, "what-sparsity-buys", 0, 30.0)
    iv.record(attempts, "what-sparsity-buys", 0, 30.0)
    w = iv.weights(attempts, bank)
    assert w["what-sparsity-buys"] == pytest.approx(1 + 3 - 1.0)  # last three scores 3, 0, 0
    assert all(w[q["id"]] == 1.0 for q in bank if q["id"] != "what-sparsity-buys")
    assert iv.weights([], bank)[bank[0]["id"]] == pytest.approx(1 + 3 - iv.UNSEEN_MEAN)
    rng = random.Random(0)
    draws = [iv.choose(attempts, bank, rng)["id"] for _ in range(2000)]
    share = draws.count("what-sparsity-buys") / len(draws)
    assert share == pytest.approx(3 / (3 + 7), abs=0.05)


def test_weighting_uses_recent_scores_only():
    bank = iv.load_bank()
    attempts = []
    for score in (0, 0, 0, 3, 3, 3):
        iv.record(attempts, "what-is-pruning", score, None)
    assert iv.mean_scores(attempts, bank)["what-is-pruning"] == 3.0


def test_interactive_mode_refuses_without_terminal(tmp_path, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["interview", "--history", str(tmp_path / "h.json")]) == 2


def test_list(tmp_path, capsys):
    assert main(["interview", "--list", "--history", str(tmp_path / "h.json")]) == 0
    assert "where-field-goes" in capsys.readouterr().out
