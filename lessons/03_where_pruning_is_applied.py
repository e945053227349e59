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
# # Lesson 3 — Where pruning is applied in deep RL: fitting a policy into a device budget
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/prunerl/prunerl/blob/v0.1.0/lessons/03_where_pruning_is_applied.ipynb)
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
L.interview_card(3)

# %% [markdown]
# ## Deployment is a budget
#
# A deployed agent acts on **one observation per control step**, on a CPU or a microcontroller, within a memory,
# latency and energy budget. Pruning is applied at deployment (compress a trained policy), during training (lesson
# 5; Graesser et al. 2022; Obando-Ceron et al. 2024), and inside distillation pipelines (PoPS, Livne & Cohen 2020).
# Here we take the deployment view with `acrobot-dqn` (MLP 6-256-256-3) and a made-up but typical budget:
#
# - **memory**: the weights must fit in 64 KiB of on-chip SRAM, *while running* (a format the kernel cannot
#   use directly must be decoded to dense first);
# - **latency**: batch-1 inference no slower than the dense network it replaces, measured on this CPU;
# - **energy**: at most a quarter of the dense network's energy proxy;
# - **return**: at least the zoo's bar for the agent (−100 on Acrobot).
#
# The energy proxy follows Horowitz (2014, 45 nm): a 32-bit float multiply-add costs about
# $e_{\text{mac}} = 3.7 + 0.9$ pJ, a 32-bit read from a small SRAM about $e_{\text{SRAM}} = 5$ pJ and from DRAM
# about $e_{\text{DRAM}} = 640$ pJ:
#
# $$ E \approx N_{\text{MAC}}\, e_{\text{mac}} + \frac{\text{bytes read}}{4}\, e_{\text{mem}}, \qquad
#    e_{\text{mem}} = \begin{cases} e_{\text{SRAM}} & \text{model fits on chip} \\ e_{\text{DRAM}} & \text{otherwise.}\end{cases} $$
#
# It is a proxy (real chips differ), but it makes the point Han et al. (2016) built Deep Compression on: memory
# traffic, not arithmetic, dominates energy.

# %%
import tensorflow as tf
import torch

import prunerl
from prunerl import metrics, pruning

AGENT = "acrobot-dqn"
ENV = prunerl.card(AGENT)["env_id"]
BAR = prunerl.zoo.recipe(AGENT).return_bar
EPISODES, REPEATS = L.pick(20, 5), L.pick(60, 10)
SRAM_BYTES, E_MAC, E_SRAM, E_DRAM = 64 * 1024, 4.6e-12, 5e-12, 640e-12
FRACS = (0.5, 0.625, 0.75)  # fractions of hidden units removed by L1 structured pruning
L.single_thread()

dense = prunerl.load_agent(AGENT)
sparse90 = prunerl.load_agent(AGENT)
pruning.prune(sparse90, "global_magnitude", 0.9)
struct = {}
for frac in FRACS:
    net = prunerl.load_agent(AGENT)
    pruning.prune(net, "l1_structured", frac)
    struct[frac] = L.shrink(net)

# %% [markdown]
# ## A CSR forward pass, so the sparse candidate runs in its deployable form
#
# PyTorch's `to_sparse_csr()` gives a CSR tensor and `W_csr @ x` a sparse kernel. The bitmask format has no kernel
# in either framework: it is a storage format, decoded to dense before running.

