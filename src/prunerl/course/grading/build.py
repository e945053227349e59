"""``prunerl build``: authored sources -> nbgrader master notebooks, released exercises and executed solutions.

Each ``autograder/authored/<e>.py`` builds one assignment per track (``<e>_torch``, ``<e>_tf``; see ``layout``).
For each assignment ``<a>``:

1. its track of the source, via jupytext -> ``autograder/source/<a>/<a>.ipynb`` with stable cell ids (the
   grade_id, else ``<a>-<position>``);
2. ``nbgrader generate_assignment`` (nbgrader's own API, in a private temporary copy of the course, so the
   course's ``gradebook.db`` is never touched) -> ``exercises/<a>.ipynb``;
3. the solution notebook (solutions in, hidden tests out) executed with nbclient -> ``solutions/<a>.ipynb``.

The build fails on duplicate grade_ids, on a graded cell worth 0 points, on malformed nbgrader metadata,
on a solution notebook that raises, and on a graded cell of the solution that writes to stderr (nbgrader
would zero it). ``check_stale`` regenerates everything into a temporary directory (without executing) and
names every generated file whose cells (ids, types, sources, nbgrader metadata) differ.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from .layout import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    KERNEL_ARGS,
    KERNELSPEC,
    Layout,
    cell_source,
    comparable,
    grade_id,
    is_graded,
    nbgrader_meta,
    solution_notebook,
    stable_cell_id,
)

GRADE_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
SOLUTION_CELL_TIMEOUT = 900


class BuildError(Exception):
    """A source that cannot be built; the message names the assignment and the cell."""


# ----------------------------------------------------------------------------------------------- sources
def source_to_notebook(text: str, assignment: str):
    """Read one track's jupytext percent-format text into a notebook with stable ids and a fixed kernelspec."""
    import jupytext

    nb = jupytext.reads(text, fmt="py:percent")
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nb.nbformat, nb.nbformat_minor = 4, 5
    for index, cell in enumerate(nb.cells):
        cell.id = stable_cell_id(assignment, index, cell)
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def validate_source(nb, assignment: str) -> list[str]:
    """Everything nbgrader would choke on (or silently mis-grade), as messages naming the cell."""
    errors: list[str] = []
    seen: dict[str, int] = {}
    ids: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        where = f"{assignment}: cell {index}"
        ids[cell.id] = ids.get(cell.id, 0) + 1
        meta = nbgrader_meta(cell)
        src = cell_source(cell)
        if "nbgrader" in cell.metadata and not isinstance(cell.metadata["nbgrader"], dict):
            errors.append(f"{where}: nbgrader metadata is not a JSON object")
            continue
        if not meta:
            if BEGIN_SOLUTION in src:
                errors.append(f"{where}: has {BEGIN_SOLUTION} but no nbgrader metadata (solution: true)")
            if BEGIN_HIDDEN in src:
                errors.append(f"{where}: has {BEGIN_HIDDEN} but no nbgrader metadata (grade: true)")
            continue
        gid = grade_id(cell)
        where = f"{assignment}: cell {index} ({gid or 'no grade_id'})"
        if not gid:
            errors.append(f"{where}: nbgrader cell without a grade_id")
            continue
        if not GRADE_ID_RE.match(gid):
            errors.append(f"{where}: grade_id may only contain letters, digits, '_' and '-'")
        if gid in seen:
            errors.append(f"{assignment}: duplicate grade_id {gid!r} (cells {seen[gid]} and {index})")
        seen.setdefault(gid, index)
        if meta.get("schema_version") != 3:
            errors.append(f"{where}: nbgrader schema_version must be 3")
        if meta.get("grade"):
            points = meta.get("points")
            if not isinstance(points, (int, float)) or isinstance(points, bool) or points <= 0:
                errors.append(f"{where}: a graded cell must be worth > 0 points (got {points!r}); "
                              "a 0-point graded cell breaks nbgrader's autograding")
        if BEGIN_HIDDEN in src and not meta.get("grade"):
            errors.append(f"{where}: hidden tests in a cell that is not graded")
        if BEGIN_SOLUTION in src and not meta.get("solution"):
            errors.append(f"{where}: solution markers in a cell that is not a solution cell")
        if meta.get("solution") and cell.cell_type == "code" and BEGIN_SOLUTION not in src:
            errors.append(f"{where}: solution cell without {BEGIN_SOLUTION} / ### END SOLUTION markers")
    errors += [f"{assignment}: duplicate cell id {cid!r}" for cid, n in ids.items() if n > 1]
    if not any(is_graded(c) for c in nb.cells):
        errors.append(f"{assignment}: no graded test cell")
    return errors


