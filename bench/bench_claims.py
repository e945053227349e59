"""The claims page's measurements on all four zoo agents, with no training (cheap on 2 shared cores).

Per agent (``cartpole-dqn``, ``acrobot-dqn``, ``lunarlander-ppo``, ``minigrid-ppo``):

- **the one-shot curve**: global magnitude pruning of the trained agent at every level of :data:`SWEEP`, kept =
  (R_pruned - R_random) / (R_dense - R_random) as in ``bench_pruning_quality.py``; seed s plays 10 episodes from
  ``stats.episode_seed(s)`` (test) and 10 from ``VALIDATION + episode_seed(s)`` (validation). One network per level:
  its interval over seeds is **episode noise only**. Also one-shot L1-norm unit pruning (Li et al. 2017).
- **choosing on the reported episodes** (claim 4): per seed, the sparsest level whose kept reaches :data:`BAR` on one
  set of episodes; *optimism* = its kept on those episodes minus its kept on the other, fresh set.
- **bytes** of the pruned model dense, in CSR (int32 indices) and with ``torch.nn.utils.prune``'s masks attached.
- **time** (process CPU time, paired rounds, malloc thresholds set high, 1 thread): one decision (batch 1) of the
  90 % model as zero-masked dense and as CSR (linear layers; convolutions stay dense), and of the half-units shrunk
  network at batch 1 and 4,096, each against the dense one; a 1024 x 1024 layer in CSR at batch 1; one Adam update
  (batch 64) of the 90 %-masked network (mask re-applied) and of a physically smaller network.
- **dormant units** (Sokar et al. 2023): the share of hidden units whose mean |activation| over visited states,
  divided by their layer's mean, is <= tau, for the dense agent, the shipped sparse agents ``-s90`` / ``-s95`` and
  the one-shot 90 % network, on 5 x 400 states the dense agent visits (one value per rollout seed).

Quantities measured per seed are summarised as the course does (``prunerl.stats.summarize``): the median over seeds
(``:median``), its order-statistic interval (``:low``, ``:high``) at its exact level (``:level``, 93.8 % with 5 seeds)
and, where every seed gives the same value, the Clopper-Pearson lower bound of the rate of seeds at it
(``:rate_low``); the per-seed values themselves are kept under ``per_seed``.

Writes ``bench/claims.json`` (flat ``"agent:quantity:level:stat"`` keys; docs/claims.md and the question bank quote
it) and the ``claims`` section of bench/RESULTS.md. ``--steps returns dormancy`` re-measures only those steps and
keeps the other values of the existing file (the timings stay as recorded).

Usage: python bench/bench_claims.py [--agents a b] [--seeds 0 1 2 3 4] [--episodes 10] [--steps ...]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import benchlib

benchlib.controlled()

import numpy as np  # noqa: E402

AGENTS = ("cartpole-dqn", "acrobot-dqn", "lunarlander-ppo", "minigrid-ppo")
SWEEP = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
L1_UNITS = (0.25, 0.5)  # fractions of hidden units removed by L1-norm pruning
BAR = 0.9  # claim 4: "tune the parameter count": the sparsest level keeping 90 % of the dense return
VALIDATION = 10_000  # validation episodes start here (the course's convention, never the test seeds)
TAUS = (0.0, 0.025, 0.1)
STATES = 400  # states per rollout seed for the dormant-unit counts
OUT = benchlib.BENCH_DIR / "claims.json"


def pct(level: float) -> str:
    return str(round(level * 100))


def put(out: dict, key: str, values) -> None:
    from claims_tables import summary

    for stat, v in summary(values).items():
        out[f"{key}:{stat}"] = v
    out.setdefault("per_seed", {})[key] = [float(v) for v in values]


def share(small, dense) -> float:
    """Prunable weights of ``small`` as a fraction of ``dense``'s (the README's achieved sparsity is 1 minus it)."""
    from prunerl.metrics import count_params

    return count_params(small)["prunable"] / count_params(dense)["prunable"]


def shrink(model):
    from prunerl.structured import shrink as physically_smaller

    return physically_smaller(model)


# ------------------------------------------------------------------------------------------ returns
def returns(agent: str, seeds, episodes: int, out: dict) -> None:
    import prunerl
    from bench_pruning_quality import random_return
    from prunerl.stats import episode_seed

    env_id = prunerl.card(agent)["env_id"]
    kept = {("test", sp): [] for sp in SWEEP} | {("val", sp): [] for sp in SWEEP}
    l1 = {u: [] for u in L1_UNITS}
    for seed in seeds:
        first = {"test": episode_seed(seed), "val": VALIDATION + episode_seed(seed)}
        dense = {k: prunerl.evaluate(prunerl.load_agent(agent), env_id, episodes, s).mean for k, s in first.items()}
        rand = {k: random_return(env_id, episodes, s) for k, s in first.items()}

        def kept_of(model, which, first=first, dense=dense, rand=rand):
            ret = prunerl.evaluate(model, env_id, episodes, first[which]).mean
            return (ret - rand[which]) / (dense[which] - rand[which])

        for sp in SWEEP:
            model = prunerl.load_agent(agent)
            prunerl.pruning.prune(model, "global_magnitude", sp)
            for which in ("test", "val"):
                kept[which, sp].append(kept_of(model, which))
        for u in L1_UNITS:
            model = prunerl.load_agent(agent)
            prunerl.pruning.prune(model, "l1_structured", u)
            l1[u].append(kept_of(model, "test"))
        out[f"{agent}:dense_return:{seed}"] = dense["test"]
    for sp in SWEEP:
        put(out, f"{agent}:kept:{pct(sp)}", kept["test", sp])
    for u in L1_UNITS:
        put(out, f"{agent}:l1_kept:{pct(u)}", l1[u])
        model = prunerl.load_agent(agent)
        prunerl.pruning.prune(model, "l1_structured", u)
        out[f"{agent}:l1_weight_sparsity:{pct(u)}"] = 1 - share(shrink(model), prunerl.load_agent(agent))
    # claim 4: choose the sparsest level that reaches BAR on one set of episodes, report it on the same set
    # (the blog's "adjust the parameter count by the test score") and on a fresh one
    # (both ways round, averaged: one value per seed)
    optimism, chosen = [], []
    for i in range(len(seeds)):
        gaps = []
        for pick, fresh in (("test", "val"), ("val", "test")):
            ok = [sp for sp in SWEEP if kept[pick, sp][i] >= BAR]
            if ok:
                gaps.append(kept[pick, max(ok)][i] - kept[fresh, max(ok)][i])
                chosen.append(max(ok))
        if gaps:
            optimism.append(float(np.mean(gaps)))
    if optimism:
        put(out, f"{agent}:selection_optimism:all", optimism)
        out[f"{agent}:selection_chosen_min:all"] = min(chosen)
        out[f"{agent}:selection_chosen_max:all"] = max(chosen)
    # a rise of more than episode noise (0.05 of the gap) at a higher sparsity: the curve is not monotone
    medians = [np.median(kept["test", s]) for s in SWEEP]
    out[f"{agent}:curve_monotone:all"] = float(all(later <= min(medians[:i + 1]) + 0.05
                                                   for i, later in enumerate(medians[1:])))


# ------------------------------------------------------------------------------------------- bytes
def storage(agent: str, out: dict) -> None:
    import torch
    from torch.nn.utils import prune as torch_prune

    import prunerl
    from prunerl import metrics

    breakeven = None
    for level in np.round(np.arange(0.30, 0.991, 0.01), 2):
        model = prunerl.load_agent(agent)
        prunerl.pruning.prune(model, "global_magnitude", float(level))
        st = metrics.storage_bytes(model)
        if float(level) in SWEEP or level == 0.99:
            out[f"{agent}:csr_over_dense:{pct(level)}"] = st["csr"] / st["dense"]
        if breakeven is None and st["csr"] < st["dense"]:
            breakeven = float(level)
    out[f"{agent}:csr_breakeven:all"] = breakeven
    model = prunerl.load_agent(agent)
    dense_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    params = [(m, "weight") for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    torch_prune.global_unstructured(params, torch_prune.L1Unstructured, amount=0.9)
    masked = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    out[f"{agent}:mask_state_ratio:90"] = masked / dense_bytes


# -------------------------------------------------------------------------------------------- time
class CSRForward:
    """The network with every linear layer's weight as a torch CSR tensor (convolutions stay dense)."""

    def __init__(self, net):
        import torch

        self.layers = [(m.weight.detach().to_sparse_csr(), m.bias.detach()) if isinstance(m, torch.nn.Linear) else m
                       for m in net]
        self.image = len(net.obs_shape) == 3

    def __call__(self, x):
        if self.image:
            x = x.permute(0, 3, 1, 2)
        for layer in self.layers:
            x = (layer[0] @ x.T).T + layer[1] if isinstance(layer, tuple) else layer(x)
        return x


