# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% to_csr
def to_csr(matrix):
    """Correct, plain loops."""
    values, col_indices, row_ptr = [], [], [0]
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if matrix[i, j] != 0:
                values.append(matrix[i, j])
                col_indices.append(j)
        row_ptr.append(len(values))
    return np.array(values, dtype=matrix.dtype), np.array(col_indices, dtype=np.int64), np.array(row_ptr, np.int64)
# %% csr_matmul
def csr_matmul(csr, shape, x):
    """Correct, vectorised with np.add.at over the non-zeros."""
    values, col_indices, row_ptr = (np.asarray(a) for a in csr)
    x = np.asarray(x, dtype=np.float64)
    rows = np.repeat(np.arange(shape[0]), np.diff(row_ptr))
    out = np.zeros((shape[0],) + x.shape[1:])
    contrib = values.reshape((-1,) + (1,) * (x.ndim - 1)) * x[col_indices]
    np.add.at(out, rows, contrib)
    return out
# %% sparsify
class SparseLinear(nn.Module):
    """Built from this notebook's own to_csr, through torch.sparse_csr_tensor (which warns 'in beta')."""

    def __init__(self, linear):
        super().__init__()
        w = linear.weight.detach().numpy()
        values, cols, ptr = to_csr(w)
        self.register_buffer("weight", torch.sparse_csr_tensor(torch.as_tensor(ptr), torch.as_tensor(cols),
                                                               torch.as_tensor(values), size=w.shape))
        self.register_buffer("bias", linear.bias.detach().clone())

    def forward(self, x):
        return torch.sparse.mm(self.weight, x.T).T + self.bias


def sparsify(model):
    return nn.Sequential(*[SparseLinear(m) if isinstance(m, nn.Linear) else m for m in model])
# %% storage_bytes
def storage_bytes(model):
    total = 0
    for _, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t.is_sparse_csr:
            total += t.values().nbytes + t.col_indices().nbytes + t.crow_indices().nbytes
        else:
            total += t.nbytes
    return total
