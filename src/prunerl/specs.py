"""Framework-neutral network specs (no torch, no TensorFlow: the zoo's cards are made of these).

A spec is JSON: ``{"obs_shape": [...], "layers": [{"kind": "linear", "in": 4, "out": 256}, {"kind": "relu"}, ...]}``.
Kinds: ``linear``, ``conv`` (valid padding), ``relu``, ``tanh``, ``flatten``. Parameter names follow
PyTorch's ``nn.Sequential``: layer ``i`` holds ``"{i}.weight"`` and ``"{i}.bias"``.
"""
from __future__ import annotations


def mlp_spec(obs_dim: int, hidden: list[int], n_out: int, activation: str = "relu") -> dict:
    layers, width = [], obs_dim
    for h in hidden:
        layers += [{"kind": "linear", "in": width, "out": h}, {"kind": activation}]
        width = h
    layers.append({"kind": "linear", "in": width, "out": n_out})
    return {"obs_shape": [obs_dim], "layers": layers}


def conv_spec(obs_shape: list[int], channels: list[int], kernel: int, hidden: int, n_out: int) -> dict:
    """Convolutions (stride 1, valid padding) on an HxWxC image, then one hidden dense layer."""
    height, width, depth = obs_shape
    layers = []
    for c in channels:
        layers += [{"kind": "conv", "in": depth, "out": c, "kernel": kernel, "stride": 1}, {"kind": "relu"}]
        depth, height, width = c, height - kernel + 1, width - kernel + 1
    layers += [
        {"kind": "flatten"},
        {"kind": "linear", "in": depth * height * width, "out": hidden},
        {"kind": "relu"},
        {"kind": "linear", "in": hidden, "out": n_out},
    ]
    return {"obs_shape": list(obs_shape), "layers": layers}


def expected_shapes(spec: dict) -> dict[str, tuple[int, ...]]:
    """Parameter name -> shape (PyTorch layout) that a weight file for ``spec`` must hold."""
    shapes = {}
    for i, layer in enumerate(spec["layers"]):
        if layer["kind"] == "linear":
            shapes[f"{i}.weight"] = (layer["out"], layer["in"])
        elif layer["kind"] == "conv":
            shapes[f"{i}.weight"] = (layer["out"], layer["in"], layer["kernel"], layer["kernel"])
        else:
            continue
        shapes[f"{i}.bias"] = (layer["out"],)
    return shapes
