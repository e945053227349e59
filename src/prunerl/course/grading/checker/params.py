"""What the checks use, drawn per course from the secret in ``autograder/nbgrader_config.py``.

``c.PrunerlChecks.secret = "..."`` is read with :mod:`ast` (the config is never executed here); the values are
deterministic per (secret, assignment, track), so a course's grading is reproducible while the open source does
not give the thresholds, sparsities, layers and observation seeds it will use. Without a secret (a master copy
run by hand) the values are drawn from the public seed ``"open"``.
"""
from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import numpy as np

CHECK_CALL = re.compile(r"\bchecks\.(\w+)\(")
SECTION, KEY = "PrunerlChecks", "secret"


def read_secret(config: Path) -> str | None:
    """The value of ``c.PrunerlChecks.secret = "<str>"`` in an nbgrader config file, or None."""
    try:
        tree = ast.parse(Path(config).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    secret = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if (isinstance(target, ast.Attribute) and target.attr == KEY
                        and isinstance(target.value, ast.Attribute) and target.value.attr == SECTION):
                    secret = node.value.value
    return secret


def exercise_of(assignment: str) -> str:
    return assignment.split("_", 1)[0]


def framework_of(assignment: str) -> str:
    return "tensorflow" if assignment.endswith("_tf") else "torch"


def _rng(secret: str | None, exercise: str, framework: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{secret or 'open'}\0{exercise}\0{framework}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _u(rng, low: float, high: float, digits: int = 3) -> float:
    return round(float(rng.uniform(low, high)), digits)


def draw(exercise: str, framework: str, secret: str | None) -> dict:
    """The check values of one exercise and track."""
    rng = _rng(secret, exercise, framework)
    i = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731
    if exercise == "ex1":
        masks = [[name, _u(rng, low, high)] for name in ("cartpole-dqn", "lunarlander-ppo")
                 for low, high in ((0.2, 0.5), (0.6, 0.85))]
        return {"keys": _u(rng, 0.3, 0.7), "masks": masks,
                "zeroes": _u(rng, 0.4, 0.8), "biases": _u(rng, 0.85, 0.95), "conv": _u(rng, 0.3, 0.7),
                "ties_grid": int(rng.choice([16, 20, 25, 32])), "ties_k": i(1, 2),
                "global": [0.0] + sorted(_u(rng, 0.2, 0.95) for _ in range(3))}
    if exercise == "ex2":
        return {"mlp": [["cartpole-dqn", 0, i(20, 200)], ["cartpole-dqn", 1, i(10, 200)],
                        ["lunarlander-ppo", i(0, 1), i(10, 100)]],
                "conv": [["minigrid-ppo", 0, i(1, 12)], ["minigrid-ppo", 1, i(1, 28)]], "obs_seed": i(0, 10_000)}
    if exercise == "ex3":
        return {"csr_seed": i(0, 10_000), "csr_shape": [i(4, 9), i(5, 12)], "quantile": _u(rng, 0.85, 0.95),
                "matmul_seed": i(0, 10_000), "sparsify": {"cartpole-dqn": _u(rng, 0.85, 0.95, 2),
                                                          "lunarlander-ppo": _u(rng, 0.7, 0.9, 2)},
                "obs_seed": i(0, 10_000)}
    if exercise == "ex4":
        if framework == "torch":
            sweep, episodes, steps = [_u(rng, 0.85, 0.95, 2), 0.0, _u(rng, 0.4, 0.6, 2)], 3, 600
        else:
            sweep, episodes, steps = [_u(rng, 0.95, 0.98, 2), _u(rng, 0.9, 0.94, 2)], 2, 300
        return {"agent": "cartpole-dqn", "sweep": sweep, "episodes": episodes, "seed": i(1, 50),
                "finetune": {"sparsity": _u(rng, 0.75, 0.85, 2), "steps": steps, "seed": i(0, 20)}}
    if exercise == "ex5":
        schedule = []
        for power in (3, int(rng.choice([1, 2])), 3, int(rng.choice([1, 2]))):
            begin = i(0, 100)
            schedule.append([float(rng.choice([0.0, 0.1, 0.2])), _u(rng, 0.5, 0.95, 2), begin,
                             begin + i(100, 1000), power])
        begin = i(10, 100)
        seed = i(0, 50)
        strategies = (["random", "layerwise_magnitude", "global_magnitude", "l1_structured"] if framework == "torch"
                      else ["random", "global_magnitude", "l1_structured"])
        return {"schedule": schedule, "hold": [_u(rng, 0.05, 0.3, 2), _u(rng, 0.6, 0.9, 2), begin, begin + i(100, 600)],
                "random": {"sparsity": _u(rng, 0.5, 0.8, 2), "seed": seed},
                "layerwise": _u(rng, 0.5, 0.85, 2), "global": _u(rng, 0.6, 0.9, 2),
                "structured": float(rng.choice([0.25, 0.5, 0.75])),
                "compare": {"agent": "cartpole-dqn", "strategies": strategies,
                            "sparsities": ([_u(rng, 0.4, 0.6, 2), _u(rng, 0.85, 0.92, 2)] if framework == "torch"
                                           else [_u(rng, 0.85, 0.92, 2)]),
                            "seeds": [i(0, 20), i(21, 40)], "episodes": 2},
                "gradual": {"sparsity": _u(rng, 0.75, 0.85, 2), "seed": i(0, 20),
                            "steps": 400},
                "plot_seed": i(0, 10_000), "summary_seed": i(0, 10_000)}
    raise ValueError(f"unknown exercise {exercise!r}")


def tests_of(assignment: str, course_dir: Path) -> dict[str, list[str]]:
    """``{grade_id: [check names]}`` of the hidden test cells, from the master notebook (or its source)."""
    from prunerl.course.grading.layout import grade_id, is_graded, read_notebook

    course_dir = Path(course_dir)
    master = course_dir / "source" / assignment / f"{assignment}.ipynb"
    if master.is_file():
        nb = read_notebook(master)
    else:
        import jupytext

        nb = jupytext.read(course_dir / "sources" / f"{assignment}.py")
    out = {}
    for cell in nb.cells:
        if is_graded(cell) and grade_id(cell):
            source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
            out[grade_id(cell)] = CHECK_CALL.findall(source)
    return out


def params(assignment: str, course_dir) -> dict:
    """Everything the grader writes to the params file of one notebook of ``assignment``."""
    course_dir = Path(course_dir)
    fw = framework_of(assignment)
    secret = read_secret(course_dir / "nbgrader_config.py")
    return {"assignment": assignment, "framework": fw, "exercise": exercise_of(assignment),
            "values": draw(exercise_of(assignment), fw, secret), "tests": tests_of(assignment, course_dir)}
