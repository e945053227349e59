"""Use of the course's reference, found in the learner's source, outside the kernel where nothing can switch it off.

The course library is public, so copying it cannot be prevented while a notebook runs. It is detected here, in the
code cells the learner wrote (every code cell but those nbgrader restores from the master copy, wherever the learner
put them), and routed to an instructor: each graded cell that uses such code scores 0, held for review with the
evidence. The evidence, each piece tied to the learner's name it taints (a function, a class, a bound name):

- the exercise's reference modules, named in imports, attributes or strings (``importlib`` or ``open`` of
  ``pruning.py`` name it too);
- machinery that copies functions or runs code made elsewhere (``__code__``, ``FunctionType``, ``exec``,
  ``importlib``, ``sys.modules`` ...): an honest solution needs none of it;
- the grader's own internals (``checks``, its records, its variables);
- a function whose syntax tree, names and docstrings aside, is close to a reference function's (``difflib``).

A name whose code uses a tainted name is tainted too; a graded cell is held when a name it uses is tainted. Code at
the top level of a cell that binds no name taints every graded cell.
"""
from __future__ import annotations

import ast
import difflib
import functools
import importlib
import inspect
import re

REFERENCE = {"ex1": ("pruning", "recipes"), "ex2": ("structured",), "ex3": (), "ex4": ("pruning", "recipes"),
             "ex5": ("pruning", "recipes")}
MACHINERY = {"__code__", "FunctionType", "CodeType", "LambdaType", "__import__", "importlib", "marshal", "runpy",
             "__globals__", "__closure__", "getsource", "getsourcelines", "spec_from_file_location", "exec_module",
             "module_from_spec", "SourceFileLoader", "ctypes"}
BUILTINS = {"exec", "eval", "compile", "globals"}  # as names only: model.eval() is fine
INTERNALS = {"checks", "harness"}  # the collectors the set-up cell imports, and their module
INTERNAL_TEXT = re.compile(r"PRUNERL_|prunerl[./]course|check-records|check-params")
SIMILAR, MIN_TOKENS = 0.85, 60  # measured: no course solution comes above 0.7 (tests/test_verdicts.py)
TOKEN = re.compile(r"\w+|[^\w\s]")
BINDING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign)


def _refs_text(refs: tuple[str, ...]) -> re.Pattern | None:
    if not refs:
        return None
    alt = "|".join(refs)
    return re.compile(rf"prunerl\s*[./]\s*({alt})\b|\b({alt})\.py\b")


def _finds(node: ast.AST, refs: tuple[str, ...]) -> list[str]:
    """What ``node``'s code shows, in the learner's terms."""
    text = _refs_text(refs)
    found = []
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            found += [f"imports {a.name}" for a in n.names
                      if a.name.split(".")[0] in MACHINERY or any(p in refs for p in a.name.split(".")[1:2])]
        elif isinstance(n, ast.ImportFrom):
            mod = n.module or ""
            parts = mod.split(".")
            if any(p in refs for p in parts[1:2]) or (parts[0] == "prunerl" and any(a.name in refs for a in n.names)):
                found.append(f"imports from {mod}: {', '.join(a.name for a in n.names)}")
            elif parts[0] in MACHINERY or any(a.name in MACHINERY for a in n.names) or "course" in parts:
                found.append(f"imports {', '.join(a.name for a in n.names)} from {mod}")
        elif isinstance(n, ast.Attribute):
            if n.attr in refs:
                found.append(f"uses .{n.attr} (the course's reference)")
            elif (n.attr in MACHINERY or n.attr in INTERNALS
                  or (n.attr == "modules" and isinstance(n.value, ast.Name) and n.value.id == "sys")):
                found.append(f"uses .{n.attr}")
        elif isinstance(n, ast.Name) and (n.id in MACHINERY or n.id in INTERNALS or n.id in BUILTINS):
            found.append(f"uses {n.id}")
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            if (text is not None and text.search(n.value)) or INTERNAL_TEXT.search(n.value):
                found.append(f"names {n.value[:60]!r}")
        elif (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "getattr" and len(n.args) > 1
              and not isinstance(n.args[1], ast.Constant) and isinstance(n.args[0], ast.Name)
              and n.args[0].id == "prunerl"):
            found.append("looks up a computed name in prunerl")
    return found


