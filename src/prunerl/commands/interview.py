"""``prunerl interview``: spaced-repetition interview practice (FSRS), mock interviews, timed coding rounds and
exports of the bilingual question bank. Every mode runs in a terminal and non-interactively."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ._args import positive_float, positive_int

PROBLEMS = ("threshold", "structured", "sparsify", "prune-agent", "compare")
MOCK_LIMIT = 120  # seconds per answer in a mock interview unless --time-limit says otherwise


def add_arguments(parser) -> None:
    parser.add_argument("--lang", default=None, choices=("en", "zh"),
                        help="en or zh (default: zh when LANG/LC_ALL starts with zh, else en)")
    parser.add_argument("--history", type=Path, default=None,
                        help="history file (default $PRUNERL_INTERVIEW_HISTORY or ~/.prunerl/interview.json)")
    parser.add_argument("--question", default=None, help="ask this question id (see --list)")
    parser.add_argument("--count", type=positive_int, default=1,
                        help="questions to practise, due ones first (default 1)")
    parser.add_argument("--mock", type=positive_int, metavar="N", default=None,
                        help="mock interview of N questions with a time limit per answer and a summary")
    parser.add_argument("--time-limit", type=positive_float, default=None, metavar="SECONDS",
                        help=f"seconds per answer (mock default {MOCK_LIMIT}; coding rounds: the problem's own limit)")
    parser.add_argument("--answers", type=Path, default=None,
                        help="answers file instead of the keyboard: JSON list of question entries, or the .py file "
                             "of a coding round")
    parser.add_argument("--dry-run", action="store_true",
                        help="show a question with its model answer, rubric and follow-ups (or write a coding task); "
                             "no input, no history")
    parser.add_argument("--list", action="store_true", help="list the questions with due dates and retention")
    parser.add_argument("--now", default=None, help="ISO date-time to use as the current time (planning, tests)")
    parser.add_argument("--coding", default=None, metavar="PROBLEM", choices=PROBLEMS,
                        help=f"timed coding round: {', '.join(PROBLEMS)}")
    parser.add_argument("--workdir", type=Path, default=Path("prunerl-coding"),
                        help="where a coding round writes its scratch file (default ./prunerl-coding)")
    parser.add_argument("--export", choices=("anki", "csv"), default=None, help="export the bank")
    parser.add_argument("--out", type=Path, default=None,
                        help="export file (default prunerl-interview-<lang>.apkg or .csv)")
    parser.add_argument("--json", action="store_true", help="coding round: print the report as JSON")


def _fail(message: str) -> int:
    print(f"prunerl interview: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    from rich.console import Console

    from ..course.interview import bank as B
    from ..course.interview import i18n, schedule

    lang = args.lang or i18n.default_lang()
    if lang not in B.LANGS:
        return _fail(f"unknown language {lang!r}: use en or zh")
    if args.coding is not None and args.coding not in PROBLEMS:
        return _fail(f"unknown coding problem {args.coding!r}: choose one of {', '.join(PROBLEMS)}")
    if args.answers is not None and not args.answers.is_file():
        return _fail(f"answers file {args.answers} not found")
    try:
        when = schedule.parse_time(args.now) if args.now else schedule.now_utc()
    except ValueError:
        return _fail(f"--now {args.now!r} is not an ISO date-time")
    console = Console(highlight=False, soft_wrap=True)
    bank = B.load_bank()
    if args.question is not None and args.question not in {q["id"] for q in bank}:
        return _fail(f"unknown question id {args.question!r} (see prunerl interview --list)")

    if args.export:
        from ..course.interview.export import export

        out = args.out or Path(f"prunerl-interview-{lang}.{'apkg' if args.export == 'anki' else 'csv'}")
        n = export(bank, args.export, out, lang)
        console.print(i18n.t(lang, "export_done", n=n, path=out))
        return 0
    if args.coding:
        from ..course.interview.coding import run_round

        return run_round(args.coding, lang, console, workdir=args.workdir, solution=args.answers,
                         dry_run=args.dry_run, limit=args.time_limit, as_json=args.json)

    history_path = args.history or schedule.default_history_path()
    try:
        history = schedule.History.load(history_path)
    except (OSError, ValueError, KeyError) as exc:
        return _fail(f"cannot read history {history_path}: {exc}")
    if history.migrated:
        console.print(i18n.t(lang, "migrated", n=history.migrated))
    if args.list:
        from ..course.interview.listing import print_list

        print_list(console, bank, history, when, lang)
        if history.migrated:
            history.save()
        return 0
    order = [B.question(args.question, bank)] if args.question else history.order(bank, when)
    if args.dry_run:
        from ..course.interview.session import header, show_reference

        q = order[0]
        L = B.localize(q, lang)
        console.print(header(q, lang, 1, 1))
        if L["claim"]:
            console.print(i18n.t(lang, "claim") + i18n.t(lang, "colon") + L["claim"], markup=False)
        console.print(L["question"], markup=False)
        show_reference(console, q, lang)
        return 0
    return _practise(args, console, bank, history, order, when, lang)


def _practise(args, console, bank, history, order, when, lang) -> int:
    from ..course.interview import i18n, session
    from ..course.interview.terminal import LineReader

    count = args.mock or args.count
    limit = args.time_limit if args.time_limit is not None else (float(MOCK_LIMIT) if args.mock else None)
    if args.answers:
        try:
            entries = json.loads(args.answers.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            return _fail(f"cannot read answers file {args.answers}: {exc}")
        entries = entries.get("answers", []) if isinstance(entries, dict) else entries
        if not isinstance(entries, list) or not entries:
            return _fail(f"answers file {args.answers} holds no answers")
        count = len(entries)
    elif not sys.stdin.isatty():
        return _fail(i18n.t(lang, "no_tty"))
    if not args.question and history.due_count(when) == 0 and all(q["id"] in history.cards for q in bank):
        console.print(i18n.t(lang, "nothing_due"))
    results, reader = [], None if args.answers else LineReader()
    queue = list(order)
    for n in range(1, count + 1):
        if args.answers:
            entry = entries[n - 1]
            qid = entry.get("id") if isinstance(entry, dict) else None
            try:
                q = _pick(qid or args.question, queue, bank)
                source = session.Scripted(entry, q)
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                return _fail(f"bad answers entry {n}: {exc}")
        else:
            q = _pick(args.question, queue, bank)
            source = session.Terminal(reader, lang)
        try:
            result = session.ask(console, q, lang, source, n, count, limit)
        except EOFError:
            break
        card = history.review(q["id"], result["score"], when, result["points"], result["follow_ups"],
                              result["seconds"], result["answer"])
        history.save()
        due = card.due.strftime("%Y-%m-%d %H:%M UTC")
        console.print(i18n.t(lang, "next_due", due=due, rating=card_rating(history)))
        results.append(result)
    if args.mock and results:
        session.summary(console, results, bank, lang)
    console.print(i18n.t(lang, "recorded", n=len(results), path=history.path), markup=False)
    return 0


def card_rating(history) -> str:
    names = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
    return names[history.reviews[-1]["rating"]]


def _pick(qid, queue: list[dict], bank: list[dict]) -> dict:
    from ..course.interview.bank import UnknownQuestion, question

    if qid:
        try:
            q = question(qid, bank)
        except UnknownQuestion:
            raise KeyError(f"unknown question id {qid!r}") from None
    else:
        q = queue[0] if queue else bank[0]
    if q in queue:
        queue.remove(q)
    return q
