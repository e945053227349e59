"""Move an agent network between frameworks, or copy it, through its spec and PyTorch-layout weights."""
from __future__ import annotations

import numpy as np

from .backend import backend, backend_of


def spec_and_weights(model) -> tuple[dict, dict[str, np.ndarray]]:
    """``(spec, weights)`` of a torch module or Keras model; weights in PyTorch names and layout (copies).

    A torch module pruned with ``torch.nn.utils.prune`` is read through its effective (masked) ``weight``.
    """
    return backend_of(model).spec_and_weights(model)


def set_weights(model, weights: dict[str, np.ndarray]) -> None:
    """Load PyTorch-layout weights (as :func:`spec_and_weights` gives them) into ``model`` in place."""
    backend_of(model).set_weights(model, weights)


def build(spec: dict, weights: dict[str, np.ndarray], framework: str):
    """A new network of ``spec`` with ``weights`` in ``framework`` (``"torch"`` or ``"tensorflow"``)."""
    return backend(framework).build(spec, weights)


def convert(model, framework: str):
    """The same network (same weights) in ``framework``."""
    return build(*spec_and_weights(model), framework)


def clone(model):
    """An independent copy of a torch or Keras agent network."""
    return backend_of(model).clone(model)
