"""prunerl: a course on pruning deep reinforcement-learning agents, in PyTorch and TensorFlow (Keras 3).

The top-level names load lazily, so ``import prunerl`` costs neither torch's nor TensorFlow's import time.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "load_agent": "zoo", "list_agents": "zoo", "card": "zoo", "evaluate": "evaluation", "make_env": "envs",
    "finetune": "train", "train_agent": "recipes", "metrics": None, "pruning": None,
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'prunerl' has no attribute {name!r}")
    module = importlib.import_module(f".{_EXPORTS[name] or name}", __name__)
    return module if _EXPORTS[name] is None else getattr(module, name)


__all__ = sorted(_EXPORTS)
