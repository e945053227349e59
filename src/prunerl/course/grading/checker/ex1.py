"""Exercise 1 verdicts: threshold pruning and the global threshold."""
from __future__ import annotations

import numpy as np

from prunerl.course.grading.protocol import midpoint_threshold, tie_grid

from . import oracles as o
from .judges import judge


def _t(name, fw, fraction):
    return midpoint_threshold(o.weights(name, fw), fraction)


@judge("threshold_keys")
def threshold_keys(rec, v, fw):
    before = o.weights("cartpole-dqn", fw)
    masks = o.mask_dict(rec, list(before), "threshold_prune")
    for name, mask in masks.items():
        if mask.dtype != bool:
            o.fail(f"masks[{name!r}] has dtype {mask.dtype}; the contract returns boolean masks (True = keep)")
        if mask.shape != before[name].shape:
            o.fail(f"masks[{name!r}] has shape {mask.shape}; the weight has shape {before[name].shape}")


@judge("threshold_masks")
def threshold_masks(rec, v, fw):
    for run in o.runs(rec, len(v["masks"]), "threshold_prune"):
        name, before = run["name"], o.weights(run["name"], fw)
        t = _t(name, fw, run["fraction"])
        masks = o.mask_dict(run, list(before), "threshold_prune")
        for key, w in before.items():
            expected, mask = np.abs(w) > t, masks[key].astype(bool)
            if mask.shape != expected.shape or not np.array_equal(mask, expected):
                wrong = int((mask != expected).sum()) if mask.shape == expected.shape else mask.size
                o.fail(f"{name}, threshold {o.fmt(t)}: masks[{key!r}] differs from |w| > threshold in {wrong} of "
                       f"{w.size} entries (it keeps {int(mask.sum())}, expected {int(expected.sum())})")


@judge("threshold_zeroes")
def threshold_zeroes(rec, v, fw):
    for run in o.runs(rec, 2, "threshold_prune"):
        name, before = run["name"], o.weights(run["name"], fw)
        t = _t(name, fw, run["fraction"])
        for key, w in before.items():
            keep, after = np.abs(w) > t, run["after"][key]
            still = int(np.count_nonzero(after[~keep]))
            if still:
                o.fail(f"{name}, threshold {o.fmt(t)}: {still} entries of {key} with |w| <= threshold are still "
                       "non-zero in the model (prune in place, in the model itself)")
            changed = int((after[keep] != w[keep]).sum())
            if changed:
                o.fail(f"{name}: {changed} surviving entries of {key} (|w| > threshold) changed value; survivors "
                       "must stay exactly as they were")


@judge("threshold_ties")
def threshold_ties(rec, v, fw):
    grid = tie_grid(o.weights("cartpole-dqn", fw), v["ties_grid"])
    t = np.float32(v["ties_k"] / v["ties_grid"])
    masks = o.mask_dict(rec, list(grid), "threshold_prune")
    ties = sum(int((np.abs(w) == t).sum()) for w in grid.values())
    kept_mask = sum(int(masks[k].astype(bool)[np.abs(w) == t].sum()) for k, w in grid.items())
    kept_model = sum(int(np.count_nonzero(rec["after"][k][np.abs(w) == t])) for k, w in grid.items())
    if kept_mask or kept_model:
        o.fail(f"{max(kept_mask, kept_model)} of {ties} weights with |w| == threshold were kept; the contract prunes "
               "|w| <= threshold (keeps only |w| > threshold)")


@judge("threshold_biases")
def threshold_biases(rec, v, fw):
    for run in o.runs(rec, 2, "threshold_prune"):
        name = run["name"]
        t = _t(name, fw, run["fraction"])
        for key, b in o.biases(name, fw).items():
            after = run["biases"].get(key)
            changed = b.size if after is None or after.shape != b.shape else int((after != b).sum())
            if changed:
                o.fail(f"{name}: {changed} of {b.size} entries of {key} changed (threshold {o.fmt(t)}); biases must "
                       "be left untouched")


@judge("threshold_conv")
def threshold_conv(rec, v, fw):
    run = o.runs(rec, 1, "threshold_prune")[0]
    before = o.weights("minigrid-ppo", fw)
    t = _t("minigrid-ppo", fw, run["fraction"])
    masks = o.mask_dict(run, list(before), "threshold_prune")
    for key, w in before.items():
        expected = np.abs(w) > t
        if masks[key].shape != w.shape or not np.array_equal(masks[key].astype(bool), expected):
            o.fail(f"minigrid-ppo (conv agent): masks[{key!r}] is not |w| > threshold (shape {masks[key].shape}, "
                   f"weight shape {w.shape})")
        if not np.array_equal(run["after"][key], np.where(expected, w, 0)):
            o.fail(f"minigrid-ppo (conv agent): {key} in the model is not the weight with |w| <= threshold zeroed")


@judge("global_threshold")
def global_threshold(rec, v, fw):
    for run in o.runs(rec, 2, "global_threshold"):
        name = run["name"]
        if len(run["thresholds"]) != len(v["global"]):
            o.fail("global_threshold was not run on every sparsity of the check")
        flat = np.concatenate([np.abs(w).ravel() for w in o.weights(name, fw).values()])
        for sparsity, t in zip(v["global"], run["thresholds"]):
            if isinstance(t, dict):
                o.fail(f"global_threshold returned {t['not_a_float']}; expected a float")
            got, expected = int((flat <= t).sum()), o.global_count(name, fw, sparsity)
            if got != expected:
                o.fail(f"{name}, sparsity {sparsity}: your threshold {o.fmt(t)} prunes {got} of {flat.size} weights "
                       f"(|w| <= threshold, all layers pooled), {got / flat.size:.4f} of them; expected {expected} "
                       f"({expected / flat.size:.4f})")
        before = o.params(name, fw)
        if any(k not in run["after"] or not np.array_equal(run["after"][k], a) for k, a in before.items()):
            o.fail("global_threshold changed the model; it must only compute the threshold")
