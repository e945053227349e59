"""Framework-neutral network specs and the PyTorch builder.

A spec is JSON: ``{"obs_shape": [...], "layers": [{"kind": "linear", "in": 4, "out": 256}, {"kind": "relu"}, ...]}``.
Kinds: ``linear``, ``conv`` (valid padding), ``relu``, ``tanh``, ``flatten``.

Weights are a dict of NumPy arrays named and laid out as PyTorch names them for an ``nn.Sequential``
built from the spec (``"0.weight"`` is ``(out, in)``, a conv weight is ``(out, in, kh, kw)``).
Image observations are height x width x channels (as gymnasium gives them); the torch network
permutes them to channels-first itself, and the Keras network permutes to channels-first just before
flattening, so one weight file means the same function in both frameworks.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


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


class AgentNet(nn.Sequential):
    """An ``nn.Sequential`` that maps a batch of raw observations to action scores (Q-values or logits).

    ``obs_shape`` is kept so metrics (FLOPs) and evaluation know the input. Image batches arrive
    as N x H x W x C and are permuted to N x C x H x W.
    """

    def __init__(self, *layers: nn.Module, obs_shape: tuple[int, ...]):
        super().__init__(*layers)
        self.obs_shape = tuple(obs_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32)
        if len(self.obs_shape) == 3:
            x = x.permute(0, 3, 1, 2)
        return super().forward(x)


def build_torch(spec: dict, weights: dict[str, np.ndarray] | None = None) -> AgentNet:
    """Build the network of ``spec``; load ``weights`` (PyTorch layout) when given."""
    layers = []
    for layer in spec["layers"]:
        kind = layer["kind"]
        if kind == "linear":
            layers.append(nn.Linear(layer["in"], layer["out"]))
        elif kind == "conv":
            layers.append(nn.Conv2d(layer["in"], layer["out"], layer["kernel"], stride=layer.get("stride", 1)))
        elif kind == "flatten":
            layers.append(nn.Flatten())
        elif kind in ACTIVATIONS:
            layers.append(ACTIVATIONS[kind]())
        else:
            raise ValueError(f"unknown layer kind {kind!r} in spec")
    net = AgentNet(*layers, obs_shape=spec["obs_shape"])
    if weights is not None:
        net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}, strict=True)
    return net


def torch_weights(net: nn.Module) -> dict[str, np.ndarray]:
    """The network's parameters as NumPy arrays (copies), PyTorch names and layout."""
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
