"""Structural removal: make a unit-pruned network physically smaller (torch and Keras), same function.

Structured pruning (:func:`prunerl.pruning.l1_unit_masks`) zeroes whole hidden units, but the tensors keep
their shape, so the network is exactly as big and as slow as before. :func:`shrink` rebuilds it without
those units:

- a unit whose *incoming* weights are all zero outputs a constant, ``act(bias)``; its contribution to the
  next layer is folded into that layer's bias (exact for valid-padding convs and flatten -> dense too);
- a unit whose *outgoing* weights are all zero contributes nothing and is dropped.

Input and output layers keep their size (observations and actions). The work is done on the framework-
neutral spec and PyTorch-layout weights, so both frameworks share one code path.
"""
from __future__ import annotations

import copy

import numpy as np

from .backend import backend_of
from .convert import spec_and_weights

_CONSTANT = {"relu": lambda b: np.maximum(b, 0.0), "tanh": np.tanh, None: lambda b: b}


def _spatial(spec: dict) -> dict[int, int]:
    """For each flatten layer index, the number of spatial positions per channel it flattens."""
    out, h, w = {}, None, None
    if len(spec["obs_shape"]) == 3:
        h, w = spec["obs_shape"][0], spec["obs_shape"][1]
    for i, layer in enumerate(spec["layers"]):
        if layer["kind"] == "conv":
            k, s = layer["kernel"], layer.get("stride", 1)
            h, w = (h - k) // s + 1, (w - k) // s + 1
        elif layer["kind"] == "flatten":
            out[i] = (h or 1) * (w or 1)
    return out


def shrink_spec(spec: dict, weights: dict[str, np.ndarray], atol: float = 0.0) -> tuple[dict, dict[str, np.ndarray]]:
    """Remove dead hidden units from ``(spec, weights)``; returns a new, smaller ``(spec, weights)``.

    A unit is dead when all its incoming weights (or all its outgoing weights) are ``<= atol`` in magnitude.
    At least one unit is kept in every layer.
    """
    spec = copy.deepcopy(spec)
    layers = spec["layers"]
    w = {k: np.array(v, dtype=np.float32, copy=True) for k, v in weights.items()}
    params = [i for i, layer in enumerate(layers) if layer["kind"] in ("linear", "conv")]
    spatial = _spatial(spec)
    for i, j in zip(params[:-1], params[1:]):
        between = [layers[k]["kind"] for k in range(i + 1, j)]
        act = next((k for k in between if k in _CONSTANT), None)
        flatten = next((k for k in range(i + 1, j) if layers[k]["kind"] == "flatten"), None)
        positions = spatial[flatten] if flatten is not None else 1
        wi, bi, wj, bj = w[f"{i}.weight"], w[f"{i}.bias"], w[f"{j}.weight"], w[f"{j}.bias"]
        units = wi.shape[0]
        # The next layer's weights grouped by this layer's unit: (out_j, units, rest).
        grouped = wj.reshape(wj.shape[0], units, -1)
        dead_in = np.all(np.abs(wi.reshape(units, -1)) <= atol, axis=1)
        dead_out = np.all(np.abs(grouped) <= atol, axis=(0, 2))
        remove = dead_in | dead_out
        if remove.all():  # keep the unit with the largest incoming weights
            remove[np.argmax(np.abs(wi.reshape(units, -1)).sum(axis=1))] = False
        fold = remove & dead_in & ~dead_out
        if fold.any():
            const = _CONSTANT[act](bi[fold]).astype(np.float64)  # output of each folded unit, everywhere
            # conv -> conv (valid padding): every output position sees every kernel tap of the unit;
            # conv -> flatten -> dense and linear -> linear: sum the unit's columns.
            contrib = grouped[:, fold, :].astype(np.float64).sum(axis=2) @ const
            w[f"{j}.bias"] = (bj.astype(np.float64) + contrib).astype(np.float32)
        keep = ~remove
        w[f"{i}.weight"], w[f"{i}.bias"] = wi[keep], bi[keep]
        w[f"{j}.weight"] = grouped[:, keep, :].reshape(wj.shape[0], -1, *wj.shape[2:])
        n = int(keep.sum())
        layers[i]["out"] = n
        layers[j]["in"] = n * positions if layers[j]["kind"] == "linear" else n
    return spec, w


def shrink(model, atol: float = 0.0):
    """A new, physically smaller model (same framework) without the dead hidden units of ``model``.

    Outputs are unchanged up to float rounding (the folded biases are summed in float64).
    """
    b = backend_of(model)
    return b.build(*shrink_spec(*b.spec_and_weights(model), atol))


def hidden_units(model) -> list[int]:
    """Output units (channels) of every prunable layer, e.g. ``[256, 256, 2]``."""
    spec, _ = spec_and_weights(model)
    return [layer["out"] for layer in spec["layers"] if layer["kind"] in ("linear", "conv")]
