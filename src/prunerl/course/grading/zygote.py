"""The fork server of one grading batch and track (standard library only until it imports; ``python zygote.py SOCKET
MODULES HIDDEN``, started by ``kernelpool`` with the kernels' environment).

It imports ipykernel and MODULES once (what a kernel of its track would import: torch or TensorFlow, numpy,
gymnasium, the library; never a module under HIDDEN, the checker), then listens on SOCKET (0600, in a folder no
sandbox sees) for the batch's warm launchers. For each notebook, a launcher names the waiter process of that
notebook's bubblewrap sandbox (PID 1 of it, started ahead) and hands over the kernel's standard streams; the zygote
forks a child that joins every namespace of that sandbox through a pidfd (user, mount with its root, PID, network,
IPC, UTS, cgroup) as the sandbox uid, and starts the kernel there: a process of the sandbox's PID namespace that
drops every capability, sets no_new_privs, the seccomp filter, the resource limits and the notebook's environment,
then runs ``ipykernel_launcher`` as ``python -m`` would, and ends with ``os._exit`` (no interpreter teardown).

The zygote never runs learner code, and a kernel shares nothing writable with it or with another kernel: memory is
copied on write, the kernel keeps no descriptor of the zygote, cannot see it (another PID namespace) nor reach its
socket. The launcher gets the kernel's PID in the sandbox, and tells the sandbox's PID 1, which ends the sandbox with
the kernel's exit status when the kernel ends: from there on the sandbox is supervised exactly as today's.

The grader may also ask it for a batch's checker (``judging.serve``): a child in no sandbox, which imports the
checker only after the fork, so no kernel ever holds it.
"""
import ctypes
import gc
import importlib
import importlib.util
import os
import random
import runpy
import select
import signal
import socket
import sys

_spec = importlib.util.spec_from_file_location(
    "sandbox_launch", os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_launch.py"))
sl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sl)

_libc = ctypes.CDLL(None, use_errno=True)
NAMESPACES = 0x10000000 | 0x00020000 | 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x02000000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_CAPBSET_DROP = 1, 4, 22, 24
PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 28, 38, 47, 4
SECBIT_KEEP_CAPS, SECCOMP_MODE_FILTER = 1 << 4, 2


def _check(rc: int, what: str) -> None:
    if rc != 0:
        raise OSError(ctypes.get_errno(), f"zygote: {what} failed")


def _prctl(option: int, arg2=0) -> int:
    return _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _capabilities(effective_from_permitted: bool) -> None:
    """capset: every set empty, or (``effective_from_permitted``) the effective set raised to the permitted one."""
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    _check(_libc.capget(ctypes.byref(header), data), "capget")
    for half in data:
        if effective_from_permitted:
            half.effective = half.permitted
        else:
            half.effective = half.permitted = half.inheritable = 0
    _check(_libc.capset(ctypes.byref(header), data), "capset")


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _seccomp(program: bytes) -> None:
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _Fprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(_libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(prog),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)), "seccomp")


