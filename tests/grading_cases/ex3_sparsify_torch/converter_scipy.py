# expect-fail: test_to_csr, test_to_csr_edge
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% to_csr
def to_csr(matrix):
    """Forbidden: hands the work to scipy.sparse (correct arrays, but the contract asks for your own CSR)."""
    from scipy.sparse import csr_matrix

    m = csr_matrix(np.asarray(matrix))
    m.sort_indices()
    return m.data, m.indices.astype(np.int64), m.indptr.astype(np.int64)
