"""The process a warm sandbox starts with (runs INSIDE the sandbox, as ``python warm_kernel.py MODULE,MODULE...``).

It imports ipykernel and the modules the grader chose for its notebook (``kernelpool.warm_modules``; it stops
early if its notebook comes first), then waits for its notebook: ``/run/kernel/argv.json`` appears once nbgrader
has asked for this kernel. Then it becomes the kernel exactly as ``python -m ipykernel_launcher ARGV`` started in
the work folder would be: same arguments, ``sys.argv``, ``sys.path`` and ``__main__``. Nothing is shared: this
process serves one notebook and ends with it.
"""
import importlib
import json
import os
import runpy
import sys
import time

START = "/run/kernel/argv.json"


def main(modules: str) -> None:
    del sys.path[0]  # this script's folder; ipykernel_launcher also imports without the work folder
    for name in ["ipykernel.kernelapp", *filter(None, modules.split(","))]:
        if os.path.exists(START):
            break  # the notebook is here: start its kernel now (nbgrader waits for it); it imports the rest
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the notebook meets the same error when it imports it
            pass
    while not os.path.exists(START):
        time.sleep(0.01)
    with open(START) as f:
        argv = json.load(f)
    sys.argv = [sys.argv[0], *argv]
    sys.path.insert(0, os.getcwd())  # as ``python -m`` has it; ipykernel_launcher takes it out again
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1])
