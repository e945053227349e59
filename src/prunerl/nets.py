"""The PyTorch builder for the network specs of :mod:`prunerl.specs`.

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


def torch_gradients(net: nn.Module) -> dict[str, np.ndarray]:
    """The gradients of the last backward pass (copies), PyTorch names and layout; parameters without one are left
    out."""
    return {k: p.grad.detach().cpu().numpy().copy() for k, p in net.named_parameters() if p.grad is not None}


def torch_to_spec(net: nn.Module) -> dict:
    """The spec of an ``nn.Sequential`` of Linear, Conv2d (square, valid padding), Flatten, ReLU and Tanh."""
    layers = []
    for m in net:
        if isinstance(m, nn.Linear):
            layers.append({"kind": "linear", "in": m.in_features, "out": m.out_features})
        elif isinstance(m, nn.Conv2d):
            if m.padding not in (0, (0, 0)) or m.kernel_size[0] != m.kernel_size[1]:
                raise ValueError("only square, valid-padding convolutions have a spec")
            layers.append({"kind": "conv", "in": m.in_channels, "out": m.out_channels, "kernel": m.kernel_size[0],
                           "stride": m.stride[0]})
        elif isinstance(m, nn.Flatten):
            layers.append({"kind": "flatten"})
        elif type(m) in (nn.ReLU, nn.Tanh):
            layers.append({"kind": type(m).__name__.lower()})
        else:
            raise ValueError(f"no spec for layer {type(m).__name__}")
    obs_shape = getattr(net, "obs_shape", None) or (layers[0]["in"],)
    return {"obs_shape": list(obs_shape), "layers": layers}
