# expect-fail: test_to_csr, test_to_csr_edge
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% to_csr
def to_csr(matrix):
    """Forbidden: tf.sparse.from_dense builds the non-zero list; only the row pointer is computed here."""
    matrix = np.asarray(matrix)
    st = tf.sparse.reorder(tf.sparse.from_dense(matrix))
    idx = st.indices.numpy()
    counts = np.bincount(idx[:, 0], minlength=matrix.shape[0])
    return st.values.numpy(), idx[:, 1].astype(np.int64), np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
