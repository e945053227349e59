# expect-fail: test_compare_gradual, test_decide_fair
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# Comparing at unequal budgets: the table books the fine-tuned 'gradual' arm at 0 train steps and decide() never
# compares budgets, so a fine-tuned arm is ranked against one-shot arms that trained for none.
# %% compare_strategies
def gradual_prune(model, env_id, sparsity, steps, seed, every=10):
    """Fine-tune `model` in place while its sparsity rises on the polynomial schedule; ends at `sparsity`."""
    total = prunerl.train.optimizer_steps_for(env_id, steps)
    end = max(1, int(0.75 * total))
    masks = {}

    def hook(net, step):
        nonlocal masks
        if not masks or (step % every == 0 and step <= end):
            masks = prune(net, "global_magnitude", polynomial_sparsity(step, 0.0, sparsity, 0, end))
        else:
            params = dict(net.named_parameters())
            with torch.no_grad():
                for n, mask in masks.items():
                    params[n].mul_(torch.as_tensor(mask))

    prunerl.finetune(model, env_id, steps, seed=seed, callback=hook)
    prune(model, "global_magnitude", sparsity)
    return model


def compare_strategies(agent, env_id, strategies, sparsities, seeds, episodes, gradual_steps=2000):
    """Bug: every arm is booked at 0 train steps ('gradual only prunes'), so the fine-tuned arm ranks with the
    one-shot ones."""
    rows = []
    for strategy in strategies:
        for sparsity in sparsities:
            for seed in seeds:
                model = copy.deepcopy(agent)
                if strategy == "gradual":
                    gradual_prune(model, env_id, sparsity, gradual_steps, seed)
                else:
                    prune(model, strategy, sparsity, seed)
                result = prunerl.evaluate(model, env_id, episodes=episodes, seed=prunerl.stats.episode_seed(seed))
                rows.append({"strategy": strategy, "sparsity": sparsity,
                             "achieved_sparsity": prunerl.metrics.sparsity(model),
                             "train_steps": 0, "seed": seed, "mean_return": result.mean})
    return pd.DataFrame(rows)


# %% decide
def decide(df, a, b, sparsity):
    """Bug: never looks at train_steps, so a fine-tuned arm is compared with one-shot arms."""
    arms = {s: df[(df["strategy"] == s) & np.isclose(df["sparsity"], sparsity)].sort_values("seed") for s in (a, b)}
    if any(rows.empty for rows in arms.values()):
        raise ValueError(f"no rows at sparsity {sparsity}")
    if abs(arms[a]["achieved_sparsity"].mean() - arms[b]["achieved_sparsity"].mean()) > SPARSITY_TOLERANCE:
        raise ValueError("unequal achieved sparsity")
    if arms[a]["seed"].tolist() != arms[b]["seed"].tolist():
        raise ValueError("not the same seeds")
    p = prunerl.stats.paired(arms[a]["mean_return"], arms[b]["mean_return"])
    winner = None
    if p["level"] >= MIN_LEVEL:
        winner = a if p["low"] > 0 else b if p["high"] < 0 else None
    return {"median_diff": p["median_diff"], "low": p["low"], "high": p["high"], "level": p["level"],
            "p_improvement": p["p_improvement"], "winner": winner}
