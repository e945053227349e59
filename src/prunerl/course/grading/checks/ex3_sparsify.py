"""Exercise 3 collectors: ``to_csr``, ``csr_matmul``, ``sparsify`` and ``storage_bytes``."""
from __future__ import annotations

import sys
import warnings

import numpy as np

from . import common as c
from . import harness as h
from ..protocol import csr_edge_cases, csr_layer, csr_random, matmul_vectors
from .monitor import ConverterMonitor

collector = h.collector("ex3")


def csr_cases(v) -> list[np.ndarray]:
    layer = next(w for k, w in c.weights(c.agent("cartpole-dqn")).items() if k in ("2.weight", "dense_2/kernel"))
    return [csr_random(v["csr_seed"], v["csr_shape"]), csr_layer(layer, v["quantile"])]


def _to_csr(fn, matrices) -> dict:
    runs = []
    for m in matrices:
        monitor = ConverterMonitor()
        out = h.call(fn, m.copy(), monitor=monitor)
        result = out.result
        run = {"shape": list(m.shape), "calls": out.calls,
               "triple": isinstance(result, (tuple, list)) and len(result) == 3}
        if run["triple"]:
            run["parts"] = [c.arr(x) for x in result]
            run["parts"] = [None if p is None else p.ravel() for p in run["parts"]]
        runs.append(run)
        if out.stopped or out.calls:
            break
    return h.outcome_data(out, runs=runs)


@collector
def to_csr(to_csr, v) -> dict:
    return _to_csr(to_csr, csr_cases(v))


@collector
def to_csr_edge(to_csr, v) -> dict:
    return _to_csr(to_csr, csr_edge_cases())


def csr_triple(m: np.ndarray) -> tuple:
    rows, cols = np.nonzero(m)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=m.shape[0]))]).astype(np.int64)
    return m[rows, cols].copy(), cols.astype(np.int64), ptr


@collector
def csr_matmul(csr_matmul, v) -> dict:
    matrices = csr_cases(v) + csr_edge_cases()
    runs = []
    for m, xs in zip(matrices, matmul_vectors(v["matmul_seed"], matrices)):
        for x in xs:
            out = h.call(csr_matmul, csr_triple(m), m.shape, x)
            runs.append(c.arr(out.result, "float64"))
            if out.stopped:
                return h.outcome_data(out, results=runs)
    return h.outcome_data(out, results=runs)


def pruned_agent(name: str, sparsity: float):
    model = c.agent(name)
    w = c.weights(model)
    masks = h.MAGNITUDE_MASKS(w, sparsity)  # an input here (ex3 allows the reference), not an answer
    c.set_weights(model, {k: a * masks[k] for k, a in w.items()})
    return model


