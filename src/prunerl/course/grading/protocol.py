"""What the two sides of the hidden checks share: the kernel's collectors (``checks``) and the checker (``checker``).

Neither side imports the other; both import this module, which knows no expected answer:

- the names of the check files a kernel finds (its records folder, its inputs file);
- the record format: plain data only (JSON numbers/strings/lists/dicts and NumPy arrays). A record is
  ``<name>.json`` (the structure, arrays replaced by ``{"__array__": key}``) and ``<name>.npz`` (the arrays).
  Writing refuses any other type and reading uses ``allow_pickle=False``: a learner's object (an ndarray subclass,
  something whose ``__eq__`` lies) never crosses into the checker, only its coerced values. A record is only
  evidence of what the learner's function returned; the checker judges it against its own oracles;
- the check inputs, drawn per learner from a key (course secret, student id, notebook digest), and the observations
  and matrices made from them;
- a model's weights and parameters as plain arrays.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from prunerl.backend import framework_of

RECORDS_ENV = "PRUNERL_CHECK_RECORDS"  # the kernel's records folder (the only host folder it can write)
INPUTS_FILES = ("prunerl-check-params.json", "params.json")  # beside the records folder (sandboxed, unsandboxed)
NUMERIC = "biufc"
DECODED_MAX = 256 * 1024 ** 2  # a record's arrays, decoded (the records folder itself holds 64 MiB)
REVIEW = "held for review (0 until an instructor grades it): "  # a verdict's message when the evidence is the source


_LOCAL_JUDGE: list = []


def register_local_judge(judge) -> None:
    """The checker offers its judge for checks run by hand (no records folder); the kernel never imports it."""
    _LOCAL_JUDGE[:] = [judge]


def local_judge():
    if not _LOCAL_JUDGE:
        raise RuntimeError("the hidden checks are judged by the grader: import prunerl.course.grading.checker to "
                           "judge them in this process")
    return _LOCAL_JUDGE[0]


def inputs_file(records: str | Path) -> Path | None:
    """The check inputs the grader gave this kernel: a file beside its records folder, named in no variable."""
    for name in INPUTS_FILES:
        path = Path(records).parent / name
        if path.is_file():
            return path
    return None

# ---------------------------------------------------------------------------------------------- records



def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if type(value) is np.ndarray:
        if value.dtype.kind not in NUMERIC:
            raise TypeError(f"array of dtype {value.dtype} is not plain data")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if type(value) in (list, tuple):
        return [_encode(v, arrays) for v in value]
    if type(value) is dict:
        return {str(k): _encode(v, arrays) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} is not plain data")


def _decode(value: Any, arrays) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return np.array(arrays[value["__array__"]])
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _decode(v, arrays) for k, v in value.items()}
    return value


def dumps(data: dict) -> tuple[str, bytes]:
    """``(json text, npz bytes)`` of a record; raises TypeError on anything but plain data."""
    arrays: dict[str, np.ndarray] = {}
    text = json.dumps(_encode(data, arrays))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return text, buffer.getvalue()


def loads(text: str, npz: bytes | None) -> dict:
    if npz:
        with zipfile.ZipFile(io.BytesIO(npz)) as z:  # a deflate bomb is refused before anything is inflated
            if sum(info.file_size for info in z.infolist()) > DECODED_MAX:
                raise ValueError(f"its arrays would decode to more than {DECODED_MAX >> 20} MiB")
        with np.load(io.BytesIO(npz), allow_pickle=False) as arrays:
            return _decode(json.loads(text), {k: arrays[k] for k in arrays.files})
    return _decode(json.loads(text), {})


def write(directory: str | Path, name: str, data: dict) -> None:
    text, npz = dumps(data)
    directory = Path(directory)
    (directory / f"{name}.npz").write_bytes(npz)
    tmp = directory / f".{name}.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, directory / f"{name}.json")  # the JSON last: a record is complete when its JSON exists


def read(directory: str | Path, name: str) -> dict | None:
    """The record ``name``, or None if there is none; a damaged record reads as ``{"damaged": reason}``."""
    directory = Path(directory)
    path = directory / f"{name}.json"
    if not path.is_file():
        return None
    npz = directory / f"{name}.npz"
    try:
        return loads(path.read_text(encoding="utf-8"), npz.read_bytes() if npz.is_file() else None)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        return {"damaged": f"{type(exc).__name__}: {exc}"}


# ------------------------------------------------------------------------------------------ check inputs

def check_key(secret: str | None, student: str | None = None, notebook: str | None = None) -> str:
    """The key a learner's check inputs are drawn from: a leaked input helps no other learner and no resubmission."""
    return "\0".join([secret or "open", student or "", notebook or ""]) if student or notebook else secret or "open"


