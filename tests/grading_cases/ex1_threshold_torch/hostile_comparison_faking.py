# expect-fail: test_threshold_masks, test_threshold_zeroes, test_threshold_ties, test_threshold_conv
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# Prunes nothing and returns masks that claim to equal anything they are compared with (an ndarray subclass whose
# == is always True). Only coerced copies reach the checker: every check that looks at the values fails.
# %% threshold_prune
class _AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), bool) if np.ndim(other) else True

    def __ne__(self, other):
        return np.zeros(np.shape(other), bool) if np.ndim(other) else False


def threshold_prune(model, threshold):
    return {name: np.ones(w.shape, bool).view(_AlwaysEqual)
            for name, w in prunerl.metrics.prunable_weights(model).items()}
