"""Sparse training from the first step: static random sparsity, SET and RigL, as trainer hooks.

Unlike gradual magnitude pruning (:class:`prunerl.recipes.SparsitySchedule`, dense at first), these networks are
sparse from the start: random masks with the per-layer densities of :func:`prunerl.pruning.layer_densities`
(ERK by default, Evci et al. 2020), exactly ``round(density * size)`` active weights per tensor.

- ``static``: the random masks are held fixed (the baseline of Graesser et al. 2022).
- ``set`` (Mocanu et al. 2018): every ``every`` optimizer steps each tensor drops the smallest-|w| fraction of
  its active weights and grows as many at random among the inactive ones.
- ``rigl`` (Evci et al. 2020): the same drop; it grows the inactive weights with the largest |gradient| of the
  last batch (the dense gradient: the trainers compute it for every entry of the dense tensors).

The drop fraction decays with cosine annealing from ``drop_fraction`` at step 0 to 0 at ``end`` (a fraction of
the optimizer steps), after which the topology is fixed; Graesser et al.'s DQN configs (google-research/rigl,
``rl/tfagents/configs``) update every 1,000 steps from 0.5 and stop at 75 %, for SET too. Each update drops k and
grows k, so every tensor keeps its exact number of active weights (measured sparsity can sit a little above the
target: a grown weight whose gradient stays zero, feeding a dead unit, stays zero). Grown weights start at zero
(as RigL's code does for both methods). Adam's moment estimates of a grown weight are not reset: the hook sees
the network, not the optimizer.
"""
from __future__ import annotations

import math

import numpy as np

from .backend import backend_of
from .metrics import prunable_weights
from .pruning import Masks, apply_masks, layer_densities, set_prunable_weights

METHODS = ("static", "set", "rigl")


def cosine_drop_fraction(step: int, initial: float, end_step: int) -> float:
    """RigL's schedule: ``initial / 2 * (1 + cos(pi * step / end_step))`` up to ``end_step``, 0 from there on."""
    if step >= end_step:
        return 0.0
    return initial / 2 * (1 + math.cos(math.pi * step / end_step))


def random_layer_masks(shapes: dict[str, tuple], densities: dict[str, float], seed: int = 0) -> Masks:
    """Uniformly random masks with exactly ``round(density * size)`` active entries per tensor."""
    rng = np.random.default_rng(seed)
    masks = {}
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        masks[name] = _top(rng.random(size), int(round(densities[name] * size))).reshape(shape)
    return masks


def drop_and_grow(weights: dict[str, np.ndarray], masks: Masks, fraction: float,
                  grow_scores: dict[str, np.ndarray]) -> tuple[Masks, Masks]:
    """One topology update: in each tensor drop ``floor(fraction * active)`` active weights of smallest |w| and
    grow as many of the highest ``grow_scores`` among the rest (a weight just dropped may come back, as in RigL's
    code). Returns ``(new masks, grown)``; ``grown`` marks every weight whose value must restart from zero."""
    new, grown = {}, {}
    for name, w in weights.items():
        mask = masks[name].ravel()
        active = int(mask.sum())
        k = int(fraction * active)
        kept = _top(np.where(mask, np.abs(w).ravel(), -np.inf), active - k)
        grow = _top(np.where(kept, -np.inf, np.asarray(grow_scores[name], float).ravel()), k)
        new[name] = (kept | grow).reshape(w.shape)
        grown[name] = grow.reshape(w.shape)
    return new, grown


class DynamicSparsity:
    """Trainer hook ``callback(net, optimizer_step)`` for sparse training with ``method`` (one of
    :data:`METHODS`), at ``sparsity`` over the prunable tensors for ``total`` optimizer steps.

    The first call draws the masks (call it with step 0 before training, as :func:`prunerl.recipes.train_during`
    does, so the first update is already sparse); every call re-applies them after the optimizer has moved the
    masked weights. Works on torch modules and Keras models (RigL's gradients come from the backend).
    """

    def __init__(self, sparsity: float, total: int, method: str = "rigl", every: int = 1_000,
                 drop_fraction: float = 0.5, end: float = 0.75, allocation: str = "erk", ends: str = "allocate",
                 seed: int = 0):
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        if not 0.0 <= drop_fraction <= 1.0:
            raise ValueError(f"drop_fraction must be in [0, 1], got {drop_fraction}")
        self.sparsity, self.method, self.every, self.drop_fraction = sparsity, method, max(1, every), drop_fraction
        self.allocation, self.ends, self.seed = allocation, ends, seed
        self.end_step = int(end * total)
        self.rng = np.random.default_rng(seed + 1)  # SET's growth; seed itself draws the masks
        self.masks: Masks = {}
        self.history: list[dict] = []  # one {"step", "fraction", "moved"} per topology update
        self.final = True  # at its sparsity from the first step: any evaluated weights may be kept
        self.needs_gradients = method == "rigl"  # tells prunerl.finetune to hand a Keras model its twin's

    def __call__(self, net, step: int) -> None:
        if not self.masks:
            self.start(net)
        elif self.method != "static" and 0 < step < self.end_step and step % self.every == 0:
            self.update(net, step)
        apply_masks(net, self.masks)

    def start(self, net) -> None:
        """Draw the random masks with the allocated layer densities."""
        shapes = {n: w.shape for n, w in prunable_weights(net).items()}
        densities = layer_densities(shapes, self.sparsity, self.allocation, self.ends)
        self.masks = random_layer_masks(shapes, densities, self.seed)

    def update(self, net, step: int) -> None:
        """Drop and grow in every tensor; grown weights are set to zero."""
        weights = prunable_weights(net)
        fraction = cosine_drop_fraction(step, self.drop_fraction, self.end_step)
        if self.method == "rigl":
            scores = {n: np.abs(g) for n, g in backend_of(net).prunable_gradients(net).items()}
        else:
            scores = {n: self.rng.random(w.shape) for n, w in weights.items()}
        self.masks, grown = drop_and_grow(weights, self.masks, fraction, scores)
        set_prunable_weights(net, {n: np.where(grown[n], 0.0, w).astype(w.dtype) for n, w in weights.items()})
        self.history.append({"step": step, "fraction": fraction,
                             "moved": int(sum(g.sum() for g in grown.values()))})

    def finish(self, net) -> None:
        """Hold ``net`` (e.g. the best weights an evaluation kept, under an earlier topology) to each tensor's
        budget: keep its largest-|w| entries, as many as the tensor has active weights."""
        weights = prunable_weights(net)
        self.masks = {n: _top(np.abs(w).ravel(), int(self.masks[n].sum())).reshape(w.shape)
                      for n, w in weights.items()}
        apply_masks(net, self.masks)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` highest scores (ties broken by position)."""
    keep = np.zeros(scores.size, bool)
    keep[np.argsort(-scores, kind="stable")[:k]] = True
    return keep
