# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false}
# # Exercise 3 (PyTorch): sparse storage — when do the zeros stop costing?  # [torch]
# # Exercise 3 (TensorFlow / Keras 3): sparse storage — when do the zeros stop costing?  # [tf]
#
# After magnitude pruning to 90 % sparsity, `cartpole-dqn` still stores all 67 000 weights: a zero in a dense
# tensor takes 4 bytes like any other number, and a dense matrix product multiplies it all the same (users hit this
# again and again: pytorch/tutorials#905 found an 80 %-pruned model *slower*). The zeros only stop costing once the
# weights move to a **sparse format**. The most common is CSR (compressed sparse row):
#
# - `values`: the non-zero entries, row by row, left to right;
# - `col_indices`: the column of each value;
# - `row_ptr`: `rows + 1` offsets; row `i`'s entries are `values[row_ptr[i]:row_ptr[i + 1]]` (so `row_ptr[0] == 0`
#   and `row_ptr[-1] == nnz`).
#
# CSR costs `nnz * (value bytes + index bytes) + (rows + 1) * index bytes`: with 8-byte indices and 4-byte values
# it beats dense only below 1/3 density. Speed is another matter: at batch 1 a CPU CSR product can be slower than
# the dense one even at high sparsity — measure before you claim it (the lessons and `bench/` do). Here you build the format from scratch.  # [torch]
# the dense one even at high sparsity — measure before you claim it (the lessons and `bench/` do). Here you build the format from scratch, then  # [tf]
# store an agent with TensorFlow's own sparse type, `tf.sparse.SparseTensor` (COO: an `(nnz, 2)` int64 index array,  # [tf]
# the values and the dense shape).  # [tf]
#
# Check your work before you submit with `prunerl check exercises/ex3_sparsify_torch.ipynb`.  # [torch]
# Check your work before you submit with `prunerl check exercises/ex3_sparsify_tf.ipynb`.  # [tf]

# %% nbgrader={"grade": false, "grade_id": "colab_install", "locked": true, "schema_version": 3, "solution": false}
# On Colab only: install the course without touching Colab's own torch, TensorFlow and NumPy; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "prunerl @ git+https://github.com/prunerl/prunerl@v0.1.0", "minigrid>=3.0,<4", "box2d==2.3.10", "minatar>=1.0.15,<2"], check=True)


# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import copy  # [torch]
import warnings  # [torch]
# [torch]
import numpy as np
import torch  # [torch]
from torch import nn  # [torch]

import prunerl
from prunerl.course.grading import checks  # the grader's checks (keep this cell unchanged; run it before the others)

checks.setup("torch")  # [torch]
# torch warns that CSR support is "in beta"; a warning is printed on stderr, which the grader counts as an error.  # [torch]
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")  # [torch]
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")  # [torch]
# [torch]
agent = prunerl.load_agent("cartpole-dqn")  # [torch]
pruned = copy.deepcopy(agent)  # [torch]
checks.setup("tensorflow")  # [tf]
agent = prunerl.load_agent("cartpole-dqn", framework="tensorflow")  # [tf]
pruned = prunerl.load_agent("cartpole-dqn", framework="tensorflow")  # [tf]
prunerl.pruning.prune(pruned, "global_magnitude", 0.9)  # the course's reference pruning (allowed here: not this exercise)
print(prunerl.metrics.summary(pruned))

# %% [markdown] nbgrader={"grade": false, "grade_id": "contract_csr", "locked": true, "schema_version": 3, "solution": false}
# ## 1. `to_csr(matrix)` and `csr_matmul(csr, shape, x)`
#
# **Contract**
#
# - `to_csr(matrix)`: `matrix` is a 2-D NumPy array. Returns `(values, col_indices, row_ptr)`, three 1-D NumPy
#   arrays: `values` has the matrix's dtype, the two index arrays are integers; entries in row-major order
#   (ascending column within a row). Exactly the entries `!= 0` are stored. Write it yourself (no `scipy.sparse`,
#   no `torch.sparse`): the grader compares with `scipy.sparse.csr_matrix`.  # [torch]
#   no `tf.sparse`): the grader compares with `scipy.sparse.csr_matrix`.  # [tf]
# - `csr_matmul(csr, shape, x)`: `csr = (values, col_indices, row_ptr)` of a matrix of shape `shape = (rows, cols)`;
#   `x` is a NumPy array of shape `(cols,)` or `(cols, k)`. Returns `matrix @ x` as a NumPy array, computed from the
#   CSR arrays only (never rebuild the dense matrix).

