"""Spaced repetition with FSRS (the ``fsrs`` package) and the learner's history file.

History format 2: ``{"version": 2, "cards": {id: fsrs card dict}, "reviews": [...]}``, each review
``{"id", "time", "rating", "score" (0-1), "points", "follow_ups", "seconds", "answer"}``. A format-1 file
(``{"attempts": [{"id", "score" 0-3, "seconds", "answer", "time"}]}``) is migrated by replaying its attempts
through the scheduler in time order. No intraday learning steps (one review a day at most is what interview
practice needs; a lapse comes back the next day) and no fuzzing, so due dates are reproducible.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import zlib
from pathlib import Path

from fsrs import Card, Rating, Scheduler

HISTORY_ENV = "PRUNERL_INTERVIEW_HISTORY"
VERSION = 2
SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(dt.timedelta(days=1),), enable_fuzzing=False)
V1_RATINGS = {0: Rating.Again, 1: Rating.Hard, 2: Rating.Good, 3: Rating.Easy}


def default_history_path() -> Path:
    return Path(os.environ.get(HISTORY_ENV) or Path.home() / ".prunerl" / "interview.json")


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_time(text: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def rating_for(score: float) -> Rating:
    """Fraction of rubric points and follow-ups met -> FSRS rating (all of them = Easy)."""
    if score >= 1.0:
        return Rating.Easy
    if score >= 0.75:
        return Rating.Good
    if score >= 0.5:
        return Rating.Hard
    return Rating.Again


class History:
    def __init__(self, path: Path, cards: dict | None = None, reviews: list | None = None, migrated: int = 0):
        self.path, self.cards, self.reviews, self.migrated = Path(path), cards or {}, reviews or [], migrated

    @classmethod
    def load(cls, path: Path) -> History:
        path = Path(path)
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") == VERSION:
            cards = {qid: Card.from_dict(c) for qid, c in data.get("cards", {}).items()}
            return cls(path, cards, data.get("reviews", []))
        return cls.from_v1(path, data.get("attempts", []))

    @classmethod
    def from_v1(cls, path: Path, attempts: list[dict]) -> History:
        history = cls(path, migrated=len(attempts))
        for a in sorted(attempts, key=lambda a: a["time"]):
            history.review(a["id"], int(a["score"]) / 3, parse_time(a["time"]), seconds=a.get("seconds"),
                           answer=a.get("answer", ""), rating=V1_RATINGS[int(a["score"])])
        return history

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": VERSION, "cards": {qid: c.to_dict() for qid, c in self.cards.items()},
                "reviews": self.reviews}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.path)

    def card(self, qid: str) -> Card | None:
        return self.cards.get(qid)

    def review(self, qid: str, score: float, when: dt.datetime, points=None, follow_ups=None, seconds=None,
               answer: str = "", rating: Rating | None = None) -> Card:
        rating = rating or rating_for(score)
        card = self.cards.get(qid) or Card(card_id=zlib.crc32(qid.encode()))
        card, _log = SCHEDULER.review_card(card, rating, review_datetime=when)
        self.cards[qid] = card
        self.reviews.append({"id": qid, "time": when.isoformat(timespec="seconds"), "rating": int(rating),
                             "score": round(float(score), 3), "points": points, "follow_ups": follow_ups,
                             "seconds": None if seconds is None else round(float(seconds), 1), "answer": answer})
        return card

    def retention(self, qid: str, when: dt.datetime) -> float | None:
        card = self.cards.get(qid)
        return None if card is None else SCHEDULER.get_card_retrievability(card, current_datetime=when)

    def scores(self, qid: str) -> list[float]:
        return [r["score"] for r in self.reviews if r["id"] == qid]

    def order(self, bank: list[dict], when: dt.datetime) -> list[dict]:
        """Due first (most overdue first), then never-seen questions (easy before hard), then the rest by due date."""
        rank = {"E": 0, "M": 1, "H": 2}
        due = sorted((q for q in bank if q["id"] in self.cards and self.cards[q["id"]].due <= when),
                     key=lambda q: self.cards[q["id"]].due)
        new = sorted((q for q in bank if q["id"] not in self.cards), key=lambda q: rank[q["difficulty"]])
        later = sorted((q for q in bank if q["id"] in self.cards and self.cards[q["id"]].due > when),
                       key=lambda q: self.cards[q["id"]].due)
        return due + new + later

    def due_count(self, when: dt.datetime) -> int:
        return sum(c.due <= when for c in self.cards.values())
