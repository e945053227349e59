"""One interview question, asked the way an interviewer would: the question, the answer, each follow-up after
the previous answer, then the review: model answers and the rubric ticked point by point. The score is the
fraction of rubric points and follow-ups met. Input comes from the terminal or from an answers file entry."""
from __future__ import annotations

from collections import defaultdict

from rich.markup import escape
from rich.panel import Panel

from .bank import localize
from .i18n import KINDS, YES, t


class Terminal:
    """Answers and ticks typed by the candidate."""

    scripted = False

    def __init__(self, reader, lang: str):
        self.reader, self.lang = reader, lang

    def answer(self, limit):
        return self.reader.read_answer(limit)

    def tick(self, prompt: str, _label: str) -> bool:
        return self.reader.ask(prompt, YES, t(self.lang, "yes_no"))


class Scripted:
    """Answers and ticks from one answers-file entry:
    ``{"id", "answer", "points": [bool per rubric point], "follow_ups": [{"answer", "correct"}], "seconds"}``
    (a format-1 entry with ``"score"`` 0-3 ticks that share of the rubric, in order)."""

    scripted = True

    def __init__(self, entry: dict, q: dict):
        n_points, n_follow = len(q["rubric"]), len(q["follow_ups"])
        follow = entry.get("follow_ups", [])
        self.answers = [str(entry.get("answer", ""))] + [str(f.get("answer", "")) for f in follow]
        if "points" in entry:
            points = [bool(p) for p in entry["points"]]
            if len(points) != n_points:
                raise ValueError(f"{q['id']} has {n_points} rubric points, the entry ticks {len(points)}")
            self.ticks = points + [bool(f.get("correct", False)) for f in follow] + [False] * (n_follow - len(follow))
        elif "score" in entry and entry["score"] in range(4):
            k = round(entry["score"] * (n_points + n_follow) / 3)
            self.ticks = [i < k for i in range(n_points + n_follow)]
        else:
            raise ValueError("needs \"points\" (one true/false per rubric point) or \"score\" 0-3")
        self.seconds = entry.get("seconds")

    def answer(self, _limit):
        text = self.answers.pop(0) if self.answers else ""
        return text, 0.0 if self.seconds is None else float(self.seconds), False

    def tick(self, _prompt: str, label: str) -> bool:
        value = self.ticks.pop(0)
        print(f"  [{'x' if value else ' '}] {label}")
        return value


def header(q: dict, lang: str, n: int, total: int) -> str:
    L = localize(q, lang)
    return (f"{t(lang, 'question', n=n, total=total)} · [{q['id']}] {L['topic']} · {KINDS[lang][q['kind']]} · "
            f"{t(lang, 'difficulty')} [{q['difficulty']}] · {t(lang, 'lesson')} {L['lesson']}")


def show_reference(console, q: dict, lang: str) -> None:
    """Everything at once (the --dry-run view)."""
    L = localize(q, lang)
    console.print(Panel(escape(L["answer"]), title=t(lang, "model_answer"), border_style="green"), soft_wrap=False)
    console.print(t(lang, "rubric"))
    for point in L["rubric"]:
        console.print(f"  [ ] {escape(point)}", highlight=False)
    for i, f in enumerate(L["follow_ups"], 1):
        console.print(f"{t(lang, 'follow_up', i=i, n=len(L['follow_ups']))}{t(lang, 'colon')}{escape(f['q'])}\n"
                      f"  {escape(f['a'])}", highlight=False)
    console.print(f"{L['lesson_ref']} · {'; '.join(L['sources'])}", highlight=False, markup=False)


