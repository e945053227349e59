"""The question bank: bilingual JSON files in ``bank/``, one question per object (schema in :mod:`.schema`).

A question's texts are ``{"en": ..., "zh": ...}``; :func:`localize` turns one into the flat, one-language view the
lessons and the terminal read (``question``, ``answer``, ``follow_ups`` [{``q``, ``a``}], ``rubric`` [str]).
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

BANK_DIR = Path(__file__).with_name("bank")
LANGS = ("en", "zh")
KINDS = ("concept", "scenario", "numeric", "trap")
DIFFICULTIES = ("E", "M", "H")


class UnknownQuestion(KeyError):
    """No question with that id (the CLI prints it as one line)."""


@lru_cache(maxsize=4)
def _load(directory: str) -> tuple[dict, ...]:
    questions = []
    for path in sorted(Path(directory).glob("*.json")):
        questions += json.loads(path.read_text(encoding="utf-8"))["questions"]
    return tuple(questions)


def load_bank(directory: Path = BANK_DIR) -> list[dict]:
    """Every question, in file order (the blog's eight first)."""
    return [dict(q) for q in _load(str(directory))]


def question(qid: str, bank: list[dict] | None = None) -> dict:
    for q in bank or load_bank():
        if q["id"] == qid:
            return q
    raise UnknownQuestion(qid)


def lesson_number(q: dict) -> int:
    """1..8 from the lesson file name (``lessons/03_...py`` -> 3)."""
    return int(re.match(r"(\d+)_", Path(q["lesson"]["file"]).name).group(1))


def localize(q: dict, lang: str = "en") -> dict:
    """The one-language view of a question (the shape the lessons and older code read)."""
    return {
        "id": q["id"], "kind": q["kind"], "difficulty": q["difficulty"], "tags": list(q["tags"]),
        "lesson": lesson_number(q), "lesson_ref": f"{q['lesson']['file']} § {q['lesson']['heading']}",
        "topic": q["topic"][lang], "question": q["question"][lang], "answer": q["answer"][lang],
        "follow_ups": [{"q": f["q"][lang], "a": f["a"][lang]} for f in q["follow_ups"]],
        "rubric": [r[lang] for r in q["rubric"]], "sources": list(q["sources"]),
        "claim": q["claim"][lang] if "claim" in q else None,
    }


def question_for_lesson(lesson: int, lang: str = "en", bank: list[dict] | None = None) -> dict:
    """The lesson's blog question (blog question N backs lesson N), localized."""
    return localize(next(q for q in (bank or load_bank()) if q.get("blog") == lesson), lang)
