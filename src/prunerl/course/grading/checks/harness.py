"""In-kernel side of the hidden checks: call the learner's function, coerce what it returns, write a record.

``setup(framework)`` (the notebook's locked first cell) captures protected copies of the course functions and
installs an audit hook (``sys.addaudithook``: it cannot be removed) that notes every read or execution of the
course's reference module, of the checker and of grader folders. Each public check is a *collector*: it runs the
learner's function on inputs drawn from the grader's params, turns the result into plain data and writes one
record into ``$PRUNERL_CHECK_RECORDS``. The verdict is given by ``prunerl.course.grading.checker`` in another process.

Without those environment variables (a master copy run by hand, ``prunerl build``) the check is judged here, in
the kernel, and fails with the same message as an ``AssertionError``: convenient, but never what the grader uses.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable


import prunerl
from prunerl import backend as _backend
from prunerl import envs as _envs
from prunerl import evaluation as _evaluation
from prunerl import metrics as _metrics
from prunerl import pruning as _pruning
from prunerl import zoo as _zoo
from prunerl.runtime import quiet_tensorflow

from . import record as _record

PARAMS_ENV, RECORDS_ENV = "PRUNERL_CHECK_PARAMS", "PRUNERL_CHECK_RECORDS"
AUDIT_FILE = "_audit.jsonl"

EVALUATE, SCORES_FN, FRAMEWORK_OF = _evaluation.evaluate, _evaluation.scores_fn, _backend.framework_of
LOAD_AGENT, PRUNABLE, MAKE_ENV, SPARSITY = _zoo.load_agent, _metrics.prunable_weights, _envs.make_env, _metrics.sparsity
REFERENCE = {n: fn for n, fn in vars(_pruning).items()  # every function the reference module defines
             if callable(fn) and getattr(fn, "__module__", None) == _pruning.__name__ and hasattr(fn, "__code__")}
REFERENCE_CODE = {n: fn.__code__ for n, fn in REFERENCE.items()}
PROTECTED: dict[tuple[Any, str], Any] = {
    (_evaluation, "evaluate"): EVALUATE, (_zoo, "load_agent"): LOAD_AGENT,
    (_metrics, "prunable_weights"): PRUNABLE, (_metrics, "sparsity"): SPARSITY,
}
STATE: dict[str, Any] = {"framework": None, "finetune": None, "optimizer_steps_for": None, "params": None,
                         "audit": False}
AUDIT: list[dict] = []  # what the audit hook saw, in order
TRIPPED: list[str] = []
CACHE: dict[Any, Any] = {}
_PRUNING_FILE = str(Path(_pruning.__file__).resolve())
_CHECKER_DIR = str(Path(__file__).resolve().parents[1] / "checker")


class ReferenceUsed(Exception):
    """Raised by a tripwire when learner code calls a reference function of :mod:`prunerl.pruning`."""


# ------------------------------------------------------------------------------------------------- set-up, audit

def setup(framework: str) -> None:
    """Choose the track (``"torch"`` or ``"tensorflow"``), capture the trainer, start watching for the reference."""
    if framework not in ("torch", "tensorflow"):
        raise ValueError(f"framework must be 'torch' or 'tensorflow', got {framework!r}")
    STATE["framework"] = framework
    if framework == "tensorflow":  # before TensorFlow loads: no C++ start-up lines, reproducible float sums
        quiet_tensorflow()
    train = sys.modules.get("prunerl.train")
    if train is not None and STATE["finetune"] is None:
        STATE["finetune"], STATE["optimizer_steps_for"] = train.finetune, train.optimizer_steps_for
        PROTECTED[(train, "finetune")] = train.finetune
    if framework == "torch":  # torch's sparse-tensor notices are warnings on stderr, which nbgrader counts as errors
        import warnings

        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")
    if not STATE["audit"]:
        STATE["audit"], STATE["cwd"] = True, os.getcwd() + os.sep
        sys.addaudithook(_audit_hook)


def _audit_file():
    directory = os.environ.get(RECORDS_ENV)
    return Path(directory) / AUDIT_FILE if directory else None


def _note(kind: str, what: str) -> None:
    event = {"kind": kind, "what": what}
    if event in AUDIT:
        return
    AUDIT.append(event)
    path = _audit_file()
    if path is not None:
        STATE["in_hook"] = True
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(event) + "\n")
        except OSError:
            pass
        finally:
            STATE["in_hook"] = False


def _grader_path(full: str) -> bool:
    """Solutions, master copies and authored sources (autograder/source, authored) and gradebooks, outside the
    notebook's own folder."""
    if full.startswith(STATE.get("cwd") or "\0"):
        return False
    parts = full.split(os.sep)
    pairs = zip(parts, parts[1:])
    return ("solutions" in parts[:-1] or os.path.basename(full) == "gradebook.db"
            or any(a == "autograder" and b in ("source", "sources", "authored") for a, b in pairs))


def _audit_hook(event: str, args: tuple) -> None:
    if STATE.get("in_hook") or event not in ("open", "exec", "import"):
        return
    try:
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.fsdecode(args[0])
            full = os.path.abspath(path)
            if full == _PRUNING_FILE or (os.path.basename(full).startswith("pruning.")
                                         and os.path.dirname(os.path.dirname(full)) == os.path.dirname(_PRUNING_FILE)):
                _note("read", "prunerl/pruning.py (the course's reference implementation)")
            elif full.startswith(_CHECKER_DIR) and os.environ.get(RECORDS_ENV):
                _note("read", "the grader's checker (prunerl/course/grading/checker)")
            elif _grader_path(full):
                _note("read", f"a grader file ({full})")
        elif event == "exec" and args and getattr(args[0], "co_filename", None) == _PRUNING_FILE:
            _note("exec", "a second copy of prunerl.pruning (the course's reference implementation)")
        elif event == "import" and args and str(args[0]).startswith("prunerl.course.grading.checker") \
                and os.environ.get(RECORDS_ENV):
            _note("import", f"{args[0]} (the grader's oracles)")
    except Exception:  # noqa: BLE001 (an audit hook must never break the kernel)
        pass


