"""Does a `prunerl compare` training cell depend on the CPU's floating-point path? (docs/compare.md)

Runs the `gradual` cell of the default configuration that differed between two machines (seed 1 at 90 %:
global magnitude on Zhu & Gupta's schedule while fine-tuning `cartpole-dqn` for 4,000 env steps) once per
setting, each in a fresh process, under environment variables that make this CPU take another code path, as
another CPU would: MKL's conditional numerical reproducibility (`MKL_CBWR`), torch's own vectorised kernels
(`ATEN_CPU_CAPABILITY`) and oneDNN's instruction set (`ONEDNN_MAX_CPU_ISA`). Records each run's weight hash,
return and CPU time in docs/compare/reproducibility.json. Run from the repository root:
`python bench/bench_reproducibility.py` (about a minute on an idle machine).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

OUT = Path("docs/compare/reproducibility.json")
PINNED = {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}
SETTINGS = {"default": {}, "MKL_CBWR=AVX": {"MKL_CBWR": "AVX"}, "MKL_CBWR=COMPATIBLE": {"MKL_CBWR": "COMPATIBLE"},
            "ATEN_CPU_CAPABILITY=default": {"ATEN_CPU_CAPABILITY": "default"},
            "ONEDNN_MAX_CPU_ISA=SSE41": {"ONEDNN_MAX_CPU_ISA": "SSE41"}, "all three pinned": PINNED}
CELL = {"agent": "cartpole-dqn", "sparsity": 0.9, "seed": 1, "steps": 4000, "episodes": 10}

CHILD = """
import hashlib, json, time
import numpy as np
import prunerl
from prunerl import backend, metrics, stats
from prunerl.recipes import gradual_prune
cell = json.loads({cell!r})
model = prunerl.load_agent(cell["agent"])
backend.set_threads(1, ["torch"])
env_id = prunerl.zoo.card(cell["agent"])["env_id"]
cpu = time.process_time()
gradual_prune(model, env_id, cell["sparsity"], cell["steps"], cell["seed"])
cpu = time.process_time() - cpu
weights = metrics.prunable_weights(model)
digest = hashlib.sha256(b"".join(np.ascontiguousarray(w).tobytes() for w in weights.values())).hexdigest()
ret = prunerl.evaluate(model, env_id, cell["episodes"], stats.episode_seed(cell["seed"])).mean
print(json.dumps({{"weights_sha256": digest[:16], "mean_return": ret, "train_cpu_seconds": round(cpu, 2)}}))
"""


def run(setting: dict) -> dict:
    env = {**os.environ, **setting}
    out = subprocess.run([sys.executable, "-c", CHILD.format(cell=json.dumps(CELL))], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    import torch

    results = {name: run(setting) for name, setting in SETTINGS.items()}
    for name, r in results.items():
        print(f"{name:28s} weights {r['weights_sha256']} return {r['mean_return']:6.1f} "
              f"cpu {r['train_cpu_seconds']:.1f} s")
    record = {"cell": CELL, "cpu": platform.processor() or platform.machine(),
              "cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
              "settings": SETTINGS, "results": results,
              "command": "python bench/bench_reproducibility.py"}
    OUT.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