# %% nbgrader={"grade": false, "grade_id": "to_csr", "locked": false, "schema_version": 3, "solution": true}
def to_csr(matrix):
    """(values, col_indices, row_ptr) of a 2-D NumPy array."""
    ### BEGIN SOLUTION
    matrix = np.asarray(matrix)
    rows, cols = np.nonzero(matrix)  # row-major order
    counts = np.bincount(rows, minlength=matrix.shape[0])
    row_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return matrix[rows, cols], cols.astype(np.int64), row_ptr
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "csr_matmul", "locked": false, "schema_version": 3, "solution": true}
def csr_matmul(csr, shape, x):
    """matrix @ x for a matrix given in CSR form."""
    ### BEGIN SOLUTION
    values, col_indices, row_ptr = csr
    x = np.asarray(x)
    out = np.zeros((shape[0],) + x.shape[1:], dtype=np.result_type(values, x))
    for i in range(shape[0]):
        start, end = row_ptr[i], row_ptr[i + 1]
        out[i] = values[start:end] @ x[col_indices[start:end]]
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_to_csr", "locked": true, "points": 2, "schema_version": 3, "solution": false}
m = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]])
values, col_indices, row_ptr = to_csr(m)
assert list(values) == [2.0, 1.0, 3.0], f"values {list(values)}, expected [2.0, 1.0, 3.0]"
assert list(col_indices) == [1, 0, 2], f"col_indices {list(col_indices)}, expected [1, 0, 2]"
assert list(row_ptr) == [0, 1, 3], f"row_ptr {list(row_ptr)}, expected [0, 1, 3]"
### BEGIN HIDDEN TESTS
checks.to_csr(to_csr)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_to_csr_edge", "locked": true, "points": 1, "schema_version": 3, "solution": false}
values, col_indices, row_ptr = to_csr(np.zeros((2, 3)))
assert len(values) == 0 and list(row_ptr) == [0, 0, 0], f"all-zero matrix: values {values}, row_ptr {row_ptr}, expected no values and row_ptr [0, 0, 0]"
### BEGIN HIDDEN TESTS
checks.to_csr_edge(to_csr)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_csr_matmul", "locked": true, "points": 2, "schema_version": 3, "solution": false}
m = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]])
csr = (np.array([2.0, 1.0, 3.0]), np.array([1, 0, 2]), np.array([0, 1, 3]))
assert np.allclose(csr_matmul(csr, m.shape, np.array([1.0, 2.0, 3.0])), m @ [1.0, 2.0, 3.0]), f"csr_matmul gives {csr_matmul(csr, m.shape, np.array([1.0, 2.0, 3.0]))}, expected {m @ [1.0, 2.0, 3.0]}"
### BEGIN HIDDEN TESTS
checks.csr_matmul(csr_matmul)
### END HIDDEN TESTS

# %% [markdown] track="torch" nbgrader={"grade": false, "grade_id": "contract_sparsify", "locked": true, "schema_version": 3, "solution": false}
# ## 2. `sparsify(model)` and `storage_bytes(model)`
#
# **Contract**
#
# - `sparsify(model)`: `model` is a (pruned) MLP agent (an `nn.Sequential` of `nn.Linear` and activations). Returns a
#   **new** torch module in which every `nn.Linear` is replaced by a `SparseLinear` that stores its weight as a
#   `torch.sparse_csr_tensor` (only the non-zeros) in a buffer named `weight`, and its bias densely in a buffer
#   named `bias`. Called on a batch of observations (a float tensor `(N, obs_dim)`), it returns the same outputs as
#   the dense pruned model (up to float rounding). You may build the CSR tensor from your `to_csr` arrays or with
#   `Tensor.to_sparse_csr()`.
# - `storage_bytes(model)`: the bytes the model's tensors (parameters and buffers) take *as stored*: a dense
#   tensor `numel * element_size`; a CSR tensor the sum of its `crow_indices()`, `col_indices()` and `values()`.
#   For a dense model this is `prunerl.metrics.dense_bytes(model)`.

