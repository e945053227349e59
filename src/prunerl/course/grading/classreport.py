"""Class-level views of a grading run's verified results: per-student scores (``prunerl grade --csv``) and the
class report (``prunerl report``: per test, who failed it and why, grouped by cause; per exercise, the score
distribution and how many notebooks were blank, crashed or wrong).

Only records whose signature verifies (``state``) are read; a folder with any record changed after grading is
refused rather than summarized.
"""
from __future__ import annotations

import csv
from collections import Counter
from html import escape as esc
from pathlib import Path

from .results import BLANK, CRASHED, STOPPED, UNGRADED, WRONG
from .state import load_state, student_id

SCORE_FIELDS = ("student", "assignment", "score", "max_score", "outcome", "failures", "flags")
TEST_FIELDS = ("assignment", "test", "max_score", "learners", "failed", "failed_share", "causes")
TOP_CAUSES = 5
# How a failed test or notebook is named to the instructor; a notebook takes the first kind among its failures.
CAUSES = {UNGRADED: "not graded", CRASHED: "crashed", STOPPED: "stopped", WRONG: "wrong", BLANK: "blank / not written"}
FULL = "full marks"


class ReportError(ValueError):
    """The grading folder cannot be read or verified (one line for the user)."""


def verified_results(out: Path) -> list[dict]:
    """Every verified result of the grading folder ``out``, one per (student, assignment), later records winning.

    Never creates a key: a folder without one was not made by ``prunerl grade`` (or lost it) and cannot be trusted."""
    out = Path(out)
    if not out.is_dir():
        raise ReportError(f"no such grading folder: {out}")
    state_path, key_path = out / "state.json", out / ".key"
    if not state_path.is_file():
        raise ReportError(f"{out} holds no state.json: grade into it with `prunerl grade --out {out}` first")
    key = key_path.read_bytes() if key_path.is_file() else b""
    if len(key) != 32:
        raise ReportError(f"{out} has no signing key (.key), so its results cannot be verified")
    state, tampered = load_state(state_path, key, resume=True)
    if "*" in tampered:
        raise ReportError(f"{state_path} cannot be read as a grading state")
    if tampered:
        raise ReportError(f"{len(tampered)} record(s) of {state_path} changed after grading (signature mismatch): "
                          "run `prunerl grade` again")
    if not state["results"]:
        raise ReportError(f"{state_path} holds no verified results")
    return merge([entry["result"] for entry in state["results"].values()])


def merge(results: list[dict]) -> list[dict]:
    """One result per (student, assignment): the last one given."""
    by: dict[tuple[str, str], dict] = {}
    for res in results:
        if res.get("assignment"):
            by[(student_id(res), res["assignment"])] = res
    return [by[k] for k in sorted(by)]


def _cell(value):
    """Text that a spreadsheet would run as a formula is quoted (messages can be learner-controlled)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _write(path: Path, fields, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        for row in rows:
            writer.writerow([_cell(row[k]) for k in fields])


def _failed(test: dict) -> bool:
    return test["score"] < test["max_score"]


def cause(test: dict) -> str:
    """A failed test's cause as the report groups it: its kind and its message ("wrong: got ...")."""
    return f"{CAUSES.get(test.get('kind'), 'failed')}: {test.get('message') or 'no message'}"


def outcome(result: dict) -> str:
    """A notebook in one phrase: full marks, or the weightiest kind among its failed tests (CAUSES' order)."""
    kinds = {t.get("kind") for t in result.get("tests", []) if _failed(t)}
    if not kinds and result["score"] >= result["max_score"]:
        return FULL
    return next((label for kind, label in CAUSES.items() if kind in kinds), "failed")


def score_rows(results: list[dict]) -> list[dict]:
    return [{"student": student_id(r), "assignment": r["assignment"], "score": f"{r['score']:g}",
             "max_score": f"{r['max_score']:g}", "outcome": outcome(r),
             "failures": " | ".join(f"{t['id']}: {cause(t)}" for t in r.get("tests", []) if _failed(t)),
             "flags": " | ".join(map(str, r.get("flags") or []))}
            for r in merge(results)]


def write_scores(path: Path, results: list[dict]) -> None:
    """Per-student, per-assignment scores as CSV (student, assignment, score, max_score, outcome, each failed test
    with its cause, flags)."""
    _write(Path(path), SCORE_FIELDS, score_rows(results))


def _learners(n: int) -> str:
    return f"{n} learner{'' if n == 1 else 's'}"


