# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 4 — What sparsity buys: bytes in three formats, and when a sparse kernel wins
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/prunerl/prunerl/blob/v0.1.0/lessons/04_what_sparsity_buys.ipynb)
#
# What the seed blog claims and what the course measured: [the claims page](../docs/claims.md).

# %%
# On Colab only: install the course without touching Colab's own torch, TensorFlow and NumPy; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "prunerl @ git+https://github.com/prunerl/prunerl@v0.1.0", "minigrid>=3.0,<4", "box2d==2.3.10", "minatar>=1.0.15,<2"], check=True)


# %%
from prunerl.course import lessons as L

L.quiet()
L.interview_card(4)

# %% [markdown]
# ## Bytes
#
# For an $m\times n$ matrix with $z$ non-zeros (density $d = z/mn$), 32-bit values and 32-bit indices:
#
# $$ B_{\text{dense}} = 4mn, \qquad B_{\text{CSR}} = 4z + 4z + 4(m+1), \qquad B_{\text{bitmask}} = 4z + \lceil mn/8 \rceil . $$
#
# CSR beats dense when $8z + 4(m+1) < 4mn$, i.e. below density $\approx 1/2$ (sparsity above ≈ 50 %); the
# bitmask when $4z + mn/8 < 4mn$, i.e. below density $1 - 1/32$ (sparsity above ≈ 3 %). A zero-masked dense matrix
# is $B_{\text{dense}}$ whatever its sparsity. We count the bytes on actual pruned matrices with
# `metrics.csr_tensor_bytes` / `metrics.bitmask_tensor_bytes` rather than trust the formulas.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import prunerl
from prunerl import metrics, pruning

rng = np.random.default_rng(0)
grid = np.linspace(0, 0.99, 100)
W = rng.normal(size=(256, 256)).astype(np.float32)
bytes_rows = []
for s in grid:
    Ws = W * pruning.magnitude_masks({"w": W}, float(s))["w"]
    bytes_rows.append((s, Ws.nbytes, metrics.csr_tensor_bytes(Ws), metrics.bitmask_tensor_bytes(Ws)))
bytes_rows = np.array(bytes_rows)
csr_even = bytes_rows[bytes_rows[:, 2] < bytes_rows[:, 1], 0].min()
bm_even = bytes_rows[bytes_rows[:, 3] < bytes_rows[:, 1], 0].min()

fig, ax = plt.subplots(figsize=(6, 3.3))
for j, label in ((1, "dense (masked or not)"), (2, "CSR"), (3, "bitmask")):
    ax.plot(bytes_rows[:, 0], bytes_rows[:, j] / 1024, label=label)
ax.set(xlabel="sparsity", ylabel="KiB", title="a 256×256 float32 layer in three formats")
ax.legend()
L.show(fig, "04_bytes")

agent = prunerl.load_agent("cartpole-dqn")
pruning.prune(agent, "global_magnitude", 0.9)
sb = metrics.storage_bytes(agent)
L.md(f"On this layer CSR gets smaller than dense from **{csr_even:.0%}** sparsity and the bitmask from "
     f"**{bm_even:.0%}**. For the whole `cartpole-dqn` at 90 % sparsity: dense {sb['dense']:,} bytes, "
     f"CSR {sb['csr']:,} ({sb['dense'] / sb['csr']:.1f}× smaller), bitmask {sb['bitmask']:,} "
     f"({sb['dense'] / sb['bitmask']:.1f}× smaller).")
L.record("04_what_sparsity_buys", agent_sparsity=0.9, csr_breakeven=csr_even, bitmask_breakeven=bm_even, agent90_dense_bytes=sb["dense"],
         agent90_csr_bytes=sb["csr"], agent90_bitmask_bytes=sb["bitmask"])

# %% [markdown]
# ## Time: dense kernel, zero-masked dense, sparse kernel
#
# A dense matmul's cost depends on the shapes, not on the values: $m\cdot n\cdot b$ multiply-adds for a batch of
# $b$. A sparse kernel does $z\cdot b$ but pays for indirect indexing and irregular memory access, so it wins only
# when $z$ is small enough. There is no universal threshold (rusty1s/pytorch_sparse#81 found a COO sparse matmul
# slower than dense even at 99 % on a 1000×1000 matrix; CSR, timed below, is a different format with its own
# crossover): we measure the crossover on this CPU, one thread, for the agent's own
# 256×256 hidden layer and a wide 1024×1024 one (512×512 in fast mode), at batch 1 and 128.
#
# The frameworks differ here: PyTorch has CSR tensors (`to_sparse_csr()`), TensorFlow has COO `tf.SparseTensor`
# with `tf.sparse.sparse_dense_matmul`. Both are timed.

# %%
import tensorflow as tf  # noqa: E402

L.single_thread()
SPARSITIES = L.pick([0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99], [0.5, 0.9, 0.99])
SIZES, BATCHES = L.pick((256, 1024), (256, 512)), (1, 128)
REPEATS, NUMBER, MIN_T = L.pick(7, 5), L.pick(2, 1), L.pick(2e-3, 1e-3)


def torch_calls(Wd, Ws, x):
    Wt, Wm, Wc, xt = torch.from_numpy(Wd), torch.from_numpy(Ws), torch.from_numpy(Ws).to_sparse_csr(), torch.from_numpy(x)
    return {"dense": lambda: Wt @ xt, "masked dense": lambda: Wm @ xt, "sparse": lambda: Wc @ xt}


mm = tf.function(lambda a, b: tf.matmul(a, b))
spmm = tf.function(lambda a, b: tf.sparse.sparse_dense_matmul(a, b))


