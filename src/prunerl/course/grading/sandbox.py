"""One bubblewrap sandbox per notebook kernel (what ``prunerl grade`` runs learner code in).

nbgrader starts every kernel through a private kernelspec whose command is ``sandbox_launch.py``: the kernel gets
its own user, PID, network, IPC and mount namespaces, a filesystem that holds the read-only runtime (system
libraries, the interpreter, the installed packages, the project's ``src`` without the checker) and a private,
size-limited home, and nothing else; resource limits on memory, CPU time, file size, open files and processes.
It talks to nbgrader over unix sockets (jupyter's ``ipc`` transport), since TCP on loopback does not cross a
network namespace. When nbgrader shuts the kernel down, the PID namespace ends and every process in it dies.
With ``warm``, the kernel command (``warm_launch.py --attach``) takes the sandbox ``kernelpool`` started ahead for
its notebook, or builds one as above when there is none.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from prunerl.runtime import quiet_tensorflow

LAUNCHER = Path(__file__).with_name("sandbox_launch.py")
ATTACH = Path(__file__).with_name("warm_launch.py")
KERNEL_NAME = "prunerl-sandbox"
NOBODY = 65534
GiB = 1024 ** 3
CONFIG_ENV = "PRUNERL_SANDBOX_CONFIG"  # nbgrader's side finds the batch's sandboxes (``limited_execute``)
# Added to ``--memory`` in a kernel's address-space limit: more than a graded kernel maps without any learner
# allocation (torch and TensorFlow reserve large virtual ranges, their thread pools more; the TensorFlow track's
# kernels map the most). tests/test_sandbox.py checks a real exercise's kernel peaks below it.
HEADROOM = 4 * GiB
_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": GiB, "T": 1024 ** 4}


def parse_size(text: str) -> int:
    """'4G', '512M', '1.5GiB', '1000000' -> bytes; ValueError with a readable reason otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"not a size: {text!r} (use e.g. 4G, 512M)")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def human(n: int) -> str:
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        size = _UNITS[unit[0]]
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


@dataclass
class Limits:
    """Per-notebook limits. ``memory``: what each process may map beyond a kernel's start-up (bytes; its
    address space is ``memory + HEADROOM``); ``disk``: each scratch tmpfs (home, /tmp, /dev/shm) and each file;
    ``cpu``: CPU seconds per process; ``records_*``: the check-records tmpfs, copied out when the sandbox ends."""

    memory: int = 4 * GiB
    disk: int = GiB
    cpu: int = 3600
    files: int = 1024
    processes: int = 0  # 0: chosen from the CPU count
    records_bytes: int = 64 * 1024 ** 2
    records_files: int = 10_000

    def resolved(self) -> Limits:
        procs = self.processes or max(128, 16 * (os.cpu_count() or 1))  # threads count too (TF, torch pools)
        return Limits(self.memory, self.disk, self.cpu, self.files, procs, self.records_bytes, self.records_files)


def unavailable() -> str | None:
    """Why no sandbox can run here (None when it can)."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux namespaces (this is {sys.platform})"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "the grading sandbox needs bubblewrap (`apt-get install bubblewrap`): `bwrap` is not on PATH"
    probe = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "true"]
    kwargs = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}
    try:
        res = subprocess.run(probe, capture_output=True, text=True, timeout=30, **kwargs)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap cannot start here ({exc})"
    if res.returncode != 0:
        reason = (res.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap cannot create namespaces here ({reason}); are unprivileged user namespaces enabled?"
    return None


def _runtime_paths(forbidden: list[Path]) -> list[str]:
    """What a kernel reads: the interpreter, the installed packages and the project's source tree."""
    import prunerl

    candidates = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    candidates.add(Path(os.path.realpath(sys.executable)).parent.parent)
    candidates.add(Path(prunerl.__file__).resolve().parent.parent)
    candidates |= {Path(p) for p in sys.path if p and "site-packages" in p}
    keep = []
    for path in sorted({p.resolve() for p in candidates if p.exists()}):
        if str(path) in ("/", "/usr", "/usr/local") and path != Path("/usr/local"):
            continue
        if any(path == f or path in f.parents for f in forbidden):
            continue  # never an ancestor of the course, the results or a submission
        if any(k in path.parents for k in map(Path, keep)):
            continue
        keep.append(str(path))
    return keep