def failure_rows(results: list[dict]) -> list[dict]:
    """Per assignment and test: learners, how many failed it (scored below its maximum), and the causes of their
    failures, commonest first (``cause``)."""
    rows: dict[tuple[str, str], dict] = {}
    for res in merge(results):
        for test in res.get("tests", []):
            row = rows.setdefault((res["assignment"], test["id"]), {
                "assignment": res["assignment"], "test": test["id"], "max_score": test["max_score"],
                "learners": 0, "failed": 0, "counts": Counter()})
            row["learners"] += 1
            if _failed(test):
                row["failed"] += 1
                row["counts"][cause(test)] += 1
    out = []
    for row in rows.values():
        row["failed_share"] = round(row["failed"] / row["learners"], 4)
        counts = row.pop("counts")
        row["top"] = counts.most_common(TOP_CAUSES)
        others = len(counts) - len(row["top"])
        row["causes"] = " | ".join(f"{_learners(n)}: {c}" for c, n in row["top"]) + (
            f" | {others} other cause(s)" if others > 0 else "")
        row["max_score"] = f"{row['max_score']:g}"
        out.append(row)
    return out


def _plots(assignment: str, scores: list[float], max_score: float, tests: list[dict], folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(scores, bins=[x - 0.5 for x in range(int(max_score) + 2)] if max_score <= 40 else 20,
            color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"score (max {max_score:g})")
    ax.set_ylabel("learners")
    ax.set_title(f"{assignment}: scores of {len(scores)} learner(s)")
    fig.tight_layout()
    names.append(f"{assignment}-scores.png")
    fig.savefig(folder / names[-1], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 0.6 + 0.35 * len(tests)))
    ax.barh([t["test"] for t in tests], [100 * t["failed_share"] for t in tests], color="#c44e52")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("learners who failed the test (%)")
    ax.set_title(f"{assignment}: failed tests")
    fig.tight_layout()
    names.append(f"{assignment}-tests.png")
    fig.savefig(folder / names[-1], dpi=100)
    plt.close(fig)
    return names


def _outcomes(results: list[dict]) -> str:
    """Notebooks by outcome (full marks, blank, crashed, wrong, ...), with the learners' ids."""
    by: dict[str, list[str]] = {}
    for r in results:
        by.setdefault(outcome(r), []).append(student_id(r))
    order = [FULL, *CAUSES.values(), "failed"]
    items = "".join(f"<li>{esc(label)}: {len(by[label])} ({esc(', '.join(sorted(by[label])))})</li>"
                    for label in order if label in by)
    return f"<p>Notebooks by outcome:</p><ul class='outcomes'>{items}</ul>"


def write_report(results: list[dict], folder: Path) -> dict[str, Path]:
    """``report.html`` (with one score histogram and one failed-tests chart per exercise, PNG files beside it),
    ``report.csv`` (per test) and ``scores.csv`` (per learner) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    results = merge(results)
    tests = failure_rows(results)
    _write(folder / "report.csv", TEST_FIELDS, tests)
    write_scores(folder / "scores.csv", results)
    body = [f"<h1>Class report</h1><p>{len({student_id(r) for r in results})} learner(s), "
            f"{len(results)} graded notebook(s).</p>"]
    for assignment in sorted({r["assignment"] for r in results}):
        mine = [r for r in results if r["assignment"] == assignment]
        scores = [float(r["score"]) for r in mine]
        max_score = max(float(r["max_score"]) for r in mine)
        rows = [t for t in tests if t["assignment"] == assignment]
        images = _plots(assignment, scores, max_score, rows, folder)
        full = sum(s >= max_score for s in scores)
        body.append(f"<h2>{esc(assignment)}</h2><p>{len(mine)} learner(s); full marks: {full}; median score "
                    f"{sorted(scores)[len(scores) // 2]:g} / {max_score:g}.</p>")
        body.append(_outcomes(mine))
        body += [f'<img src="{esc(name)}" alt="{esc(name)}">' for name in images]
        body.append("<table><tr><th>test</th><th>points</th><th>failed</th><th>causes</th></tr>")
        for t in sorted(rows, key=lambda t: -t["failed_share"]):
            msgs = "".join(f"<li>{_learners(n)}: {esc(c)}</li>" for c, n in t["top"])
            body.append(f"<tr><td>{esc(t['test'])}</td><td>{esc(t['max_score'])}</td>"
                        f"<td>{t['failed']} / {t['learners']} ({100 * t['failed_share']:.0f} %)</td>"
                        f"<td><ul>{msgs}</ul></td></tr>")
        body.append("</table>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left}img{display:block}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Class report</title><style>{style}</style>"
            f"</head><body>{''.join(body)}</body></html>\n")
    (folder / "report.html").write_text(page, encoding="utf-8")
    return {"html": folder / "report.html", "csv": folder / "report.csv", "scores": folder / "scores.csv"}
