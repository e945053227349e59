"""``prunerl interview``: a terminal mock interview on the course's eight concept questions."""
from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--count", type=int, default=1, help="questions to ask (default 1)")
    parser.add_argument("--history", type=Path, default=None,
                        help="history file (default $PRUNERL_INTERVIEW_HISTORY or ~/.prunerl/interview.json)")
    parser.add_argument("--seed", type=int, default=None, help="seed the question draw (reproducible)")
    parser.add_argument("--question", default=None, help="ask this question id (see --list)")
    parser.add_argument("--dry-run", action="store_true",
                        help="ask one question, print its model answer and rubric; no input, no history")
    parser.add_argument("--answers", type=Path, default=None,
                        help='JSON list of {"id" (optional), "answer", "score" 0-3}: no prompts')
    parser.add_argument("--list", action="store_true", help="list the questions with your mean recent score")


def _show(console, q: dict, follow_ups: bool = True) -> None:
    from rich.panel import Panel

    console.print(Panel(q["answer"], title="model answer (60 s)", border_style="green"))
    console.print("[bold]Rubric[/bold] (score 3 = every point made clearly, 2 = most, 1 = some, 0 = none):")
    for item in q["rubric"]:
        console.print(f"  • {item}")
    if follow_ups and q.get("follow_ups"):
        f = q["follow_ups"][0]
        console.print(f"[bold]Follow-up:[/bold] {f['q']}\n  [dim]{f['a']}[/dim]")


def _ask_score(console) -> int:
    while True:
        raw = input("Your score 0-3 (empty = skip): ").strip()
        if raw == "":
            return -1
        if raw in {"0", "1", "2", "3"}:
            return int(raw)
        console.print("[red]enter 0, 1, 2 or 3[/red]")


def run(args) -> int:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    from .. import interview as iv

    console = Console()
    bank = iv.load_bank()
    history_path = args.history or iv.default_history_path()
    attempts = iv.load_history(history_path)
    rng = random.Random(args.seed)

    if args.list:
        means, w = iv.mean_scores(attempts, bank), iv.weights(attempts, bank)
        table = Table(title=f"interview questions (history: {history_path})")
        for col in ("id", "lesson", "topic", "recent mean", "weight"):
            table.add_column(col)
        for q in bank:
            mean = means[q["id"]]
            shown = "-" if mean is None else f"{mean:.1f}"
            table.add_row(q["id"], str(q["lesson"]), q["topic"], shown, f"{w[q['id']]:.1f}")
        console.print(table)
        return 0

    def draw(qid: str | None) -> dict:
        return iv.question(qid, bank) if qid else iv.choose(attempts, bank, rng)

    if args.dry_run:
        q = draw(args.question)
        console.print(Panel(q["question"], title=f"[{q['id']}] lesson {q['lesson']}: {q['topic']}"))
        _show(console, q)
        return 0

    if args.answers:
        try:
            entries = json.loads(Path(args.answers).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            console.print(f"[red]cannot read answers file {args.answers}: {exc}[/red]")
            return 2
        if isinstance(entries, dict):
            entries = entries.get("answers", [])
        for entry in entries:
            try:
                q = draw(entry.get("id") or args.question)
                answer = entry.get("answer", "")
                iv.record(attempts, q["id"], int(entry["score"]), entry.get("seconds"), answer)
            except (KeyError, ValueError, TypeError) as exc:
                console.print(f"[red]bad answers entry {entry!r}: {exc}[/red]")
                return 2
            console.print(Panel(q["question"], title=f"[{q['id']}] {q['topic']}"))
            console.print(f"[bold]Your answer:[/bold] {entry.get('answer', '')}")
            _show(console, q, follow_ups=False)
            console.print(f"self-score: {entry['score']}/3\n")
        iv.save_history(history_path, attempts)
        console.print(f"{len(entries)} answer(s) recorded in {history_path}")
        return 0

    if not sys.stdin.isatty():
        console.print("[red]no terminal: use --dry-run or --answers FILE[/red]")
        return 2
    for n in range(args.count):
        q = draw(args.question)
        console.print(Panel(q["question"], title=f"question {n + 1}/{args.count} [{q['id']}] {q['topic']}"))
        console.print("[dim]Answer aloud or type; an empty line ends it (aim for 60 s).[/dim]")
        start, lines = time.perf_counter(), []
        try:
            while (line := input()) != "":
                lines.append(line)
        except EOFError:
            pass
        seconds = time.perf_counter() - start
        note = " (over 90 s: tighten it)" if seconds > 90 else ""
        console.print(f"[bold]{seconds:.0f} s[/bold]{note}")
        _show(console, q)
        score = _ask_score(console)
        if score >= 0:
            iv.record(attempts, q["id"], score, seconds, "\n".join(lines))
            iv.save_history(history_path, attempts)
    console.print(f"history: {history_path}")
    return 0
