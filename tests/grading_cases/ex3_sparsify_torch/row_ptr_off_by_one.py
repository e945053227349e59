# expect-fail: test_to_csr, test_to_csr_edge
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% to_csr
def to_csr(matrix):
    """Bug: records each row's start but never the final end: row_ptr has rows entries, not rows + 1."""
    values, col_indices, row_ptr = [], [], []
    for i in range(matrix.shape[0]):
        row_ptr.append(len(values))
        for j in range(matrix.shape[1]):
            if matrix[i, j] != 0:
                values.append(matrix[i, j])
                col_indices.append(j)
    return np.array(values, dtype=matrix.dtype), np.array(col_indices, dtype=np.int64), np.array(row_ptr)
