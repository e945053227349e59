"""The checker's oracles: fresh zoo agents, independent reference computations, its own evaluations.

Independent of :mod:`prunerl.pruning`: NumPy, ``scipy.sparse``, ``torch.nn.utils.prune`` (torch track) and the
TFMOT polynomial-decay formula. Runs only in the checker process, never in a learner's kernel.
"""
from __future__ import annotations

import functools

import numpy as np

import prunerl
from prunerl.evaluation import scores_fn
from prunerl.course.grading import protocol
from prunerl.course.grading.protocol import env_of


class Failed(Exception):
    """A check's verdict: the message says, in the learner's terms, what was computed and what was expected."""


def fail(message: str):
    raise Failed(message)


def fresh(name: str, framework: str):
    """A new zoo agent in the track's framework."""
    return prunerl.load_agent(name, framework)


@functools.cache
def _cached(name: str, framework: str, what: str):
    model = fresh(name, framework)
    if what == "weights":
        return protocol.weights(model)
    if what == "params":
        return protocol.params(model)
    return protocol.layers(model)


def weights(name: str, framework: str) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in _cached(name, framework, "weights").items()}


def params(name: str, framework: str) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in _cached(name, framework, "params").items()}


def biases(name: str, framework: str) -> dict[str, np.ndarray]:
    return {k: v for k, v in params(name, framework).items() if k.endswith("bias")}


def layers(name: str, framework: str) -> list[dict]:
    return _cached(name, framework, "layers")


def with_weights(name: str, framework: str, new: dict[str, np.ndarray]):
    model = fresh(name, framework)
    protocol.set_weights(model, new)
    return model


def with_params(name: str, framework: str, new: dict[str, np.ndarray]):
    """A zoo agent whose every parameter (weights and biases, as ``protocol.params`` names them) is ``new``."""
    model = fresh(name, framework)
    if framework == "torch":
        import torch

        model.load_state_dict({k: torch.as_tensor(np.asarray(a)) for k, a in new.items()})
    else:
        for var in model.weights:
            var.assign(new[var.path])
    return model


def outputs(model, obs: np.ndarray) -> np.ndarray:
    return np.asarray(scores_fn(model)(obs))


def evaluate(name: str, framework: str, new: dict[str, np.ndarray], episodes: int, seed: int):
    """The checker's own seeded evaluation of the agent with the given prunable weights."""
    return prunerl.evaluate(with_weights(name, framework, new), env_of(name), episodes=episodes, seed=seed)


def sparsity(w: dict[str, np.ndarray]) -> float:
    total = sum(a.size for a in w.values())
    return float(sum(int((a == 0).sum()) for a in w.values()) / total)


def global_masks(w: dict[str, np.ndarray], fraction: float) -> dict[str, np.ndarray]:
    """Prune the round(s * n) smallest |w| pooled over all tensors (ties broken by position)."""
    flat = np.concatenate([np.abs(a).ravel() for a in w.values()])
    k = int(round(fraction * flat.size))
    keep = np.ones(flat.size, bool)
    keep[np.argsort(flat, kind="stable")[:k]] = False
    masks, offset = {}, 0
    for name, a in w.items():
        masks[name] = keep[offset:offset + a.size].reshape(a.shape)
        offset += a.size
    return masks


def globally_pruned(name: str, framework: str, fraction: float) -> dict[str, np.ndarray]:
    w = weights(name, framework)
    masks = global_masks(w, fraction)
    return {k: a * masks[k] for k, a in w.items()}


def global_count(name: str, framework: str, fraction: float) -> int:
    """How many weights global magnitude pruning removes: torch.nn.utils.prune's count, round(s * n) on Keras."""
    if framework == "torch":
        import torch
        from torch.nn.utils import prune as torch_prune

        model = fresh(name, framework)
        modules = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
        torch_prune.global_unstructured([(m, "weight") for m in modules], pruning_method=torch_prune.L1Unstructured,
                                        amount=fraction)
        return int(sum(int((m.weight_mask == 0).sum()) for m in modules))
    return int(round(fraction * sum(a.size for a in weights(name, framework).values())))


def unit_scores(w: np.ndarray) -> np.ndarray:
    return np.abs(w.astype(np.float64)).reshape(w.shape[0], -1).sum(axis=1)


def to_torch_layout(name: str, a: np.ndarray) -> np.ndarray:
    if name.endswith("/kernel"):
        return a.T if a.ndim == 2 else a.transpose(3, 2, 0, 1)
    return a


def tfmot_polynomial(step, initial, final, begin, end, power) -> float:
    # TFMOT PolynomialDecay: p = min(1, max(0, (step - begin) / (end - begin))); s = (si - sf) (1 - p)^power + sf
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return (initial - final) * (1 - p) ** power + final


def csr(matrix: np.ndarray):
    from scipy.sparse import csr_matrix

    oracle = csr_matrix(matrix)
    oracle.sort_indices()
    return oracle


def fmt(x: float) -> str:
    return f"{x:.6g}"


def runs(rec: dict, n: int, func: str) -> list[dict]:
    """The record's runs, exactly one per case the check ran (a record with fewer says nothing about the rest)."""
    found = rec.get("runs")
    if not isinstance(found, list) or len(found) != n:
        fail(f"{func} was not run on every case of the check ({n} expected, "
             f"{len(found) if isinstance(found, list) else 0} recorded)")
    return found


def mask_dict(rec: dict, names: list[str], func: str) -> dict[str, np.ndarray]:
    """The masks a collector recorded, checked against the contract's shape: ``{name: boolean keep-mask}``."""
    if rec.get("type") != "dict":
        fail(f"{func} returned {rec.get('type')}; the contract returns a dict {{parameter name: boolean keep-mask}}")
    masks = rec["masks"]
    missing, extra = sorted(set(names) - set(masks)), sorted(set(masks) - set(names))
    if missing or extra:
        fail(f"{func} returned masks for {sorted(masks)}; expected exactly the prunable weights {sorted(names)} "
             f"(missing {missing}, unexpected {extra}; biases get no mask)")
    bad = [k for k, m in masks.items() if m is None]
    if bad:
        fail(f"{func} returned masks[{bad[0]!r}] that is not an array")
    return masks
