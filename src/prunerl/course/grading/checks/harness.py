"""In-kernel side of the hidden checks: call the learner's function, coerce what it returns, write a record.

``setup(framework)`` (the notebook's locked first cell) chooses the track and captures the course functions the
checks measure with. Each public check is a *collector*: it runs the learner's function on the inputs the grader
gave this kernel and writes what the function returned, as plain data, into the records folder
(:mod:`prunerl.course.grading.protocol`). A record is never evidence of anything but that output: the checker
(another process, which never runs learner code) judges it against its own oracles, and whether the test cell ran
at all is read from the notebook nbgrader saved. Nothing in this process defends the grade: a learner's code
shares it, so the use of the course's reference is detected outside it, in the learner's source.

Without a records folder (a master copy run by hand, the tests) the check is judged here by whatever judge
:func:`prunerl.course.grading.protocol.local_judge` holds, and fails as an ``AssertionError``.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time
from typing import Any
from collections.abc import Callable


import prunerl
from prunerl import backend as _backend
from prunerl import evaluation as _evaluation
from prunerl import metrics as _metrics
from prunerl import pruning as _pruning
from prunerl import zoo as _zoo
from prunerl.runtime import quiet_tensorflow

from .. import protocol

EVALUATE, SCORES_FN, FRAMEWORK_OF = _evaluation.evaluate, _evaluation.scores_fn, _backend.framework_of
LOAD_AGENT, PRUNABLE, SPARSITY = _zoo.load_agent, _metrics.prunable_weights, _metrics.sparsity
MAGNITUDE_MASKS = _pruning.magnitude_masks  # makes inputs (a pruned agent), never an answer
PROTECTED: dict[tuple[Any, str], Any] = {
    (_evaluation, "evaluate"): EVALUATE, (_zoo, "load_agent"): LOAD_AGENT,
    (_metrics, "prunable_weights"): PRUNABLE, (_metrics, "sparsity"): SPARSITY,
}
STATE: dict[str, Any] = {"framework": None, "finetune": None, "optimizer_steps_for": None, "params": None}
CACHE: dict[Any, Any] = {}


# ------------------------------------------------------------------------------------------------- set-up

def setup(framework: str) -> None:
    """Choose the track (``"torch"`` or ``"tensorflow"``) and capture the trainer the checks measure with."""
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


def framework() -> str:
    if STATE["framework"] is None:
        raise RuntimeError("run the notebook's first (set-up) cell before the tests")
    return STATE["framework"]


def values(exercise: str) -> dict:
    """The check inputs of this exercise: the grader's inputs file, or the open values when run by hand."""
    records = os.environ.get(protocol.RECORDS_ENV)
    path = protocol.inputs_file(records) if records else None
    if path is None:
        return protocol.draw(exercise, framework())
    if STATE["params"] is None:
        STATE["params"] = json.loads(path.read_text(encoding="utf-8"))
    return STATE["params"]["values"]


# ----------------------------------------------------------------------------------------- calling learner code

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
    """What one learner call did: its result or its error, replaced course functions (which only ever cost the
    learner points: a record's silence proves nothing)."""

    def __init__(self):
        self.result, self.error, self.exc = None, None, None
        self.tampered: list[str] = []
        self.calls: list[str] = []  # library calls seen by a monitor (forbidden converters)

    @property
    def stopped(self) -> bool:
        return bool(self.error or self.tampered)

    def facts(self) -> dict:
        return {"error": self.error, "tampered": self.tampered, "calls": self.calls}


def call(fn: Callable, *args, spies=None, monitor=None, **kwargs) -> Outcome:
    """Call learner function ``fn``, noting its error and any course function it replaced."""
    out = Outcome()
    if not callable(fn):
        out.error = f"expected a function, got {type(fn).__name__}; run the cell that defines it"
        return out
    out.tampered = tampered()
    restore_protected()
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
        replaced = spies.uninstall() if spies is not None else []
        if spies is not None:
            restore_protected()
    out.tampered = sorted(set(out.tampered + replaced + tampered()))
    restore_protected()
    if out.tampered:
        out.exc = None  # a consequence of what the record says happened (a replaced course function)
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
            directory = os.environ.get(protocol.RECORDS_ENV)
            if directory:
                protocol.write(directory, name, {"status": "started"})  # tells a stopped cell from one never reached
            started = time.perf_counter()
            before = tampered()  # replaced since the last check (e.g. by the cell's visible lines): this test fails
            restore_protected()
            data = collect(*fns, values(exercise))
            data["tampered"] = sorted(set(data.get("tampered", []) + before))
            exc = None if before else data.pop("_exc", None)
            data.pop("_exc", None)
            data.update(status="done", framework=framework(), seconds=round(time.perf_counter() - started, 3))
            if directory:
                protocol.write(directory, name, data)
            else:
                message = protocol.local_judge()(name, protocol.loads(*protocol.dumps(data)), values(exercise),
                                                 framework())
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