# ------------------------------------------------------------------------------------------- generation
def _new_course(tmp: Path, layout: Layout) -> Path:
    course = tmp / "autograder"
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy2(layout.course / "nbgrader_config.py", course / "nbgrader_config.py")
    return course


def nbgrader_api(course: Path):
    """nbgrader's Python API on ``course`` (imports nbgrader: ~3 s, paid once per process)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def generate_release(course: Path, assignments: list[str]) -> dict[str, Path]:
    """Run nbgrader generate_assignment for each assignment in ``course``; returns the release notebooks."""
    api = nbgrader_api(course)
    released = {}
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True, create=True)
        out = course / "release" / assignment / f"{assignment}.ipynb"
        if not result.get("success") or not out.exists():
            log = "\n".join(ln for ln in str(result.get("log", "")).splitlines() if "ERROR" in ln or "rror" in ln)
            raise BuildError(f"{assignment}: nbgrader generate_assignment failed\n{result.get('error') or ''}\n{log}")
        released[assignment] = out
    return released


def _write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    text = nbformat.writes(nb) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def execute_solution(nb, workdir: Path, assignment: str, timeout: int = SOLUTION_CELL_TIMEOUT):
    """Run the solution notebook in ``workdir`` like nbgrader would; errors and stderr in tests fail the build."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}},
                            extra_arguments=list(KERNEL_ARGS))
    try:
        client.execute()
    except CellExecutionError as exc:
        cell = next((c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        where = f"cell {grade_id(cell) or nb.cells.index(cell)}" if cell is not None else "a cell"
        raise BuildError(f"{assignment}: the solution notebook fails in {where}: "
                         f"{str(exc).strip().splitlines()[-1]}") from None
    except Exception as exc:  # noqa: BLE001 - timeouts, dead kernels
        raise BuildError(f"{assignment}: the solution notebook could not run: {type(exc).__name__}: {exc}") from None
    for cell in nb.cells:
        if is_graded(cell):
            noise = "".join(o.get("text", "") for o in cell.get("outputs", [])
                            if o.get("output_type") == "stream" and o.get("name") == "stderr")
            if noise:
                text = " | ".join(ln.strip() for ln in noise.splitlines() if ln.strip())
                raise BuildError(f"{assignment}: graded cell {grade_id(cell)!r} writes to stderr in the solution "
                                 f"(nbgrader would zero it): {text[:400]!r}")
    for cell in nb.cells:  # timings are noise in a committed file
        cell.metadata.pop("execution", None)
    return nb


def build(layout: Layout, assignments: list[str] | None = None, execute: bool = True, jobs: int = 1,
          log: Callable[[str], None] = print) -> list[Path]:
    """Build the given assignments (all by default) into ``layout``; returns the files written/refreshed."""
    available = layout.assignments()
    chosen = list(assignments or available)
    unknown = [a for a in chosen if a not in available]
    if unknown:
        raise BuildError(f"no source for {', '.join(unknown)} (have: {', '.join(available) or 'none'}) "
                         f"in {layout.sources}")
    if not chosen:
        raise BuildError(f"no exercise sources in {layout.sources}")
    notebooks, errors = {}, []
    for assignment in chosen:
        try:
            nb = source_to_notebook(layout.source_text(assignment), assignment)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{assignment}: cannot read the jupytext source: {exc}")
            continue
        errors += validate_source(nb, assignment)
        notebooks[assignment] = nb
    if errors:
        raise BuildError("invalid exercise sources:\n  " + "\n  ".join(errors))

    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="prunerl-build-") as tmp:
        course = _new_course(Path(tmp), layout)
        for assignment, nb in notebooks.items():
            master = layout.source_notebook(assignment)
            # keep any data files that live beside the master notebook
            if master.parent.is_dir():
                shutil.copytree(master.parent, course / "source" / assignment, dirs_exist_ok=True)
            _write(nb, course / "source" / assignment / f"{assignment}.ipynb")
            _write(nb, master)
            written.append(master)
        log(f"generating {len(notebooks)} released notebook(s) with nbgrader")
        released = generate_release(course, list(notebooks))
        for assignment, path in released.items():
            rel = nbformat.read(path, as_version=4)
            rel.metadata = notebooks[assignment].metadata
            _write(rel, layout.exercises / f"{assignment}.ipynb")
            written.append(layout.exercises / f"{assignment}.ipynb")

        def solve(assignment: str) -> Path:
            sol = solution_notebook(notebooks[assignment])
            if execute:
                workdir = Path(tmp) / "run" / assignment
                shutil.copytree(course / "source" / assignment, workdir)
                log(f"executing the solution of {assignment}")
                sol = execute_solution(sol, workdir, assignment)
            out = layout.solutions / f"{assignment}.ipynb"
            _write(sol, out)
            return out

        with ThreadPoolExecutor(max(1, jobs)) as pool:
            written += list(pool.map(solve, notebooks))
    return written


def check_stale(layout: Layout, assignments: list[str] | None = None) -> list[str]:
    """Regenerate into a temporary directory; return one line per stale, missing or orphaned generated file."""
    chosen = list(assignments or layout.assignments())
    stale: list[str] = []
    with tempfile.TemporaryDirectory(prefix="prunerl-check-") as tmp:
        fresh = Layout(Path(tmp))
        fresh.sources.mkdir(parents=True)
        shutil.copy2(layout.course / "nbgrader_config.py", fresh.course / "nbgrader_config.py")
        files = layout.source_files()
        for assignment in chosen:
            shutil.copy2(files[assignment][0], fresh.sources / files[assignment][0].name)
        build(fresh, chosen, execute=False, log=lambda _msg: None)
        for assignment in chosen:
            origin = files[assignment][0].relative_to(layout.root)
            pairs = [(fresh.source_notebook(assignment), layout.source_notebook(assignment)),
                     (fresh.exercises / f"{assignment}.ipynb", layout.exercises / f"{assignment}.ipynb"),
                     (fresh.solutions / f"{assignment}.ipynb", layout.solutions / f"{assignment}.ipynb")]
            for new, old in pairs:
                rel = old.relative_to(layout.root)
                if not old.exists():
                    stale.append(f"{rel}: missing (run `prunerl build {assignment}`)")
                    continue
                try:
                    current = nbformat.read(old, as_version=4)
                except Exception as exc:  # noqa: BLE001
                    stale.append(f"{rel}: unreadable ({type(exc).__name__})")
                    continue
                if comparable(current) != comparable(nbformat.read(new, as_version=4)):
                    stale.append(f"{rel}: stale (its cells differ from what {origin} builds)")
    if assignments is None:
        known = set(chosen)
        for folder in (layout.exercises, layout.solutions):
            for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
                if path.stem not in known:
                    stale.append(f"{path.relative_to(layout.root)}: orphaned (no source builds {path.stem})")
        for path in sorted((layout.course / "source").glob("*/*.ipynb")):
            if path.parent.name not in known:
                stale.append(f"{path.relative_to(layout.root)}: orphaned (no source builds {path.parent.name})")
    return stale
