"""What the site does to a copy of a lesson notebook before Sphinx sees it (the lessons themselves are never edited).

- **Prose-building code is hidden, its output kept.** A top-level ``L.md(...)``, ``L.record(...)`` or
  ``L.interview_card(...)`` call is prose (or bookkeeping), not a step the reader runs in their head; so is the
  block at the end of a cell that only assigns the text such a call shows (names no later code reads). Those
  statements leave the shown source; a cell left with nothing is shown by its output alone (``remove-input``).
- **Framework twins become tabs.** In one cell, a run of top-level statements each of which uses only PyTorch or
  only TensorFlow/Keras, holding both kinds (``def torch_call`` beside ``def keras_call``), is split out: its
  PyTorch statements and its TensorFlow statements become two cells tagged ``framework-torch`` and
  ``framework-tf``, which ``build.framework_tabs`` puts into tabs; the cell's outputs stay after them.
"""
from __future__ import annotations

import ast
import base64
import copy
import struct

PROSE_CALLS = {"md", "record", "interview_card"}  # the lessons' helpers, called as L.<name>
TORCH_MODULES, TF_MODULES = ("torch",), ("tensorflow", "keras", "tf_keras")
TORCH, TF = "framework-torch", "framework-tf"
COLUMN_PX = 680  # the book theme's text column on a 1280-px screen; a wider figure takes the margin too


# ------------------------------------------------------------------------------------------------ parsing
def _statements(source: str) -> list[tuple[ast.stmt, str]]:
    """Top-level statements with their source text (comments and blank lines above a statement go with it)."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    out, start = [], 0
    for node in tree.body:
        end = node.end_lineno
        out.append((node, "".join(lines[start:end])))
        start = end
    if out and start < len(lines):  # trailing comments
        out[-1] = (out[-1][0], out[-1][1] + "".join(lines[start:]))
    return out


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _stores(node: ast.AST) -> set[str]:
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names | {n.name for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def _is_prose_call(node: ast.stmt) -> bool:
    call = node.value if isinstance(node, ast.Expr) else None
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in PROSE_CALLS
            and isinstance(call.func.value, ast.Name) and call.func.value.id == "L")


def _is_text_building(node: ast.stmt) -> bool:
    """An assignment, or an if/for made only of assignments and prose calls: what builds a prose cell's text."""
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) or _is_prose_call(node):
        return True
    if isinstance(node, (ast.If, ast.For)):
        return all(_is_text_building(n) for n in node.body + node.orelse)
    return False


def _parse(cell: dict) -> list[tuple[ast.stmt, str]] | None:
    if cell["cell_type"] != "code":
        return None
    try:
        return _statements("".join(cell["source"]))
    except SyntaxError:  # IPython magics and the like: shown as they are
        return None


# ------------------------------------------------------------------------------------------------ prose
def prose_statements(stmts: list[tuple[ast.stmt, str]], read_later: set[str]) -> set[int]:
    """Indices of the statements of one cell that only build prose (see the module's docstring)."""
    hidden = {i for i, (node, _) in enumerate(stmts) if _is_prose_call(node)}
    needed = set(read_later)  # names that code the reader sees, here or in later cells, reads
    fed = set()  # names read by hidden statements
    tail = True
    for i in range(len(stmts) - 1, -1, -1):
        node = stmts[i][0]
        if i in hidden:
            fed |= _loads(node)
            continue
        stores = _stores(node)
        if tail and _is_text_building(node) and stores and not stores & needed and stores & fed:
            hidden.add(i)
            fed |= _loads(node)
            continue
        tail = False
        needed |= _loads(node)
    return hidden


def hide_prose(nb: dict) -> int:
    """Hide the prose-building statements of every code cell of ``nb`` (in place); returns how many cells lost
    statements."""
    parsed = [_parse(c) for c in nb["cells"]]
    changed, read_later = 0, set()
    for cell, stmts in reversed(list(zip(nb["cells"], parsed))):
        if not stmts:
            continue
        hidden = prose_statements(stmts, read_later)
        read_later |= set().union(*(_loads(node) for node, _ in stmts))
        if not hidden:
            continue
        changed += 1
        kept = "".join(text for i, (_, text) in enumerate(stmts) if i not in hidden).strip("\n")
        if kept:
            cell["source"] = kept
        else:
            cell["metadata"].setdefault("tags", []).append("remove-input")
    return changed


