"""What must be set before TensorFlow starts, in one place for the library, the kernels and the checker.

This module imports nothing heavy (never TensorFlow), so a grader or a sandbox can read :data:`TF_QUIET_ENV`
to build a child process's environment.
"""
from __future__ import annotations

import os
from collections.abc import MutableMapping

# TensorFlow's C++ start-up lines land on stderr (where nbgrader zeroes a graded cell); oneDNN reorders float
# sums, so two processes agree to the last bit only when both run with it off.
TF_QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def quiet_tensorflow(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Put :data:`TF_QUIET_ENV` into ``env`` (default: this process's ``os.environ``) where a variable is unset.

    Call it before TensorFlow is imported; returns ``env`` (handy for a subprocess's environment dict).
    """
    env = os.environ if env is None else env
    for name, value in TF_QUIET_ENV.items():
        env.setdefault(name, value)
    return env
