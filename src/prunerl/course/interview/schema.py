"""Validation of the question bank: structure, both languages, lesson references, and every number it quotes.

A question may carry ``checks``: each one ties a number in its text to where it comes from, either a committed
artefact (``artefact`` path + ``pattern`` with one group, ``key`` into a JSON file, or ``row`` + ``column`` of a
CSV file: the one row whose cells equal ``row``) or arithmetic (``expr``).
The check passes when the artefact yields ``value`` and ``value`` appears in the question's text in both languages.
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


def _arith(expr: str) -> float:
    """Evaluate plain arithmetic (and ``t_ppf``, Student-t quantiles); nothing else is allowed."""
    tree = ast.parse(expr, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.operator, ast.unaryop, ast.Call, ast.Name,
               ast.Load)
    for node in ast.walk(tree):
        if not isinstance(node, allowed) or (isinstance(node, ast.Name) and node.id != "t_ppf"):
            raise ValueError(f"not plain arithmetic: {expr!r}")
    from scipy.stats import t

    return eval(compile(tree, "<check>", "eval"), {"__builtins__": {}}, {"t_ppf": t.ppf})  # noqa: S307


def measured(check: dict, root: Path = ROOT) -> str:
    """The value a check's source gives today, as text."""
    if "expr" in check:
        return check["format"].format(_arith(check["expr"]))
    text = (root / check["artefact"]).read_text(encoding="utf-8")
    if "key" in check:
        value = json.loads(text)
        for part in check["key"].split("."):
            value = value[part]
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


def number_errors(bank: list[dict], root: Path = ROOT) -> list[str]:
    errors = []
    for q in bank:
        for check in q.get("checks", []):
            source = check.get("artefact") or check.get("expr")
            try:
                got = measured(check, root)
            except (OSError, LookupError, ValueError, KeyError) as exc:
                errors.append(f"{q['id']}: {source}: {exc}")
                continue
            if got != check["value"]:
                errors.append(f"{q['id']}: {source} gives {got}, the bank says {check['value']}")
            wanted = re.compile(r"(?<![\d.,])" + re.escape(check["value"]) + r"(?!,?\d|\.\d)")
            for lang in LANGS:
                if not wanted.search(_texts(q, lang)):
                    errors.append(f"{q['id']}: {check['value']} is checked but not quoted in the {lang} text")
    return errors
