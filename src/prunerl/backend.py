"""The seam between the library and the two frameworks: one backend object per framework.

:func:`backend_of` tells which framework holds a network without importing either; :func:`backend` gives one
by name. Library code asks the backend for what it needs (build, read and write weights, clone, forward,
count, mask) and never branches on the framework itself. Each backend imports its framework on first use,
so the TensorFlow track never imports torch and code that only lists the zoo imports neither.

Weights cross the seam as NumPy arrays: full weights in PyTorch names and layout (``"0.weight"`` is
``(out, in)``), prunable weights in the framework's own names and layout (torch ``"0.weight"``, Keras
``"dense_0/kernel"``, ``(in, out)``).
"""
from __future__ import annotations

import sys
import weakref
from collections.abc import Iterable

import numpy as np

FRAMEWORKS = ("torch", "tensorflow")
Weights = dict[str, np.ndarray]


_KERAS_CHAINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its layers ([]: not a chain)


def _run_chain(layers: list, obs: np.ndarray) -> np.ndarray:
    out = obs
    for layer in layers:
        out = layer.call(out)
    return np.asarray(out)


class _Backend:
    """What both backends share: a copy is a new network built from the model's own spec and weights."""

    def clone(self, model):
        return self.build(*self.spec_and_weights(model))