def ask(console, q: dict, lang: str, source, n: int = 1, total: int = 1, limit: float | None = None) -> dict:
    L = localize(q, lang)
    # The header goes on its own (wrapping) line: as a panel title it would be cut at the terminal's width.
    console.print(f"[bold]{escape(header(q, lang, n, total))}[/bold]")
    console.print(Panel(escape(L["question"])), soft_wrap=False)
    if L["claim"]:
        console.print(t(lang, "claim") + t(lang, "colon") + escape(L["claim"]), highlight=False)
    console.print(t(lang, "answer_prompt") + (" " + t(lang, "limit", seconds=int(limit)) if limit else ""))

    def take() -> tuple[str, float]:
        console.file.flush()
        text, seconds, timed_out = source.answer(limit)
        if not text.strip() and not timed_out and not source.scripted:  # an empty line at once: ask again
            console.print(f"[dim]{t(lang, 'empty')}[/dim]")
            console.file.flush()
            text, more, timed_out = source.answer(None if limit is None else max(0.0, limit - seconds))
            seconds += more
        if not text.strip():
            console.print(f"[dim]{t(lang, 'skipped')}[/dim]")
        if source.scripted:
            console.print(t(lang, "your_answer") + t(lang, "colon") + escape(text), highlight=False)
        if timed_out:
            console.print(f"[dim]{t(lang, 'time_up', seconds=int(limit))}[/dim]")
        elif not source.scripted or source.seconds is not None:
            console.print(f"[dim]{t(lang, 'took', seconds=seconds)}[/dim]")
        return text, seconds

    answer, seconds = take()
    for i, f in enumerate(L["follow_ups"], 1):
        console.print(f"[bold]{t(lang, 'follow_up', i=i, n=len(L['follow_ups']))}{t(lang, 'colon')}[/bold]"
                      f"{escape(f['q'])}")
        seconds += take()[1]
    console.print(Panel(escape(L["answer"]), title=t(lang, "model_answer"), border_style="green"), soft_wrap=False)
    console.print(t(lang, "rubric"))
    console.file.flush()
    n_points = len(L["rubric"])
    points = [source.tick(t(lang, "point_prompt", i=i, n=n_points, point=p), p) for i, p in enumerate(L["rubric"], 1)]
    follow = [source.tick(t(lang, "follow_up_check", i=i, n=len(L["follow_ups"]), q=f["q"], a=f["a"]), f["q"])
              for i, f in enumerate(L["follow_ups"], 1)]
    got, out_of = sum(points) + sum(follow), len(points) + len(follow)
    console.print(t(lang, "score", got=got, total=out_of, pct=100 * got / out_of), highlight=False)
    return {"id": q["id"], "score": got / out_of, "points": points, "follow_ups": follow, "seconds": seconds,
            "answer": answer}


def summary(console, results: list[dict], bank: list[dict], lang: str) -> dict:
    """Weakest topics (tags by mean score) and lessons to revisit (questions below 75 %)."""
    by_id = {q["id"]: q for q in bank}
    tags = defaultdict(list)
    for r in results:
        for tag in by_id[r["id"]]["tags"]:
            tags[tag].append(r["score"])
    weakest = sorted(((sum(v) / len(v), tag) for tag, v in tags.items() if sum(v) / len(v) < 1.0))[:3]
    revisit = sorted({localize(by_id[r["id"]], lang)["lesson_ref"] for r in results if r["score"] < 0.75})
    console.print(Panel(t(lang, "summary"), border_style="cyan"), soft_wrap=False)
    for r in results:
        console.print(f"  {r['id']}: {100 * r['score']:.0f} %", highlight=False)
    none, colon = t(lang, "none"), t(lang, "colon")
    console.print(t(lang, "weakest") + colon + (", ".join(f"{tag} ({100 * s:.0f} %)" for s, tag in weakest) or none),
                  highlight=False)
    console.print(t(lang, "revisit") + colon + ("; ".join(revisit) or none), highlight=False, markup=False)
    console.print(t(lang, "total_time", seconds=sum(r["seconds"] for r in results), n=len(results)), highlight=False)
    return {"weakest": [tag for _s, tag in weakest], "revisit": revisit}
