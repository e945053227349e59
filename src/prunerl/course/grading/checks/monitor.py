"""Watch which library functions a learner's function calls (``sys.setprofile``), to spot forbidden converters.

Exercise 3 asks learners to build CSR themselves; a ``to_csr`` that hands the work to ``scipy.sparse``,
``tf.sparse`` or ``torch.sparse`` (``Tensor.to_sparse_csr``...) is recorded by name. Switching the monitor off
from inside the function is recorded too.
"""
from __future__ import annotations

import os
import sys

_SPARSE_FILES = {os.path.join("scipy", "sparse"): "scipy.sparse",
                 os.path.join("tensorflow", "python", "ops", "sparse_ops"): "tf.sparse",
                 os.path.join("tensorflow", "python", "framework", "sparse_tensor"): "tf.sparse.SparseTensor",
                 os.path.join("torch", "sparse"): "torch.sparse"}


class ConverterMonitor:
    def __init__(self):
        self.seen: list[str] = []
        self.previous = None

    def _profile(self, frame, event, arg):
        if event == "call":
            filename = frame.f_code.co_filename
            for part, label in _SPARSE_FILES.items():
                if part in filename:
                    self._add(f"{label} ({frame.f_code.co_name})")
        elif event == "c_call":
            name = getattr(arg, "__name__", "") or ""
            if "sparse" in name.lower():
                owner = getattr(arg, "__self__", None)
                prefix = ("torch.Tensor" if type(owner).__module__.startswith("torch") and owner is not None
                          else getattr(arg, "__module__", None) or type(owner).__name__)
                self._add(f"{prefix}.{name}")

    def _add(self, label: str) -> None:
        if label not in self.seen:
            self.seen.append(label)

    def start(self) -> None:
        self.previous = sys.getprofile()
        sys.setprofile(self._profile)

    def stop(self) -> list[str]:
        current = sys.getprofile()
        sys.setprofile(self.previous)
        if getattr(current, "__self__", None) is not self:
            self._add("sys.setprofile (your code switched off the grader's call monitor)")
        return list(self.seen)
