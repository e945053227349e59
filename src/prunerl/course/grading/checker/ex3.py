"""Exercise 3 verdicts: CSR by hand (no library converter), CSR matmul, sparsified models and their bytes."""
from __future__ import annotations

import numpy as np

from prunerl.course.grading.protocol import csr_edge_cases, csr_layer, csr_random, matmul_vectors, observations

from . import oracles as o
from .judges import judge

RTOL, ATOL = 1e-5, 1e-5


def _csr_cases(v, fw) -> list[np.ndarray]:
    layer = next(w for k, w in o.weights("cartpole-dqn", fw).items() if k in ("2.weight", "dense_2/kernel"))
    return [csr_random(v["csr_seed"], v["csr_shape"]), csr_layer(layer, v["quantile"])]


def _check_csr(rec, matrices) -> None:
    for m, run in zip(matrices, rec["runs"]):
        if run["calls"]:
            o.fail(f"to_csr calls {', '.join(run['calls'])}: the contract asks you to build CSR yourself (NumPy and "
                   "Python only, no library converter), so this test scores 0")
        if not run["triple"]:
            o.fail("to_csr must return a tuple (values, col_indices, row_ptr)")
        values, cols, ptr = run["parts"]
        if values is None or cols is None or ptr is None:
            o.fail("to_csr must return three arrays (values, col_indices, row_ptr)")
        oracle = o.csr(m)
        label = f"a {m.shape[0]}x{m.shape[1]} matrix with {oracle.nnz} non-zeros"
        if ptr.shape != oracle.indptr.shape or not np.array_equal(ptr, oracle.indptr):
            o.fail(f"{label}: row_ptr is {ptr.tolist()[:12]}{'...' if ptr.size > 12 else ''}, expected "
                   f"{oracle.indptr.tolist()[:12]}{'...' if oracle.indptr.size > 12 else ''} (length rows + 1, "
                   "starting at 0, row i's entries at values[row_ptr[i]:row_ptr[i+1]])")
        if cols.shape != oracle.indices.shape or not np.array_equal(cols, oracle.indices):
            o.fail(f"{label}: col_indices differ from the expected ones (got {cols.size} entries, expected "
                   f"{oracle.indices.size}, row-major order, ascending within a row)")
        if values.shape != oracle.data.shape or not np.array_equal(values, oracle.data):
            o.fail(f"{label}: values differ from the non-zero entries in row-major order")
        if values.dtype != m.dtype:
            o.fail(f"{label}: values have dtype {values.dtype}; keep the matrix's dtype {m.dtype}")
    if len(rec["runs"]) < len(matrices):
        o.fail("to_csr was not called on every test matrix")


judge("to_csr")(lambda rec, v, fw: _check_csr(rec, _csr_cases(v, fw)))
judge("to_csr_edge")(lambda rec, v, fw: _check_csr(rec, csr_edge_cases()))


@judge("csr_matmul")
def csr_matmul(rec, v, fw):
    matrices = _csr_cases(v, fw) + csr_edge_cases()
    cases = [(m, x) for m, xs in zip(matrices, matmul_vectors(v["matmul_seed"], matrices)) for x in xs]
    if len(rec["results"]) < len(cases):
        o.fail("csr_matmul was not called on every test case")
    for (m, x), got in zip(cases, rec["results"]):
        expected = m.astype(np.float64) @ x.astype(np.float64)
        if got is None or got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
            o.fail(f"csr_matmul of a {m.shape} matrix with x of shape {x.shape}: result shape "
                   f"{None if got is None else got.shape}, expected {expected.shape}; values must equal matrix @ x")


def _pruned(name, fw, v) -> dict[str, np.ndarray]:
    from prunerl.pruning import magnitude_masks

    w = o.weights(name, fw)
    masks = magnitude_masks(w, v["sparsify"][name])
    return {k: a * masks[k] for k, a in w.items()}


