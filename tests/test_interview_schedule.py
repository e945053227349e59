"""FSRS scheduling over simulated days, and exports (Anki package, CSV) in both languages."""
from __future__ import annotations

import csv
import datetime as dt
import sqlite3
import zipfile

import pytest

from prunerl.cli import main
from prunerl.course.interview import load_bank
from prunerl.course.interview.schedule import History, Rating, rating_for

DAY0 = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)


def day(n: float) -> dt.datetime:
    return DAY0 + dt.timedelta(days=n)


def test_rating_from_the_share_of_points():
    assert [rating_for(s) for s in (0.0, 0.49, 0.5, 0.74, 0.75, 0.99, 1.0)] == [
        Rating.Again, Rating.Again, Rating.Hard, Rating.Hard, Rating.Good, Rating.Good, Rating.Easy]


def test_due_dates_over_simulated_days(tmp_path):
    h = History(tmp_path / "h.json")
    assert h.review("a", 0.8, day(0)).due == day(2)  # Good on a new card: 2 days
    assert h.review("b", 0.2, day(0)).due == day(1)  # Again: tomorrow
    intervals, when = [], day(2)
    for _ in range(4):  # answer "a" well every time it falls due: the intervals keep growing
        card = h.review("a", 0.8, when)
        intervals.append((card.due - when).days)
        when = card.due
    assert intervals == sorted(intervals) and intervals[0] > 2 and intervals[-1] > 30
    lapse = h.review("a", 0.0, when)  # a lapse brings it back tomorrow (one relearning step)
    assert lapse.due == when + dt.timedelta(days=1)
    assert h.review("a", 0.8, lapse.due).due - lapse.due >= dt.timedelta(days=2)  # relearnt: back to review
    # retention falls between reviews and is about the target (90 %) on the due date of a card answered well
    assert h.retention("b", day(0.5)) > h.retention("b", day(1)) > h.retention("b", day(5))
    assert h.retention("c", day(0)) is None
    assert h.review("c", 0.8, day(0)).due == day(2) and h.retention("c", day(2)) == pytest.approx(0.9, abs=0.02)


def test_due_questions_come_first(tmp_path):
    bank = load_bank()
    h = History(tmp_path / "h.json")
    h.review("where-field-goes", 1.0, day(0))  # due day 8
    h.review("l1-norm-case", 0.0, day(0))  # due day 1
    h.review("what-is-pruning", 0.6, day(0.25))  # Hard: due a day later, 6 h after l1-norm-case
    order = [q["id"] for q in h.order(bank, day(1.5))]
    assert order[:2] == ["l1-norm-case", "what-is-pruning"]
    assert order[2] not in {"where-field-goes"} and bank[0]["difficulty"] == "E"
    assert all(q["difficulty"] == "E" for q in h.order(bank, day(1.5))[2:5])  # then new ones, easy first
    assert order[-1] == "where-field-goes" and h.due_count(day(1.5)) == 2 and h.due_count(day(8)) == 3
    h.save()
    again = History.load(h.path)
    assert again.cards["where-field-goes"].due == day(8) and len(again.reviews) == 3


@pytest.mark.parametrize("lang,probe", [("en", "What is pruning"), ("zh", "什么是剪枝技术")])
def test_anki_export_is_a_valid_package(tmp_path, capsys, lang, probe):
    out = tmp_path / f"deck-{lang}.apkg"
    assert main(["interview", "--export", "anki", "--lang", lang, "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        assert "collection.anki2" in z.namelist() and "media" in z.namelist()
        z.extract("collection.anki2", tmp_path)
    db = sqlite3.connect(tmp_path / "collection.anki2")
    (notes,) = db.execute("select count(*) from notes").fetchone()
    (cards,) = db.execute("select count(*) from cards").fetchone()
    fields = [row[0] for row in db.execute("select flds from notes")]
    db.close()
    assert notes == cards == len(load_bank())
    assert any(probe in f for f in fields)
    assert f"{len(load_bank())}" in capsys.readouterr().out


@pytest.mark.parametrize("lang,probe", [("en", "Trap: pruning speeds up training"), ("zh", "陷阱：剪枝加速训练")])
def test_csv_export(tmp_path, lang, probe):
    out = tmp_path / "bank.csv"
    assert main(["interview", "--export", "csv", "--lang", lang, "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == len(load_bank()) and rows[0]["id"] == "what-is-pruning"
    assert any(r["topic"] == probe for r in rows)
    assert all(r["rubric"] and r["follow_ups"].startswith("Q: ") and r["lesson"].startswith("lessons/") for r in rows)
