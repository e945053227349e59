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
# # Lesson 2 — Structured vs weight (unstructured) pruning
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/prunerl/prunerl/blob/v0.1.0/lessons/02_structured_vs_weight.ipynb)
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
from prunerl.pruning import hold_masks

L.quiet()
L.interview_card(2)

# %% [markdown]
# ## Two ways to spend the same budget
#
# **Weight pruning** zeroes single entries: shapes stay, $W\in\mathbb{R}^{m\times n}$ keeps $mn$ slots.
# **Structured pruning** removes a whole unit $i$ of a hidden layer — row $i$ of $W^{(l)}$, its bias, and
# column $i$ of $W^{(l+1)}$ — so the layers become smaller dense matrices. For an MLP with widths
# $d_0, d_1, \dots, d_L$ the FLOPs per observation are
#
# $$ \mathrm{FLOPs} = 2\sum_{l=1}^{L} d_{l-1} d_l , $$
#
# so keeping a fraction $k$ of every hidden width scales the hidden-to-hidden term by $k^2$.
# A unit whose incoming weights are all zero still outputs the constant $\phi(b_i)$; removing it exactly means
# folding $W^{(l+1)}_{:,i}\,\phi(b_i)$ into the next bias (`L.shrink` does this, for torch and Keras).
#
# We give both methods **the same number of non-zero weights**: L1 structured pruning removes half the hidden
# units of `cartpole-dqn`; global magnitude pruning zeroes as many single weights as that removes.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import prunerl
from prunerl import metrics, pruning

AGENT = "cartpole-dqn"
ENV = prunerl.card(AGENT)["env_id"]
EPISODES, REPEATS = L.pick(20, 5), L.pick(60, 10)
FINETUNE = L.pick(2000, 300)
BIG = 2048

dense = prunerl.load_agent(AGENT)
structured = prunerl.load_agent(AGENT)
pruning.prune(structured, "l1_structured", 0.5)
small = L.shrink(structured)  # physically smaller
budget = metrics.count_params(small)["prunable"]
target = 1 - budget / metrics.count_params(dense)["prunable"]
unstructured = prunerl.load_agent(AGENT)
pruning.prune(unstructured, "global_magnitude", target)
L.md(f"Budget: **{budget:,}** prunable weights kept of {metrics.count_params(dense)['prunable']:,} — "
     f"a weight sparsity of **{target:.1%}** for the unstructured model.")

# %% [markdown]
# ## Counts, shapes and FLOPs

# %%
def shapes(net):
    return " ".join("x".join(map(str, w.shape)) for w in metrics.prunable_weights(net).values())


table = {"dense": dense, "weight-pruned (masked)": unstructured, "structured, shrunk": small}
for name, net in table.items():
    s = metrics.summary(net)
    print(f"{name:24s} shapes {shapes(net):22s} params {s['params']:6,d}  non-zero {s['nonzero_params']:6,d}  "
          f"FLOPs {s['flops']:7,d}  non-zero FLOPs {s['nonzero_flops']:7,d}")

# %% [markdown]
# ## Measured CPU latency, PyTorch and Keras, batch 1 and batch 2048
#
# Timing is where the frameworks differ, so each gets its own code: a `torch.no_grad()` forward, and a Keras
# forward compiled once with `tf.function` (an eager Keras call costs far more than the matmul). Both run on one
# thread, and the three networks are timed in interleaved rounds so background load hits them alike.

# %%
import ctypes  # noqa: E402
import sys  # noqa: E402

import tensorflow as tf  # noqa: E402

L.single_thread()
if sys.platform.startswith("linux"):  # glibc: keep freed blocks instead of mapping fresh pages for every large
    libc = ctypes.CDLL("libc.so.6")    # batch (the page faults made batch-2048 timings swing 2x; see the pitfalls)
    for param, value in ((-3, 1 << 25), (-1, 1 << 31), (-2, 1 << 28)):  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD
        libc.mallopt(param, value)
keras_nets = {k: L.convert(v, "tensorflow") for k, v in table.items()}


def torch_call(net, x):
    def call():
        with torch.no_grad():
            net(x)
    return call


def keras_call(model, x):
    f = tf.function(lambda t: model(t, training=False))
    return lambda: f(x).numpy()


lat = {}
for batch in (1, BIG):
    xt, xk = torch.randn(batch, 4), tf.random.normal((batch, 4))
    res = L.interleaved_latency({name: torch_call(net, xt) for name, net in table.items()}, REPEATS, L.pick(10, 3),
                                min_time=1e-3)
    lat.update({(name, "torch", batch): t for name, t in res.items()})
    res = L.interleaved_latency({name: keras_call(m, xk) for name, m in keras_nets.items()}, REPEATS, L.pick(10, 3))
    lat.update({(name, "keras", batch): t for name, t in res.items()})
for (name, fw, batch), t in sorted(lat.items(), key=lambda kv: (kv[0][1], kv[0][2])):
    print(f"{fw:5s} batch {batch:4d}  {name:24s} {t * 1e6:9.1f} µs")

# %%
flop_ratio = metrics.flops(dense) / metrics.flops(small)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.3), sharey=True)
for ax, fw in zip(axes, ("torch", "keras")):
    xs = np.arange(2)
    for j, name in enumerate(["weight-pruned (masked)", "structured, shrunk"]):
        ax.bar(xs + 0.35 * j, [lat["dense", fw, b] / lat[name, fw, b] for b in (1, BIG)], 0.35, label=name)
    ax.axhline(flop_ratio, color="k", ls="--", lw=1, label=f"FLOP bound {flop_ratio:.1f}×")
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xticks(xs + 0.175, ["batch 1", f"batch {BIG}"])
    ax.set_title(fw)
