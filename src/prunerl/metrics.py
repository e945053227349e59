"""What pruning changes, measured the same way for torch modules and Keras models.

Prunable tensors are the weight matrices and kernels of Linear/Dense and Conv layers; biases are
counted in parameter totals but never in sparsity (pruning them saves almost nothing and shifts every
unit's pre-activation). FLOPs count 2 per multiply-accumulate of those layers, for one observation;
biases and activations are left out, as in Li et al. (2017).
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from .backend import backend_of, output_axis


def prunable_weights(model) -> dict[str, np.ndarray]:
    """``{name: weight array}`` of every prunable tensor (torch: ``"0.weight"``; Keras: ``"dense_0/kernel"``)."""
    return backend_of(model).prunable_weights(model)


def all_parameters(model) -> dict[str, np.ndarray]:
    """Every parameter (biases included) as a NumPy array."""
    return backend_of(model).all_parameters(model)


def layer_sparsity(model) -> dict[str, float]:
    """Fraction of exactly-zero entries in each prunable tensor."""
    return {name: float((w == 0).mean()) for name, w in prunable_weights(model).items()}


def sparsity(model) -> float:
    """Fraction of exactly-zero entries over all prunable tensors pooled."""
    weights = list(prunable_weights(model).values())
    total = sum(w.size for w in weights)
    return float(sum(int((w == 0).sum()) for w in weights) / total) if total else 0.0


def count_params(model) -> dict[str, int]:
    """``{"total", "nonzero", "prunable", "prunable_nonzero"}`` parameter counts."""
    params = all_parameters(model).values()
    prunable = prunable_weights(model).values()
    return {"total": sum(p.size for p in params), "nonzero": sum(int(np.count_nonzero(p)) for p in params),
            "prunable": sum(w.size for w in prunable),
            "prunable_nonzero": sum(int(np.count_nonzero(w)) for w in prunable)}


def dense_bytes(model) -> int:
    """Bytes to store every parameter densely (zeros cost as much as any other value)."""
    return sum(p.nbytes for p in all_parameters(model).values())


def _rows(name: str, w: np.ndarray) -> np.ndarray:
    """A prunable tensor as a matrix with one row per output unit (torch and Keras layouts alike)."""
    w = np.moveaxis(w, output_axis(name, w.ndim), 0)
    return w.reshape(w.shape[0], -1)


def csr_tensor_bytes(matrix: np.ndarray, value_bytes: int = 4, index_bytes: int = 4) -> int:
    """CSR: a value and a column index per non-zero, plus rows + 1 row pointers."""
    matrix = matrix.reshape(matrix.shape[0], -1)
    return int(np.count_nonzero(matrix)) * (value_bytes + index_bytes) + (matrix.shape[0] + 1) * index_bytes


def bitmask_tensor_bytes(w: np.ndarray, value_bytes: int = 4) -> int:
    """Bitmask: the non-zero values packed, plus one bit per entry saying where they go."""
    return int(np.count_nonzero(w)) * value_bytes + -(-w.size // 8)


def storage_bytes(model, value_bytes: int = 4, index_bytes: int = 4) -> dict[str, int]:
    """Bytes to store the model with its prunable tensors ``dense``, in ``csr`` or as a ``bitmask``
    (everything else, the biases, stays dense). Conv kernels count as out x (in * kh * kw) matrices."""
    prunable = {name: _rows(name, w) for name, w in prunable_weights(model).items()}
    others = dense_bytes(model) - sum(w.nbytes for w in prunable.values())
    return {"dense": dense_bytes(model),
            "csr": others + sum(csr_tensor_bytes(m, value_bytes, index_bytes) for m in prunable.values()),
            "bitmask": others + sum(bitmask_tensor_bytes(m, value_bytes) for m in prunable.values())}


def flops(model, input_shape: tuple[int, ...] | None = None, nonzero_only: bool = False) -> int:
    """FLOPs of one forward pass for one observation (2 per multiply-accumulate).

    ``nonzero_only=True`` counts only multiplications by non-zero weights: what an ideal sparse kernel
    would do, not what a dense kernel multiplying zeros actually does. ``input_shape`` (without the
    batch dimension) is needed for a torch module built without ``obs_shape``.
    """
    layers = backend_of(model).layer_macs(model, input_shape)  # (name, MACs per observation, weight density)
    return int(sum(2 * macs * (density if nonzero_only else 1.0) for _, macs, density in layers))


def latency(call: Callable[[], object], warmup: int = 10, repeats: int = 50, number: int = 1) -> float:
    """Median seconds per ``call()`` over ``repeats`` timings of ``number`` calls each, after ``warmup`` calls."""
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            call()
        timings.append((time.perf_counter() - start) / number)
    return statistics.median(timings)


def summary(model, input_shape: tuple[int, ...] | None = None) -> dict:
    """The usual table row for a (pruned) model."""
    counts = count_params(model)
    return {"sparsity": sparsity(model), "params": counts["total"], "nonzero_params": counts["nonzero"],
            "dense_bytes": dense_bytes(model), "csr_bytes": storage_bytes(model)["csr"],
            "flops": flops(model, input_shape),
            "nonzero_flops": flops(model, input_shape, nonzero_only=True)}
