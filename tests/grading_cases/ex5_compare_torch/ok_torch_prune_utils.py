# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% prune
from torch.nn.utils import prune as torch_prune


def prune(agent, strategy, sparsity, seed=0):
    """Correct, with torch.nn.utils.prune for every strategy, made permanent with prune.remove."""
    named = [(n, m) for n, m in agent.named_modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    if strategy == "random":
        torch.manual_seed(seed)
        for _, m in named:
            torch_prune.random_unstructured(m, "weight", amount=sparsity)
    elif strategy == "layerwise_magnitude":
        for _, m in named:
            torch_prune.l1_unstructured(m, "weight", amount=sparsity)
    elif strategy == "global_magnitude":
        torch_prune.global_unstructured([(m, "weight") for _, m in named], torch_prune.L1Unstructured, amount=sparsity)
    elif strategy == "l1_structured":
        for _, m in named[:-1]:
            torch_prune.ln_structured(m, "weight", amount=sparsity, n=1, dim=0)
        torch_prune.identity(named[-1][1], "weight")
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    masks = {}
    for n, m in named:
        masks[f"{n}.weight"] = m.weight_mask.detach().numpy().astype(bool)
        torch_prune.remove(m, "weight")
    return masks
# %% plot_comparison
def plot_comparison(df):
    """Correct, from a pivot table of medians; the band is the order-statistic interval computed per column."""
    fig = plt.figure()
    ax = fig.add_subplot()
    table = df.pivot_table(index="sparsity", columns="strategy", values="mean_return", aggfunc="median")
    for strategy in df["strategy"].unique():
        column = table[strategy].dropna()  # sparsities this strategy was run at
        ax.plot(column.index, column, label=strategy)
        bands = [prunerl.stats.interval(df[(df.strategy == strategy) & (df.sparsity == x)]["mean_return"])
                 for x in column.index]
        ax.fill_between(column.index, [b[0] for b in bands], [b[1] for b in bands], alpha=0.25)
        ax.scatter(df[df.strategy == strategy]["sparsity"], df[df.strategy == strategy]["mean_return"], marker="x")
    n = df["seed"].nunique()
    ax.set(xlabel="sparsity", ylabel="median return",
           title=f"{n} seeds per point, band at {100 * prunerl.stats.level(n):.1f} %")
    ax.legend()
    return fig
