"""`prunerl interview` without a terminal: answers files, scoring, history (FSRS, migration), list, bad input."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from prunerl.course import interview as iv
from prunerl.cli import main
from prunerl.course.interview.schedule import History

NOW = "2026-01-01T09:00:00+00:00"


def write(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_dry_run_shows_answer_rubric_and_follow_ups_in_both_languages(tmp_path, capsys):
    hist = tmp_path / "h.json"
    assert main(["interview", "--dry-run", "--question", "l1-norm-case", "--history", str(hist), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Model answer" in out and "Rubric" in out and "Follow-up 1/4" in out and "Li et al." in out
    assert main(["interview", "--dry-run", "--question", "l1-norm-case", "--history", str(hist), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "参考答案" in out and "评分要点" in out and "追问 1/4" in out and "L1 范数" in out
    assert not hist.exists()


def test_language_defaults_to_the_locale(monkeypatch, capsys, tmp_path):
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(["interview", "--dry-run", "--question", "what-is-pruning", "--history", str(tmp_path / "h")]) == 0
    assert "什么是剪枝技术" in capsys.readouterr().out
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")  # LC_ALL wins over LANG
    assert main(["interview", "--dry-run", "--question", "what-is-pruning", "--history", str(tmp_path / "h")]) == 0
    assert "What is pruning" in capsys.readouterr().out
    from prunerl.course.interview.i18n import default_lang

    assert default_lang({}) == "en" and default_lang({"LC_MESSAGES": "zh_TW"}) == "zh"
    assert default_lang({"LC_ALL": "", "LANG": "zh_CN"}) == "zh"


def test_points_are_scored_one_by_one_and_scheduled(tmp_path, capsys):
    hist = tmp_path / "sub" / "h.json"
    answers = write(tmp_path / "a.json", [
        {"id": "what-is-pruning", "answer": "zeroing small weights", "points": [True, True, False, True],
         "follow_ups": [{"answer": "global", "correct": False}, {"answer": "no", "correct": True}]}])
    assert main(["interview", "--answers", answers, "--history", str(hist), "--now", NOW, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "[x] defines unstructured vs structured removal" in out
    assert "[ ] does not claim small agents keep their return" in out
    assert "Score: 4/7 points (57 %)" in out  # 3 of 4 rubric points + 1 of 3 follow-ups
    data = json.loads(hist.read_text())
    assert data["version"] == 2
    review = data["reviews"][0]
    assert review["points"] == [True, True, False, True] and review["follow_ups"] == [False, True, False]
    assert review["score"] == pytest.approx(4 / 7, abs=1e-3) and review["rating"] == 2  # Hard
    assert data["cards"]["what-is-pruning"]["due"].startswith("2026-01-02")  # Hard on a new card: one day
    assert "Next review: 2026-01-02 09:00 UTC (FSRS rating Hard)" in out


def test_answers_without_id_take_due_questions_first_and_sessions_append(tmp_path, capsys):
    hist = tmp_path / "h.json"
    first = write(tmp_path / "a.json", [{"id": "trap-flop-bound", "answer": "x", "points": [False] * 3}])
    assert main(["interview", "--answers", first, "--history", str(hist), "--now", NOW]) == 0
    later = write(tmp_path / "b.json", [{"answer": "y", "score": 3}])
    # a day later the failed trap question is due, so it comes before any new question
    assert main(["interview", "--answers", later, "--history", str(hist), "--now", "2026-01-02T10:00:00"]) == 0
    reviews = json.loads(hist.read_text())["reviews"]
    assert [r["id"] for r in reviews] == ["trap-flop-bound", "trap-flop-bound"]
    assert [r["score"] for r in reviews] == [0.0, 1.0]  # a format-1 "score": 3 ticks every point
    assert "1 answer(s) recorded" in capsys.readouterr().out


@pytest.mark.parametrize("entries", [[{"id": "nope", "answer": "x", "score": 1}],
                                     [{"id": "what-is-pruning", "answer": "x", "points": [True]}],
                                     [{"answer": "x", "score": 7}], [{"answer": "no score"}], []])
def test_bad_answers_are_refused_in_one_line(tmp_path, capsys, entries):
    answers = write(tmp_path / "a.json", entries)
    assert main(["interview", "--answers", answers, "--history", str(tmp_path / "h.json")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "h.json").exists()


@pytest.mark.parametrize("argv", [["--lang", "fr"], ["--question", "no-such-id"], ["--coding", "nope"],
                                  ["--answers", "missing.json"], ["--now", "yesterday"]])
def test_bad_input_one_line_exit_2(tmp_path, capsys, argv):
    assert main(["interview", "--history", str(tmp_path / "h.json"), *argv]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err + captured.out


def test_interactive_mode_refuses_without_terminal(tmp_path, monkeypatch, capsys):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["interview", "--history", str(tmp_path / "h.json")]) == 2
    assert main(["interview", "--coding", "threshold", "--workdir", str(tmp_path)]) == 2


def test_mock_summary_names_weakest_topics_and_lessons(tmp_path, capsys):
    answers = write(tmp_path / "a.json", [
        {"id": "what-sparsity-buys", "answer": "a", "points": [True] * 4,
         "follow_ups": [{"answer": "b", "correct": True}] * 3},
        {"id": "trap-test-set-tuning", "answer": "c", "points": [False, True, False]}])
    assert main(["interview", "--mock", "2", "--answers", answers, "--history", str(tmp_path / "h.json"),
                 "--now", NOW, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Mock interview summary" in out
    assert "Weakest topics: claims (25 %), evaluation (25 %)" in out  # the trap: 1 of 3 points + 0 of 1 follow-up
    assert "Lessons to revisit: lessons/03_where_pruning_is_applied.py § Every candidate, measured" in out
    assert "lessons/04" not in out.split("Lessons to revisit")[1]


def test_list_shows_due_dates_and_retention(tmp_path, capsys):
    hist = tmp_path / "h.json"
    answers = write(tmp_path / "a.json", [{"id": "why-not-biases", "answer": "x", "points": [True] * 3,
                                           "follow_ups": [{"answer": "y", "correct": True}]}])
    assert main(["interview", "--answers", answers, "--history", str(hist), "--now", NOW]) == 0
    capsys.readouterr()
    assert main(["interview", "--list", "--history", str(hist), "--now", "2026-01-05T09:00:00", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith("why-not-biases"))
    recall = History.load(hist).retention("why-not-biases", dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC))
    assert 0.9 < recall < 1.0
    assert "2026-01-09" in row and f"{100 * recall:.0f}%" in row  # Easy: due in 8 days; recall 4 days in
    assert f"({len(iv.load_bank())}; due now 0, never seen {len(iv.load_bank()) - 1})" in out
    assert main(["interview", "--list", "--history", str(hist), "--now", "2026-01-09T10:00:00", "--lang", "zh"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "why-not-biases" in line)
    assert "已到期" in row


def test_version_1_history_is_migrated_to_fsrs_cards(tmp_path, capsys):
    hist = tmp_path / "old.json"
    attempts = [{"id": qid, "score": score, "seconds": 40.0, "answer": "a", "time": f"2026-01-0{d}T{h}:00:00+00:00"}
                for qid, score, d, h in (("what-is-pruning", 1, 1, 10), ("where-applied", 3, 1, 11),
                                         ("what-is-pruning", 2, 2, 10))]
    write(hist, {"attempts": attempts})
    history = History.load(hist)
    assert history.migrated == 3 and len(history.reviews) == 3
    assert history.cards["where-applied"].due == dt.datetime(2026, 1, 9, 11, tzinfo=dt.UTC)  # Easy: 8 days
    # Hard (1 day), then Good a day later: the second interval is longer than the first
    assert history.cards["what-is-pruning"].due > dt.datetime(2026, 1, 4, 10, tzinfo=dt.UTC)
    assert main(["interview", "--list", "--history", str(hist), "--now", "2026-01-03T00:00:00"]) == 0
    assert "migrated from format 1 (3 attempt(s))" in capsys.readouterr().out
    data = json.loads(hist.read_text())
    assert data["version"] == 2 and set(data["cards"]) == {"what-is-pruning", "where-applied"}
    assert History.load(hist).migrated == 0  # saved in the new format


def test_question_for_lesson_keeps_the_fields_the_lessons_read():
    for lesson in range(1, 9):
        q = iv.question_for_lesson(lesson)
        assert q["lesson"] == lesson and q["question"].isascii()
        assert q["answer"] and all(f["q"] and f["a"] for f in q["follow_ups"]) and q["rubric"]
    assert iv.question_for_lesson(1)["question"].startswith("What is pruning")
    assert iv.question_for_lesson(1, lang="zh")["question"].startswith("什么是剪枝技术")


def test_docs_numbers_come_from_the_code():
    from pathlib import Path

    from prunerl.commands import interview as cmd
    from prunerl.course.interview import coding, schema
    from prunerl.course.interview.schedule import Rating, rating_for

    assert cmd.PROBLEMS == tuple(coding.PROBLEMS)
    docs = (Path(__file__).resolve().parents[1] / "docs" / "interview.md").read_text(encoding="utf-8")
    minutes = sorted(p["minutes"] for p in coding.PROBLEMS.values())
    assert f"({minutes[0]}–{minutes[-1]} min;" in docs and f"（{minutes[0]}–{minutes[-1]} 分钟；" in docs
    assert f"{cmd.MOCK_LIMIT} s per answer" in docs and f"每个回答 {cmd.MOCK_LIMIT} 秒" in docs
    assert rating_for(0.75) == Rating.Good and rating_for(0.7499) == Rating.Hard and rating_for(0.5) == Rating.Hard
    assert rating_for(0.4999) == Rating.Again and "at least 75 %: Good, at least 50 %: Hard" in docs
    assert "至少 75 %：Good，至少 50 %：Hard" in docs
    assert "a rubric of 3–5 checkable points" in docs and "(each with 2–4 follow-ups)" in docs
    bank = iv.load_bank()
    assert schema.structure_errors(bank) == [] and min(len(q["rubric"]) for q in bank) == 3
    assert {len(q["follow_ups"]) for q in bank if "blog" in q} <= {2, 3, 4}
    scenario = iv.question("scn-robot-not-faster")
    assert "90 % sparse but not faster on the robot's CPU" in scenario["question"]["en"]
    assert scenario["question"]["zh"].split("。")[0].replace("你剪枝", "") in docs
