"""Bytes of a pruned weight matrix in dense, CSR, COO and bitmask formats: measured vs the formats' formulas.

The matrix is the 256 x 256 hidden layer of ``cartpole-dqn`` (float32), magnitude-pruned to 50 / 90 / 99 %.
Measured = the bytes of the arrays each real format object holds (NumPy / SciPy / torch / TensorFlow);
theoretical = the format's size formula, with n entries, r rows, nnz non-zeros:

- dense float32: 4 n
- CSR, int32 indices (SciPy): 4 nnz + 4 nnz + 4 (r + 1);  CSR, int64 indices (torch): 4 nnz + 8 nnz + 8 (r + 1)
- COO, int64 (row, col) pairs (``tf.sparse.SparseTensor``): 4 nnz + 16 nnz (+ 16 for its dense_shape)
- bitmask + packed values: ceil(n / 8) + 4 nnz

Usage: python bench/bench_storage.py
"""
from __future__ import annotations

import io
import math
import sys
import warnings

import benchlib

benchlib.controlled()

import numpy as np  # noqa: E402

SPARSITIES = (0.5, 0.9, 0.99)


def pruned_matrix(sparsity: float) -> np.ndarray:
    from prunerl.pruning import magnitude_masks
    from prunerl.zoo import load_weights

    w = load_weights("cartpole-dqn")["2.weight"].astype(np.float32)
    return w * magnitude_masks({"w": w}, sparsity, scope="layer")["w"]


def measure(w: np.ndarray) -> dict[str, tuple[int, int]]:
    """format -> (measured bytes, theoretical bytes)."""
    import scipy.sparse
    import tensorflow as tf
    import torch

    n, r = w.size, w.shape[0]
    nnz = int(np.count_nonzero(w))
    out = {"dense float32": (w.nbytes, 4 * n)}
    csr = scipy.sparse.csr_matrix(w)
    out["CSR int32 (SciPy)"] = (csr.data.nbytes + csr.indices.nbytes + csr.indptr.nbytes, 8 * nnz + 4 * (r + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Sparse CSR tensor support is in beta"
        t = torch.from_numpy(w).to_sparse_csr()
    parts = (t.crow_indices(), t.col_indices(), t.values())
    out["CSR int64 (torch)"] = (sum(p.numel() * p.element_size() for p in parts), 12 * nnz + 8 * (r + 1))
    s = tf.sparse.from_dense(tf.constant(w))
    measured = sum(int(np.asarray(x).nbytes) for x in (s.indices, s.values, s.dense_shape))
    out["COO int64 (TensorFlow)"] = (measured, 20 * nnz + 16)
    mask = np.packbits(w != 0)
    values = w[w != 0]
    out["bitmask + values"] = (mask.nbytes + values.nbytes, math.ceil(n / 8) + 4 * nnz)
    buf = io.BytesIO()
    np.savez_compressed(buf, w=w)
    out["dense, zlib .npz (reference)"] = (buf.getbuffer().nbytes, None)
    return out


def main() -> int:
    benchlib.set_threads(tf=True)
    results = {sp: measure(pruned_matrix(sp)) for sp in SPARSITIES}
    formats = list(results[SPARSITIES[0]])
    dense = results[SPARSITIES[0]]["dense float32"][0]
    rows = []
    for fmt in formats:
        cells = []
        for sp in SPARSITIES:
            got, theory = results[sp][fmt]
            match = "" if theory is None else (" = formula" if got == theory else f" (formula {theory:,})")
            cells.append(f"{got:,}{match} ({got / dense:.3f}x)")
        rows.append([fmt, *cells])
    lines = [
        "## Storage: bytes of one pruned 256 x 256 float32 matrix",
        "",
        "The `cartpole-dqn` hidden layer (`2.weight`), layer-wise magnitude pruned. Measured bytes of the arrays "
        "each real format object holds; `= formula` when they equal the format's size formula (see the script); "
        "in brackets the ratio to dense. Deterministic (no timing).",
        "",
        benchlib.table(["format", *[f"{int(sp * 100)} % sparse" for sp in SPARSITIES]], rows),
        "",
        "Break-even against dense float32 (from the formulas, large matrices): CSR with int32 indices below 50 % "
        "density (8 bytes per non-zero), CSR with int64 indices (torch's default) below 33 %, TensorFlow's COO "
        "below 20 %, a bitmask plus packed values below 97 % (1 bit per entry + 4 bytes per non-zero). Zeroing "
        "weights in a dense tensor saves nothing until the file is compressed.",
    ]
    text = "\n".join(lines)
    print(text)
    benchlib.write_section("storage", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
