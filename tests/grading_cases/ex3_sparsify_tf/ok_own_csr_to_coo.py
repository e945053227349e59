# expect: full
# ruff: noqa  (a fragment: it replaces solution cells of the notebook, whose names it uses)
# %% to_csr
def to_csr(matrix):
    """Correct, vectorised with a boolean mask and a cumulative sum."""
    nz = matrix != 0
    row_ptr = np.zeros(matrix.shape[0] + 1, dtype=np.int32)
    np.cumsum(nz.sum(axis=1), out=row_ptr[1:])
    cols = np.tile(np.arange(matrix.shape[1]), (matrix.shape[0], 1))[nz]
    return matrix[nz], cols, row_ptr
# %% csr_matmul
def csr_matmul(csr, shape, x):
    """Correct, with np.add.reduceat over row segments."""
    values, cols, ptr = csr
    x = np.asarray(x)
    prods = values.reshape((-1,) + (1,) * (x.ndim - 1)) * x[cols]
    out = np.zeros((shape[0],) + x.shape[1:], dtype=np.result_type(values, x))
    for i in range(shape[0]):
        if ptr[i + 1] > ptr[i]:
            out[i] = prods[ptr[i]:ptr[i + 1]].sum(axis=0)
    return out
# %% sparsify
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


class SparseDense:
    """Kernel stored (out, in) as a SparseTensor built from this notebook's own CSR arrays."""

    def __init__(self, layer):
        w = layer.kernel.numpy().T
        values, cols, ptr = to_csr(w)
        rows = np.repeat(np.arange(w.shape[0]), np.diff(ptr))
        self.kernel = tf.sparse.SparseTensor(np.stack([rows, cols], 1).astype(np.int64), values, w.shape)
        self.bias = tf.constant(layer.bias.numpy())
        self.activation = layer.activation

    def __call__(self, x):
        return self.activation(tf.transpose(tf.sparse.sparse_dense_matmul(self.kernel, tf.transpose(x))) + self.bias)


class SparseModel:
    def __init__(self, steps):
        self.steps = steps

    def __call__(self, obs):
        x = tf.constant(np.asarray(obs, np.float32))
        for step in self.steps:
            x = step(x)
        return x


def sparsify(model):
    return SparseModel([SparseDense(layer) if isinstance(layer, keras.layers.Dense) else layer
                        for layer in model.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Activation))])
# %% storage_bytes
def storage_bytes(model):
    if isinstance(model, keras.Model):
        return prunerl.metrics.dense_bytes(model)
    total = 0
    for step in model.steps:
        if isinstance(step, SparseDense):
            k = step.kernel
            total += k.indices.numpy().nbytes + k.values.numpy().nbytes + k.dense_shape.numpy().nbytes
            total += step.bias.numpy().nbytes
    return total
