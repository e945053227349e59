# expect-fail: test_storage_bytes
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% storage_bytes
def storage_bytes(model):
    """Bug: counts only the stored values (4 bytes each), not the index arrays a sparse format needs."""
    if isinstance(model, keras.Model):
        return int(sum(v.numpy().nbytes for v in model.weights))
    total = 0
    for step in model.steps:
        if isinstance(step, SparseDense):
            total += step.kernel.values.numpy().nbytes + step.bias.numpy().nbytes
    return int(total)