# %% [markdown] track="tf" nbgrader={"grade": false, "grade_id": "contract_sparsify", "locked": true, "schema_version": 3, "solution": false}
# ## 2. `sparsify(model)` and `storage_bytes(model)`
#
# **Contract**
#
# - `sparsify(model)`: `model` is a (pruned) Keras MLP agent (`Dense` layers and activations). Returns a
#   `SparseModel`: a plain Python object (not a Keras model) that, called on a batch of observations (a float32
#   array `(N, obs_dim)`), returns the same outputs as the dense pruned model (up to float rounding). It holds a list
#   `steps`: a `SparseDense` for every `Dense` layer — storing the kernel as a `tf.sparse.SparseTensor` of the
#   **non-zeros only** in attribute `kernel` (either layout, `(in, out)` as Keras or `(out, in)`) and the bias as a
#   dense tensor in attribute `bias` — and the model's activation layers, reused as they are.
#   `tf.sparse.from_dense` and `tf.sparse.sparse_dense_matmul` are allowed.
# - `storage_bytes(model)`: the bytes the model's tensors take *as stored*: for a Keras model, every weight
#   (`numel * itemsize`, i.e. `prunerl.metrics.dense_bytes`); for a `SparseModel`, each `SparseTensor`'s
#   `indices`, `values` and `dense_shape` arrays, plus the dense biases.

# %% track="torch" nbgrader={"grade": false, "grade_id": "sparsify", "locked": false, "schema_version": 3, "solution": true}
class SparseLinear(nn.Module):
    """A Linear layer whose weight is stored in CSR."""

    def __init__(self, linear):
        super().__init__()
        ### BEGIN SOLUTION
        self.register_buffer("weight", linear.weight.detach().clone().to_sparse_csr())
        self.register_buffer("bias", linear.bias.detach().clone())
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return (self.weight @ x.T).T + self.bias
        ### END SOLUTION


def sparsify(model):
    """A new module whose Linear weights are CSR tensors, computing the same function."""
    ### BEGIN SOLUTION
    layers = [SparseLinear(m) if isinstance(m, nn.Linear) else copy.deepcopy(m) for m in model]
    return prunerl.nets.AgentNet(*layers, obs_shape=model.obs_shape).eval()
    ### END SOLUTION


# %% track="tf" nbgrader={"grade": false, "grade_id": "sparsify", "locked": false, "schema_version": 3, "solution": true}
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


class SparseDense:
    """A Dense layer whose kernel is stored as a tf.sparse.SparseTensor."""

    def __init__(self, layer):
        ### BEGIN SOLUTION
        self.kernel = tf.sparse.from_dense(layer.kernel.numpy())  # (in, out), non-zeros only
        self.bias = tf.constant(layer.bias.numpy())
        self.activation = layer.activation
        ### END SOLUTION

    def __call__(self, x):
        ### BEGIN SOLUTION
        # (N, in) @ (in, out) == ((out, in) @ (in, N)).T; sparse_dense_matmul wants the sparse operand first.
        out = tf.transpose(tf.sparse.sparse_dense_matmul(self.kernel, x, adjoint_a=True, adjoint_b=True))
        return self.activation(out + self.bias)
        ### END SOLUTION


class SparseModel:
    """Observation batch -> action scores, through `steps` (SparseDense layers and activation layers)."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, obs):
        x = tf.convert_to_tensor(np.asarray(obs, dtype=np.float32))
        for step in self.steps:
            x = step(x)
        return x


def sparsify(model):
    """A SparseModel computing the same function, with every Dense kernel stored sparse."""
    ### BEGIN SOLUTION
    steps = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            steps.append(SparseDense(layer))
        elif isinstance(layer, keras.layers.Activation):
            steps.append(layer)
    return SparseModel(steps)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "storage_bytes", "locked": false, "schema_version": 3, "solution": true}
def storage_bytes(model):
    """Bytes of every parameter and buffer of the model, as stored (CSR: its three arrays)."""  # [torch]
    """Bytes of the model's tensors as stored (SparseTensor: indices + values + dense_shape)."""  # [tf]
    ### BEGIN SOLUTION
    if isinstance(model, keras.Model):  # [tf]
        return int(sum(v.numpy().nbytes for v in model.weights))  # [tf]
    total = 0
    for t in list(model.parameters()) + list(model.buffers()):  # [torch]
        if t.layout == torch.sparse_csr:  # [torch]
            total += sum(a.numel() * a.element_size() for a in (t.crow_indices(), t.col_indices(), t.values()))  # [torch]
    for step in model.steps:  # [tf]
        if isinstance(step, SparseDense):  # [tf]
            total += sum(a.numpy().nbytes for a in (step.kernel.indices, step.kernel.values, step.kernel.dense_shape))  # [tf]
            total += step.bias.numpy().nbytes  # [tf]
        else:
            total += t.numel() * t.element_size()  # [torch]
    return total  # [torch]
            total += sum(v.numpy().nbytes for v in step.weights)  # [tf]
    return int(total)  # [tf]
    ### END SOLUTION


