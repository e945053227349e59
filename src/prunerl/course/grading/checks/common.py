"""Kernel-side helpers shared by the collectors: fresh agents, coercion of learner results to plain data, spies."""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

import prunerl

from .. import protocol as p
from . import harness as h

weights, params, set_weights, layers, digest = p.weights, p.params, p.set_weights, p.layers, p.digest


def agent(name: str):
    """A fresh zoo agent in the track's framework, loaded with the protected loader."""
    return h.LOAD_AGENT(name, h.framework())


def arr(x, dtype=None) -> np.ndarray | None:
    """A plain NumPy copy of a learner's array/tensor, or None when it is not numeric array data."""
    try:
        if hasattr(x, "detach"):
            x = x.detach().cpu()
        if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
            x = x.numpy()
        a = np.array(x, dtype=dtype, copy=True, subok=False)
    except Exception:  # noqa: BLE001 (whatever the learner returned is not an array)
        return None
    return a if a.dtype.kind in "biufc" else None


def num(x) -> float | None:
    try:
        return float(np.float64(float(x)))
    except Exception:  # noqa: BLE001
        return None


def outputs(model, obs: np.ndarray):
    """The learner model's outputs on ``obs`` as a plain array (``None`` plus the error when it fails)."""
    try:
        fn = h.SCORES_FN(model)
        if fn is not None:
            return arr(fn(obs)), None
        if h.framework() == "torch":
            import torch

            with torch.no_grad():
                return arr(model(torch.as_tensor(obs))), None
        return arr(model(obs)), None
    except Exception as exc:  # noqa: BLE001 (recorded for the checker's message)
        return None, f"{type(exc).__name__}: {exc}"[:300]


observations = p.observations


def framework_ok(model) -> bool:
    return h.FRAMEWORK_OF(model) == h.framework()


class Spies:
    """Route ``prunerl.evaluate`` / ``prunerl.finetune`` through recording wrappers for one learner call."""

    def __init__(self, evaluate: bool = False, finetune: bool = False, mask_probe=None, sparsity_every: int = 0,
                 keep_params: bool = False):
        self.evaluations: list[dict] = []
        self.finetunes: list[dict] = []
        self.want_eval, self.want_ft = evaluate, finetune and h.STATE["finetune"] is not None
        self.mask_probe, self.sparsity_every, self.keep_params = mask_probe, sparsity_every, keep_params
        self.installed: list[tuple[Any, str, Any]] = []

    def _eval_spy(self):
        def evaluate(model_or_policy, env_id, episodes=20, seed=0, *args, **kwargs):
            result = h.EVALUATE(model_or_policy, env_id, episodes, seed, *args, **kwargs)
            model = h.FRAMEWORK_OF(model_or_policy) is not None
            self.evaluations.append({"env_id": str(env_id), "episodes": int(episodes), "seed": int(seed),
                                     "mean": float(result.mean), "std": float(result.std),
                                     "weights": weights(model_or_policy) if model else None,
                                     "params": params(model_or_policy) if model and self.keep_params else None})
            return result

        return evaluate

    def _ft_spy(self):
        original = h.STATE["finetune"]

        def finetune(model, env_id, steps, seed=0, callback=None, *args, **kwargs):
            rec = {"env_id": str(env_id), "steps": int(steps), "seed": int(seed), "callback": callback is not None,
                   "calls": 0, "violations": 0, "first_violation": None, "sparsity": []}
            self.finetunes.append(rec)

            def wrapped(net, step):
                if callback is not None:
                    callback(net, step)
                rec["calls"] += 1
                if self.mask_probe is not None:  # course code watches the masks after every optimizer step
                    w = h.PRUNABLE(net)
                    bad = sum(int(np.count_nonzero(w[n][~m])) for n, m in self.mask_probe.items() if n in w)
                    if bad:
                        rec["violations"] += 1
                        if rec["first_violation"] is None:
                            rec["first_violation"] = [int(step), bad]
                if self.sparsity_every and rec["calls"] % self.sparsity_every == 1:
                    rec["sparsity"].append([int(step), float(h.SPARSITY(net))])

            watch = callback is not None or self.mask_probe is not None or self.sparsity_every
            return original(model, env_id, steps, seed, wrapped if watch else None, *args, **kwargs)

        return finetune

    def install(self) -> None:
        if self.want_eval:
            spy = self._eval_spy()
            self.installed += [(sys.modules["prunerl.evaluation"], "evaluate", spy), (prunerl, "evaluate", spy)]
        if self.want_ft:
            spy = self._ft_spy()
            self.installed += [(sys.modules["prunerl.train"], "finetune", spy), (prunerl, "finetune", spy)]
        for mod, attr, spy in self.installed:
            setattr(mod, attr, spy)

    def uninstall(self) -> list[str]:
        return [f"{mod.__name__}.{attr}" for mod, attr, spy in self.installed if getattr(mod, attr, None) is not spy]


def mask_record(result) -> dict:
    """What a function returned where the contract wants ``{name: boolean mask}``, as plain data."""
    if not isinstance(result, dict):
        return {"type": type(result).__name__, "masks": {}}
    return {"type": "dict", "masks": {str(k): arr(v) for k, v in result.items()}}


def table_record(df, columns: list[str]) -> dict:
    """A learner's DataFrame as plain columns: numbers as float arrays, anything else as strings."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        return {"type": type(df).__name__, "columns": [], "data": {}}
    data = {}
    for col in columns:
        if col in df.columns:
            values = arr(df[col].to_numpy(), "float64") if col != "strategy" else None
            data[col] = values if values is not None else [str(x) for x in df[col].tolist()]
    return {"type": "DataFrame", "columns": [str(x) for x in df.columns], "rows": int(len(df)), "data": data}
