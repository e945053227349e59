"""The kernel command of a sandboxed notebook (standard library only; run as ``python -I <this file>``).

Outside (``CONFIG -- KERNEL_CMD``): jupyter_client starts this as "the kernel". It builds the notebook's bubblewrap
sandbox, starts the kernel inside it and waits. It stays outside, so the learner's code can neither see nor signal
it. Every folder a kernel writes is a size-capped tmpfs of its own sandbox (home, /tmp, /dev/shm and the
check-records folder); when the sandbox ends, the launcher copies the records out (plain files only) and writes
``status.json`` (how the sandbox ended), both where no sandbox can reach.

``warm_launch.py`` builds the same sandbox from the same pieces (``new_private``, ``connect``, ``start``,
``supervise``) before nbgrader asks for its kernel, which a zygote then forks into it.

Inside (``--inner LIMITS -- KERNEL_CMD``): set the resource limits (hard = soft, so learner code cannot raise them),
then exec the kernel. The limits are set after the user namespace exists, so the process count is per sandbox.
Without KERNEL_CMD it stays as the sandbox's PID 1 (``--as-pid-1``) for a forked kernel (see ``inside``).
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time

HOME = "/home/learner"
WORK = HOME + "/work"
KERNEL_DIR = "/run/kernel"
PARAMS_NAME = "prunerl-check-params.json"
RECORDS_NAME = "prunerl-check-records"
RECORDS = f"{WORK}/{RECORDS_NAME}"
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "localtime", "hosts",
       "ssl", "ca-certificates", "fonts", "mime.types", "alternatives")
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
AUDIT_ARCH_X86_64, NR_SETSID = 0xC000003E, 112
BACKSTOP = 60  # seconds a sandbox may outlive its notebook's time budget before its launcher kills it


def _seccomp_no_setsid() -> bytes:
    """A classic-BPF filter that fails setsid() with EPERM (x86_64): the sandbox stays one session, so one CPU
    autogroup, and a process cannot leave the session the kernel was started in."""
    ins = lambda code, jt, jf, k: struct.pack("HBBI", code, jt, jf, k)  # noqa: E731
    return b"".join([
        ins(0x20, 0, 0, 4),                       # ld arch
        ins(0x15, 1, 0, AUDIT_ARCH_X86_64),       # jeq x86_64 -> next check
        ins(0x06, 0, 0, 0x7FFF0000),              # other arch: allow
        ins(0x20, 0, 0, 0),                       # ld nr
        ins(0x15, 0, 1, NR_SETSID),               # jeq setsid
        ins(0x06, 0, 0, 0x00050000 | 1),          # ret ERRNO(EPERM)
        ins(0x06, 0, 0, 0x7FFF0000),              # ret ALLOW
    ])


class Stage:
    """Host paths as the sandbox's own uid can open them. When root grades, the kernel runs as an unprivileged
    uid that cannot traverse e.g. /root (where pyenv puts Python) or the grader's private temporary folders:
    the launcher's child then bind-mounts every source into a tmpfs of its own private mount namespace (nothing
    changes on the host) and gives bubblewrap those paths."""

    def __init__(self, uid: int | None, root: str):
        self.uid = uid
        self.root = None if uid is None else root
        if self.root is not None:
            os.makedirs(self.root, mode=0o755, exist_ok=True)
        self.items: list[tuple[str, str, bool]] = []

    def __call__(self, path: str) -> str:
        if self.root is None:
            return path
        staged = f"{self.root}/{len(self.items)}"
        self.items.append((path, staged, os.path.isdir(path)))
        return staged

    def enter(self) -> None:
        """In the child, before exec: private mount namespace, the staged binds, then drop to ``uid``."""
        if self.root is None:
            return
        libc = ctypes.CDLL(None, use_errno=True)

        def check(rc: int, what: str) -> None:
            if rc != 0:
                raise OSError(ctypes.get_errno(), f"sandbox staging: {what}")

        check(libc.unshare(0x00020000), "unshare(CLONE_NEWNS)")
        check(libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None), "make / private")  # MS_REC | MS_PRIVATE
        check(libc.mount(b"tmpfs", self.root.encode(), b"tmpfs", 0, b"mode=0755"), "stage tmpfs")
        for src, dest, is_dir in self.items:
            if is_dir:
                os.mkdir(dest)
            else:
                open(dest, "w").close()
            check(libc.mount(src.encode(), dest.encode(), None, 0x1000 | 0x4000, None), f"bind {src}")  # MS_BIND|MS_REC
        os.setgroups([])
        os.setgid(self.uid)
        os.setuid(self.uid)


def bound_files(folder: str) -> list[str]:
    """The files shipped with the assignment that a kernel sees in its work folder (not the notebooks)."""
    return [name for name in sorted(os.listdir(folder)) if not name.endswith(".ipynb")
            and os.path.isfile(os.path.join(folder, name)) and not os.path.islink(os.path.join(folder, name))]


def _bwrap_args(cfg: dict, job: str, private: str, src: Stage, files: str) -> list[str]:
    lim = cfg["limits"]
    disk = str(lim["disk"])
    args = [cfg["bwrap"], "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
            "--disable-userns", "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
            "--size", disk, "--tmpfs", "/dev/shm", "--size", disk, "--tmpfs", "/tmp"]
    for path in SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in ETC:
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for path in cfg["runtime"]:
        args += ["--ro-bind", src(path), path]
    for path in cfg["hide"]:
        args += ["--tmpfs", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
    args += ["--size", disk, "--tmpfs", HOME, "--dir", WORK]
    for name in bound_files(files):
        args += ["--ro-bind", src(os.path.join(files, name)), f"{WORK}/{name}"]  # files shipped with the assignment
    params = os.path.join(job, "params.json")
    if os.path.exists(params):
        args += ["--ro-bind", src(params), f"{WORK}/{PARAMS_NAME}"]
    args += ["--size", str(lim["records_bytes"]), "--tmpfs", RECORDS,  # copied out when the sandbox ends
             "--bind", src(private), KERNEL_DIR, "--chdir", WORK, "--clearenv"]
    for key, value in sorted(kernel_env(cfg, job).items()):
        args += ["--setenv", key, value]
    return args


def kernel_env(cfg: dict, job: str) -> dict:
    """The whole environment of a kernel in its sandbox."""
    return dict(cfg["env"], HOME=HOME, TMPDIR="/tmp", PRUNERL_CHECK_RECORDS=RECORDS)  # the check inputs file is
    # found beside RECORDS (prunerl.course.grading.protocol.inputs_file), named in no variable


def rlimits(limits: dict) -> list[tuple[str, tuple[int, int]]]:
    """A kernel's resource limits: hard = soft (learner code cannot raise them); CPU: SIGXCPU, SIGKILL 5 s later.
    Memory is the address space (RLIMIT_AS counts every mapping, shared and file-backed ones too; RLIMIT_DATA
    misses ``mmap(MAP_SHARED|MAP_ANONYMOUS)``): ``--memory`` plus what a kernel maps before any learner code."""
    cpu = int(limits["cpu"])
    return [(name, (int(value), int(value))) for name, value in (
        ("RLIMIT_AS", limits["address_space"]), ("RLIMIT_FSIZE", limits["disk"]), ("RLIMIT_NOFILE", limits["files"]),
        ("RLIMIT_NPROC", limits["processes"]), ("RLIMIT_CORE", 0))] + [("RLIMIT_CPU", (cpu, cpu + 5))]


def checker_rlimits(limits: dict) -> list[tuple[str, tuple[int, int]]]:
    """The checker's limits (it reads what kernels wrote: a record can be a decompression bomb): the kernels'
    address space and CPU time, no core files."""
    cpu = int(limits["cpu"])
    space = int(limits["address_space"])
    return [("RLIMIT_AS", (space, space)), ("RLIMIT_CPU", (cpu, cpu + 5)), ("RLIMIT_CORE", (0, 0))]


def apply_rlimits(limits: list) -> None:
    for name, value in limits:
        resource.setrlimit(getattr(resource, name), tuple(value))


def job_of(cfg: dict, here: str) -> str:
    """The trusted folder of the notebook nbgrader runs in ``here`` (``autograded/<student>/<assignment>``)."""
    return os.path.join(cfg["jobs"], os.path.basename(os.path.dirname(here)), os.path.basename(here))


def receive_request(conn: socket.socket, fds: int) -> tuple[dict, list[int]]:
    """One JSON line and exactly ``fds`` descriptors from ``conn`` (a launcher's or a zygote's unix socket)."""
    conn.settimeout(30)
    msg, got, _flags, _addr = socket.recv_fds(conn, 2 ** 20, fds)
    try:
        while not msg.endswith(b"\n"):
            more = conn.recv(2 ** 20)
            if not more:
                raise ValueError("the other side hung up")
            msg += more
        if len(got) != fds:
            raise ValueError(f"expected {fds} descriptors, got {len(got)}")
        return json.loads(msg), got
    except BaseException:
        for fd in got:
            os.close(fd)
        raise


def ask_zygote(path: str, request: dict, fds: list[int], alive=lambda: True) -> int:
    """Send ``request`` and ``fds`` to the zygote listening on ``path`` (waiting while it imports, until it or
    ``alive()`` says it died); the PID of what it started."""
    for _ in range(6000):
        if os.path.exists(path) or os.path.exists(path + ".dead") or not alive():
            break
        time.sleep(0.02)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], fds)
        reply = conn.makefile("rb").readline().split()
    if reply[:1] != [b"started"] or len(reply) != 2:
        raise OSError("the zygote could not start it")
    return int(reply[1])


def die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def new_private(cfg: dict, job: str, name: str = "kernel") -> str:
    """A fresh kernel folder (the sandbox's /run/kernel), owned by the sandbox uid, and the host folder its records
    are copied to when it ends (no sandbox ever sees it)."""
    private = os.path.join(job, name)
    shutil.rmtree(private, ignore_errors=True)
    os.makedirs(private)
    os.makedirs(os.path.join(job, "records"), exist_ok=True)
    if cfg["uid"] is not None:
        os.chown(private, cfg["uid"], cfg["uid"])
    return private


def connect(cfg: dict, conn: dict, private: str, cmd: list[str]) -> list[str]:
    """Point nbgrader's socket names at the kernel's private folder; write the kernel's connection file there.
    Returns ``cmd`` reading that file."""
    inner = dict(conn, ip=f"{KERNEL_DIR}/ipc")  # the kernel binds its sockets in its private folder ...
    path = os.path.join(private, "kernel.json")
    with open(path + ".tmp", "w") as f:
        json.dump(inner, f)
    if cfg["uid"] is not None:
        os.chown(path + ".tmp", cfg["uid"], cfg["uid"])
    os.rename(path + ".tmp", path)
    for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
        name = f"{conn['ip']}-{conn[key]}"  # ... where nbgrader finds them through these links
        if os.path.lexists(name):
            os.unlink(name)
        os.symlink(os.path.join(private, f"ipc-{conn[key]}"), name)
    cmd = list(cmd)
    cmd[cmd.index("-f") + 1] = f"{KERNEL_DIR}/kernel.json"
    return cmd


def _records_fd(proc: subprocess.Popen, child: int) -> int:
    """A descriptor of the sandbox's records tmpfs, opened through its first process once bubblewrap has mounted
    it (that process waits on ``--block-fd`` until then): it stays readable after the sandbox is gone."""
    path = f"/proc/{child}/root{RECORDS}"
    for _ in range(3000):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            fd = None
        if fd is not None:
            try:
                if os.fstat(fd).st_dev != os.stat(os.path.dirname(path)).st_dev:  # the tmpfs, not the folder below
                    return fd
            except OSError:
                pass
            os.close(fd)
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    raise OSError("the sandbox did not mount its records folder")


def start(cfg: dict, job: str, private: str, files: str, cmd: list[str], **popen) -> subprocess.Popen:
    """The bubblewrap sandbox running ``cmd`` under the limits, as the sandbox uid, first to go on OOM. No ``cmd``:
    the sandbox runs only its PID 1 (``inside``), which a zygote's kernel joins. Nothing in it runs before the
    launcher holds its records folder (``proc.records``, a descriptor)."""
    stage = Stage(cfg["uid"], private + "-stage")
    args = _bwrap_args(cfg, job, private, stage, files)
    seccomp_r, seccomp_w = os.pipe()
    os.write(seccomp_w, _seccomp_no_setsid())
    os.close(seccomp_w)
    info_r, info_w = os.pipe()
    block_r, block_w = os.pipe()
    args += ["--seccomp", str(seccomp_r), "--info-fd", str(info_w), "--block-fd", str(block_r),
             *([] if cmd else ["--as-pid-1"]), "--", cfg["python"], "-I", os.path.abspath(__file__), "--inner",
             json.dumps(cfg["limits"]), "--", *cmd]

    def child() -> None:
        with open("/proc/self/oom_score_adj", "w") as f:  # the first victim if memory runs out, never the grader
            f.write("1000")
        stage.enter()

    try:
        proc = subprocess.Popen(args, pass_fds=[seccomp_r, info_w, block_r], preexec_fn=child, **popen)
    finally:
        for fd in (seccomp_r, info_w, block_r):
            os.close(fd)
    try:
        with os.fdopen(info_r, "rb") as info:
            child_pid = json.loads(info.read() or b"{}").get("child-pid")
        if not child_pid:
            raise OSError("bubblewrap could not start the sandbox")
        proc.records = _records_fd(proc, int(child_pid))
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        os.close(block_w)  # the sandbox goes on
    return proc


def copy_records(src: int, dest: str, max_files: int) -> int:
    """Copy the plain files and folders of the records tmpfs ``src`` (a descriptor; its size is capped by the
    tmpfs) into ``dest``, never following a link; at most ``max_files`` entries. Returns how many were left out."""
    left_out, count = 0, 0
    stack = [(os.dup(src), dest)]
    while stack:
        fd, target = stack.pop()
        try:
            for entry in os.scandir(fd):
                st = entry.stat(follow_symlinks=False)
                count += 1
                if count > max_files or not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                    left_out += 1
                    continue
                flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if stat.S_ISDIR(st.st_mode) else 0)
                child = os.open(entry.name, flags, dir_fd=fd)
                if stat.S_ISDIR(st.st_mode):
                    os.makedirs(os.path.join(target, entry.name), exist_ok=True)
                    stack.append((child, os.path.join(target, entry.name)))
                    continue
                with os.fdopen(child, "rb") as f, open(os.path.join(target, entry.name), "wb") as out:
                    shutil.copyfileobj(f, out)
        finally:
            os.close(fd)
    return left_out


def supervise(cfg: dict, job: str, proc: subprocess.Popen) -> int:
    """Wait for the sandbox (killing it on SIGTERM, or once it outlives the notebook's time budget by a minute:
    nbgrader's side stops it at the budget itself), copy its records out, write ``status.json``; exit status."""
    status = {"returncode": None, "stopped": None}
    budget = cfg.get("budget")

    def stop(why: str) -> None:
        status["stopped"] = status["stopped"] or why
        proc.kill()

    signal.signal(signal.SIGTERM, lambda *_: stop("terminated"))
    timer = threading.Timer(budget + BACKSTOP, stop, ["budget"]) if budget else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    rc = proc.wait()
    if timer is not None:
        timer.cancel()
    status["returncode"] = rc
    records = getattr(proc, "records", None)
    if records is not None:
        status["records_left_out"] = copy_records(records, os.path.join(job, "records"),
                                                  cfg["limits"]["records_files"])
        os.close(records)
    with open(os.path.join(job, "status.json"), "w") as f:
        json.dump(status, f)
    return rc if rc >= 0 else 128 - rc


def outside(config_path: str, cmd: list[str]) -> int:
    with open(config_path) as f:
        cfg = json.load(f)
    die_with_parent()  # die with nbgrader
    here = os.getcwd()
    job = job_of(cfg, here)
    if cfg["bwrap"] is None:  # --unsafe-no-sandbox: the kernel runs as the grader, only told where to record
        os.makedirs(os.path.join(job, "records"), exist_ok=True)
        os.environ["PRUNERL_CHECK_RECORDS"] = os.path.join(job, "records")
        os.execv(cmd[0], cmd)
    with open(os.path.abspath(cmd[cmd.index("-f") + 1])) as f:
        conn = json.load(f)
    private = new_private(cfg, job)
    cmd = connect(cfg, conn, private, cmd)
    return supervise(cfg, job, start(cfg, job, private, here, cmd))


def inside(limits: dict, cmd: list[str]) -> None:
    apply_rlimits(rlimits(limits))
    if cmd:
        os.execv(cmd[0], cmd)
    # PID 1 of a sandbox whose kernel a zygote starts: it learns the kernel's PID on stdin (from the launcher,
    # outside), reaps whatever is orphaned, and ends the sandbox with the kernel's exit status when the kernel
    # ends, as bubblewrap does for its command. No signal handler, so nothing inside can signal it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    line = sys.stdin.readline().strip()
    if not line.isdigit():
        os._exit(1)  # no kernel comes
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:  # the kernel's parent has not ended yet, so it is not ours yet
            time.sleep(0.005)
            continue
        if pid == int(line):
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    if sys.argv[1] == "--inner":
        inside(json.loads(sys.argv[2]), sys.argv[4:])
    else:
        sys.exit(outside(sys.argv[1], sys.argv[3:]))
