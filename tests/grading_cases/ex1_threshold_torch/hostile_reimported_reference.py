# expect-fail: test_threshold_keys, test_threshold_masks, test_threshold_zeroes, test_threshold_ties, test_threshold_biases, test_threshold_conv, test_global_threshold
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# A second copy of the course's reference, loaded under another name, escapes the tripwires on prunerl.pruning's
# functions; the kernel's audit hook sees the reference module executed again: no points for the exercise.
# %% threshold_prune
import importlib.util

_spec = importlib.util.spec_from_file_location("my_pruning", prunerl.pruning.__file__)
my_pruning = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(my_pruning)


def threshold_prune(model, threshold):
    weights = prunerl.metrics.prunable_weights(model)
    masks = {name: np.abs(w) > threshold for name, w in weights.items()}
    my_pruning.apply_masks(model, masks)
    return masks
