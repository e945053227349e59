"""Grading: the nbgrader course tooling and the hidden checks of the exercises."""
import os
import sys

# nbgrader runs executables by name (`alembic` for gradebook migrations): make the ones installed beside the
# interpreter running prunerl findable, also when its virtual environment was never activated.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_BIN, os.environ.get("PATH", "")])