def _rng(key: str, exercise: str, framework: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{key}\0{exercise}\0{framework}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _u(rng, low: float, high: float, digits: int = 3) -> float:
    return round(float(rng.uniform(low, high)), digits)


def draw(exercise: str, framework: str, key: str | None = None) -> dict:
    """The check values of one exercise and track, for the key of :func:`check_key` (None: the open values)."""
    rng = _rng(key or check_key(None), exercise, framework)
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
                "plot_seed": i(0, 10_000), "summary_seed": i(0, 10_000),
                "decide": {"seed": i(0, 10_000),  # (a, b, sparsity) of decide_rows' table
                           "fair": [["random", "global_magnitude", 0.9], ["global_magnitude", "random", 0.5],
                                    ["l1_structured", "global_magnitude", 0.5], ["global_magnitude", "random", 0.8]],
                           "unfair": [["gradual", "global_magnitude", 0.9], ["random", "gradual", 0.5],
                                      ["l1_structured", "global_magnitude", 0.9]]}}
    raise ValueError(f"unknown exercise {exercise!r}")




def env_of(name: str) -> str:
    from prunerl import zoo

    return zoo.RECIPES[name].env_id


def observations(name: str, n: int, seed: int) -> np.ndarray:
    from prunerl.envs import make_env

    env = make_env(env_of(name))
    space = env.observation_space
    space.seed(int(seed))
    obs = np.stack([space.sample() for _ in range(n)]).astype(np.float32)
    env.close()
    if obs.ndim == 2:
        return np.clip(obs, -5, 5)
    return obs % 11  # MiniGrid image cells hold small codes (object, colour, state), not 0..255 pixels


def csr_random(seed: int, shape: list[int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=tuple(shape)).astype(np.float32)
    a[rng.random(a.shape) < 0.7] = 0
    return a


def csr_layer(torch_layout_weight: np.ndarray, quantile: float) -> np.ndarray:
    """A zoo layer's weight (torch layout) magnitude-pruned to ``quantile``, as a dense float32 matrix."""
    w = torch_layout_weight
    return np.where(np.abs(w) > np.quantile(np.abs(w), quantile), w, 0).astype(np.float32)


def csr_edge_cases() -> list[np.ndarray]:
    b = np.zeros((5, 4), np.float32)
    b[2, 1], b[2, 3], b[4, 0] = 1.5, -2.0, 3.0  # empty first rows, empty row between, value in the last
    c = np.zeros((4, 6), np.float64)
    c[0, 5] = 7.0  # only the first row, last column
    return [b, c, np.zeros((3, 4), np.float32), np.array([[0.0, 2.0, 0.0, -1.0]]), np.array([[1.0], [0.0], [2.0]])]


def matmul_vectors(seed: int, matrices: list[np.ndarray]) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=m.shape[1]).astype(m.dtype), rng.normal(size=(m.shape[1], 3)).astype(m.dtype)]
            for m in matrices]


def plot_rows(seed: int) -> list[dict]:
    """A comparison table of 5 seeds (an IQM of 5 values is not their mean), sparsities out of order."""
    rng = np.random.default_rng(seed)
    return [{"strategy": s, "sparsity": p, "seed": d, "mean_return": float(rng.normal(100 * (1 - p) + 10 * i, 5))}
            for i, s in enumerate(["global_magnitude", "random", "l1_structured"])
            for p in (0.9, 0.0, 0.5) for d in range(5)]


def summary_rows(seed: int) -> list[dict]:
    """A comparison table of 5 seeds per (strategy, sparsity), returns within CartPole's [0, 500]: global magnitude
    at 0.5 keeps every seed at 500 (only a rate is then true), gradual trained 400 env steps, l1_structured's
    achieved sparsity below its unit fraction."""
    rng = np.random.default_rng(seed)
    return [{"strategy": s, "sparsity": p, "achieved_sparsity": round(p * (0.992 if s == "l1_structured" else 1), 4),
             "train_steps": 400 if s == "gradual" else 0, "seed": d,
             "mean_return": 500.0 if (s, p) == ("global_magnitude", 0.5) else
             float(np.clip(rng.normal(300 - 200 * p, 120), 0, 500))}
            for s in ["random", "global_magnitude", "l1_structured", "gradual"] for p in (0.5, 0.9) for d in range(5)]


