"""Warm sandboxes: started before nbgrader asks for their kernel (standard library only; run as ``python -I``).

``--warm CONFIG JOB FILES ZYGOTE`` (started by the grader's ``kernelpool``): build the notebook's sandbox exactly
as ``sandbox_launch.outside`` does, but with only its PID 1 in it (``sandbox_launch --inner`` without a command).
Listen on ``JOB/attach.sock`` (mode 0600, in a folder no sandbox can see) for the one notebook of that job; then
ask the batch's zygote of that track (``zygote.py``, on the socket ZYGOTE) to fork the kernel into this sandbox,
tell PID 1 the kernel's PID (it ends the sandbox with the kernel), and supervise the sandbox as ``outside`` does.

``--attach CONFIG -- KERNEL_CMD`` (the kernelspec's command, what nbgrader starts as "the kernel"): find the warm
sandbox of the job nbgrader runs in (from the working folder, as ``outside`` does), hand it the connection file,
the kernel command and its standard streams, then wait for the sandbox to end and exit with its status. The connection
stays open while the attach lives: if it dies (jupyter_client kills a kernel that does not shut down), the
sandbox is killed. No warm sandbox for this job, one that does not match, or no zygote: today's path
(``outside``).
"""
from __future__ import annotations

import importlib.util
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

_spec = importlib.util.spec_from_file_location(
    "sandbox_launch", os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_launch.py"))
sl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sl)

SOCKET = "attach.sock"
ATTACHED = "attached"  # marker the pool watches: this sandbox has its notebook
WARMING = "warming"  # marker the pool writes before starting a warm launcher: the attach waits for its socket


def _waiter(proc: subprocess.Popen) -> int:
    """The host PID of the sandbox's PID 1 once it runs ``sandbox_launch --inner`` (its filesystem is complete)."""
    for _ in range(1000):
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                kids = f.read().split()
            if kids and "--inner" in open(f"/proc/{kids[0]}/cmdline").read().split("\0"):
                return int(kids[0])
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    raise OSError("the warm sandbox did not start")


def _fork_kernel(cfg: dict, job: str, zygote: str, proc: subprocess.Popen, cmd: list[str], fds: list[int]) -> int:
    """Ask the zygote for the notebook's kernel inside ``proc``'s sandbox; its PID there, once it has started."""
    env = dict(sl.kernel_env(cfg, job), PWD=sl.WORK)  # bubblewrap's --chdir sets PWD too
    request = {"pid": _waiter(proc), "uid": cfg["uid"], "argv": cmd[3:], "cwd": sl.WORK, "env": env,
               "rlimits": sl.rlimits(cfg["limits"])}
    return sl.ask_zygote(zygote, request, fds)


def warm(config_path: str, job: str, files: str, zygote: str) -> int:
    with open(config_path) as f:
        cfg = json.load(f)
    sl.die_with_parent()  # die with the grader
    private = sl.new_private(cfg, job, "warm-kernel")  # never the folders of a fallback started the old way
    for name in (SOCKET, ATTACHED, "status.json"):
        if os.path.lexists(os.path.join(job, name)):
            os.unlink(os.path.join(job, name))
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(os.path.join(job, SOCKET))
    os.chmod(os.path.join(job, SOCKET), 0o600)  # before listen(): nobody else ever connects
    server.listen(1)
    proc = sl.start(cfg, job, private, files, [], stdin=subprocess.PIPE)  # only its PID 1, no kernel yet
    client = None
    while client is None and proc.poll() is None:
        if select.select([server], [], [], 0.2)[0]:
            client, _ = server.accept()
    os.unlink(os.path.join(job, SOCKET))  # one notebook per sandbox: a restarted kernel takes today's path
    os.unlink(os.path.join(job, WARMING))
    server.close()
    if client is None:
        proc.wait()
        return 1
    fds: list[int] = []
    try:
        request, fds = sl.receive_request(client, 3)
        cmd, conn = request["cmd"], request["conn"]
        if not (cmd[1:3] == ["-m", "ipykernel_launcher"] and "-f" in cmd
                and proc.poll() is None and request["files"] == sl.bound_files(files)):
            raise ValueError("the warm sandbox does not fit this notebook")
        kernel = _fork_kernel(cfg, job, zygote, proc, sl.connect(cfg, conn, private, cmd), fds)
        proc.stdin.write(f"{kernel}\n".encode())  # PID 1 ends the sandbox with this process
        proc.stdin.close()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"warm launcher: {exc}; the kernel starts the old way", file=sys.stderr, flush=True)
        proc.kill()
        proc.wait()
        try:
            client.sendall(b"no\n")
        except OSError:
            pass
        return 1
    finally:
        for fd in fds:
            os.close(fd)
    open(os.path.join(job, ATTACHED), "w").close()
    client.settimeout(None)
    client.sendall(b"ok\n")
    def hangup() -> None:  # EOF (or anything) from the attach: it died, and its sandbox goes with it
        try:
            client.recv(1)
        except OSError:
            pass
        proc.kill()

    threading.Thread(target=hangup, daemon=True).start()
    rc = sl.supervise(cfg, job, proc)
    try:
        client.sendall(f"{rc}\n".encode())
    except OSError:
        pass
    return rc


def attach(config_path: str, cmd: list[str]) -> int:
    with open(config_path) as f:
        cfg = json.load(f)
    sl.die_with_parent()  # die with nbgrader, which ends the connection, which kills the sandbox
    here = os.getcwd()
    job = sl.job_of(cfg, here)
    if cfg["bwrap"] is None:
        return sl.outside(config_path, cmd)
    for _ in range(500):  # a warm launcher just started for this job binds its socket in well under 10 s
        if os.path.exists(os.path.join(job, SOCKET)) or not os.path.exists(os.path.join(job, WARMING)):
            break
        time.sleep(0.02)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(os.path.join(job, SOCKET))
        with open(os.path.abspath(cmd[cmd.index("-f") + 1])) as f:
            conn = json.load(f)
        request = json.dumps({"cmd": cmd, "conn": conn, "files": sl.bound_files(here)}).encode() + b"\n"
        socket.send_fds(sock, [request], [0, 1, 2])
        reply = sock.makefile("rb")
        if reply.readline() != b"ok\n":
            raise ConnectionError("the warm sandbox does not fit this notebook")
    except (OSError, ValueError):
        sock.close()
        return sl.outside(config_path, cmd)
    line = reply.readline().strip()  # blocks while the kernel runs; the open connection keeps the sandbox alive
    return int(line) if line.lstrip(b"-").isdigit() else 1


if __name__ == "__main__":
    if sys.argv[1] == "--warm":
        sys.exit(warm(*sys.argv[2:6]))
    elif sys.argv[1] == "--attach":
        sys.exit(attach(sys.argv[2], sys.argv[4:]))
