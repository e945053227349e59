"""Warm sandboxes: started before nbgrader asks for their kernel (standard library only; run as ``python -I``).

``--warm CONFIG JOB FILES MODULES`` (started by the grader's ``kernelpool``): build the notebook's sandbox exactly
as ``sandbox_launch.outside`` does, but run ``warm_kernel.py MODULES`` in it: it imports them, then waits.
Listen on ``JOB/attach.sock`` (mode 0600, in a folder no sandbox can see) for the one notebook of that job.

``--attach CONFIG -- KERNEL_CMD`` (the kernelspec's command, what nbgrader starts as "the kernel"): find the warm
sandbox of the job nbgrader runs in (from the working folder, as ``outside`` does), hand it the connection file,
the kernel command and stdout/stderr, then wait for the sandbox to end and exit with its status. The connection
stays open while the attach lives: if it dies (jupyter_client kills a kernel that does not shut down), the
sandbox is killed. No warm sandbox for this job, or one that does not match: today's path (``outside``).
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

BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "warm_kernel.py")
SOCKET = "attach.sock"
ATTACHED = "attached"  # marker the pool watches: this sandbox has its notebook
WARMING = "warming"  # marker the pool writes before starting a warm launcher: the attach waits for its socket


def _relay(src: int, targets: list, buffered: bytearray, lock: threading.Lock) -> None:
    """Copy the sandbox's output to nbgrader's once attached; until then keep up to 1 MiB of it."""
    while chunk := os.read(src, 65536):
        with lock:
            if not targets:
                buffered += chunk[: max(0, 2 ** 20 - len(buffered))]
                continue
        try:
            os.write(targets[0], chunk)
        except OSError:
            pass


def warm(config_path: str, job: str, files: str, modules: str) -> int:
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
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    proc = sl.start(cfg, job, private, files, [cfg["python"], BOOTSTRAP, modules],
                    stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w)
    os.close(out_w)
    os.close(err_w)
    lock, targets = threading.Lock(), {out_r: [], err_r: []}
    buffers = {out_r: bytearray(), err_r: bytearray()}
    for fd in (out_r, err_r):
        threading.Thread(target=_relay, args=(fd, targets[fd], buffers[fd], lock), daemon=True).start()
    client = None
    while client is None and proc.poll() is None:
        if select.select([server], [], [], 0.2)[0]:
            client, _ = server.accept()
    os.unlink(os.path.join(job, SOCKET))  # one notebook per sandbox: a restarted kernel takes today's path
    os.unlink(os.path.join(job, WARMING))
    server.close()
    if client is None:  # the bootstrap died before its notebook came: its output goes to the pool's log
        proc.wait()
        with lock:
            for fd in (out_r, err_r):
                os.write(2, bytes(buffers[fd]))
        return 1
    try:
        client.settimeout(30)
        msg, fds, _flags, _addr = socket.recv_fds(client, 2 ** 20, 2)
        while not msg.endswith(b"\n"):
            more = client.recv(2 ** 20)
            if not more:
                raise ValueError("the attach hung up")
            msg += more
        request = json.loads(msg)
        cmd, conn = request["cmd"], request["conn"]
        ok = (len(fds) == 2 and cmd[1:3] == ["-m", "ipykernel_launcher"] and "-f" in cmd and proc.poll() is None
              and request["files"] == sl.bound_files(files))
    except (OSError, ValueError, KeyError, TypeError):
        ok, fds = False, []
    if not ok:
        proc.kill()
        proc.wait()
        for fd in fds:
            os.close(fd)
        try:
            client.sendall(b"no\n")
        except OSError:
            pass
        return 1
    cmd = sl.connect(cfg, conn, private, cmd)
    with open(os.path.join(private, "argv.json.tmp"), "w") as f:
        json.dump(cmd[3:], f)  # the arguments after ``python -m ipykernel_launcher``
    os.rename(os.path.join(private, "argv.json.tmp"), os.path.join(private, "argv.json"))
    with lock:
        for fd, target in zip((out_r, err_r), fds):
            try:
                os.write(target, bytes(buffers[fd]))
            except OSError:
                pass
            targets[fd].append(target)
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
        socket.send_fds(sock, [request], [1, 2])
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