axes[0].set_ylabel("speed-up over dense (×)")
axes[1].legend(fontsize=8)
L.show(fig, "02_speedup")
L.record("02_structured_vs_weight", flop_ratio=flop_ratio, weight_pruned_sparsity=target,
         weight_pruned_flops=metrics.flops(unstructured), dense_flops=metrics.flops(dense),
         **{f"{kind}_speed_{fw}_batch{b}": lat["dense", fw, b] / lat[name, fw, b] for fw in ("torch", "keras")
            for b in (1, BIG) for kind, name in (("weight_pruned", "weight-pruned (masked)"),
                                                  ("shrunk", "structured, shrunk"))})

# %% [markdown]
# ## Return, before and after a short fine-tune
#
# Same budget of fine-tuning steps for both; the masked model re-applies its mask after every optimizer step.

# %%
def masks_of(net):
    return {k: v != 0 for k, v in metrics.prunable_weights(net).items()}


ret = {name: prunerl.evaluate(net, ENV, EPISODES).mean for name, net in table.items()}
ft_unstructured, ft_small = L.clone(unstructured), L.clone(small)
prunerl.finetune(ft_unstructured, ENV, FINETUNE, seed=0, callback=hold_masks(masks_of(unstructured)))
prunerl.finetune(ft_small, ENV, FINETUNE, seed=0)
ret_ft = {"weight-pruned (masked)": prunerl.evaluate(ft_unstructured, ENV, EPISODES).mean,
          "structured, shrunk": prunerl.evaluate(ft_small, ENV, EPISODES).mean}
for name in ret_ft:
    print(f"{name:24s} return one-shot {ret[name]:6.1f}   after {FINETUNE} fine-tune steps {ret_ft[name]:6.1f}")

# %%
def speed(name, fw, b):
    return lat["dense", fw, b] / lat[name, fw, b]


S, U = "structured, shrunk", "weight-pruned (masked)"
big_s = speed(S, "torch", BIG)
if ret_ft[U] == ret_ft[S]:
    verdict = f"both score {ret_ft[U]:.1f}: this seed does not tell them apart"
else:
    verdict = f"here the **{U if ret_ft[U] > ret_ft[S] else S}** model recovers more, on one seed"
if big_s > flop_ratio:
    bound = ("*exceeds* the FLOP bound, which a real speed-up cannot: treat it as a timing artefact of this run "
             "(`bench/bench_latency.py` times the same shapes with the allocator and threads controlled)")
elif big_s >= 0.95 * flop_ratio:
    bound = "reaches the FLOP bound (smaller matrices also stay in cache)"
else:
    bound = "gets closer to the FLOP bound"
L.md(
    f"**What the numbers show.** With the same {budget:,} weights, the shrunk network does {flop_ratio:.1f}× fewer "
    f"FLOPs. Measured in PyTorch it is {speed(S, 'torch', 1):.2f}× faster at batch 1 and {big_s:.2f}× at batch "
    f"{BIG}; in Keras {speed(S, 'keras', 1):.2f}× and {speed(S, 'keras', BIG):.2f}×. At batch 1 the speed-up is far "
    "below the FLOP bound: a 4-256-256-2 forward is a few microseconds of arithmetic and the rest is per-call "
    f"overhead. At batch {BIG} PyTorch {bound}. The weight-pruned model, {target:.0%} zeros, runs at dense speed "
    "within timing noise "
    f"({speed(U, 'torch', 1):.2f}× and {speed(U, 'torch', BIG):.2f}× in PyTorch, {speed(U, 'keras', 1):.2f}× and "
    f"{speed(U, 'keras', BIG):.2f}× in Keras): a dense kernel multiplies zeros too. "
    f"Return one-shot: weight-pruned {ret[U]:.1f}, structured {ret[S]:.1f} (dense {ret['dense']:.1f}); after "
    f"{FINETUNE} fine-tuning steps: {ret_ft[U]:.1f} and {ret_ft[S]:.1f}, so {verdict}. The usual expectation is "
    "that unstructured pruning keeps more return at equal weights (more freedom in what it keeps); check it over "
    "seeds before relying on it. Structured pruning is the one that buys time on "
    "ordinary hardware."
)
L.record("02_structured_vs_weight", finetune_steps=FINETUNE, return_dense=ret["dense"], return_unstructured=ret[U],
         return_structured=ret[S], return_unstructured_ft=ret_ft[U], return_structured_ft=ret_ft[S])

# %% [markdown]
# ## Pitfalls
#
# - **"Structured speed-up equals the FLOP reduction"** does not hold at batch 1 on small MLPs (overhead-bound);
#   report measured latency at the batch size you deploy with, and the FLOP ratio beside it.
# - **Forgetting the next layer**: removing unit $i$ means removing column $i$ of the next weight matrix, and for
#   conv → flatten → dense a whole $H\times W$ block of features (lesson 7).
# - **Dropping the bias of a dead unit**: a unit with zero incoming weights is not zero; fold $\phi(b_i)$ forward.
# - **Timing noise**: warm up, take medians, and at large batch beware allocator page faults (glibc
#   `MALLOC_*` thresholds swing batch-4096 timings by 2× on these machines).

# %%
L.interview_card(2, follow_ups=True)

# %% [markdown]
# ## References
# - Han et al. (2015). *Learning both Weights and Connections for Efficient Neural Networks.* NeurIPS.
# - Li, Kadav, Durdanovic, Samet, Graf (2017). *Pruning Filters for Efficient ConvNets.* ICLR.
# - Fang et al. (2023). *DepGraph: Towards Any Structural Pruning.* CVPR (Torch-Pruning; its "speed-up" is a MAC ratio).
# - Blalock et al. (2020). *What is the State of Neural Network Pruning?* MLSys.
