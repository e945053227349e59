"""Read a NumPy ``.npz`` that untrusted code wrote, refusing it before decoding when it would decode to more
than ``max_bytes`` (a deflate bomb: a few MiB of zeros that decode to GiB). Standard library and NumPy only, so
both the kernel side and the checker can use it."""
from __future__ import annotations

import io
import zipfile

import numpy as np


class TooLarge(ValueError):
    """The archive would decode to more than allowed."""


def load_npz(data: bytes, max_bytes: int, max_arrays: int = 1000) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` in ``data`` (no pickles). Zip members are never decoded past the size their
    header declares, so checking the declared sizes first bounds what decoding can produce."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = zf.infolist()
        total = sum(m.file_size for m in members)
    if len(members) > max_arrays:
        raise TooLarge(f"{len(members)} arrays, more than {max_arrays}")
    if total > max_bytes:
        raise TooLarge(f"the arrays would take {total / 1024 ** 2:.0f} MiB, more than {max_bytes / 1024 ** 2:.0f} MiB")
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}
