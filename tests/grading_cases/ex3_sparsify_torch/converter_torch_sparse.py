# expect-fail: test_to_csr, test_to_csr_edge
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% to_csr
def to_csr(matrix):
    """Forbidden: torch's own converter, Tensor.to_sparse_csr (then back to NumPy)."""
    t = torch.from_numpy(np.ascontiguousarray(matrix)).to_sparse_csr()
    return t.values().numpy(), t.col_indices().numpy().astype(np.int64), t.crow_indices().numpy().astype(np.int64)
