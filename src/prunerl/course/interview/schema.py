"""Validation of the question bank: structure, both languages, lesson references, and every number it quotes.

A question may carry ``checks``: each one ties a number in its text to where it comes from, either a committed
artefact (``artefact`` path + ``pattern`` with one group, ``key`` into a JSON file, or ``row`` + ``column`` of a
CSV file: the one row whose cells equal ``row``) or arithmetic (``expr``).
The check passes when the artefact yields ``value`` and ``value`` appears in the question's text in both languages.
A check may carry a ``name``; a question's ``facts`` (``{"where": "rubric[3]", "holds": "a > b"}``) state, over those
names, what its prose asserts, and fail when the recorded numbers contradict it. Every decimal number of an answer
or a rubric point is a checked ``value`` or one of the question's ``givens`` (numbers the question itself sets).
"""
from __future__ import annotations

import ast
import csv
import json
import re
from pathlib import Path

from .bank import DIFFICULTIES, KINDS, LANGS

TEXT_FIELDS = ("topic", "question", "answer")
ROOT = Path(__file__).resolve().parents[4]


def _bilingual(value, where: str) -> list[str]:
    if not isinstance(value, dict) or set(value) != set(LANGS):
        return [f"{where}: needs exactly {LANGS}"]
    return [f"{where}.{lang}: empty" for lang in LANGS if not str(value[lang]).strip()]


def structure_errors(bank: list[dict], root: Path = ROOT) -> list[str]:
    errors, seen = [], set()
    blog = sorted(q["blog"] for q in bank if "blog" in q)
    if blog != list(range(1, 9)):
        errors.append(f"blog questions 1..8 each exactly once, got {blog}")
    for q in bank:
        qid = q.get("id", "?")
        if qid in seen:
            errors.append(f"{qid}: duplicate id")
        seen.add(qid)
        if q.get("kind") not in KINDS:
            errors.append(f"{qid}: kind {q.get('kind')!r} not in {KINDS}")
        if q.get("difficulty") not in DIFFICULTIES:
            errors.append(f"{qid}: difficulty {q.get('difficulty')!r} not in {DIFFICULTIES}")
        if not q.get("tags") or not all(isinstance(t, str) and t for t in q["tags"]):
            errors.append(f"{qid}: needs tags")
        if not q.get("sources"):
            errors.append(f"{qid}: needs sources")
        for field in TEXT_FIELDS:
            errors += _bilingual(q.get(field), f"{qid}.{field}")
        rubric = q.get("rubric", [])
        if not 3 <= len(rubric) <= 5:
            errors.append(f"{qid}: rubric has {len(rubric)} points, needs 3-5")
        for i, point in enumerate(rubric):
            errors += _bilingual(point, f"{qid}.rubric[{i}]")
        chain = q.get("follow_ups", [])
        low = 2 if "blog" in q else 1
        if not low <= len(chain) <= 4:
            errors.append(f"{qid}: {len(chain)} follow-ups, needs {low}-4")
        for i, f in enumerate(chain):
            for key in ("q", "a"):
                errors += _bilingual(f.get(key), f"{qid}.follow_ups[{i}].{key}")
        if q.get("kind") == "trap":
            errors += _bilingual(q.get("claim"), f"{qid}.claim")
        if q.get("kind") == "numeric" and not q.get("checks"):
            errors.append(f"{qid}: a numeric question needs checks")
        errors += lesson_errors(q, root)
    return errors


def lesson_errors(q: dict, root: Path = ROOT) -> list[str]:
    ref = q.get("lesson") or {}
    path = root / str(ref.get("file", ""))
    if not ref.get("file") or not path.is_file():
        return [f"{q.get('id')}: lesson file {ref.get('file')!r} does not exist"]
    headings = {re.sub(r"^#\s*#+\s*", "", line).strip() for line in path.read_text(encoding="utf-8").splitlines()
                if re.match(r"#\s*#+\s", line)}
    if ref.get("heading") not in headings:
        return [f"{q.get('id')}: no heading {ref.get('heading')!r} in {ref['file']}"]
    return []