# %%
class CSRForward(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.layers = []
        for m in net:
            if isinstance(m, torch.nn.Linear):
                self.layers.append((m.weight.detach().to_sparse_csr(), m.bias.detach()))
            else:
                self.layers.append(m)

    def forward(self, x):
        for layer in self.layers:
            if isinstance(layer, tuple):
                w, b = layer
                x = (w @ x.T).T + b
            else:
                x = layer(x)
        return x


csr_net = CSRForward(sparse90)
obs = torch.as_tensor(L.collect_observations(dense, ENV, 64))
assert torch.allclose(csr_net(obs), sparse90(obs), atol=1e-4)

# %% [markdown]
# ## Every candidate, measured

# %%
def macs(net):
    return metrics.flops(net) // 2


nnz_macs = metrics.flops(sparse90, nonzero_only=True) // 2
st = metrics.storage_bytes(sparse90)
candidates = {  # name: (model to run, storage bytes, bytes while running, MACs executed)
    "dense": (dense, metrics.dense_bytes(dense), metrics.dense_bytes(dense), macs(dense)),
    "90% weights, masked dense": (sparse90, st["dense"], st["dense"], macs(sparse90)),
    "90% weights, CSR": (csr_net, st["csr"], st["csr"], nnz_macs),
    "90% weights, bitmask": (sparse90, st["bitmask"], st["dense"], macs(sparse90)),
}
for frac in FRACS:
    size = metrics.dense_bytes(struct[frac])
    candidates[f"{frac:.1%} units, shrunk".replace(".0%", "%")] = (struct[frac], size, size, macs(struct[frac]))
x1 = obs[:1]


def call(net):
    def run():
        with torch.no_grad():
            net(x1)
    return run


xk = tf.constant(x1.numpy())


def keras_call(net):  # the Keras twin of a candidate, compiled once with tf.function (timed in the Keras section)
    f = tf.function(L.convert(net, "tensorflow"))
    return lambda: f(xk).numpy()


latency = L.interleaved_latency({k: call(v[0]) for k, v in candidates.items()}, REPEATS, L.pick(20, 5))
returns = {k: prunerl.evaluate(v[0] if k != "90% weights, CSR" else sparse90, ENV, EPISODES).mean
           for k, v in candidates.items()}  # CSR computes the same function as the masked net (checked above)


def energy(run_bytes, n_macs):
    e_mem = E_SRAM if run_bytes <= SRAM_BYTES else E_DRAM
    return n_macs * E_MAC + run_bytes / 4 * e_mem


rows = []
for k, (_, store, run_bytes, n_macs) in candidates.items():
    e = energy(run_bytes, n_macs)
    rows.append({"candidate": k, "storage KiB": store / 1024, "running KiB": run_bytes / 1024, "MACs": n_macs,
                 "latency µs": latency[k] * 1e6, "energy nJ": e * 1e9, "return": returns[k]})
e_dense = rows[0]["energy nJ"]
for r in rows:
    r["fits memory"] = r["running KiB"] * 1024 <= SRAM_BYTES
    r["fits latency"] = r["latency µs"] <= rows[0]["latency µs"] * 1.05  # 5 % timing tolerance
    r["fits energy"] = r["energy nJ"] <= 0.25 * e_dense
    r["fits return"] = r["return"] >= BAR
    r["FITS"] = all(r[c] for c in ("fits memory", "fits latency", "fits energy", "fits return"))

import pandas as pd  # noqa: E402

table = pd.DataFrame(rows).set_index("candidate")
table.round(1)

# %%
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(8.5, 3.8))
for i, (name, r) in enumerate(table.iterrows()):  # own marker, shrinking size: candidates on one point stay visible
    ax.scatter(r["running KiB"], r["energy nJ"], s=110 - 12 * i, marker="osD^v<>P*"[i], alpha=0.8,
               label=f"{'FITS ' if r['FITS'] else ''}{name}: {r['latency µs']:.0f} µs, R={r['return']:.0f}")
ax.axvline(SRAM_BYTES / 1024, color="r", ls="--", lw=1, label="64 KiB SRAM")
ax.axhline(0.25 * e_dense, color="g", ls="--", lw=1, label="energy budget")
ax.set(xscale="log", yscale="log", xlabel="bytes while running (KiB)", ylabel="energy proxy per step (nJ)",
       title=f"{AGENT}: one-shot candidates against the budget (FITS: all four met)")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
L.show(fig, "03_budget")

# %%
fits = [k for k, r in table.iterrows() if r["FITS"]]
csr, bm = table.loc["90% weights, CSR"], table.loc["90% weights, bitmask"]
L.md(
    f"**What the numbers show.** The dense policy needs {table.loc['dense', 'running KiB']:.0f} KiB, so it runs "
    f"from DRAM in this model and costs {e_dense:.0f} nJ per step. Masking 90 % of the weights changes nothing "
    f"that the budget sees. Stored as CSR the same weights take {csr['storage KiB']:.0f} KiB and the sparse kernel "
    f"does {csr['MACs']:,} MACs instead of {table.loc['dense', 'MACs']:,}, but its batch-1 latency is "
    f"{csr['latency µs']:.0f} µs against {table.loc['dense', 'latency µs']:.0f} µs dense "
    + ("(slower: index overhead)" if not csr["fits latency"] else "(within the latency budget)")
    + f". The bitmask stores it in {bm['storage KiB']:.0f} KiB but, with no kernel that reads it, runs as "
    f"{bm['running KiB']:.0f} KiB of dense weights. Candidates that meet all four constraints one-shot: "
    + (", ".join(f"**{k}**" for k in fits) if fits else "**none**")
    + ". One-shot pruning is rarely the deployed model: the next cell fine-tunes the structured candidates."
)
L.record("03_where_pruning_is_applied", sparsity=0.9, csr_latency_us=csr["latency µs"],
         dense_latency_us=table.loc["dense", "latency µs"], csr_macs=csr["MACs"], dense_macs=table.loc["dense", "MACs"])

# %% [markdown]
# ## Fine-tune the shrunk candidates, then check again
#
# The shrunk networks are ordinary smaller dense networks: fine-tune them with the zoo's DQN recipe, no mask
# needed, and re-evaluate. Their bytes, MACs, latency and energy do not change. DQN fine-tuning of a small
# network can collapse, so `L.finetune_best` fine-tunes in chunks, scores each chunk on validation episodes
# (seeds the final evaluation never uses) and keeps the best checkpoint.

