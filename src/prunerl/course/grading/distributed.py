"""``prunerl grade --scheduler ADDRESS``: batches graded by the workers of a Dask cluster, results merged here.

This machine (the client) keeps everything grades are trusted by: it collects and sanitizes the notebooks, holds the
results folder's key, signs the state and merges the gradebook. A worker gets the course copy (as tar bytes, unpacked
once into a folder of its own: no shared filesystem needed) and a batch of sanitized notebooks, grades the batch
exactly as a local run does (one ``nbgrader autograde``, every kernel in its own sandbox, then the checker) in a
temporary folder of its own, and sends back the raw results. It never sees the key or the results folder.

A worker that dies mid-batch loses nothing: the scheduler runs its tasks again elsewhere (up to its
``allowed-failures`` setting; then the batch scores 0, "graded again next run"), and the client records each batch
once, when its result first arrives.
"""
from __future__ import annotations

import hashlib
import io
import os
import socket
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from pathlib import Path

import nbformat

from . import sandbox
from .dispatch import crashed, ctrl_c_remembered, grade_batch, split
from .batch import _ACTIVE, Cancelled, SandboxUnavailable, Template, _kill_group
from .layout import file_hash

CONNECT_TIMEOUT = 10  # seconds to reach the scheduler, and for it to have a worker
_UNPACK = threading.Lock()
_ABORTED: set[str] = set()  # runs whose client was interrupted (in a worker process)


class ClusterError(RuntimeError):
    """The cluster cannot grade this run (unreachable, no workers, a worker unfit to grade)."""


# ------------------------------------------------------------------------------------------------ the client side
def reachable(scheduler) -> None:
    """Fail at once, in one line, when nothing listens at ``scheduler`` (an address; a Client is taken as is)."""
    if not isinstance(scheduler, str):
        return
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(scheduler)
        if scheme not in ("tcp", "tls"):
            return  # other transports: the client's own connection says it
        host, port = parse_host_port(location, 8786)
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} ({reason}): is `dask scheduler` "
                           "running there, and the port open?") from None


def grader_fingerprint() -> str:
    """The grading code (nbgrader driver, sandbox, checker): a worker must run the same as the client."""
    base = Path(__file__).resolve().parent
    files = sorted(base.rglob("*.py"))
    return file_hash(*[part for p in files for part in (str(p.relative_to(base)), p.read_bytes())])


def fitness(sandboxed: bool) -> dict:
    """What a worker says about itself before it gets work."""
    return {"fingerprint": grader_fingerprint(), "sandbox": sandbox.unavailable() if sandboxed else None}


def _client(scheduler):
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot connect to the Dask scheduler at {scheduler} ({exc})") from None