def hidden_paths() -> list[str]:
    """The checker (oracles, expected values): present in the runtime, invisible in every sandbox."""
    base = Path(__file__).resolve().parent
    return sorted(str(p) for p in base.glob("checker*"))


# The only variables a kernel takes from the grader's environment (an allow-list: a grader's environment can hold
# secrets, e.g. JupyterHub's JPY_API_TOKEN, the user's API token): locale, time zone, hash seed and thread counts.
PASSED = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "LC_MESSAGES", "TZ", "PYTHONHASHSEED",
          "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_CPP_MIN_LOG_LEVEL")


def passed_env() -> dict:
    """What every kernel's environment holds from the grader's (besides HOME, TMPDIR and its check files)."""
    passed = {k: os.environ[k] for k in PASSED if k in os.environ}
    passed["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"])
    passed["PYTHONWARNINGS"] = "ignore"
    return quiet_tensorflow(passed)  # every kernel sums floats as the checker does, whatever it imports first


def kernel_limits(limits: Limits) -> dict:
    """What the launchers apply (``sandbox_launch.rlimits``): the limits, and the address space they allow."""
    return dict(asdict(limits.resolved()), address_space=limits.memory + HEADROOM)


def prepare(batch: Path, limits: Limits | None, forbidden: list[Path], warm: bool = False,
            budget: int | None = None) -> tuple[dict, list[str]]:
    """Write the batch's kernelspec and launcher config; returns (env, nbgrader arguments) for ``autograde``.
    ``limits`` None: no sandbox (``--unsafe-no-sandbox``); the launcher only points the kernel at its records.
    ``warm``: the kernel command takes its notebook's warm sandbox when ``kernelpool`` started one. ``budget``:
    seconds a notebook may run in all (its launcher kills a sandbox that outlives it by ``BACKSTOP``)."""
    batch = Path(batch)
    spec_dir = batch / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    runtime = batch / "runtime"
    runtime.mkdir(exist_ok=True)
    jobs = batch / "sandbox"
    jobs.mkdir(exist_ok=True)
    passed = passed_env()
    config = {"bwrap": shutil.which("bwrap") if limits else None, "jobs": str(jobs), "python": sys.executable,
              "uid": NOBODY if limits and os.geteuid() == 0 else None, "env": passed, "budget": budget}
    if limits:
        config.update(runtime=_runtime_paths(forbidden + [batch]), hide=hidden_paths(), limits=kernel_limits(limits))
    (batch / "sandbox.json").write_text(json.dumps(config, indent=1))
    launch = [str(ATTACH), "--attach"] if warm and limits else [str(LAUNCHER)]
    spec = {"argv": [sys.executable, "-I", *launch, str(batch / "sandbox.json"), "--",
                     sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (prunerl sandbox)", "language": "python", "interrupt_mode": "message"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    env = {"JUPYTER_PATH": str(batch / "jupyter"), "JUPYTER_RUNTIME_DIR": str(runtime),
           CONFIG_ENV: str(batch / "sandbox.json")}
    args = [f"--Execute.kernel_name={KERNEL_NAME}"]
    if limits:
        args += ["--KernelManager.transport=ipc", f"--KernelManager.ip={runtime / 'kernel'}"]
    if config["uid"] is not None:
        for path in (batch.parent, batch, jobs):
            os.chmod(path, 0o711)  # the sandbox uid reaches its staged folders, and lists nothing
    return env, args


def job_dir(batch: Path, student: str, assignment: str) -> Path:
    return Path(batch) / "sandbox" / student / assignment


def status(batch: Path, student: str, assignment: str) -> dict:
    try:
        return json.loads((job_dir(batch, student, assignment) / "status.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