def tf_calls(Wd, Ws, x):
    Wt, Wm, xt = tf.constant(Wd), tf.constant(Ws), tf.constant(x)
    Wsp = tf.sparse.from_dense(Wm)
    return {"dense": lambda: mm(Wt, xt).numpy(), "masked dense": lambda: mm(Wm, xt).numpy(),
            "sparse": lambda: spmm(Wsp, xt).numpy()}


times = {}  # (framework, size, batch, sparsity) -> {kernel: seconds}
for n in SIZES:
    Wd = rng.normal(size=(n, n)).astype(np.float32)
    for s in SPARSITIES:
        Ws = Wd * pruning.magnitude_masks({"w": Wd}, s)["w"]
        for b in BATCHES:
            x = rng.normal(size=(n, b)).astype(np.float32)
            for fw, calls in (("torch", torch_calls), ("tf", tf_calls)):
                times[fw, n, b, s] = L.interleaved_latency(calls(Wd, Ws, x), REPEATS, NUMBER, min_time=MIN_T)


def crossover(fw, n, b):
    """Lowest sparsity on the grid from which the sparse kernel is faster than dense at every higher one."""
    wins = [times[fw, n, b, s]["sparse"] < times[fw, n, b, s]["dense"] for s in SPARSITIES]
    for i in range(len(SPARSITIES)):
        if all(wins[i:]):
            return SPARSITIES[i]
    return None


# %%
fig, axes = plt.subplots(2, 4, figsize=(11, 5.2), sharex=True)  # drawn ~0.85 of its pixels on the site
for row, fw in enumerate(("torch", "tf")):
    for col, (n, b) in enumerate([(n, b) for n in SIZES for b in BATCHES]):
        ax = axes[row, col]
        for kernel, style in (("dense", "k-"), ("masked dense", "b--"), ("sparse", "r-o")):
            ax.plot(SPARSITIES, [times[fw, n, b, s][kernel] * 1e6 for s in SPARSITIES], style, ms=3, label=kernel)
        c = crossover(fw, n, b)
        if c is not None:
            ax.axvline(c, color="r", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_title(f"{fw}: {n}×{n}, batch {b}", fontsize=10)
        if row == 1:
            ax.set_xlabel("sparsity")
    axes[row, 0].set_ylabel("µs per matmul")
handles = axes[0, 0].get_legend_handles_labels()[0] + [plt.Line2D([], [], color="r", lw=0.8, ls=":")]
fig.legend(handles, ["dense", "masked dense", "sparse", "crossover"], loc="upper center", ncol=4, fontsize=10)
fig.tight_layout(rect=(0, 0, 1, 0.93))  # the shared legend sits above the grid
L.show(fig, "04_crossover")

# %%
lines = []
for fw, name in (("torch", "PyTorch CSR"), ("tf", "TensorFlow SparseTensor")):
    for n in SIZES:
        for b in BATCHES:
            c = crossover(fw, n, b)
            top = SPARSITIES[-1]
            ratio = times[fw, n, b, top]["dense"] / times[fw, n, b, top]["sparse"]
            lines.append(f"- {name}, {n}×{n}, batch {b}: "
                         + (f"sparse wins from **{c:.1%}** sparsity" if c is not None else "sparse **never** wins")
                         + f" on our grid; at {top:.1%} it is {ratio:.2f}× the dense speed.")
masked_ratio = np.array([times[k]["masked dense"] / times[k]["dense"] for k in times])
close = np.mean((masked_ratio > 0.8) & (masked_ratio < 1.25))
L.md("**What the numbers show.**\n\n" + "\n".join(lines) + "\n\n"
     f"Zero-masked dense against dense, over all {len(times)} settings: median time ratio "
     f"{np.median(masked_ratio):.2f}, and {close:.0%} of the settings within 0.8–1.25× (outside it: "
     f"{int(np.sum(masked_ratio <= 0.8))} faster, {int(np.sum(masked_ratio >= 1.25))} slower — timing noise on a "
     "shared machine, which re-running moves) — the same kernel doing the same work; the zeros buy nothing. A sparse kernel pays for itself only at high sparsity, and "
     "less at batch 1 than at larger batches where index overhead is amortised.")
speed_90 = times["torch", 256, 1, 0.9]["dense"] / times["torch", 256, 1, 0.9]["sparse"]
L.record("04_what_sparsity_buys", csr_sparsity=0.9, masked_over_dense_median=float(np.median(masked_ratio)),
         torch_csr_speed_256_batch1_at90=speed_90)

# %% [markdown]
# ## Pitfalls
#
# - **"80 % pruned, so 5× faster"**: not with dense kernels (pytorch/tutorials#905, tensorflow/model-optimization#611).
# - **Extrapolating a crossover**: it depends on the matrix size, batch, thread count, library version and CPU;
#   measure it where you deploy. Elsen et al. (2019) needed hand-written kernels for 1.3–2.4× on sparse convnets.
# - **CSR at moderate sparsity** is *larger* than dense: 8 bytes per non-zero.
# - **Index width**: 16-bit indices (fine for dimensions below 65,536) cut CSR overhead; relative indices and
#   Huffman coding go further (Han et al. 2016).
# - **Structured sparsity** (N:M, blocks) is what hardware accelerates: NVIDIA 2:4 on Ampere tensor cores.

# %%
L.interview_card(4, follow_ups=True)

# %% [markdown]
# ## References
# - Han, Mao, Dally (2016). *Deep Compression.* ICLR.
# - Elsen, Dukhan, Gale, Simonyan (2019). *Fast Sparse ConvNets.* arXiv:1911.09723.
# - Blalock et al. (2020). *What is the State of Neural Network Pruning?* MLSys.
# - Mishra et al. (2021). *Accelerating Sparse Deep Neural Networks* (NVIDIA 2:4). arXiv:2104.08378.
