"""What every benchmark shares: a controlled process, the machine's description, paired timings, and
writing one section of ``bench/RESULTS.md``.

Controlled process: glibc's malloc returns large blocks to the OS and maps new ones on every big allocation
unless told otherwise, and the resulting page faults made batch-4,096 timings swing 2x on our 2-core machines.
:func:`controlled` re-executes the script once with ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_`` and ``MALLOC_TOP_PAD_`` set high (glibc reads them only at start-up) and thread
counts fixed, before torch or TensorFlow is imported.
"""
from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

from prunerl.runtime import TF_QUIET_ENV

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
THREADS = 1  # fixed: the machines have 2 cores shared with other work; one thread is the repeatable setting
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 31),
              "MALLOC_TOP_PAD_": str(1 << 28)}
THREAD_ENV = {"OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS), "TF_NUM_INTRAOP_THREADS": str(THREADS),
              "TF_NUM_INTEROP_THREADS": "1", **TF_QUIET_ENV}
ORDER = ["pruning_quality", "latency", "storage", "sparse_matmul", "grading", "lessons"]


def controlled() -> None:
    """Re-exec this script with the malloc and thread settings unless they are already in place."""
    wanted = {**MALLOC_ENV, **THREAD_ENV}
    if all(os.environ.get(k) == v for k, v in MALLOC_ENV.items()):
        for k, v in THREAD_ENV.items():
            os.environ.setdefault(k, v)
        return
    env = {**os.environ, **wanted}
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def set_threads(tf: bool = False) -> None:
    import torch

    torch.set_num_threads(THREADS)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only allowed once, before any parallel work
        pass
    if tf:
        import tensorflow as tfm

        try:
            tfm.config.threading.set_intra_op_parallelism_threads(THREADS)
            tfm.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(*names: str) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def machine(controls: bool = True) -> str:
    """One line describing the machine and the software measured (and this module's controls)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = (f"CPU {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {version('torch')}, TensorFlow {version('tensorflow-cpu', 'tensorflow')}, "
            f"keras {version('keras')}, numpy {version('numpy')}; load average {load:.1f}")
    if controls:
        text += f"; {THREADS} thread(s); malloc thresholds set high; clock: {CLOCK_NAME}"
    return text


# The clock: CPU seconds of this process. The machines' 2 cores are shared with other jobs, which stretch
# wall-clock timings by whatever share of the cores they take (up to 5x seen); with one compute thread the
# process's CPU time is what an idle machine's wall clock would show, and it is immune to that load.
CLOCK = time.process_time
CLOCK_NAME = "process CPU time (1 compute thread; immune to other jobs on the shared cores)"


def paired(call_a, call_b, rounds: int = 15, min_seconds: float = 0.02, warmup: int = 3) -> dict:
    """Time two callables in alternating rounds (so drift and other load hit both alike), on :data:`CLOCK`.

    Each round times ``number`` calls of each (``number`` chosen so one timing lasts about ``min_seconds``).
    Returns median seconds per call of each and the median of the per-round ratios ``a / b``.
    """
    for _ in range(warmup):
        call_a()
        call_b()
    start = CLOCK()
    call_a()
    call_b()
    once = max(CLOCK() - start, 1e-6)
    number = max(1, int(min_seconds / once))
    ta, tb = [], []
    for _ in range(rounds):
        for call, out in ((call_a, ta), (call_b, tb)):
            s = CLOCK()
            for _ in range(number):
                call()
            out.append((CLOCK() - s) / number)
    return {"a": statistics.median(ta), "b": statistics.median(tb),
            "ratio": statistics.median(x / y for x, y in zip(ta, tb)), "rounds": rounds, "number": number}


def write_section(name: str, markdown: str, captured: bool = False) -> None:
    """Put ``markdown`` as section ``name`` of bench/RESULTS.md (replacing an older one); sections stay in
    :data:`ORDER`."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    sections = dict(re.findall(r"<!-- bench: (\S+) -->\n(.*?)<!-- /bench: \1 -->", text, flags=re.S))
    if captured:  # a script that does not use this module: its own timing method, see the script
        stamp = (f"_Printed by `bench/bench_{name}.py` (its own method; see the script), captured by `run_all.py` "
                 f"on {datetime.date.today().isoformat()}. Machine: {machine(controls=False)}._\n\n")
    else:
        day = datetime.date.today().isoformat()
        stamp = f"_Written by `bench/bench_{name}.py` on {day}. Machine: {machine()}._\n\n"
    sections[name] = stamp + markdown.strip() + "\n"
    names = [n for n in ORDER if n in sections] + sorted(n for n in sections if n not in ORDER)
    body = "\n".join(f"<!-- bench: {n} -->\n{sections[n]}<!-- /bench: {n} -->\n" for n in names)
    header = ("# Benchmark results\n\nProduced by the scripts in `bench/` (`python bench/run_all.py` runs them "
              "all; each script alone rewrites only its own section). Timings are medians over repeats, given "
              "as ratios against a baseline measured in the same run.\n\n")
    RESULTS.write_text(header + body)


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def sweep(run_one, todo: list[dict], workers: int, describe, journal=None) -> tuple[list[dict], float, float]:
    """``run_one`` over ``todo`` on ``workers`` processes, one progress line (``describe(row)``) per finished run;
    returns the rows in ``todo``'s order, the wall seconds and the summed ``train_cpu_seconds``. With ``journal``
    (a path), every finished row is appended to it as one JSON line, and a task already in it is not run again, so
    an interrupted sweep of hours resumes where it stopped (wall seconds then count this run only)."""
    import json
    import time
    from concurrent.futures import ProcessPoolExecutor, as_completed

    def key(task: dict) -> str:
        return json.dumps({k: task[k] for k in todo[0]}, sort_keys=True)

    done = {}
    if journal is not None and journal.exists():
        done = {key(row): row for row in map(json.loads, journal.read_text().splitlines()) if row}
    started, left = time.perf_counter(), [t for t in todo if key(t) not in done]
    with ProcessPoolExecutor(workers) as pool:
        for future in as_completed([pool.submit(run_one, t) for t in left]):
            row = future.result()
            done[key(row)] = row
            if journal is not None:
                with journal.open("a") as f:
                    f.write(json.dumps(row) + "\n")
            print(f"[{len(done)}/{len(todo)} {time.perf_counter() - started:.0f}s] {describe(row)} "
                  f"({row['train_seconds']:.0f}s)", flush=True)
    rows = [done[key(t)] for t in todo]
    return rows, round(time.perf_counter() - started, 1), round(sum(r["train_cpu_seconds"] for r in rows), 1)


def publish(data: dict, text: str, out, artefact, section: str) -> None:
    """Print a sweep's report; write its artefact to ``out`` (None: nowhere), and the RESULTS.md section only when
    ``out`` is the bench's own artefact."""
    import json

    print(text)
    if out is not None:
        out.write_text(json.dumps(data, indent=1) + "\n")
        if out == artefact:
            write_section(section, text)
