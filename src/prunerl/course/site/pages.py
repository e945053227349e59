"""The site's sources: the home page with the syllabus, one page per exercise (task and contract only) and copies
of the lessons' executed notebooks and of the docs pages, written into a Jupyter Book folder."""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

from .cells import prepare_lesson

# The course map. Prerequisites are lesson numbers; "python" etc. are named in the home page's preamble.
SYLLABUS = {
    1: {"exercises": [1], "after": []},
    2: {"exercises": [2], "after": [1]},
    3: {"exercises": [], "after": [1, 2]},
    4: {"exercises": [3], "after": [1]},
    5: {"exercises": [4, 5], "after": [1]},
    6: {"exercises": [], "after": [5]},
    7: {"exercises": [], "after": [2]},
    8: {"exercises": [], "after": [5]},
}
READING_WPM = 200  # words per minute of prose: the usual estimate for technical reading
MINUTES_PER_FUNCTION = 20  # the time the syllabus budgets for writing and testing one function of an exercise
TRACKS = {"torch": "PyTorch", "tf": "TensorFlow (Keras 3)"}
COLAB_CELL_START = "# On Colab only: install the course"
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def colab_url(repository: str, path: str) -> str:
    """Colab opens the notebook as released (the tag of this version), not a moving branch."""
    from ..colab import release

    return f"https://colab.research.google.com/github/{repository}/blob/{release()}/{path}"


def badge(repository: str, path: str) -> str:
    return (f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(repository, path)})")


def _words(text: str) -> int:
    return len(re.findall(r"[A-Za-z]+", text))