class TorchBackend(_Backend):
    name = "torch"
    trains_natively = True  # the trainers are written in torch

    def owns(self, model) -> bool:
        torch = sys.modules.get("torch")
        return torch is not None and isinstance(model, torch.nn.Module)

    def build(self, spec: dict, weights: Weights):
        from .nets import build_torch

        return build_torch(spec, weights).eval()

    def spec_and_weights(self, model) -> tuple[dict, Weights]:
        """A torch module pruned with ``torch.nn.utils.prune`` is read through its effective (masked) ``weight``."""
        from .nets import torch_to_spec

        weights = {}
        for i, m in enumerate(model):
            if getattr(m, "weight", None) is not None:
                weights[f"{i}.weight"] = m.weight.detach().cpu().numpy().copy()
                weights[f"{i}.bias"] = m.bias.detach().cpu().numpy().copy()
        return torch_to_spec(model), weights

    def set_weights(self, model, weights: Weights) -> None:
        import torch

        model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})

    def prunable_layers(self, model) -> list:
        from torch import nn

        return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]

    def prunable_weights(self, model) -> Weights:
        return {f"{name}.weight" if name else "weight": m.weight.detach().cpu().numpy()
                for name, m in self.prunable_layers(model)}

    def prunable_gradients(self, model) -> Weights:
        """The last backward pass's gradients of the prunable tensors (names as :meth:`prunable_weights`)."""
        grads = {f"{name}.weight" if name else "weight": m.weight.grad for name, m in self.prunable_layers(model)}
        if any(g is None for g in grads.values()):
            raise ValueError("the network has no gradients: read them after a backward pass")
        return {name: g.detach().cpu().numpy() for name, g in grads.items()}

    def set_prunable_weights(self, model, weights: Weights) -> None:
        import torch

        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in weights.items():
                params[name].copy_(torch.as_tensor(value))

    def apply_masks(self, model, masks: dict[str, np.ndarray]) -> None:
        import torch

        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, mask in masks.items():
                mask = np.asarray(mask)
                params[name].mul_(torch.as_tensor(mask if mask.flags.writeable else mask.copy()))

    def all_parameters(self, model) -> Weights:
        return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items() if not k.endswith("_mask")}

    def layer_macs(self, model, input_shape) -> list[tuple[str, int, float]]:
        import torch

        layers = self.prunable_layers(model)
        shape = tuple(input_shape or getattr(model, "obs_shape", ()))
        if not shape:
            shape = (layers[0][1].in_features,)
        outputs = {}
        hooks = [m.register_forward_hook(lambda mod, inp, res, n=name: outputs.__setitem__(n, res.shape))
                 for name, m in layers]
        with torch.no_grad():
            model(torch.zeros((1, *shape)))
        for h in hooks:
            h.remove()
        out = []
        for name, m in layers:
            w = m.weight.detach()
            per_output = w[0].numel()  # in_features, or in_channels x kh x kw
            positions = int(np.prod(outputs[name][2:])) if w.ndim > 2 else 1
            out.append((name, per_output * w.shape[0] * positions, float((w != 0).float().mean())))
        return out

    def forward(self, model, obs: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return model(torch.as_tensor(obs, dtype=torch.float32)).numpy()

    def set_threads(self, n: int) -> None:
        import torch

        torch.set_num_threads(max(1, n))


class KerasBackend(_Backend):
    name = "tensorflow"
    trains_natively = False  # fine-tuned through a torch twin

    def owns(self, model) -> bool:
        keras = sys.modules.get("keras")
        return keras is not None and isinstance(model, keras.Model)

    def build(self, spec: dict, weights: Weights):
        from .keras_nets import build_keras

        return build_keras(spec, weights)

    def spec_and_weights(self, model) -> tuple[dict, Weights]:
        from .keras_nets import keras_to_spec

        return keras_to_spec(model)

    def set_weights(self, model, weights: Weights) -> None:
        from .keras_nets import set_keras_weights

        set_keras_weights(model, weights)

    def prunable_layers(self, model) -> list:
        import keras

        kinds = (keras.layers.Dense, keras.layers.Conv2D)
        return [(layer.name, layer) for layer in model.layers if isinstance(layer, kinds)]

    def prunable_weights(self, model) -> Weights:
        return {f"{name}/kernel": np.asarray(layer.kernel) for name, layer in self.prunable_layers(model)}

    def prunable_gradients(self, model) -> Weights:
        """The gradients its torch twin left with the model while fine-tuning (:func:`prunerl.finetune`)."""
        from .keras_nets import held_gradients

        return held_gradients(model)

    def set_prunable_weights(self, model, weights: Weights) -> None:
        layers = {f"{layer.name}/kernel": layer for layer in model.layers}
        for name, value in weights.items():
            layers[name].kernel.assign(value)

    def apply_masks(self, model, masks: dict[str, np.ndarray]) -> None:
        weights = self.prunable_weights(model)
        self.set_prunable_weights(model, {name: weights[name] * mask for name, mask in masks.items()})

    def all_parameters(self, model) -> Weights:
        return {v.path: np.asarray(v) for v in model.weights}

    def layer_macs(self, model, input_shape) -> list[tuple[str, int, float]]:
        out = []
        for name, layer in self.prunable_layers(model):
            kernel = np.asarray(layer.kernel)
            positions = int(np.prod(layer.output.shape[1:-1])) if kernel.ndim > 2 else 1
            out.append((name, kernel.size * positions, float((kernel != 0).mean())))
        return out

    def forward(self, model, obs: np.ndarray) -> np.ndarray:
        """Action scores. A model whose layers form a chain runs layer by layer (``layer.call``), skipping Keras'
        per-call bookkeeping (2-3x faster at the batch sizes of an episode); whether it may is decided on its
        first batch, where both ways must give bit-identical outputs."""
        obs = obs.astype(np.float32)
        chain = _KERAS_CHAINS.get(model)
        if chain:
            return _run_chain(chain, obs)
        out = np.asarray(model(obs, training=False))
        if chain is None:
            import keras

            layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
            try:
                same = np.array_equal(_run_chain(layers, obs), out)
            except Exception:  # noqa: BLE001 - a branch, a layer wanting more arguments: not a chain
                same = False
            _KERAS_CHAINS[model] = layers if same else []
        return out

    def set_threads(self, n: int) -> None:
        from .runtime import quiet_tensorflow

        quiet_tensorflow()
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(max(1, n))
            tf.config.threading.set_inter_op_parallelism_threads(max(1, n))
        except RuntimeError:  # TensorFlow has started: its thread pools are fixed
            pass


Backend = TorchBackend | KerasBackend
_BACKENDS = {b.name: b for b in (TorchBackend(), KerasBackend())}


def backend(framework: str) -> Backend:
    """The backend of ``framework`` (``"torch"`` or ``"tensorflow"``)."""
    if framework not in _BACKENDS:
        raise ValueError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    return _BACKENDS[framework]


def find_backend(model) -> Backend | None:
    """The backend holding ``model``, or None (e.g. a plain policy callable); imports no framework."""
    return next((b for b in _BACKENDS.values() if b.owns(model)), None)


def backend_of(model) -> Backend:
    """The backend holding ``model``; a TypeError for anything but a torch module or a Keras model."""
    found = find_backend(model)
    if found is None:
        raise TypeError(f"expected a torch module or a Keras model, got {type(model).__name__}")
    return found


def framework_of(model) -> str | None:
    """``"torch"``, ``"tensorflow"`` or None (a plain policy callable), without importing either."""
    found = find_backend(model)
    return found.name if found is not None else None


def output_axis(name: str, ndim: int) -> int:
    """The output-unit axis of prunable tensor ``name``: torch ``(out, in[, kh, kw])``, Keras ``([kh, kw,] in, out)``
    (told apart by the names of :func:`prunerl.metrics.prunable_weights`)."""
    return ndim - 1 if name.endswith("/kernel") else 0


def set_threads(n: int, frameworks: Iterable[str] | None = None) -> None:
    """Run ``frameworks`` on ``n`` CPU threads (default: those already imported). Small agents gain nothing from
    more threads, and one thread per process does not fight other work for a shared machine's cores."""
    if frameworks is None:
        frameworks = [name for name in FRAMEWORKS if name in sys.modules]
    for name in frameworks:
        backend(name).set_threads(n)
