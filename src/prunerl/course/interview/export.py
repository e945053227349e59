"""Export the bank to an Anki deck (genanki) or CSV, in one language."""
from __future__ import annotations

import csv
import html
import zlib
from pathlib import Path

from .bank import localize

HEADINGS = {"en": ("Rubric", "Follow-ups"), "zh": ("评分要点", "追问")}
FIELDS = ("id", "kind", "difficulty", "tags", "topic", "question", "answer", "follow_ups", "rubric", "lesson",
          "sources")


def rows(bank: list[dict], lang: str) -> list[dict]:
    out = []
    for q in bank:
        L = localize(q, lang)
        out.append({"id": q["id"], "kind": q["kind"], "difficulty": q["difficulty"], "tags": " ".join(q["tags"]),
                    "topic": L["topic"], "question": L["question"], "answer": L["answer"],
                    "follow_ups": "\n".join(f"Q: {f['q']}\nA: {f['a']}" for f in L["follow_ups"]),
                    "rubric": "\n".join(L["rubric"]), "lesson": L["lesson_ref"], "sources": "; ".join(L["sources"])})
    return out


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def to_anki(bank: list[dict], path: Path, lang: str) -> int:
    import genanki

    rubric, follow_ups = HEADINGS[lang]
    # Stable ids: re-importing an updated deck updates the notes instead of duplicating them.
    model = genanki.Model(
        zlib.crc32(f"prunerl-interview-model-{lang}".encode()), f"prunerl interview ({lang})",
        fields=[{"name": f} for f in FIELDS],
        templates=[{"name": "Card 1",
                    "qfmt": "<div class=meta>[{{difficulty}}] {{topic}}</div><div>{{question}}</div>",
                    "afmt": "{{FrontSide}}<hr id=answer><div>{{answer}}</div>"
                            f"<h4>{rubric}</h4><div>{{{{rubric}}}}</div><h4>{follow_ups}</h4><div>{{{{follow_ups}}}}</div>"
                            "<div class=meta>{{lesson}} · {{sources}}</div>"}],
        css=".card{font-family:sans-serif;font-size:18px;text-align:left}.meta{color:#777;font-size:14px}")
    deck = genanki.Deck(zlib.crc32(f"prunerl-interview-deck-{lang}".encode()), f"prunerl interview ({lang})")
    for row in rows(bank, lang):
        deck.add_note(genanki.Note(model=model, fields=[_html(row[f]) for f in FIELDS],
                                   guid=genanki.guid_for(row["id"], lang),
                                   tags=[row["kind"], row["difficulty"]] + row["tags"].split()))
    genanki.Package(deck).write_to_file(str(path))
    return len(deck.notes)


def to_csv(bank: list[dict], path: Path, lang: str) -> int:
    data = rows(bank, lang)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(data)
    return len(data)


def export(bank: list[dict], fmt: str, path: Path, lang: str) -> int:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return (to_anki if fmt == "anki" else to_csv)(bank, Path(path), lang)
