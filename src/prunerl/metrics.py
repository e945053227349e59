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

from .evaluation import framework_of


def _torch_layers(model):
    from torch import nn

    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]


def _keras_layers(model):
    import keras

    kinds = (keras.layers.Dense, keras.layers.Conv2D)
    return [(layer.name, layer) for layer in model.layers if isinstance(layer, kinds)]


def prunable_weights(model) -> dict[str, np.ndarray]:
    """``{name: weight array}`` of every prunable tensor (torch: ``"0.weight"``; Keras: ``"dense_0/kernel"``)."""
    framework = framework_of(model)
    if framework == "torch":
        return {f"{name}.weight" if name else "weight": m.weight.detach().cpu().numpy()
                for name, m in _torch_layers(model)}
    if framework == "tensorflow":
        return {f"{name}/kernel": np.asarray(layer.kernel) for name, layer in _keras_layers(model)}
    raise TypeError(f"expected a torch module or a Keras model, got {type(model).__name__}")


def all_parameters(model) -> dict[str, np.ndarray]:
    framework = framework_of(model)
    if framework == "torch":
        return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items() if not k.endswith("_mask")}
    if framework == "tensorflow":
        return {v.path: np.asarray(v) for v in model.weights}
    raise TypeError(f"expected a torch module or a Keras model, got {type(model).__name__}")


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
    if name.endswith("/kernel"):  # Keras: (..., in, out)
        w = np.moveaxis(w, -1, 0)
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


def _layer_macs(model, input_shape) -> list[tuple[str, int, float]]:
    """(layer name, multiply-accumulates per observation, weight density) per prunable layer."""
    framework = framework_of(model)
    out = []
    if framework == "torch":
        import torch

        shape = tuple(input_shape or getattr(model, "obs_shape", ()))
        if not shape:
            first = _torch_layers(model)[0][1]
            shape = (first.in_features,)
        outputs = {}
        hooks = [m.register_forward_hook(lambda mod, inp, res, n=name: outputs.__setitem__(n, res.shape))
                 for name, m in _torch_layers(model)]
        with torch.no_grad():
            model(torch.zeros((1, *shape)))
        for h in hooks:
            h.remove()
        for name, m in _torch_layers(model):
            w = m.weight.detach()
            per_output = w[0].numel()  # in_features, or in_channels x kh x kw
            positions = int(np.prod(outputs[name][2:])) if w.ndim > 2 else 1
            out.append((name, per_output * w.shape[0] * positions, float((w != 0).float().mean())))
    elif framework == "tensorflow":
        for name, layer in _keras_layers(model):
            kernel = np.asarray(layer.kernel)
            positions = int(np.prod(layer.output.shape[1:-1])) if kernel.ndim > 2 else 1
            out.append((name, kernel.size * positions, float((kernel != 0).mean())))
    else:
        raise TypeError(f"expected a torch module or a Keras model, got {type(model).__name__}")
    return out


def flops(model, input_shape: tuple[int, ...] | None = None, nonzero_only: bool = False) -> int:
    """FLOPs of one forward pass for one observation (2 per multiply-accumulate).

    ``nonzero_only=True`` counts only multiplications by non-zero weights: what an ideal sparse kernel
    would do, not what a dense kernel multiplying zeros actually does. ``input_shape`` (without the
    batch dimension) is needed for a torch module built without ``obs_shape``.
    """
    layers = _layer_macs(model, input_shape)
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