def _shape(tree: ast.AST) -> list[str]:
    """Tokens of a function's syntax tree, its own names numbered in order and its docstring dropped."""
    tree = ast.parse(ast.unparse(tree))
    names: dict[str, str] = {}
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            n.name = names.setdefault(n.name, f"v{len(names)}")
            if not isinstance(n, ast.ClassDef):
                n.returns = None
            body = n.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                n.body = body[1:] or [ast.Pass()]
        elif isinstance(n, ast.arg):
            n.arg, n.annotation = names.setdefault(n.arg, f"v{len(names)}"), None
        elif isinstance(n, ast.Name):
            n.id = names.setdefault(n.id, f"v{len(names)}")
    return TOKEN.findall(ast.unparse(tree))


@functools.cache
def reference_shapes(refs: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out = []
    for module in refs:
        mod = importlib.import_module(f"prunerl.{module}")
        for name, fn in vars(mod).items():
            if inspect.isfunction(fn) and fn.__module__ == mod.__name__:
                shape = _shape(ast.parse(inspect.getsource(fn)).body[0])
                if len(shape) >= MIN_TOKENS:
                    out.append((f"prunerl.{module}.{name}", tuple(shape)))
    return tuple(out)


def similarity(node: ast.AST, refs: tuple[str, ...]) -> tuple[float, str] | None:
    """(ratio, reference function) of the closest reference function to ``node``, or None when none is close."""
    shape = _shape(node)
    if len(shape) < MIN_TOKENS:
        return None
    best = None
    for name, ref in reference_shapes(refs):
        matcher = difflib.SequenceMatcher(None, shape, ref, autojunk=False)
        if matcher.real_quick_ratio() >= SIMILAR and matcher.quick_ratio() >= SIMILAR:
            ratio = matcher.ratio()
            if ratio >= SIMILAR and (best is None or ratio > best[0]):
                best = (ratio, name)
    return best


def _bound(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):  # ``import prunerl.pruning`` binds prunerl, which is fine
        return [a.asname or a.name for a in stmt.names if a.asname or "." not in a.name]
    return [n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


def scan(cells: list[str], exercise: str) -> tuple[dict[str, list[str]], list[str]]:
    """``({learner name: evidence}, evidence against the whole notebook)`` of the learner's code cells."""
    refs = REFERENCE.get(exercise, ())
    tainted: dict[str, list[str]] = {}
    uses: dict[str, set[str]] = {}
    everywhere: list[str] = []
    runs: list[set[str]] = []  # names that top-level code which binds nothing uses (a hook, a loop, exec)
    defs: set[str] = set()
    for source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for stmt in tree.body:
            names = _bound(stmt)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs.add(stmt.name)
            found = _finds(stmt, refs)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and refs:
                close = similarity(stmt, refs)
                if close:
                    found.append(f"is {close[0]:.0%} the same code as {close[1]}")
            loads = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            called = {n.func.id for n in ast.walk(stmt) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            for name in names:
                uses.setdefault(name, set()).update(loads)
                tainted.setdefault(name, []).extend(f"{name}: {f}" for f in found)
            if not names or not isinstance(stmt, BINDING):  # it may define or fill anything (exec, a loop, a hook)
                everywhere += [f"code at the top of a cell {f}" for f in found]
                runs.append(loads - called)  # handed on (a hook registered), not merely tried out
                for name in loads if found else ():  # e.g. the namespace exec fills
                    tainted.setdefault(name, []).append(f"{name}: filled by code that {found[0]}")
    tainted = {k: v for k, v in tainted.items() if v and k in uses}
    changed = True
    while changed:  # a name whose code uses a tainted name is tainted
        changed = False
        for name, used in uses.items():
            via = sorted(used & set(tainted) - {name})
            if via and name not in tainted:
                tainted[name] = [f"{name}: uses {', '.join(via)}"]
                changed = True
    handed = [used & set(tainted) & defs for used in runs]  # a tainted function handed on: a hook, a callback
    everywhere += [f"code at the top of a cell hands on {', '.join(sorted(h))}" for h in handed if h]
    return {k: sorted(set(v)) for k, v in tainted.items()}, sorted(set(everywhere))


def held(params: dict, cells: list[str]) -> dict[str, str]:
    """``{grade_id: evidence}`` of the graded cells that use code relying on the course's reference."""
    tainted, everywhere = scan(cells, params["exercise"])
    out = {}
    for gid, names in params.get("uses", {}).items():
        evidence = [e for n in names for e in tainted.get(n, [])] + list(everywhere)
        if evidence:
            out[gid] = "; ".join(evidence[:8])
    return out