# %%
sparse = sparsify(pruned)
print(sparse)
print("dense bytes:", storage_bytes(pruned), " CSR bytes:", storage_bytes(sparse))
print(prunerl.evaluate(sparse, "CartPole-v1", episodes=3, seed=0))  # [torch]
print(prunerl.evaluate(lambda obs: np.asarray(sparse(obs)).argmax(1), "CartPole-v1", episodes=3, seed=0))  # [tf]

# %% nbgrader={"grade": true, "grade_id": "test_sparsify_format", "locked": true, "points": 2, "schema_version": 3, "solution": false}
sparse = sparsify(pruned)
csr = [m.weight for m in sparse.modules() if hasattr(m, "weight") and m.weight.layout == torch.sparse_csr]  # [torch]
assert len(csr) == 3, f"{len(csr)} CSR weights found, expected 3"  # [torch]
assert not any(isinstance(m, nn.Linear) for m in sparse.modules()), f"{sum(isinstance(m, nn.Linear) for m in sparse.modules())} dense nn.Linear layers are left, expected 0"  # [torch]
kernels = [s.kernel for s in sparse.steps if isinstance(s, SparseDense)]  # [tf]
assert len(kernels) == 3 and all(isinstance(k, tf.sparse.SparseTensor) for k in kernels), f"{sum(isinstance(k, tf.sparse.SparseTensor) for k in kernels)} sparse kernels of {len(kernels)}, expected 3 of 3"  # [tf]
### BEGIN HIDDEN TESTS
checks.sparsify_format(sparsify)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_sparsify_outputs", "locked": true, "points": 2, "schema_version": 3, "solution": false}
obs = torch.randn(32, 4)  # [torch]
with torch.no_grad():  # [torch]
    assert torch.allclose(sparsify(pruned)(obs), pruned(obs), rtol=1e-5, atol=1e-5), f"outputs differ from the dense model's by up to {(sparsify(pruned)(obs) - pruned(obs)).abs().max().item():.3g}, expected within 1e-5"  # [torch]
obs = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)  # [tf]
assert np.allclose(sparsify(pruned)(obs), pruned(obs), rtol=1e-5, atol=1e-5), f"outputs differ from the dense model's by up to {np.max(np.abs(np.asarray(sparsify(pruned)(obs)) - np.asarray(pruned(obs)))):.3g}, expected within 1e-5"  # [tf]
### BEGIN HIDDEN TESTS
checks.sparsify_outputs(sparsify)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_storage_bytes", "locked": true, "points": 2, "schema_version": 3, "solution": false}
assert storage_bytes(agent) == prunerl.metrics.dense_bytes(agent), f"storage_bytes(agent) is {storage_bytes(agent)}, expected the dense size {prunerl.metrics.dense_bytes(agent)}"
assert storage_bytes(sparsify(pruned)) < storage_bytes(pruned), f"at 90 % sparsity CSR takes {storage_bytes(sparsify(pruned))} bytes, expected fewer than dense: {storage_bytes(pruned)}"  # [torch]
assert storage_bytes(sparsify(pruned)) < storage_bytes(pruned), f"at 90 % sparsity the sparse model takes {storage_bytes(sparsify(pruned))} bytes, expected fewer than dense: {storage_bytes(pruned)}"  # [tf]
### BEGIN HIDDEN TESTS
checks.storage_bytes(storage_bytes, sparsify)
### END HIDDEN TESTS
