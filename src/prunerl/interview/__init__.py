"""Interview practice: the question bank (one source of truth for the lessons too) and the learner's history.

The bank is ``questions.json`` beside this file: eight concept questions, each with a 60-second model answer,
follow-ups with answers and a rubric. The history is a JSON file of self-scored attempts; the next question is
drawn with weight ``1 + (3 - mean of the last 3 scores)`` (an unseen question counts as a mean of 0.5), so
questions the learner scored low on, or never tried, come up more often.
"""
from __future__ import annotations

import datetime
import json
import os
import random
from pathlib import Path

BANK_PATH = Path(__file__).with_name("questions.json")
HISTORY_ENV = "PRUNERL_INTERVIEW_HISTORY"
MAX_SCORE = 3
UNSEEN_MEAN = 0.5
RECENT = 3


def load_bank(path: Path = BANK_PATH) -> list[dict]:
    return json.loads(Path(path).read_text())["questions"]


def question(qid: str, bank: list[dict] | None = None) -> dict:
    bank = bank or load_bank()
    for q in bank:
        if q["id"] == qid:
            return q
    raise KeyError(f"no question {qid!r}; known: {', '.join(q['id'] for q in bank)}")


def question_for_lesson(lesson: int, bank: list[dict] | None = None) -> dict:
    return next(q for q in (bank or load_bank()) if q["lesson"] == lesson)


def default_history_path() -> Path:
    return Path(os.environ.get(HISTORY_ENV) or Path.home() / ".prunerl" / "interview.json")


def load_history(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return json.loads(path.read_text()).get("attempts", [])


def save_history(path: Path, attempts: list[dict]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"attempts": attempts}, indent=2) + "\n")
    tmp.replace(path)


def record(attempts: list[dict], qid: str, score: int, seconds: float | None, answer: str = "") -> dict:
    if not 0 <= int(score) <= MAX_SCORE:
        raise ValueError(f"score must be 0..{MAX_SCORE}, got {score}")
    entry = {"id": qid, "score": int(score), "seconds": None if seconds is None else round(float(seconds), 1),
             "answer": answer, "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    attempts.append(entry)
    return entry


def mean_scores(attempts: list[dict], bank: list[dict]) -> dict[str, float | None]:
    """Mean of each question's last :data:`RECENT` self-scores (None when never attempted)."""
    out = {}
    for q in bank:
        scores = [a["score"] for a in attempts if a["id"] == q["id"]][-RECENT:]
        out[q["id"]] = sum(scores) / len(scores) if scores else None
    return out


def weights(attempts: list[dict], bank: list[dict]) -> dict[str, float]:
    """Sampling weight per question: low recent scores and unseen questions weigh more (1 .. 4)."""
    return {qid: 1.0 + (MAX_SCORE - (UNSEEN_MEAN if mean is None else mean))
            for qid, mean in mean_scores(attempts, bank).items()}


def choose(attempts: list[dict], bank: list[dict], rng: random.Random) -> dict:
    w = weights(attempts, bank)
    return rng.choices(bank, weights=[w[q["id"]] for q in bank], k=1)[0]