def framework() -> str:
    if STATE["framework"] is None:
        raise RuntimeError("run the notebook's first (set-up) cell before the tests")
    return STATE["framework"]


def values(exercise: str) -> dict:
    """The check inputs of this exercise: from the grader's params file, or the open defaults when run by hand."""
    path = os.environ.get(PARAMS_ENV)
    if not path:
        from prunerl.course.grading.checker.params import draw

        return draw(exercise, framework(), None)
    if STATE["params"] is None:
        STATE["params"] = json.loads(Path(path).read_text(encoding="utf-8"))
    return STATE["params"]["values"]


# ----------------------------------------------------------------------------------------- calling learner code

def _tripwire(*args, **kwargs):  # its code replaces a reference function's while learner code runs
    import sys as _sys

    name = _sys._getframe().f_code.co_name
    _sys.modules["prunerl.course.grading.checks.harness"].TRIPPED.append(name)
    raise _sys.modules["prunerl.course.grading.checks.harness"].ReferenceUsed(name)


def tampered() -> list[str]:
    found = [f"{getattr(mod, '__name__', mod)}.{attr}" for (mod, attr), orig in PROTECTED.items()
             if getattr(mod, attr, None) is not orig]
    for attr, orig in (("evaluate", EVALUATE), ("load_agent", LOAD_AGENT), ("finetune", STATE["finetune"])):
        if attr in vars(prunerl) and vars(prunerl)[attr] is not orig:
            found.append(f"prunerl.{attr}")
    return found


def restore_protected() -> None:
    for (mod, attr), orig in PROTECTED.items():
        setattr(mod, attr, orig)
    for attr in ("evaluate", "load_agent", "finetune"):
        vars(prunerl).pop(attr, None)


class Outcome:
    """What one learner call did: its result or its error, reference calls, replaced course functions."""

    def __init__(self):
        self.result, self.error, self.exc = None, None, None
        self.references: list[str] = []
        self.tampered: list[str] = []
        self.calls: list[str] = []  # library calls seen by a monitor (forbidden converters)

    def facts(self) -> dict:
        return {"error": self.error, "references": self.references, "tampered": self.tampered, "calls": self.calls}


def call(fn: Callable, *args, spies=None, monitor=None, **kwargs) -> Outcome:
    """Call learner function ``fn`` with the reference pruning functions replaced by tripwires."""
    out = Outcome()
    if not callable(fn):
        out.error = f"expected a function, got {type(fn).__name__}; run the cell that defines it"
        return out
    out.tampered = tampered()
    restore_protected()
    TRIPPED.clear()
    for ref, fn_ref in REFERENCE.items():
        fn_ref.__code__ = _tripwire.__code__.replace(co_name=ref, co_qualname=ref)
    if spies is not None:
        spies.install()
    if monitor is not None:
        monitor.start()
    try:
        out.result = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 (recorded; re-raised by the check once the record is written)
        out.exc = exc
        out.error = f"{getattr(fn, '__name__', 'your function')} raised {type(exc).__name__}: {exc}"[:500]
    finally:
        if monitor is not None:
            out.calls = monitor.stop()
        for ref, fn_ref in REFERENCE.items():
            fn_ref.__code__ = REFERENCE_CODE[ref]
        replaced = spies.uninstall() if spies is not None else []
        if spies is not None:
            restore_protected()
    out.references = sorted(set(TRIPPED))
    out.tampered = sorted(set(out.tampered + replaced + tampered()))
    restore_protected()
    if out.references or out.tampered:
        out.exc = None  # a consequence of what the record says happened (a tripwire, a replaced course function)
    return out


def cached(key, compute: Callable[[], Any]):
    """Run a (slow) learner call once per function object; every check that needs it reuses the result."""
    if key not in CACHE:
        CACHE[key] = compute()
    return CACHE[key]


# ------------------------------------------------------------------------------------------------- public checks

def collector(exercise: str) -> Callable:
    """Turn ``collect(*learner_fns, values) -> dict`` into the public check of that name."""
    def wrap(collect: Callable) -> Callable:
        @functools.wraps(collect)
        def check(*fns) -> None:
            framework()
            name = collect.__name__
            directory = os.environ.get(RECORDS_ENV)
            if directory:
                _record.write(directory, name, {"status": "started"})
            started = time.perf_counter()
            before = tampered()  # replaced since the last check (e.g. by the cell's visible lines): this test fails
            restore_protected()
            data = collect(*fns, values(exercise))
            data["tampered"] = sorted(set(data.get("tampered", []) + before))
            exc = None if before else data.pop("_exc", None)
            data.pop("_exc", None)
            data.update(status="done", framework=framework(), audit=list(AUDIT),
                        seconds=round(time.perf_counter() - started, 3))
            if directory:
                _record.write(directory, name, data)
            else:
                from prunerl.course.grading.checker.judges import judge_record

                message = judge_record(name, _record.loads(*_record.dumps(data)), values(exercise), framework())
                if message and exc is None:
                    raise AssertionError(message)
            if exc is not None:
                raise exc
        check.collector = collect
        return check

    return wrap


def outcome_data(out: Outcome, **data) -> dict:
    """A record's common part; the learner's exception travels back to the check to be re-raised in the cell."""
    return dict(out.facts(), _exc=out.exc, **data)