# ------------------------------------------------------------------------------------------------ frameworks
def framework_names(nb: dict) -> dict[str, set[str]]:
    """The names the notebook binds to PyTorch and to TensorFlow/Keras modules by importing them."""
    found = {TORCH: set(), TF: set()}
    for stmts in filter(None, (_parse(c) for c in nb["cells"])):
        for node in (n for stmt, _ in stmts for n in ast.walk(stmt)):
            if isinstance(node, ast.Import):
                pairs = [(a.name, a.asname or a.name.split(".")[0]) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                pairs = [(node.module, a.asname or a.name) for a in node.names]
            else:
                continue
            for module, name in pairs:
                root = module.split(".")[0]
                if root in TORCH_MODULES:
                    found[TORCH].add(name)
                elif root in TF_MODULES:
                    found[TF].add(name)
    return found


def framework_of(node: ast.stmt, names: dict[str, set[str]]) -> str | None:
    """``framework-torch`` or ``framework-tf`` for a statement that uses one framework only, else None. Keras is
    also named by the string "tensorflow": ``load_agent(..., framework="tensorflow")``, ``convert(m, "tensorflow")``."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):  # imports are set-up, shown to every reader
        return None
    loads = _loads(node)
    tf = bool(loads & names[TF]) or any(isinstance(n, ast.Constant) and n.value == "tensorflow" for n in ast.walk(node))
    torch = bool(loads & names[TORCH])
    return (TORCH if torch else TF) if torch != tf else None


def _twin_run(kinds: list[str | None]) -> tuple[int, int] | None:
    """[start, end) of the first run of single-framework statements that holds both frameworks."""
    i = 0
    while i < len(kinds):
        j = i
        while j < len(kinds) and kinds[j]:
            j += 1
        if {TORCH, TF} <= set(kinds[i:j]):
            return i, j
        i = j + 1
    return None


def _piece(cell: dict, source: str, tags: list[str], outputs: list | None = None) -> dict:
    new = copy.deepcopy(cell)
    new["source"], new["outputs"] = source.strip("\n"), outputs or []
    new["metadata"]["tags"] = new["metadata"].get("tags", []) + tags
    new.pop("id", None)
    return new


def split_framework_twins(nb: dict) -> int:
    """Split every cell holding framework twins (in place); returns how many pairs were found."""
    names, cells, pairs = framework_names(nb), [], 0
    for cell in nb["cells"]:
        stmts = _parse(cell)
        run = _twin_run([framework_of(node, names) for node, _ in stmts]) if stmts else None
        if run is None:
            cells.append(cell)
            continue
        pairs += 1
        (start, end), kinds = run, [framework_of(node, names) for node, _ in stmts]
        text = [t for _, t in stmts]
        before, after = "".join(text[:start]), "".join(text[end:])
        if before.strip():
            cells.append(_piece(cell, before, []))
        for kind in (TORCH, TF):
            cells.append(_piece(cell, "".join(t for t, k in zip(text[start:end], kinds[start:end]) if k == kind),
                                [kind]))
        # the outputs come from the whole cell: they follow the tabs, shown whichever tab is chosen
        cells.append(_piece(cell, after, [] if after.strip() else ["remove-input"], cell.get("outputs")))
    nb["cells"] = cells
    return pairs


def png_width(data: str) -> int:
    """Width in pixels of a base64-encoded PNG (from its IHDR header)."""
    return struct.unpack(">I", base64.b64decode(data[:32])[16:20])[0]


def widen_figures(nb: dict) -> int:
    """Tag the cells whose figure is wider than the text column ``full-width`` (the book theme then lets them
    use the margin), so the figure is not shrunk to the column; returns how many."""
    wide = 0
    for cell in nb["cells"]:
        widths = [png_width(o["data"]["image/png"]) for o in cell.get("outputs", [])
                  if "image/png" in o.get("data", {})]
        if widths and max(widths) > COLUMN_PX:
            cell["metadata"].setdefault("tags", []).append("full-width")
            wide += 1
    return wide


def prepare_lesson(nb: dict) -> dict:
    """The site's reading copy of an executed lesson notebook."""
    nb = copy.deepcopy(nb)
    split_framework_twins(nb)
    hide_prose(nb)
    widen_figures(nb)
    return nb
