"""``prunerl interview --list``: every question with its due date and FSRS retention."""
from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.table import Table

from .bank import localize
from .i18n import KINDS, t


def print_list(console, bank: list[dict], history, when, lang: str) -> None:
    new = sum(q["id"] not in history.cards for q in bank)
    table = Table(title=t(lang, "list_title", n=len(bank), due=history.due_count(when), new=new, path=history.path),
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for key in ("col_id", "col_kind", "col_lesson", "col_due", "col_retention", "col_reviews", "col_last"):
        table.add_column(t(lang, key), no_wrap=True, min_width=cell_len(t(lang, key)))
    for q in history.order(bank, when):
        card, scores = history.card(q["id"]), history.scores(q["id"])
        if card is None:
            due, retention = t(lang, "new"), "-"
        else:
            due = t(lang, "due_now") if card.due <= when else card.due.strftime("%Y-%m-%d")
            retention = f"{100 * history.retention(q['id'], when):.0f}%"
        last = f"{100 * scores[-1]:.0f}%" if scores else "-"
        table.add_row(q["id"], f"{KINDS[lang][q['kind']]} [{q['difficulty']}]", str(localize(q, lang)["lesson"]), due,
                      retention, str(len(scores)), last)
    console.print(table)
