"""Keras 3 builder for the specs of :mod:`prunerl.specs` (imported only when TensorFlow is wanted).

Layer ``i`` of the spec becomes a Keras layer named ``dense_{i}`` or ``conv_{i}``, so the Keras
variable ``dense_0/kernel`` holds the transpose of PyTorch's ``0.weight``.
"""
from __future__ import annotations

from .runtime import quiet_tensorflow

quiet_tensorflow()  # before Keras loads TensorFlow: no C++ start-up lines, reproducible float sums

import weakref  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402


def keras_name(i: int, kind: str) -> str:
    return f"{'conv' if kind == 'conv' else 'dense'}_{i}"


def build_keras(spec: dict, weights: dict[str, np.ndarray] | None = None) -> keras.Model:
    """Build the Keras model of ``spec``; load ``weights`` given in PyTorch names and layout."""
    inputs = keras.Input(shape=tuple(spec["obs_shape"]), dtype="float32", name="obs")
    x = inputs
    for i, layer in enumerate(spec["layers"]):
        kind = layer["kind"]
        if kind == "linear":
            x = keras.layers.Dense(layer["out"], name=keras_name(i, kind))(x)
        elif kind == "conv":
            x = keras.layers.Conv2D(
                layer["out"], layer["kernel"], strides=layer.get("stride", 1), padding="valid", name=keras_name(i, kind)
            )(x)
        elif kind == "flatten":
            # Flatten channels-first, as PyTorch does, so dense weights mean the same in both frameworks.
            x = keras.layers.Flatten(name=f"flatten_{i}")(keras.layers.Permute((3, 1, 2), name=f"to_chw_{i}")(x))
        elif kind in ("relu", "tanh"):
            x = keras.layers.Activation(kind, name=f"{kind}_{i}")(x)
        else:
            raise ValueError(f"unknown layer kind {kind!r} in spec")
    model = keras.Model(inputs, x, name="agent")
    if weights is not None:
        set_keras_weights(model, weights)
    return model


def _spec_layers(model: keras.Model):
    """``(spec index, layer)`` for every Keras layer that a spec describes (Input and Permute are not)."""
    described = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Flatten, keras.layers.Activation,
                 keras.layers.ReLU)
    return enumerate(layer for layer in model.layers if isinstance(layer, described))


def keras_to_spec(model: keras.Model) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a Keras model of this shape (any layer names) back as a spec and PyTorch-layout weights."""
    layers, weights = [], {}
    for i, layer in _spec_layers(model):
        if isinstance(layer, keras.layers.Dense):
            kernel, bias = (np.asarray(w) for w in layer.get_weights())
            layers.append({"kind": "linear", "in": kernel.shape[0], "out": kernel.shape[1]})
            weights[f"{i}.weight"], weights[f"{i}.bias"] = kernel.T, bias
        elif isinstance(layer, keras.layers.Conv2D):
            kernel, bias = (np.asarray(w) for w in layer.get_weights())
            layers.append({"kind": "conv", "in": kernel.shape[2], "out": kernel.shape[3], "kernel": kernel.shape[0],
                           "stride": layer.strides[0]})
            weights[f"{i}.weight"], weights[f"{i}.bias"] = kernel.transpose(3, 2, 0, 1), bias
        elif isinstance(layer, keras.layers.Flatten):
            layers.append({"kind": "flatten"})
        elif isinstance(layer, keras.layers.ReLU):
            layers.append({"kind": "relu"})
        else:
            layers.append({"kind": layer.activation.__name__})
    return {"obs_shape": list(model.input_shape[1:]), "layers": layers}, weights


def _kernel_layout(w: np.ndarray) -> np.ndarray:
    """A PyTorch weight ``(out, in[, kh, kw])`` in Keras' kernel layout ``([kh, kw,] in, out)``."""
    w = np.asarray(w)
    return w.T if w.ndim == 2 else w.transpose(2, 3, 1, 0)


def set_keras_weights(model: keras.Model, weights: dict[str, np.ndarray]) -> None:
    """Load PyTorch-layout weights (spec indices) into the Dense/Conv2D layers of ``model``."""
    for i, layer in _spec_layers(model):
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            layer.set_weights([_kernel_layout(weights[f"{i}.weight"]), np.asarray(weights[f"{i}.bias"])])


_GRADIENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its twin's last kernel gradients


def hold_gradients(model: keras.Model, gradients: dict[str, np.ndarray]) -> None:
    """Keep a torch twin's gradients (PyTorch names and layout) with ``model``, as ``{"<layer>/kernel": ...}`` in
    Keras layout: a Keras model fine-tuned through a twin has no gradients of its own (RigL grows by them)."""
    _GRADIENTS[model] = {f"{layer.name}/kernel": _kernel_layout(gradients[f"{i}.weight"])
                         for i, layer in _spec_layers(model)
                         if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))}


def held_gradients(model: keras.Model) -> dict[str, np.ndarray]:
    if model not in _GRADIENTS:
        raise ValueError("the Keras model has no gradients: they are held while prunerl.finetune trains it")
    return _GRADIENTS[model]
