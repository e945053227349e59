"""Where does a sparse matmul beat a dense one on this CPU? torch CSR and TensorFlow sparse vs dense.

``W (n x n, float32, random values, a random `sparsity` fraction zeroed) @ X (n x batch)``, for the zoo's hidden
layer size (n = 256) at batch 1 and 4,096, and n = 1,024 at batch 1 and 256. Each figure is the median of
per-round ratios (sparse time / dense time, rounds alternating the two). Also: the same dense kernel on the
zero-masked matrix vs the unpruned one (zeros cost as much as any number in a dense kernel).

Usage: python bench/bench_sparse_matmul.py [--rounds 9]
"""
from __future__ import annotations

import argparse
import sys
import warnings

import benchlib

benchlib.controlled()

import numpy as np  # noqa: E402

SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
SHAPES = ((256, 1), (256, 4096), (1024, 1), (1024, 256))


def matrices(n: int, batch: int, sparsity: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, n)).astype(np.float32)
    w_sparse = w * (rng.random((n, n)) >= sparsity)
    x = rng.standard_normal((n, batch)).astype(np.float32)
    return w, w_sparse.astype(np.float32), x


def torch_pair(n, batch, sparsity, rounds):
    import torch

    w, ws, x = matrices(n, batch, sparsity)
    tw, tx = torch.from_numpy(ws), torch.from_numpy(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        csr = tw.to_sparse_csr()
    with torch.inference_mode():
        np.testing.assert_allclose((csr @ tx).numpy(), (tw @ tx).numpy(), rtol=1e-3, atol=1e-3)
        return benchlib.paired(lambda: csr @ tx, lambda: tw @ tx, rounds)


def tf_pair(n, batch, sparsity, rounds):
    import tensorflow as tf

    w, ws, x = matrices(n, batch, sparsity)
    tw, tx = tf.constant(ws), tf.constant(x)
    sp = tf.sparse.from_dense(tw)
    np.testing.assert_allclose(tf.sparse.sparse_dense_matmul(sp, tx).numpy(), tf.matmul(tw, tx).numpy(),
                               rtol=1e-3, atol=1e-3)
    return benchlib.paired(lambda: tf.sparse.sparse_dense_matmul(sp, tx).numpy(),
                           lambda: tf.matmul(tw, tx).numpy(), rounds)


def masked_dense(framework, n, batch, sparsity, rounds):
    w, ws, x = matrices(n, batch, sparsity)
    if framework == "torch":
        import torch

        a, b, tx = torch.from_numpy(ws), torch.from_numpy(w), torch.from_numpy(x)
        return benchlib.paired(lambda: a @ tx, lambda: b @ tx, rounds)
    import tensorflow as tf

    a, b, tx = tf.constant(ws), tf.constant(w), tf.constant(x)
    return benchlib.paired(lambda: tf.matmul(a, tx).numpy(), lambda: tf.matmul(b, tx).numpy(), rounds)


def crossover(ratios: dict[float, float]) -> str:
    """Lowest tested sparsity from which sparse stays faster (ratio < 1) at every higher tested level."""
    levels = sorted(ratios)
    for i, s in enumerate(levels):
        if all(ratios[t] < 1 for t in levels[i:]):
            below = f"between {levels[i - 1]:.0%} and {s:.0%}" if i else f"at or below {s:.0%}"
            return below
    return f"none up to {levels[-1]:.0%}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    benchlib.set_threads(tf=True)
    results = {}
    for framework, pair in (("torch", torch_pair), ("tensorflow", tf_pair)):
        for n, batch in SHAPES:
            for sp in SPARSITIES:
                r = pair(n, batch, sp, args.rounds)
                results[(framework, n, batch, sp)] = r
                print(f"{framework:10s} n={n:5d} batch={batch:5d} sparsity {sp:.2f}: sparse/dense time "
                      f"{r['ratio']:.2f} (dense {r['b'] * 1e6:.1f} us)", flush=True)
    masked = {}
    for framework in ("torch", "tensorflow"):
        for n, batch in SHAPES:
            masked[(framework, n, batch)] = r = masked_dense(framework, n, batch, 0.9, args.rounds)
            print(f"{framework:10s} n={n:5d} batch={batch:5d} 90%-zero dense / dense time {r['ratio']:.2f}", flush=True)

    lines = ["## Sparse vs dense matmul on this CPU", "",
             "`W (n x n) @ X (n x batch)`, float32, random values with a random fraction zeroed. Cells: sparse time / "
             "dense time (below 1 = sparse faster), median of per-round ratios over "
             f"{args.rounds} alternating rounds; in brackets the dense time. torch: `torch.sparse` CSR `@` dense; "
             "TensorFlow: `tf.sparse.sparse_dense_matmul` (COO) vs `tf.matmul`, eager.", ""]
    rows = []
    for framework in ("torch", "tensorflow"):
        for n, batch in SHAPES:
            ratios = {sp: results[(framework, n, batch, sp)]["ratio"] for sp in SPARSITIES}
            dense_us = results[(framework, n, batch, SPARSITIES[0])]["b"] * 1e6
            rows.append([framework, f"{n} x {n}, batch {batch:,} ({dense_us:,.0f} us)",
                         *[f"{ratios[sp]:.2f}" for sp in SPARSITIES], crossover(ratios)])
    lines.append(benchlib.table(["framework", "shape (dense time)", *[f"{sp:.0%}" for sp in SPARSITIES],
                                 "crossover sparsity"], rows))
    lines += ["", "A 90 %-zero matrix in the *dense* kernel vs the unpruned matrix (time ratio; 1.00 = same speed):",
              "", benchlib.table(["framework", *[f"{n} x {n}, batch {b:,}" for n, b in SHAPES]],
                                 [[fw, *[f"{masked[(fw, n, b)]['ratio']:.2f}" for n, b in SHAPES]]
                                  for fw in ("torch", "tensorflow")])]
    text = "\n".join(lines)
    print(text)
    benchlib.write_section("sparse_matmul", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