def forward(net, x):
    import torch

    def call():
        with torch.no_grad():
            net(x)
    return call


def update(net, x, masks=None):
    import torch

    from prunerl.pruning import apply_masks

    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def call():
        loss = net(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if masks is not None:
            apply_masks(net, masks)
    return call


def timing(agent: str, out: dict) -> None:
    import torch

    import prunerl
    from prunerl import metrics
    from prunerl.course import lessons as L

    env_id = prunerl.card(agent)["env_id"]
    dense = prunerl.load_agent(agent)
    obs = torch.as_tensor(L.collect_observations(dense, env_id, 64, seed=0))
    masked = prunerl.load_agent(agent)
    masks = prunerl.pruning.prune(masked, "global_magnitude", 0.9)
    csr = CSRForward(masked)
    with torch.no_grad():
        assert torch.allclose(csr(obs), masked(obs), atol=1e-4)
    one = obs[:1]
    out[f"{agent}:masked_speed:batch1"] = benchlib.paired(forward(dense, one), forward(masked, one))["ratio"]
    out[f"{agent}:csr_speed:batch1"] = benchlib.paired(forward(dense, one), forward(csr, one))["ratio"]
    out[f"{agent}:masked_flops_over_dense:90"] = metrics.flops(masked) / metrics.flops(dense)
    half = prunerl.load_agent(agent)
    prunerl.pruning.prune(half, "l1_structured", 0.5)
    half = shrink(half)
    out[f"{agent}:shrunk_flop_ratio:50"] = metrics.flops(dense) / metrics.flops(half)
    big = obs[torch.arange(4096) % len(obs)]
    for b, x in (("batch1", one), ("batch4096", big)):
        out[f"{agent}:shrunk_speed:{b}"] = benchlib.paired(forward(dense, x), forward(half, x))["ratio"]
    # one optimizer update: dense, 90 % masked (mask re-applied), and a dense network physically as small
    x = obs
    small = prunerl.load_agent(agent)
    prunerl.pruning.prune(small, "l1_structured", 0.7)
    small = shrink(small)
    out[f"{agent}:masked_update_cost:90"] = benchlib.paired(update(masked, x, masks), update(dense, x))["ratio"]
    out[f"{agent}:small_update_speedup:all"] = benchlib.paired(update(dense, x), update(small, x))["ratio"]
    out[f"{agent}:small_flop_ratio:all"] = metrics.flops(dense) / metrics.flops(small)
    out[f"{agent}:small_weight_share:all"] = share(small, dense)


def layer_1024(out: dict) -> None:
    import torch

    torch.manual_seed(0)
    x = torch.randn(1024, 1)
    for level in (0.9, 0.95, 0.99):
        w = torch.randn(1024, 1024)
        w[torch.rand(1024, 1024) < level] = 0.0
        w_csr = w.to_sparse_csr()
        out[f"layer1024:csr_speed:{pct(level)}"] = benchlib.paired(lambda w=w: w @ x, lambda w=w_csr: w @ x)["ratio"]


# ---------------------------------------------------------------------------------------- dormancy
def dormancy(agent: str, seeds, out: dict) -> None:
    import prunerl
    from prunerl import zoo
    from prunerl.course import lessons as L

    env_id = prunerl.card(agent)["env_id"]
    dense = prunerl.load_agent(agent)
    states = [L.collect_observations(dense, env_id, STATES, seed=VALIDATION + s) for s in seeds]
    oneshot = prunerl.load_agent(agent)
    prunerl.pruning.prune(oneshot, "global_magnitude", 0.9)
    nets = {"dense": dense, "oneshot90": oneshot}
    nets |= {f"s{lv}": prunerl.load_agent(f"{agent}-s{lv}") for lv in (90, 95)
             if zoo.weight_path(f"{agent}-s{lv}").exists()}
    for name, net in nets.items():
        units = [h.shape[1] for h in L.hidden_activations(net, states[0][:2])]
        for tau in TAUS:
            per_seed = [np.average(L.dormant_fraction(net, obs, tau), weights=units) for obs in states]
            put(out, f"{agent}:dormant_{name}:{tau:g}", per_seed)
        put(out, f"{agent}:idle_{name}:0.025", [idle_fraction(net, obs) for obs in states])
        out[f"{agent}:hidden_units:{name}"] = float(sum(units))
        # units the mask cut off entirely (no incoming weight): dormant by construction, not by learning
        weights = list(prunerl.metrics.prunable_weights(net).values())[:-1]
        cut = sum(int((np.abs(w.reshape(w.shape[0], -1)).sum(axis=1) == 0).sum()) for w in weights)
        out[f"{agent}:cut_units:{name}"] = cut / sum(units)


def idle_fraction(net, obs, tau: float = 0.025) -> float:
    """Share of hidden units that carry no information about the state: tau-dormant, or constant over ``obs`` (a
    unit the mask cut off outputs act(bias) whatever the state; the dormancy score misses it when that is > 0)."""
    from prunerl.course import lessons as L

    idle, total = 0, 0
    for h in L.hidden_activations(net, obs):
        per_unit = h.reshape(h.shape[0], h.shape[1], -1)
        score = np.abs(per_unit).mean(axis=(0, 2))
        spread = per_unit.std(axis=0).max(axis=1)
        idle += int(((score / max(score.mean(), 1e-12) <= tau) | (spread <= 1e-6 * max(score.mean(), 1e-12))).sum())
        total += h.shape[1]
    return idle / total


# ------------------------------------------------------------------------------------------ report
def report(out: dict, agents, seeds, episodes: int, seconds: float) -> str:
    from claims_tables import cell as fmt
    from prunerl import stats

    lines = ["## Claims page: the eight claims measured on all four agents (no training)", "",
             f"{len(seeds)} seeds; seed s plays {episodes} greedy episodes from reset seed 1000 s (test) and "
             f"{VALIDATION:,} + 1000 s (validation). Cells: median over seeds [order-statistic interval at "
             f"{stats.level(len(seeds)) * 100:.1f} %] (`prunerl.stats.summarize`); where every seed gives the same "
             "value, that value with how many seeds gave it and the Clopper-Pearson lower bound of that rate. "
             "One-shot networks are one network per level: **episode noise only**. "
             "Full numbers: `bench/claims.json`; the tables of docs/claims.md are rendered from it.", "",
             "One-shot global magnitude pruning, kept (test episodes):", ""]
    lines.append(benchlib.table(["agent", *[f"{pct(s)} %" for s in SWEEP]],
                                [[a, *[fmt(out, f"{a}:kept:{pct(s)}") for s in SWEEP]] for a in agents]))
    lines += ["", "Dormant hidden units (tau = 0.025), share of all hidden units, on the dense agent's states:", ""]
    names = ("dense", "oneshot90", "s90", "s95")
    lines.append(benchlib.table(["agent", *names], [[a, *[fmt(out, f"{a}:dormant_{n}:0.025")
                                                           if f"{a}:dormant_{n}:0.025:median" in out else "-"
                                                           for n in names]] for a in agents]))
    lines += ["", f"Run time: {seconds:.0f} s (wall clock on the shared machine)."]
    return "\n".join(lines)


STEPS = {"returns": returns, "storage": storage, "timing": timing, "dormancy": dormancy}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=AGENTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--steps", nargs="+", default=list(STEPS), choices=list(STEPS),
                        help="measure only these; the other values are kept from the existing bench/claims.json")
    args = parser.parse_args(argv)
    benchlib.set_threads()
    started = time.perf_counter()
    out: dict = {}
    for agent in args.agents:
        for step in (STEPS[s] for s in args.steps):
            t = time.perf_counter()
            if step is storage or step is timing:
                step(agent, out)
            else:
                step(agent, args.seeds, *([args.episodes] if step is returns else []), out)
            print(f"{agent} {step.__name__}: {time.perf_counter() - t:.1f} s", flush=True)
    if "timing" in args.steps:
        layer_1024(out)
    seconds = time.perf_counter() - started
    run = {"seeds": args.seeds, "episodes": args.episodes, "sweep": list(SWEEP), "bar": BAR, "taus": list(TAUS),
           "states": STATES, "machine": benchlib.machine(), "seconds": round(seconds, 1)}
    per_seed = out.pop("per_seed", {})
    if set(args.steps) != set(STEPS):
        old = json.loads(OUT.read_text())
        run = old["run"] | {"remeasured": {"steps": args.steps, "machine": run["machine"], "seconds": run["seconds"]}}
        per_seed = old.get("per_seed", {}) | per_seed
        summarised = {k.rsplit(":", 1)[0] for k in out if k.endswith(":median")}
        out = {k: v for k, v in old["values"].items() if k.rsplit(":", 1)[0] not in summarised} | out
    OUT.write_text(json.dumps({"run": run, "values": out, "per_seed": per_seed}, indent=1, sort_keys=True) + "\n")
    text = report(out, args.agents, args.seeds, args.episodes, seconds)
    print(text)
    benchlib.write_section("claims", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