def _md_title(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError("notebook without a '# ' title")


def lesson_info(ipynb: Path) -> dict:
    """Title, minutes to read and minutes to run (from the cached execution) of one executed lesson."""
    nb = json.loads(ipynb.read_text(encoding="utf-8"))
    words = sum(_words("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "markdown")
    run_s = nb["metadata"].get("prunerl", {}).get("seconds", 0.0)
    return {"title": _md_title(nb), "read_min": math.ceil(words / READING_WPM), "run_min": math.ceil(run_s / 60)}


# ---------------------------------------------------------------------------------------------- exercises
def _released(root: Path) -> dict[int, dict[str, Path]]:
    found: dict[int, dict[str, Path]] = {}
    for path in sorted((root / "exercises").glob("ex*_*.ipynb")):
        m = re.match(r"ex(\d+)_.*_(torch|tf)$", path.stem)
        if m:
            found.setdefault(int(m.group(1)), {})[m.group(2)] = path
    return found


def _headings_to_bold(text: str) -> str:
    """Headings cannot live inside a tab; the exercise's own title is the page's."""
    return re.sub(r"^#{1,6}\s+(.*)$", r"**\1**", text, flags=re.M)


def exercise_track(path: Path) -> tuple[str, str, int, int, int]:
    """(title, Markdown body, graded tests, points, functions to write) of one released notebook: its prose, its
    set-up, stub and example cells; graded test cells are counted, not shown."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts, tests, points, functions = [], 0, 0, 0
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if any(word in src for word in FORBIDDEN):
            raise ValueError(f"{path.name} holds solution or hidden-test markers: it is not a released notebook")
        grader = cell.get("metadata", {}).get("nbgrader", {})
        if grader.get("grade") and cell["cell_type"] == "code":
            tests, points = tests + 1, points + grader.get("points", 0)
        elif cell["cell_type"] == "markdown":
            parts.append(_headings_to_bold(re.sub(r"^# .*\n?", "", src, count=1) if not parts else src))
        else:
            functions += bool(grader.get("solution"))
            parts.append(f"```python\n{src}\n```")
    return _md_title(nb), "\n\n".join(parts), tests, points, functions


def exercise_page(number: int, tracks: dict[str, Path], repository: str, root: Path,
                  after: str = "") -> tuple[str, dict]:
    lines, info = [], {}
    for key, label in TRACKS.items():
        if key not in tracks:
            continue
        title, body, tests, points, functions = exercise_track(tracks[key])
        info = {"title": re.sub(r"\s*\((PyTorch|TensorFlow)[^)]*\)", "", title), "functions": functions,
                "points": points}
        rel = tracks[key].relative_to(root).as_posix()
        lines += [f":::{{tab-item}} {label}", "", badge(repository, rel), "", body, "",
                  f"*Graded by {tests} tests worth {points} points: the visible ones are in `{rel}`, and the "
                  "grader adds hidden ones. Check your work with `prunerl check " + rel + "`.*", "", ":::", ""]
    head = [f"# {info['title']}", "",
            f"Budget about {info['functions'] * MINUTES_PER_FUNCTION} minutes ({info['functions']} functions to "
            f"write, {MINUTES_PER_FUNCTION} minutes each). {after}Do it in PyTorch or in TensorFlow: the contract "
            "is the same.", "", "::::{tab-set}", ""]
    return "\n".join(head + lines + ["::::", ""]), info


# --------------------------------------------------------------------------------------------- home page
def home_page(lessons: dict[int, dict], exercises: dict[int, dict], questions: dict[int, str], extra: list[str]) -> str:
    rows = ["| Lesson | Time (read + run) | After | Exercise | Interview question |", "|---|---|---|---|---|"]
    for n, info in sorted(lessons.items()):
        ex = ", ".join(f"[Exercise {e}](exercises/ex{e}.md)" for e in SYLLABUS[n]["exercises"] if e in exercises)
        after = ", ".join(f"{a}" for a in SYLLABUS[n]["after"]) or "—"
        rows.append(f"| [{n}. {info['title'].split('—', 1)[-1].strip()}](lessons/{info['stem']}.ipynb) | "
                    f"{info['read_min']} + {info['run_min']} min | {after} | {ex or '—'} | {questions.get(n, '')} |")
    ex_rows = [f"- [Exercise {n}: {e['title'].split(':', 1)[-1].strip()}](exercises/ex{n}.md) — {e['functions']} "
               f"functions, {e['points']} points, about {e['functions'] * MINUTES_PER_FUNCTION} minutes"
               for n, e in sorted(exercises.items())]
    total = sum(i["read_min"] + i["run_min"] for i in lessons.values())
    total += sum(e["functions"] * MINUTES_PER_FUNCTION for e in exercises.values())
    return "\n".join([
        "# Pruning deep-RL agents: a course in PyTorch and TensorFlow", "",
        "Eight lessons that measure every claim they make on real agents (DQN and PPO on CartPole, Acrobot, "
        "LunarLander and MiniGrid), five graded exercises, and a mock interview (`prunerl interview`). Every lesson "
        "page shows the outputs of a full run of its notebook.", "",
        "**Prerequisites:** Python and NumPy; one of PyTorch or Keras; what a DQN or PPO agent is (a policy "
        "network mapping observations to action scores). The *After* column names the lessons to read first.", "",
        f"**Time:** reading at {READING_WPM} words a minute plus the full run of each lesson, and "
        f"{MINUTES_PER_FUNCTION} minutes per function to write: about {math.ceil(total / 60)} hours in all.", "",
        "## Syllabus", "", *rows, "",
        "## Exercises", "", *ex_rows, "",
        "Each exercise is a notebook in `exercises/`, in a PyTorch and a TensorFlow track; `prunerl check` runs "
        "its visible tests. The interview questions are in `prunerl interview`.", "",
        "## More", "", *extra, "",
    ])


def write_sources(root: Path, out: Path, repository: str) -> list[str]:
    """Write the book's pages into ``out``; returns the table of contents (paths without suffix)."""
    from ..interview import question_for_lesson

    if out.exists():
        shutil.rmtree(out)
    (out / "lessons").mkdir(parents=True)
    (out / "exercises").mkdir()
    lessons = {}
    for ipynb in sorted((root / "lessons").glob("0*_*.ipynb")):
        nb = json.loads(ipynb.read_text(encoding="utf-8"))
        # the Colab install cell is for Colab; the site's readers have the badge
        nb["cells"] = [c for c in nb["cells"] if not "".join(c["source"]).startswith(COLAB_CELL_START)]
        (out / "lessons" / ipynb.name).write_text(json.dumps(prepare_lesson(nb), indent=1), encoding="utf-8")
        lessons[int(ipynb.name[:2])] = {**lesson_info(ipynb), "stem": ipynb.stem}
    exercises = {}
    for n, tracks in _released(root).items():
        read = [f"[Lesson {k}](../lessons/{lessons[k]['stem']}.ipynb)" for k, v in SYLLABUS.items()
                if n in v["exercises"] and k in lessons]
        after = f"It follows {' and '.join(read)}. " if read else ""
        text, exercises[n] = exercise_page(n, tracks, repository, root, after)
        (out / "exercises" / f"ex{n}.md").write_text(text, encoding="utf-8")
    questions = {n: question_for_lesson(n)["question"] for n in lessons}
    docs, extra = [], []
    for label, src in [("What the seed blog claims, and what the course measured", root / "docs" / "claims.md"),
                       ("Benchmark results", root / "bench" / "RESULTS.md")] + \
            [(None, p) for p in sorted((root / "docs").glob("*.md")) if p.name not in ("claims.md", "DEVELOPING.md")]:
        if src.exists():
            name = "docs/benchmarks" if src.parent.name == "bench" else f"docs/{src.stem.lower()}"
            (out / "docs").mkdir(exist_ok=True)
            _copy_page(src, out / f"{name}.md", root, repository)
            docs.append(name)
            extra.append(f"- [{label or _first_heading(src)}]({name}.md)")
    (out / "index.md").write_text(home_page(lessons, exercises, questions, extra), encoding="utf-8")
    return ([f"lessons/{lessons[n]['stem']}" for n in sorted(lessons)] + [f"exercises/ex{n}" for n in sorted(exercises)]
            + docs)


def _first_heading(path: Path) -> str:
    return next((ln[2:].strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("# ")),
                path.stem)


def _copy_page(src: Path, dest: Path, root: Path, repository: str) -> None:
    """Copy a Markdown page with its local images; links to repository files outside the site point at GitHub."""
    text = src.read_text(encoding="utf-8")

    def fix(m: re.Match) -> str:
        bang, label, target = m.group(1), m.group(2), m.group(3)
        if re.match(r"[a-z]+:|#", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        file = (src.parent / path).resolve()
        if bang and file.exists():
            shutil.copy2(file, dest.parent / file.name)
            return f"![{label}]({file.name})"
        if file.suffix == ".md" and file.parent == (root / "docs") and file.name != "DEVELOPING.md":
            return f"[{label}]({file.stem.lower()}.md{'#' + anchor if anchor else ''})"
        rel = file.relative_to(root).as_posix() if file.is_relative_to(root) else path
        return f"{bang}[{label}](https://github.com/{repository}/blob/main/{rel})"

    dest.write_text(re.sub(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)", fix, text), encoding="utf-8")
