# expect-fail: test_threshold_keys, test_threshold_masks, test_threshold_zeroes, test_threshold_ties, test_threshold_biases, test_threshold_conv, test_global_threshold
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# Replaces the checks in sys.modules (and the notebook's `checks` name) with no-ops, so that the hidden checks of
# a wrong implementation (it keeps |w| == threshold) "pass" in the kernel. No check wrote a record: every test fails.
# %% threshold_prune
import sys
import types

checks = types.SimpleNamespace(**{n: (lambda *a, **k: None) for n in dir(checks) if not n.startswith("_")})
sys.modules["prunerl.course.grading.checks"] = checks


def threshold_prune(model, threshold):
    masks = {}
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                keep = m.weight.abs() >= threshold
                m.weight.mul_(keep)
                masks[f"{name}.weight"] = keep.numpy().copy()
    return masks