def _dense_of(stored: dict) -> np.ndarray | None:
    if stored["kind"] == "csr":
        crow, col, values = stored["parts"]
        out = np.zeros(stored["shape"], values.dtype)
        rows = np.repeat(np.arange(len(crow) - 1), np.diff(crow))
        out[rows, col] = values
        return out
    if stored["kind"] == "coo":
        indices, values, shape = stored["parts"]
        out = np.zeros([int(s) for s in shape], values.dtype)
        out[tuple(indices.T)] = values
        return out
    return None


@judge("sparsify_format")
def sparsify_format(rec, v, fw):
    kind = "torch.sparse_csr_tensor" if fw == "torch" else "tf.sparse.SparseTensor"
    for run in o.runs(rec, 2, "sparsify"):
        name = run["name"]
        dense = [o.to_torch_layout(k, a) for k, a in _pruned(name, fw, v).items()]
        sparse = [s for s in run["stored"] if s["kind"] in ("csr", "coo")]
        stored = [_dense_of(s) for s in sparse]
        if len(stored) != len(dense):
            o.fail(f"{name}: the sparsified model stores {len(stored)} {kind}(s); expected one per Linear/Dense layer "
                   f"({len(dense)})")
        if run["dense_linear"]:
            o.fail(f"{name}: the sparsified model still contains {run['dense_linear']} dense nn.Linear layer(s); "
                   "replace each by a layer that stores its weight as CSR")
        for i, w in enumerate(dense):
            if not any(s.shape == w.shape and np.array_equal(s, w) or s.shape == w.T.shape and np.array_equal(s, w.T)
                       for s in stored):
                o.fail(f"{name}: no stored {kind} equals the pruned weight of Linear/Dense layer {i} (shape {w.shape})")
        nnz = sum(int(np.count_nonzero(w)) for w in dense)
        values = sum(int(s["parts"][-1 if s["kind"] == "csr" else 1].size) for s in sparse)
        if values > nnz:
            o.fail(f"{name}: the sparse tensors store {values} values but the pruned weights have only {nnz} "
                   "non-zeros; store the non-zeros only")


@judge("sparsify_outputs")
def sparsify_outputs(rec, v, fw):
    if len(rec["runs"]) < 2:
        o.fail("the sparsified models were not called on observations")
    for run in rec["runs"]:
        name = run["name"]
        if run["error"]:
            o.fail(f"{name}: calling the sparsified model on a batch of observations failed: {run['error']}")
        expected = o.outputs(o.with_weights(name, fw, _pruned(name, fw, v)), observations(name, 64, v["obs_seed"]))
        got = run["outputs"]
        if got is None or got.shape != expected.shape or not np.allclose(got, expected, rtol=RTOL, atol=ATOL):
            ok = got is not None and got.shape == expected.shape
            err = float(np.max(np.abs(got - expected))) if ok else float("nan")
            o.fail(f"{name}: the sparsified model's outputs (shape {None if got is None else got.shape}) differ from "
                   f"the dense pruned model's {expected.shape}, max abs difference {o.fmt(err)}")


@judge("storage_bytes")
def storage_bytes(rec, v, fw):
    if len(rec["runs"]) < 2:
        o.fail("storage_bytes was not called on every model")
    for run in rec["runs"]:
        name = run["name"]
        dense_expected = sum(a.nbytes for a in o.params(name, fw).values())
        if run["dense"] != dense_expected:
            o.fail(f"{name}: storage_bytes of the dense pruned model is {run['dense']}; expected {dense_expected} "
                   "(every parameter, zeros included, at its dtype's size)")
        if run["sparse"] != run["stored_nbytes"]:
            o.fail(f"{name}: storage_bytes of the sparsified model is {run['sparse']}; the tensors it stores take "
                   f"{run['stored_nbytes']} bytes (a sparse tensor: its value and index arrays; a dense one: all "
                   "entries)")