def _stored(obj, depth: int = 0, seen: set | None = None) -> list:
    """Tensors and arrays reachable from ``obj`` (modules, layers, lists, attributes), each once."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return []
    seen.add(id(obj))
    torch, tf, keras = (sys.modules.get(m) for m in ("torch", "tensorflow", "keras"))
    if torch is not None and isinstance(obj, torch.Tensor) or isinstance(obj, np.ndarray) and obj.dtype != object:
        return [obj]
    if tf is not None and isinstance(obj, (tf.sparse.SparseTensor, tf.Tensor, tf.Variable)):
        return [obj]
    found: list = []
    if torch is not None and isinstance(obj, torch.nn.Module):
        for t in list(obj._parameters.values()) + list(obj._buffers.values()):
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                found.append(t)
        children = list(obj._modules.values()) + [a for k, a in vars(obj).items()
                                                 if k not in ("_parameters", "_buffers", "_modules")]
    elif keras is not None and isinstance(obj, keras.layers.Layer):
        for a in obj.weights:
            if id(a) not in seen:
                seen.add(id(a))
                found.append(a)
        children = [a for a in vars(obj).values() if tf is not None and isinstance(a, tf.sparse.SparseTensor)]
    elif isinstance(obj, (list, tuple)):
        children = list(obj)
    elif isinstance(obj, dict):
        children = list(obj.values())
    elif hasattr(obj, "__dict__") and not isinstance(obj, type) and type(obj).__module__ != "builtins":
        try:
            children = list(vars(obj).values())
        except TypeError:
            return found
    else:
        return found
    for child in children:
        found += _stored(child, depth + 1, seen)
    return found


def _describe(t) -> dict:
    """A stored tensor as plain data: its kind, its bytes, and for a sparse one its index and value arrays."""
    torch, tf = sys.modules.get("torch"), sys.modules.get("tensorflow")
    if torch is not None and isinstance(t, torch.Tensor):
        if t.layout == torch.sparse_csr:
            parts = [t.crow_indices(), t.col_indices(), t.values()]
            return {"kind": "csr", "shape": list(t.shape), "parts": [c.arr(p) for p in parts],
                    "nbytes": sum(p.numel() * p.element_size() for p in parts)}
        if t.layout == torch.sparse_coo:
            t = t.coalesce()
            return {"kind": "dense", "nbytes": t.indices().numel() * t.indices().element_size()
                    + t.values().numel() * t.values().element_size()}
        return {"kind": "dense", "nbytes": t.numel() * t.element_size()}
    if tf is not None and isinstance(t, tf.sparse.SparseTensor):
        parts = [c.arr(t.indices), c.arr(t.values), c.arr(t.dense_shape)]
        return {"kind": "coo", "shape": [int(s) for s in parts[2]], "parts": parts,
                "nbytes": sum(p.nbytes for p in parts)}
    return {"kind": "dense", "nbytes": int(np.asarray(t).nbytes)}


def _sparsify(fn, name: str, v):
    def compute():
        model = pruned_agent(name, v["sparsify"][name])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = h.call(fn, model)
        sparse = out.result
        data = {"name": name, "stored": [_describe(t) for t in _stored(sparse)], "dense_linear": 0}
        torch = sys.modules.get("torch")
        if h.framework() == "torch" and isinstance(sparse, torch.nn.Module):
            data["dense_linear"] = sum(isinstance(m, torch.nn.Linear) for m in sparse.modules())
        return model, sparse, out, data

    return h.cached(("sparsify", fn, name), compute)


@collector
def sparsify_format(sparsify, v) -> dict:
    runs = []
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        _, _, out, data = _sparsify(sparsify, name, v)
        runs.append(data)
        if out.stopped:
            break
    return h.outcome_data(out, runs=runs)


@collector
def sparsify_outputs(sparsify, v) -> dict:
    runs = []
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        _, sparse, out, _ = _sparsify(sparsify, name, v)
        if out.stopped:
            return h.outcome_data(out, runs=runs)
        obs = c.observations(name, 64, v["obs_seed"])
        feed = obs
        if h.framework() == "torch":
            import torch

            feed = torch.as_tensor(obs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call = h.call(sparse, feed)
        runs.append({"name": name, "outputs": c.arr(call.result), "error": call.error})
        if call.tampered:
            return h.outcome_data(call, runs=runs)
    return h.outcome_data(out, runs=runs)


@collector
def storage_bytes(storage_bytes, sparsify, v) -> dict:
    runs = []
    for name in ("cartpole-dqn", "lunarlander-ppo"):
        model, sparse, out, data = _sparsify(sparsify, name, v)
        if out.stopped:
            return h.outcome_data(out, runs=runs)
        dense = h.call(storage_bytes, model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stored = h.call(storage_bytes, sparse)
        runs.append({"name": name, "dense": c.num(dense.result), "sparse": c.num(stored.result),
                     "stored_nbytes": sum(d["nbytes"] for d in data["stored"])})
        for o in (dense, stored):
            if o.stopped:
                return h.outcome_data(o, runs=runs)
    return h.outcome_data(stored, runs=runs)