def _slots(client, sandboxed: bool) -> int:
    """Worker threads of the cluster, once every worker has shown it can grade like this machine."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError:
        raise ClusterError(f"the Dask scheduler at {client.scheduler.address} has no worker: start some with "
                           f"`dask worker {client.scheduler.address}`") from None
    mine = grader_fingerprint()
    for worker, report in client.run(fitness, sandboxed).items():
        if report["sandbox"]:
            raise SandboxUnavailable(f"worker {worker}: {report['sandbox']}; refusing to run untrusted notebooks "
                                     "without a sandbox (--unsafe-no-sandbox grades them anyway, with none of "
                                     "its protections)")
        if report["fingerprint"] != mine:
            raise ClusterError(f"worker {worker} runs other grading code than this machine: install the same "
                               "prunerl on every worker")
    return max(1, sum(client.nthreads().values()))


def pack(folder: Path) -> bytes:
    """The course copy as tar bytes (its signature file stays here: it is this machine's)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and path.name != ".complete":
                tar.add(path, arcname=str(path.relative_to(folder)))
    return buf.getvalue()


def _course(data: bytes) -> bytes:
    return data


def run_on_cluster(scheduler, template: Template, todo: list, batch_size: int, entries: Callable[[list], list],
                   record: Callable[[list, dict, float], None], timeout: int, feedback: bool,
                   limits: sandbox.Limits | None, forbidden: tuple[Path, ...]) -> None:
    """Grade ``todo`` on the cluster in batches of at most ``batch_size``; ``record(batch, raws, seconds)`` runs
    here, once per batch, as each result arrives. Ctrl-C cancels every task and stops the workers' nbgrader."""
    from distributed import as_completed

    client, owned = _client(scheduler)
    try:
        batches = split(todo, _slots(client, limits is not None), batch_size)
        run = uuid.uuid4().hex[:12]
        data = pack(template.path)
        # a task, not scattered data: if the worker holding it dies, the scheduler makes it again
        course = client.submit(_course, data, key=f"prunerl-course-{run}", pure=False)
        args = (hashlib.sha256(data).hexdigest(), template.digest, timeout, feedback, limits,
                tuple(map(str, forbidden)), grader_fingerprint(), run)
        futures = {client.submit(grade_remote, course, entries(b), *args, key=f"prunerl-batch-{run}-{n}", retries=1):
                   n for n, b in enumerate(batches)}
        pending = set(futures.values())
        try:
            with ctrl_c_remembered() as pressed:
                ready = as_completed(list(futures), loop=client.loop)
                while not ready.is_empty():  # computing or finished and not yet taken
                    if pressed.is_set():
                        raise KeyboardInterrupt
                    if not ready.has_ready():
                        time.sleep(0.1)
                        continue
                    for future in ready.next_batch(block=False):
                        n = futures[future]
                        if n not in pending:
                            continue  # a batch is recorded once, whatever the cluster did
                        pending.discard(n)
                        record(batches[n], *_outcome(future, entries(batches[n])))
                if pressed.is_set():
                    raise KeyboardInterrupt
        except BaseException:
            client.cancel(list(futures) + [course], force=True)
            try:
                client.run(abort, run)
            except Exception:  # noqa: BLE001 - the workers' nbgrader processes end by their own time limits
                pass
            raise
        if pending:
            raise ClusterError(f"the cluster lost {len(pending)} batch(es)")
    finally:
        if owned:
            client.close()


def _outcome(future, entries: list) -> tuple[dict, float]:
    """A finished batch's ``(raws, seconds)``; one the cluster failed on scores 0 for now, graded again next run."""
    from distributed import KilledWorker

    try:
        return future.result()
    except (SandboxUnavailable, ClusterError):
        raise
    except CancelledError:
        raise ClusterError("the cluster dropped this run's work (did the scheduler stop?); the batches "
                           "already graded are saved") from None
    except KilledWorker as exc:
        return crashed(entries, f"its worker died while grading it ({exc})"), 0.0
    except Exception as exc:  # noqa: BLE001 - as locally
        return crashed(entries, f"{type(exc).__name__}: {exc}"), 0.0


# ------------------------------------------------------------------------------------------------ the worker side
def _cache_root() -> Path:
    root = Path(tempfile.gettempdir()) / f"prunerl-courses-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def unpacked(data: bytes, sha: str, digest: str) -> Template:
    """The course copy in this worker's cache, unpacked on first use (and again if it is incomplete)."""
    if hashlib.sha256(data).hexdigest() != sha:
        raise ClusterError("the course copy arrived damaged")
    path = _cache_root() / f"course-{sha[:16]}"
    with _UNPACK:
        if not (path / ".unpacked").exists():
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                tar.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
            (tmp / ".unpacked").write_text(sha)
            try:
                tmp.rename(path)
            except OSError:  # another worker process of this machine was faster
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
    releases = {p.name: nbformat.read(p / f"{p.name}.ipynb", as_version=4) for p in (path / "release").iterdir()
                if (p / f"{p.name}.ipynb").exists()}
    return Template(path, digest, releases)


def grade_remote(data: bytes, entries: list, sha: str, digest: str, timeout: int, feedback: bool,
                 limits: sandbox.Limits | None, forbidden: tuple[str, ...], fingerprint: str,
                 run: str) -> tuple[dict, float]:
    """One batch on a worker: (raw results, seconds). Refuses like a local run when it cannot sandbox."""
    from distributed import get_worker

    t0 = time.time()
    if run in _ABORTED:
        raise Cancelled
    report, worker = fitness(limits is not None), get_worker().address
    if report["sandbox"]:
        raise SandboxUnavailable(f"worker {worker}: {report['sandbox']}; refusing to run untrusted notebooks "
                                 "without a sandbox")
    if report["fingerprint"] != fingerprint:
        raise ClusterError(f"worker {worker} runs other grading code than this machine: install the same prunerl "
                           "on every worker")
    template = unpacked(data, sha, digest)
    hidden = (*map(Path, forbidden), _cache_root())
    with tempfile.TemporaryDirectory(prefix=f"prunerl-{run}-") as tmp:
        raws = grade_batch(template, entries, Path(tmp), timeout, feedback, limits, hidden,
                           cancelled=lambda: run in _ABORTED)
    return raws, time.time() - t0


def abort(run: str) -> int:
    """On a worker: stop the nbgrader processes of ``run`` (their folder names carry it); how many."""
    _ABORTED.add(run)
    stopped = 0
    for proc in list(_ACTIVE):
        try:
            cwd = os.readlink(f"/proc/{proc.pid}/cwd")
        except OSError:
            continue
        if f"prunerl-{run}-" in cwd:
            _kill_group(proc)
            stopped += 1
    return stopped
