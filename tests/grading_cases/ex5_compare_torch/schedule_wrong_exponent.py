# expect-fail: test_schedule
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% polynomial_sparsity
def polynomial_sparsity(step, initial, final, begin_step, end_step, power=3):
    """Bug: the exponent is applied to the progress, not to (1 - progress)."""
    progress = min(max((step - begin_step) / (end_step - begin_step), 0.0), 1.0)
    return float(initial + (final - initial) * progress ** (1 / power))
