"""Exercise 2 verdicts: L1 unit scores, and structured removal of units (shapes, which units, outputs)."""
from __future__ import annotations

import numpy as np

from prunerl.course.grading.protocol import observations

from . import oracles as o
from .judges import judge

RTOL, ATOL = 1e-5, 1e-5


def _scores(rec, fw, n):
    for run in o.runs(rec, n, "neuron_scores"):
        name, layer, got = run["name"], run["layer"], run["scores"]
        expected = o.unit_scores(o.layers(name, fw)[layer]["weight"])
        if got is None or got.shape != expected.shape:
            o.fail(f"{name}: neuron_scores(model, {layer}) has shape {None if got is None else got.shape}; layer "
                   f"{layer} has {expected.size} units/filters, expected shape {expected.shape}")
        if not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
            i = int(np.argmax(np.abs(got - expected)))
            o.fail(f"{name}: neuron_scores(model, {layer})[{i}] = {o.fmt(got[i])}, expected the L1 norm of that "
                   f"unit's incoming weights, {o.fmt(expected[i])}")


judge("scores_mlp")(lambda rec, v, fw: _scores(rec, fw, 5))
judge("scores_conv")(lambda rec, v, fw: _scores(rec, fw, 3))


def _removed(name, fw, layer, n) -> np.ndarray:
    scores = o.unit_scores(o.layers(name, fw)[layer]["weight"])
    return np.sort(np.argsort(scores, kind="stable")[:n])


def _expected_shapes(name, fw, layer, n) -> list[tuple[int, ...]]:
    view = o.layers(name, fw)
    shapes = [x["weight"].shape for x in view]
    out = list(shapes)
    out[layer] = (shapes[layer][0] - n, *shapes[layer][1:])
    nxt = shapes[layer + 1]
    if view[layer]["kind"] == "conv" and view[layer + 1]["kind"] == "linear":
        positions = nxt[1] // shapes[layer][0]
        out[layer + 1] = (nxt[0], nxt[1] - n * positions)
    else:
        out[layer + 1] = (nxt[0], nxt[1] - n, *nxt[2:])
    return out


def _returned_model(run, fw):
    if not run["framework_ok"]:
        o.fail(f"prune_neurons returned {run['returned']}; expected a new "
               f"{'torch module' if fw == 'torch' else 'Keras model'}")
    if run["same"]:
        o.fail("prune_neurons returned the model it was given; it must build a NEW, smaller model")


def _cases(rec, v, kind):
    return o.runs(rec, len(v[kind]), "prune_neurons")


@judge("prune_shapes")
def prune_shapes(rec, v, fw):
    _shapes(_cases(rec, v, "mlp"), fw)


@judge("prune_conv_shapes")
def prune_conv_shapes(rec, v, fw):
    _shapes(_cases(rec, v, "conv"), fw)


def _shapes(runs, fw):
    for run in runs:
        _returned_model(run, fw)
        name, layer, n = run["name"], run["layer"], run["n"]
        got = [tuple(w.shape) for w in run["weights"]]
        expected = _expected_shapes(name, fw, layer, n)
        if got != expected:
            o.fail(f"{name}, removing {n} units of layer {layer}: weight shapes (torch layout) are {got}; expected "
                   f"{expected} (the units are removed, not zeroed, and the next layer loses the matching inputs)")
        if tuple(run["biases"][layer].shape) != (expected[layer][0],):
            o.fail(f"{name}: layer {layer}'s bias has shape {tuple(run['biases'][layer].shape)}; expected "
                   f"{(expected[layer][0],)}")


@judge("prune_which")
def prune_which(rec, v, fw):
    for run in _cases(rec, v, "mlp"):
        _returned_model(run, fw)
        name, layer, n = run["name"], run["layer"], run["n"]
        original = o.layers(name, fw)[layer]
        got_w, got_b = run["weights"][layer], run["biases"][layer]
        present = np.flatnonzero(np.abs(got_w).reshape(len(got_w), -1).sum(1) + np.abs(got_b) > 0)
        kept = np.setdiff1d(np.arange(len(original["weight"])), _removed(name, fw, layer, n))
        rows = got_w[present]
        if rows.shape != original["weight"][kept].shape or not np.array_equal(rows, original["weight"][kept]) \
                or not np.array_equal(got_b[present], original["bias"][kept]):
            matched = sum(any(np.array_equal(r, w) for w in original["weight"][kept]) for r in rows)
            o.fail(f"{name}, removing {n} units of layer {layer}: the remaining units are not the {len(kept)} "
                   f"highest-scoring ones in their original order ({matched} of {len(rows)} remaining rows match a "
                   "unit that should stay; weights and biases must be copied unchanged)")


def _zeroed_reference(name, fw, layer, removed):
    """The original network with the removed units' incoming weights and biases set to zero."""
    model = o.fresh(name, fw)
    if fw == "torch":
        import torch

        mods = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
        with torch.no_grad():
            mods[layer].weight[removed] = 0
            mods[layer].bias[removed] = 0
        return model
    import keras

    layers = [lay for lay in model.layers if isinstance(lay, (keras.layers.Dense, keras.layers.Conv2D))]
    kernel, bias = (np.array(a) for a in layers[layer].get_weights())
    kernel[..., removed] = 0
    bias[removed] = 0
    layers[layer].set_weights([kernel, bias])
    return model


@judge("prune_outputs")
def prune_outputs(rec, v, fw):
    _outputs(_cases(rec, v, "mlp"), v, fw)


@judge("prune_conv_outputs")
def prune_conv_outputs(rec, v, fw):
    _outputs(_cases(rec, v, "conv"), v, fw)


def _outputs(runs, v, fw):
    for run in runs:
        _returned_model(run, fw)
        name, layer, n = run["name"], run["layer"], run["n"]
        if run["outputs_error"]:
            o.fail(f"{name}: the pruned model fails on a batch of observations: {run['outputs_error']}")
        obs = observations(name, 64, v["obs_seed"])
        reference = o.outputs(_zeroed_reference(name, fw, layer, _removed(name, fw, layer, n)), obs)
        got = run["outputs"]
        if got is None or got.shape != reference.shape or not np.allclose(got, reference, rtol=RTOL, atol=ATOL):
            ok = got is not None and got.shape == reference.shape
            err = float(np.max(np.abs(got - reference))) if ok else float("nan")
            o.fail(f"{name}, removing {n} units of layer {layer}: the pruned model's outputs differ from the original "
                   f"network with those units zeroed (max abs difference {o.fmt(err)}, outputs shape "
                   f"{None if got is None else got.shape}); check which input columns of the next layer you remove")


@judge("prune_input_unchanged")
def prune_input_unchanged(rec, v, fw):
    for run in o.runs(rec, len(v["mlp"]) + 1, "prune_neurons"):
        before, after = o.params(run["name"], fw), run["input_after"]
        changed = [k for k, a in before.items() if k not in after or not np.array_equal(after[k], a)]
        if changed:
            o.fail(f"{run['name']}: prune_neurons changed the model it was given ({', '.join(changed)}); it must "
                   "leave the input model unchanged")