def decide_rows(seed: int) -> list[dict]:
    """A comparison table for paired decisions: 6 seeds (4 at 0.8) that share a seed effect, listed in a different
    order per strategy (pair by seed, not by row); gradual trained 400 env steps; l1_structured at 0.9 achieves
    0.85."""
    rng = np.random.default_rng(seed)
    seeds = [int(d) for d in rng.choice(50, 6, replace=False)]
    base = {d: float(rng.uniform(100, 400)) for d in seeds}
    shift = {"global_magnitude": 0.0, "random": -float(rng.uniform(30, 60)), "l1_structured": float(rng.uniform(-4, 4)),
             "gradual": float(rng.uniform(30, 60))}
    rows = []
    for s, delta in shift.items():
        for p, n in ((0.5, 6), (0.8, 4), (0.9, 6)):
            achieved = round(p * (0.992 if s == "l1_structured" else 1), 4)
            achieved = 0.85 if (s, p) == ("l1_structured", 0.9) else achieved
            for d in rng.permutation(seeds[:n]):
                rows.append({"strategy": s, "sparsity": p, "achieved_sparsity": achieved,
                             "train_steps": 400 if s == "gradual" else 0, "seed": int(d),
                             "mean_return": float(np.clip(base[int(d)] + delta + rng.normal(0, 6), 0, 500))})
    return rows


def midpoint_threshold(weights: dict[str, np.ndarray], fraction: float) -> float:
    """A threshold strictly between two neighbouring |w| values (no ties), about ``fraction`` of the way up."""
    flat = np.sort(np.concatenate([np.abs(w).ravel() for w in weights.values()]).astype(np.float64))
    k = int(fraction * flat.size)
    while True:  # a midpoint that is itself a weight (neighbouring float32 values) would make a tie
        t = np.float32((flat[k] + flat[k + 1]) / 2)
        if flat[k] < t < flat[k + 1]:
            return float(t)
        k += 1


def tie_grid(weights: dict[str, np.ndarray], grid: int) -> dict[str, np.ndarray]:
    """The weights rounded to multiples of 1/grid, so that many of them tie with a threshold on that grid."""
    return {k: (np.round(w * grid).astype(np.float32) / np.float32(grid)) for k, w in weights.items()}


# ------------------------------------------------------------------------------------ models as plain data

def weights(model) -> dict[str, np.ndarray]:
    from prunerl.metrics import prunable_weights

    return {str(k): np.array(v, copy=True) for k, v in prunable_weights(model).items()}


def params(model) -> dict[str, np.ndarray]:
    """Every parameter (weights and biases) of a model, copied."""
    if framework_of(model) == "torch":
        return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    return {v.path: np.array(np.asarray(v)) for v in model.weights}


def set_weights(model, new: dict[str, np.ndarray]) -> None:
    if framework_of(model) == "torch":
        import torch

        named = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in new.items():
                named[name].copy_(torch.as_tensor(value))
    else:
        layers = {f"{layer.name}/kernel": layer for layer in model.layers}
        for name, value in new.items():
            layers[name].kernel.assign(value)


def layers(model) -> list[dict]:
    """``{"kind", "weight", "bias"}`` of every Linear/Dense/Conv layer in order, weights in torch layout."""
    out = []
    if framework_of(model) == "torch":
        from torch import nn

        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                w = m.weight.detach().cpu().numpy().copy()
                b = m.bias.detach().cpu().numpy().copy() if m.bias is not None else np.zeros(w.shape[0], np.float32)
                out.append({"kind": "conv" if isinstance(m, nn.Conv2d) else "linear", "weight": w, "bias": b})
        return out
    import keras

    for layer in model.layers:
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            kernel = np.array(np.asarray(layer.kernel))
            bias = (np.array(np.asarray(layer.bias)) if layer.bias is not None
                    else np.zeros(kernel.shape[-1], np.float32))
            conv = kernel.ndim == 4
            out.append({"kind": "conv" if conv else "linear",
                        "weight": np.ascontiguousarray(kernel.transpose(3, 2, 0, 1) if conv else kernel.T),
                        "bias": bias})
    return out


def digest(w: dict[str, np.ndarray] | None) -> str | None:
    """A fingerprint of a model's prunable weights (to match evaluations with the copies they evaluated)."""
    if w is None:
        return None
    h_ = hashlib.sha256()
    for k in sorted(w):
        h_.update(k.encode())
        h_.update(np.ascontiguousarray(w[k]).tobytes())
    return h_.hexdigest()