def _arith(expr: str, names: dict | None = None) -> float:
    """Evaluate plain arithmetic and comparisons (and ``t_ppf``, Student-t quantiles, and the given ``names``);
    nothing else is allowed."""
    tree = ast.parse(expr, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.operator, ast.unaryop, ast.Call, ast.Name,
               ast.Load, ast.Compare, ast.cmpop, ast.BoolOp, ast.boolop)
    scope = {**(names or {}), "t_ppf": None}
    for node in ast.walk(tree):
        if not isinstance(node, allowed) or (isinstance(node, ast.Name) and node.id not in scope):
            raise ValueError(f"not plain arithmetic: {expr!r}")
    from scipy.stats import t

    return eval(compile(tree, "<check>", "eval"), {"__builtins__": {}}, {**scope, "t_ppf": t.ppf})  # noqa: S307


def measured(check: dict, root: Path = ROOT) -> str:
    """The value a check's source gives today, as text."""
    if "expr" in check:
        return check["format"].format(_arith(check["expr"]))
    text = (root / check["artefact"]).read_text(encoding="utf-8")
    if "key" in check:
        value, parts = json.loads(text), check["key"].split(".")
        while parts:  # a key may itself hold dots ("values.acrobot-dqn:dormant_s90:0.025:iqm"): longest match first
            n = next((n for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in value), None)
            if n is None:
                raise KeyError(check["key"])
            value, parts = value[".".join(parts[:n])], parts[n:]
        return check["format"].format(value)
    if "row" in check:
        rows = [r for r in csv.DictReader(text.splitlines()) if all(r.get(k) == v for k, v in check["row"].items())]
        if len(rows) != 1:
            raise LookupError(f"{len(rows)} rows of {check['artefact']} match {check['row']}")
        return check["format"].format(float(rows[0][check["column"]]))
    match = re.search(check["pattern"], text, flags=re.M)
    if not match:
        raise LookupError(f"pattern {check['pattern']!r} not found in {check['artefact']}")
    return match.group(1)


def _texts(q: dict, lang: str) -> str:
    parts = [q[f][lang] for f in TEXT_FIELDS] + [r[lang] for r in q["rubric"]]
    parts += [f[k][lang] for f in q["follow_ups"] for k in ("q", "a")]
    return " ".join(parts).replace(" %", "%")


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").replace("−", "-"))


def _fact_errors(q: dict, names: dict) -> list[str]:
    errors = []
    for fact in q.get("facts", []):
        try:
            holds = _arith(fact["holds"], names)
        except (ValueError, SyntaxError) as exc:
            errors.append(f"{q['id']}: fact {fact['holds']!r}: {exc}")
            continue
        if not holds:
            errors.append(f"{q['id']}: {fact['where']} contradicts the recorded numbers ({fact['holds']} is false "
                          f"with {', '.join(f'{k} = {v:g}' for k, v in names.items())})")
    return errors


DECIMAL = re.compile(r"(?<![\w.\-])\d[\d,]*\.\d+")


def unchecked_numbers(bank: list[dict]) -> list[str]:
    """Decimal numbers in answers and rubric points that no check ties to an artefact and the question does not
    set itself (``givens``)."""
    errors = []
    for q in bank:
        known = {n for c in q.get("checks", []) for n in DECIMAL.findall(c["value"])}
        known |= {str(g) for g in q.get("givens", [])}
        for lang in LANGS:
            for text in [q["answer"][lang]] + [r[lang] for r in q["rubric"]]:
                errors += [f"{q['id']}: {m.group(0)} ({lang}) is neither checked nor given"
                           for m in DECIMAL.finditer(text) if m.group(0) not in known]
    return errors


def number_errors(bank: list[dict], root: Path = ROOT) -> list[str]:
    errors = []
    for q in bank:
        names = {}
        for check in q.get("checks", []):
            source = check.get("artefact") or check.get("expr")
            try:
                got = measured(check, root)
            except (OSError, LookupError, ValueError, KeyError) as exc:
                errors.append(f"{q['id']}: {source}: {exc}")
                continue
            if got != check["value"]:
                errors.append(f"{q['id']}: {source} gives {got}, the bank says {check['value']}")
            if "name" in check:
                names[check["name"]] = _number(got)
            wanted = re.compile(r"(?<![\d.,])" + re.escape(check["value"]) + r"(?!,?\d|\.\d)")
            for lang in LANGS:
                if not wanted.search(_texts(q, lang)):
                    errors.append(f"{q['id']}: {check['value']} is checked but not quoted in the {lang} text")
        errors += _fact_errors(q, names)
    return errors
