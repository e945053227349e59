"""The course's reference pruning methods, one code path for torch modules and Keras models.

Masks are computed in NumPy on the prunable tensors (weight matrices and kernels of Linear/Dense and
Conv layers, never biases) and written back in place. A mask is ``{name: bool array}``, True = keep,
with the names of :func:`prunerl.metrics.prunable_weights`.

Zeroing weights in place keeps every tensor dense: the model is no smaller and no faster until the
zeros are removed (:func:`shrink`, structured) or stored in a sparse format.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .backend import backend_of, output_axis
from .metrics import prunable_weights

Masks = dict[str, np.ndarray]
# The strategies of :func:`prune` and what each removes (``prunerl compare`` builds its table and help from these).
STRATEGY_ABOUT = {
    "random": "a random fraction of each tensor",
    "layerwise_magnitude": "smallest |w| in each tensor",
    "global_magnitude": "smallest |w| over all tensors pooled",
    "l1_structured": "hidden units with the smallest L1 norm",
    "erk": "magnitude pruning with ERK layer densities",
}
STRATEGIES = tuple(STRATEGY_ABOUT)
SEEDED_STRATEGIES = ("random",)  # the others give the same masks whatever the seed
ALLOCATIONS = ("uniform", "global", "erk")
# What happens to the first and last prunable tensors: allocated like the others, or kept dense.
ENDS = ("allocate", "dense_first", "dense_last", "dense_both")


def set_prunable_weights(model, weights: dict[str, np.ndarray]) -> None:
    """Write prunable tensors back into ``model`` in place (names as :func:`prunable_weights` gives them)."""
    backend_of(model).set_prunable_weights(model, weights)


def apply_masks(model, masks: Masks) -> None:
    """Zero, in place, every masked-out entry (mask False) of the named tensors."""
    backend_of(model).apply_masks(model, masks)


def hold_masks(masks: Masks) -> Callable[[object, int], None]:
    """A training callback ``(model, optimizer_step)`` that re-applies fixed ``masks`` after every optimizer step
    (the optimizer's momentum would otherwise move pruned weights away from zero)."""
    return lambda model, step: apply_masks(model, masks)


def magnitude_masks(weights: dict[str, np.ndarray], sparsity: float, scope: str = "global") -> Masks:
    """Keep the largest-|w| entries so that a ``sparsity`` fraction is pruned.

    ``scope="global"`` ranks all tensors pooled (Han et al. 2015 per network; layers end up with different
    sparsities); ``"layer"`` prunes each tensor to ``sparsity`` on its own. Exactly ``round(sparsity * n)``
    entries are pruned; ties at the cut are broken by position (stable sort), so the result is deterministic.
    """
    _check_sparsity(sparsity)
    if scope == "layer":
        return {name: _keep_top(np.abs(w).ravel(), sparsity).reshape(w.shape) for name, w in weights.items()}
    if scope != "global":
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    names = list(weights)
    flat = np.concatenate([np.abs(weights[n]).ravel() for n in names])
    keep = _keep_top(flat, sparsity)
    masks, offset = {}, 0
    for n in names:
        size = weights[n].size
        masks[n] = keep[offset:offset + size].reshape(weights[n].shape)
        offset += size
    return masks


def random_masks(weights: dict[str, np.ndarray], sparsity: float, seed: int = 0) -> Masks:
    """Prune a uniformly random ``sparsity`` fraction of each tensor (the baseline any method must beat)."""
    _check_sparsity(sparsity)
    rng = np.random.default_rng(seed)
    return {name: _keep_top(rng.random(w.size), sparsity).reshape(w.shape) for name, w in weights.items()}


def l1_unit_masks(weights: dict[str, np.ndarray], sparsity: float) -> Masks:
    """Structured: in every hidden layer, drop the ``sparsity`` fraction of units (rows of a dense weight,
    output filters of a conv kernel) with the smallest L1 norm of incoming weights (Li et al. 2017).

    The output layer keeps all its units (each is an action). Masks are in the tensor's own layout:
    torch ``(out, in[, kh, kw])`` rows, Keras ``([kh, kw,] in, out)`` columns, told apart by the names.
    """
    _check_sparsity(sparsity)
    names = list(weights)
    masks = {}
    for i, name in enumerate(names):
        w = weights[name]
        if i == len(names) - 1:
            masks[name] = np.ones(w.shape, bool)
            continue
        out_axis = output_axis(name, w.ndim)
        scores = np.abs(np.moveaxis(w, out_axis, 0)).reshape(w.shape[out_axis], -1).sum(axis=1)
        keep_units = _keep_top(scores, sparsity)
        shape = [1] * w.ndim
        shape[out_axis] = -1
        masks[name] = np.broadcast_to(keep_units.reshape(shape), w.shape).copy()
    return masks


def prune(model, strategy: str, sparsity: float, seed: int = 0) -> Masks:
    """Prune ``model`` in place with one of :data:`STRATEGIES`; returns the masks applied.

    For ``l1_structured`` the fraction is of hidden units, so the weight sparsity achieved differs
    (measure it with :func:`prunerl.metrics.sparsity`).
    """
    weights = prunable_weights(model)
    if strategy == "random":
        masks = random_masks(weights, sparsity, seed)
    elif strategy == "layerwise_magnitude":
        masks = magnitude_masks(weights, sparsity, scope="layer")
    elif strategy == "global_magnitude":
        masks = magnitude_masks(weights, sparsity, scope="global")
    elif strategy == "l1_structured":
        masks = l1_unit_masks(weights, sparsity)
    elif strategy == "erk":
        masks = allocated_masks(weights, sparsity, "erk")
    else:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    apply_masks(model, masks)
    return masks


def _dense_names(names: list[str], ends: str) -> set[str]:
    if ends not in ENDS:
        raise ValueError(f"ends must be one of {', '.join(ENDS)}, got {ends!r}")
    first = {names[0]} if ends in ("dense_first", "dense_both") else set()
    return first | ({names[-1]} if ends in ("dense_last", "dense_both") else set())


def layer_densities(shapes: dict[str, tuple], sparsity: float, allocation: str = "erk",
                    ends: str = "allocate") -> dict[str, float]:
    """Fraction of each tensor to keep so that the whole network has ``sparsity`` (``allocation`` "uniform" or
    "erk"; "global" has no fixed densities, see :func:`allocated_masks`).

    "uniform": every allocated tensor gets the same density. "erk" (Evci et al. 2020, Erdos-Renyi-Kernel):
    density proportional to sum(shape) / prod(shape), so small tensors (a 4-input first layer, a 2-action
    output layer) stay denser than the wide hidden ones; tensors whose density would exceed 1 are kept
    dense and the rest rescaled. Tensors named dense by ``ends`` keep everything and the others pay for them.
    """
    _check_sparsity(sparsity)
    names = list(shapes)
    sizes = {n: int(np.prod(shapes[n])) for n in names}
    dense = _dense_names(names, ends)
    budget = (1.0 - sparsity) * sum(sizes.values())
    if allocation == "uniform":
        raw = {n: 1.0 for n in names}
    elif allocation == "erk":
        raw = {n: sum(shapes[n]) / sizes[n] for n in names}
    else:
        raise ValueError(f"allocation must be 'uniform' or 'erk' here, got {allocation!r}")
    while True:  # a density above 1 is impossible: keep that tensor dense and share out the rest again
        free = [n for n in names if n not in dense]
        left = budget - sum(sizes[n] for n in dense)
        scale = left / sum(raw[n] * sizes[n] for n in free) if free and left > 0 else 0.0
        over = {n for n in free if raw[n] * scale > 1.0}
        if not over:
            return {n: 1.0 if n in dense else raw[n] * scale for n in names}
        dense |= over


def allocated_masks(weights: dict[str, np.ndarray], sparsity: float, allocation: str = "erk",
                    ends: str = "allocate") -> Masks:
    """Magnitude masks with the layer-wise budget set by ``allocation`` (one of :data:`ALLOCATIONS`):
    "global" ranks the allocated tensors pooled, "uniform" and "erk" prune each tensor to its own density
    (:func:`layer_densities`). ``ends`` (one of :data:`ENDS`) can keep the first/last tensors dense."""
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {', '.join(ALLOCATIONS)}, got {allocation!r}")
    _check_sparsity(sparsity)
    names = list(weights)
    if allocation == "global":
        dense = _dense_names(names, ends)
        rest = {n: w for n, w in weights.items() if n not in dense}
        total = sum(w.size for w in rest.values())
        inner = min(1.0, sparsity * sum(w.size for w in weights.values()) / total) if total else 0.0
        masks = magnitude_masks(rest, inner, "global") if rest else {}
        return {n: masks[n] if n in masks else np.ones(weights[n].shape, bool) for n in names}
    densities = layer_densities({n: w.shape for n, w in weights.items()}, sparsity, allocation, ends)
    return {n: _keep_top(np.abs(w).ravel(), 1.0 - densities[n]).reshape(w.shape) for n, w in weights.items()}


def polynomial_sparsity(step: int, initial: float, final: float, begin_step: int, end_step: int,
                        power: float = 3) -> float:
    """Zhu & Gupta (2017): s_t = s_f + (s_i - s_f) (1 - (t - t0) / (t1 - t0))^power, held outside [t0, t1]."""
    if end_step <= begin_step:
        raise ValueError("end_step must be after begin_step")
    progress = min(max((step - begin_step) / (end_step - begin_step), 0.0), 1.0)
    return final + (initial - final) * (1.0 - progress) ** power


def _keep_top(scores: np.ndarray, sparsity: float) -> np.ndarray:
    """Boolean mask keeping all but the ``round(sparsity * n)`` smallest scores (stable on ties)."""
    n_prune = int(round(sparsity * scores.size))
    keep = np.ones(scores.size, bool)
    if n_prune == 0:
        return keep
    # What a stable argsort's first n_prune would give, in linear time (gradual pruning re-ranks every 10 steps):
    # every score below the cut, then the first scores equal to it, by position.
    cut = np.partition(scores, n_prune - 1)[n_prune - 1]
    if cut != cut:  # NaN at the cut: NaNs sort last by position, which argsort knows
        keep[np.argsort(scores, kind="stable")[:n_prune]] = False
        return keep
    below = scores < cut
    keep[below] = False
    keep[np.flatnonzero(scores == cut)[:n_prune - np.count_nonzero(below)]] = False
    return keep


def _check_sparsity(sparsity: float) -> None:
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
