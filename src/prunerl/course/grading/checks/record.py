"""Records: what a collector saw, as plain data only (JSON numbers/strings/lists/dicts and NumPy arrays).

A record is ``<name>.json`` (the structure, arrays replaced by ``{"__array__": key}``) and ``<name>.npz`` (the
arrays). Writing refuses any other type, and reading uses ``allow_pickle=False``: a learner's object (an ndarray
subclass, something whose ``__eq__`` lies) can never cross into the checker, only its coerced values.
"""
from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

NUMERIC = "biufc"


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if type(value) is np.ndarray:
        if value.dtype.kind not in NUMERIC:
            raise TypeError(f"array of dtype {value.dtype} is not plain data")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if type(value) in (list, tuple):
        return [_encode(v, arrays) for v in value]
    if type(value) is dict:
        return {str(k): _encode(v, arrays) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} is not plain data")


def _decode(value: Any, arrays) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return np.array(arrays[value["__array__"]])
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _decode(v, arrays) for k, v in value.items()}
    return value


def dumps(data: dict) -> tuple[str, bytes]:
    """``(json text, npz bytes)`` of a record; raises TypeError on anything but plain data."""
    arrays: dict[str, np.ndarray] = {}
    text = json.dumps(_encode(data, arrays))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return text, buffer.getvalue()


def loads(text: str, npz: bytes | None) -> dict:
    if npz:
        with np.load(io.BytesIO(npz), allow_pickle=False) as arrays:
            return _decode(json.loads(text), {k: arrays[k] for k in arrays.files})
    return _decode(json.loads(text), {})


def write(directory: str | Path, name: str, data: dict) -> None:
    text, npz = dumps(data)
    directory = Path(directory)
    (directory / f"{name}.npz").write_bytes(npz)
    tmp = directory / f".{name}.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, directory / f"{name}.json")  # the JSON last: a record is complete when its JSON exists


def read(directory: str | Path, name: str) -> dict | None:
    """The record ``name``, or None if there is none; a damaged record reads as ``{"damaged": reason}``."""
    directory = Path(directory)
    path = directory / f"{name}.json"
    if not path.is_file():
        return None
    npz = directory / f"{name}.npz"
    try:
        return loads(path.read_text(encoding="utf-8"), npz.read_bytes() if npz.is_file() else None)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return {"damaged": f"{type(exc).__name__}: {exc}"}
