"""Move an agent network between frameworks, or copy it, through its spec and PyTorch-layout weights."""
from __future__ import annotations

import numpy as np

from .evaluation import framework_of


def spec_and_weights(model) -> tuple[dict, dict[str, np.ndarray]]:
    """``(spec, weights)`` of a torch module or Keras model; weights in PyTorch names and layout (copies).

    A torch module pruned with ``torch.nn.utils.prune`` is read through its effective (masked) ``weight``.
    """
    framework = framework_of(model)
    if framework == "torch":
        from .nets import torch_to_spec

        weights = {}
        for i, m in enumerate(model):
            if getattr(m, "weight", None) is not None:
                weights[f"{i}.weight"] = m.weight.detach().cpu().numpy().copy()
                weights[f"{i}.bias"] = m.bias.detach().cpu().numpy().copy()
        return torch_to_spec(model), weights
    if framework == "tensorflow":
        from .keras_nets import keras_to_spec

        return keras_to_spec(model)
    raise TypeError(f"expected a torch module or a Keras model, got {type(model).__name__}")


def set_weights(model, weights: dict[str, np.ndarray]) -> None:
    """Load PyTorch-layout weights (as :func:`spec_and_weights` gives them) into ``model`` in place."""
    framework = framework_of(model)
    if framework == "torch":
        import torch

        model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})
    elif framework == "tensorflow":
        from .keras_nets import set_keras_weights

        set_keras_weights(model, weights)
    else:
        raise TypeError(f"expected a torch module or a Keras model, got {type(model).__name__}")


def build(spec: dict, weights: dict[str, np.ndarray], framework: str):
    """A new network of ``spec`` with ``weights`` in ``framework`` (``"torch"`` or ``"tensorflow"``)."""
    if framework == "torch":
        from .nets import build_torch

        return build_torch(spec, weights).eval()
    if framework == "tensorflow":
        from .keras_nets import build_keras

        return build_keras(spec, weights)
    raise ValueError(f"unknown framework {framework!r}")


def convert(model, framework: str):
    """The same network (same weights) in ``framework``."""
    return build(*spec_and_weights(model), framework)


def clone(model):
    """An independent copy of a torch or Keras agent network."""
    return convert(model, framework_of(model))