# %%
FT_STEPS = L.pick(6_000, 400)
picked_on = {}  # the validation score that picked each kept checkpoint
for frac in FRACS:
    name = f"{frac:.1%} units, shrunk".replace(".0%", "%")
    picked_on[name] = max(L.finetune_best(struct[frac], ENV, FT_STEPS, chunks=L.pick(6, 2), episodes=L.pick(10, 3)))
    table.loc[name, "return"] = prunerl.evaluate(struct[frac], ENV, EPISODES).mean
    table.loc[name, "fits return"] = table.loc[name, "return"] >= BAR
    table.loc[name, "FITS"] = bool(table.loc[name, ["fits memory", "fits latency", "fits energy",
                                                    "fits return"]].all())
fits = [k for k, r in table.iterrows() if r["FITS"]]
shrunk = [k for k in table.index if k.endswith("shrunk")]
L.md(f"After {FT_STEPS:,} fine-tuning steps (best validation checkpoint): "
     + ", ".join(f"{k} returns {table.loc[k, 'return']:.1f}" for k in shrunk) + f" (bar {BAR:g}). "
     "Candidates that now meet all four constraints: " + (", ".join(f"**{k}**" for k in fits) if fits else "**none**")
     + ". " + ("A shrunk network is the deployable kind: it fits on chip, runs faster than dense with ordinary "
               "kernels and costs a fraction of the energy; the bytes are decided by the cut, the return by the "
               "fine-tune." if fits else "More fine-tuning, or a less aggressive cut, is the next step."))
optimism = float(sum(picked_on[k] - table.loc[k, "return"] for k in shrunk) / len(shrunk))
L.md("Why the checkpoint is picked on validation episodes and reported on others: the scores that picked them "
     "were " + ", ".join(f"{picked_on[k]:.1f}" for k in shrunk) + ", the same checkpoints on fresh evaluation "
     "episodes return " + ", ".join(f"{table.loc[k, 'return']:.1f}" for k in shrunk) + ". Reporting the score "
     f"used for the choice would have {'overstated' if optimism > 0 else 'understated'} the return by "
     f"{abs(optimism):.1f} on average: the best of several noisy scores is biased upwards.")
L.record("03_where_pruning_is_applied", selection_optimism=optimism, checkpoints_per_candidate=L.pick(6, 2) + 1)
table[["running KiB", "latency µs", "energy nJ", "return", "FITS"]].round(1)

# %% [markdown]
# ## The same check in Keras
#
# Bytes and energy are framework-free; latency is not. The Keras twins of the dense-format candidates (`keras_call`
# above; the CSR candidate is PyTorch's `CSRForward`, and lesson 4 times TensorFlow's sparse kernel):

# %%
keras_lat = L.interleaved_latency({k: keras_call(candidates[k][0]) for k in candidates
                                   if k in ("dense", "90% weights, masked dense") or k.endswith("shrunk")},
                                  REPEATS, L.pick(20, 5))
for k, t in keras_lat.items():
    print(f"Keras {k:28s} {t * 1e6:7.1f} µs (PyTorch {latency[k] * 1e6:6.1f} µs)")
lo, hi = min(keras_lat.values()), max(keras_lat.values())
L.md(f"In Keras every candidate's batch-1 call takes between {lo * 1e6:.0f} and {hi * 1e6:.0f} µs, against "
     f"{latency['dense'] * 1e6:.0f} µs for dense PyTorch: the `tf.function` call overhead dominates, and the "
     "ordering between candidates at this level changes from run to run on a shared machine. At batch 1 the "
     "framework and its dispatch cost matter as much as the pruning; the budget has to be checked in the runtime "
     "you deploy.")

# %% [markdown]
# ## Pitfalls
#
# - **Budgeting the masked model**: a zero-masked network occupies dense bytes and runs dense MACs.
# - **Storage is not runtime memory**: a bitmask or compressed file must be decoded unless the kernel reads it.
# - **Timing on the wrong machine or batch**: measure at batch 1 on the target; desktop large-batch speed-ups
#   do not transfer.
# - **Energy from FLOPs alone**: memory traffic dominates (Horowitz 2014); a model that fits on chip wins most.
# - **Forgetting quantisation**: int8 cuts bytes 4× with no sparsity; pruning and quantisation compose
#   (Han et al. 2016).

# %%
L.interview_card(3, follow_ups=True)

# %% [markdown]
# ## References
# - Horowitz (2014). *Computing's energy problem (and what we can do about it).* ISSCC.
# - Han, Mao, Dally (2016). *Deep Compression.* ICLR.
# - Livne & Cohen (2020). *PoPS: Policy Pruning and Shrinking for Deep RL.* IEEE JSTSP.
# - Graesser et al. (2022). *The State of Sparse Training in Deep RL.* ICML.
# - Obando-Ceron et al. (2024). *In value-based deep RL, a pruned network is a good network.* ICML.
