"""Interview practice: a bilingual question bank (one source of truth for the lessons too), FSRS scheduling of
reviews, mock interviews, timed coding rounds and exports. See ``docs/interview.md``."""
from __future__ import annotations

from .bank import LANGS, UnknownQuestion, load_bank, localize, question, question_for_lesson  # noqa: F401
from .schedule import HISTORY_ENV, History, default_history_path  # noqa: F401
