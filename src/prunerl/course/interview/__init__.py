"""Interview practice: a bilingual question bank (one source of truth for the lessons too), FSRS scheduling of
reviews, mock interviews, timed coding rounds and exports. See ``docs/interview.md``."""
from __future__ import annotations

from .bank import LANGS, UnknownQuestion, load_bank, localize, question, question_for_lesson  # noqa: F401

# The scheduler needs fsrs (the ``course`` extra); the bank does not, and the lessons read the bank.
_SCHEDULE = {"HISTORY_ENV", "History", "default_history_path"}


def __getattr__(name: str):
    if name in _SCHEDULE:
        from . import schedule

        return getattr(schedule, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