def _drop_everything() -> None:
    """No capability in any set (bounding and ambient too), no_new_privs; checked, not assumed."""
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        _check(_prctl(PR_CAPBSET_DROP, cap), f"dropping capability {cap}")
    _check(_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL), "clearing ambient capabilities")
    _capabilities(effective_from_permitted=False)
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    caps = [int(status[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
    if any(caps) or status["NoNewPrivs"].strip() != "1":
        raise OSError("zygote: the kernel still holds privileges")


def _as_sandbox_uid(uid) -> None:
    """Root grading: become the sandbox uid (no supplementary group) but keep the capabilities setns needs."""
    if uid is None:
        return
    _check(_prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS), "keep capabilities")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _capabilities(effective_from_permitted=True)


def _become_kernel(request: dict, streams: list[int], seccomp: bytes) -> None:
    """In the sandbox's namespaces, PID namespace included: the notebook's kernel. Never returns."""
    code = 70
    try:
        os.setsid()
        for target, fd in enumerate(streams):
            os.dup2(fd, target, inheritable=True)
        os.closerange(3, 1 << 16)  # nothing of the zygote's or the child's stays open
        os.chdir(request["cwd"])
        _drop_everything()
        _prctl(PR_SET_DUMPABLE, 1)  # as a kernel bubblewrap started: the notebook may read its own /proc
        _seccomp(seccomp)
        import resource

        for name, value in request["rlimits"]:
            resource.setrlimit(getattr(resource, name), tuple(value))
        os.environ.clear()
        os.environ.update(request["env"], **IMPORTS_SET)
        random.seed()  # every notebook its own random state, as a process of its own would have
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        sys.argv = [sys.argv[0], *request["argv"]]
        sys.path.insert(0, os.getcwd())  # as ``python -m`` has it; ipykernel_launcher takes it out again
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report and end; the launcher sees the status
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


def _close_all_but(keep: set[int]) -> None:
    low = 3
    for fd in sorted(keep | {1 << 16}):
        os.closerange(low, fd)
        low = fd + 1


def _child(request: dict, streams: list[int], ready: int, seccomp: bytes) -> None:
    """The forked child: join the sandbox, then fork there a process that forks the kernel and ends at once, so
    the kernel's parent is the sandbox's PID 1, as for a kernel bubblewrap started. That process writes the
    kernel's PID (in the sandbox) on ``ready``. Never returns."""
    code = 71
    try:
        _close_all_but({*streams, ready})  # no socket of the zygote, no other notebook's connection
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the zygote
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        pidfd = os.pidfd_open(request["pid"])
        with open("/proc/self/oom_score_adj", "w") as f:  # the first victim if memory runs out, never the grader
            f.write("1000")
        _as_sandbox_uid(request["uid"])
        _check(_libc.setns(pidfd, NAMESPACES), "setns into the sandbox")
        os.close(pidfd)
        middle = os.fork()
        if middle == 0:  # in the sandbox's PID namespace
            kernel = os.fork()
            if kernel == 0:
                _become_kernel(request, streams, seccomp)
            os.write(ready, f"{kernel}\n".encode())
            os._exit(0)
        for fd in (*streams, ready):
            os.close(fd)
        os.waitpid(middle, 0)
        code = 0
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _checker(tracks: list[str], streams: list[int], rlimits: list) -> None:
    """The forked child that becomes a batch's checker (``judging.serve``) on ``streams``: the grader's own process,
    in no sandbox, that never runs learner code; it only skips importing torch and TensorFlow again. It reads what
    kernels recorded, so it runs under ``rlimits`` (address space, CPU time: ``sandbox_launch.checker_rlimits``)."""
    code = 1
    try:
        sl.apply_rlimits(rlimits)
        for target, fd in enumerate(streams):
            os.dup2(fd, target, inheritable=True)
        os.closerange(3, 1 << 16)  # no socket of the zygote, no other notebook's connection
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        os.setsid()
        from prunerl.course.grading.judging import serve

        serve(tracks)
        code = 0
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def serve(path: str, seccomp: bytes) -> None:
    """One request at a time (each takes milliseconds): fork, learn the kernel's PID, reply, forget it."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".tmp")
    os.chmod(path + ".tmp", 0o600)  # before listen(): only the grader's launchers connect
    server.listen(16)
    os.rename(path + ".tmp", path)  # ready
    while True:
        conn, _ = server.accept()
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:  # checkers that have ended
                pass
        except ChildProcessError:
            pass
        with conn:
            try:
                request, streams = sl.receive_request(conn, 3)
            except (OSError, ValueError) as exc:
                print(f"zygote: bad request ({exc})", file=sys.stderr, flush=True)
                continue
            if "checker" in request:  # for the grader: the batch's judge, which lives on until its input ends
                child = os.fork()
                if child == 0:
                    _checker(request["checker"], streams, request.get("rlimits") or [])
                for fd in streams:
                    os.close(fd)
                conn.sendall(f"started {child}\n".encode())
                continue
            ready_r, ready_w = os.pipe()
            child = os.fork()
            if child == 0:
                _child(request, streams, ready_w, seccomp)
            for fd in (*streams, ready_w):
                os.close(fd)
            with os.fdopen(ready_r, "rb") as ready:
                line = ready.readline().strip() if select.select([ready], [], [], 30)[0] else b""
            os.waitpid(child, 0)
            try:
                conn.sendall(b"started " + line + b"\n" if line.isdigit() else b"failed\n")
            except OSError:
                pass


def _private_home() -> None:
    """Root grading: a private mount namespace with an empty tmpfs on /home, so what imports write to the kernels'
    HOME (/home/learner: Keras' config, caches) never lands on the host."""
    if os.geteuid() != 0:
        return
    _check(_libc.unshare(0x00020000), "unshare(CLONE_NEWNS)")
    _check(_libc.mount(b"none", b"/", None, ctypes.c_ulong(0x4000 | 0x40000), None), "make / private")
    _check(_libc.mount(b"tmpfs", b"/home", b"tmpfs", ctypes.c_ulong(0), b"mode=0755"), "tmpfs on /home")
    if os.environ["HOME"].startswith("/home/"):
        os.makedirs(os.environ["HOME"], exist_ok=True)


def main(path: str, modules: str, hidden: str) -> None:
    del sys.path[0]  # this script's folder; a kernel's ``python -m`` never has it
    os.chdir("/")
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the grader's pool
    _private_home()
    before = dict(os.environ)
    for name in ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", *filter(None, modules.split(","))]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the notebook meets the same error when it imports it
            pass
    IMPORTS_SET.update({k: v for k, v in os.environ.items() if before.get(k) != v})  # e.g. ipykernel's debugger
    secret = [n for n, m in list(sys.modules.items()) if hidden and any(
        str(getattr(m, "__file__", None) or "").startswith(h) for h in hidden.split(os.pathsep))]
    if secret:  # a kernel must never inherit the checker
        sys.exit(f"zygote: refusing to serve, the checker is imported ({secret[0]})")
    gc.collect()
    gc.freeze()  # the kernels' collections never walk (so never copy) the zygote's pages
    serve(path, sl._seccomp_no_setsid())


IMPORTS_SET: dict = {}  # what the zygote's imports put into the environment: a kernel importing them would have it

if __name__ == "__main__":
    main(*sys.argv[1:4])
