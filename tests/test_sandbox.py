"""Hostile notebooks graded through the real ``prunerl grade`` path (tests/fixtures/hostile).

One grading run (``--jobs 2``) holds every attack beside honest notebooks whose scores are known from grading them
alone (full 4, partial 2, zero 0, as in test_grading_infra); a second run on a real course exercise holds the
cell-hook attack, which only the out-of-process checker can defeat. Both runs take the default path, warm kernels
(``kernelpool``); the tests at the end compare a warm kernel with one started on demand and kill an attach.
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from prunerl.cli import main
from prunerl.runtime import TF_QUIET_ENV
from prunerl.commands import grade as grade_command
from prunerl.course.grading import sandbox
from prunerl.course.grading.layout import default_layout, grade_id
from prunerl.course.grading.grade import grade

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures"
HOSTILE = FIXTURE / "hostile"
A = "fx_demo"
LIMITS = sandbox.Limits(memory=2 * sandbox.GiB, disk=64 * 1024 ** 2, records_bytes=32 * 1024 ** 2)
HONEST = {"v1_full": 4.0, "v2_partial": 2.0, "v3_zero": 0.0, "v4_full": 4.0}
ATTACKS = ("find_databases", "rewrite_others", "read_secrets", "kill_grader", "detach", "fork_bomb", "huge_alloc",
           "huge_file", "flood_records")

pytestmark = pytest.mark.skipif(sandbox.unavailable() is not None, reason="no sandbox on this system")


def _cell(nb, gid):
    return next(c for c in nb.cells if grade_id(c) == gid)


def _with_attack(nb, name: str):
    nb = copy.deepcopy(nb)
    nb.cells.insert(2, nbformat.v4.new_code_cell((HOSTILE / f"{name}.py").read_text()))
    return nb


def _attack_output(out: Path, label: str) -> str:
    """What the attack cell printed, from the autograded notebook the grader kept."""
    path = next(p for p in (out / "autograded").glob("*/*/*.ipynb") if label in p.parts[-3])  # <student>/<a>/
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for o in nb.cells[2].outputs if o.get("output_type") == "stream")


@pytest.fixture(scope="session")
def attacked(fx_course, tmp_path_factory) -> dict:
    """Every attack (on the released notebook: nothing implemented, so any point is unearned) in one run,
    with honest notebooks in both batches."""
    d = tmp_path_factory.mktemp("sbx_subs")
    rel = nbformat.read(fx_course.exercises / f"{A}.ipynb", as_version=4)
    sol = nbformat.read(fx_course.solutions / f"{A}.ipynb", as_version=4)
    full = copy.deepcopy(rel)
    for gid in ("threshold_prune", "double"):
        _cell(full, gid).source = _cell(sol, gid).source
    partial = copy.deepcopy(full)
    _cell(partial, "threshold_prune").source = (
        "def threshold_prune(w, threshold):\n    w = np.asarray(w, dtype=float)\n"
        "    return np.where(np.abs(w) >= threshold, w, 0.0)\n")
    honest = {"v1_full": full, "v2_partial": partial, "v3_zero": rel, "v4_full": full}
    names = sorted(list(HONEST) + [f"a_{n}" for n in ATTACKS], key=lambda n: n[-3:])  # victims in both batches
    for name in names:
        nb = honest[name] if name in honest else _with_attack(rel, name[2:])
        nbformat.write(nb, d / f"{A}_{name}.ipynb")
    out = tmp_path_factory.mktemp("sbx_out")
    t0 = time.time()
    summary = grade([d], fx_course, out, jobs=2, timeout=60, limits=LIMITS)
    by = {Path(nb["path"]).stem[len(A) + 1:]: nb for nb in summary["notebooks"]}
    return {"by": by, "out": out, "subs": d, "summary": summary, "seconds": time.time() - t0,
            "state": (out / "state.json").read_text()}


@pytest.mark.slow
def test_honest_notebooks_score_as_alone_and_every_result_is_written(attacked):
    by = attacked["by"]
    assert {n: by[n]["score"] for n in HONEST} == HONEST
    assert all(not by[n]["flags"] for n in HONEST)
    assert set(by) == set(HONEST) | {f"a_{n}" for n in ATTACKS}
    state = json.loads(attacked["state"])
    assert len(state["results"]) == len(by)


@pytest.mark.slow
@pytest.mark.parametrize("attack", ATTACKS)
def test_attackers_earn_nothing(attacked, attack):
    res = attacked["by"][f"a_{attack}"]
    assert res["score"] == 0 and res["max_score"] == 4


@pytest.mark.slow
def test_gradebooks_notebooks_and_secrets_are_out_of_reach(attacked):
    out = attacked["out"]
    text = _attack_output(out, "a_find_databases")
    assert text.startswith("ATTACK databases: wrote 0 of [")
    found = ast.literal_eval(text.split(" of ", 1)[1])  # only read-only files of the installed runtime
    assert all(p.startswith((sys.prefix + "/", "/usr/")) for p in found), found
    assert _attack_output(out, "a_rewrite_others").startswith("ATTACK rewrite: overwrote 0 files")
    assert _attack_output(out, "a_read_secrets").startswith("ATTACK secrets: read 0 files")
    for sub in attacked["subs"].iterdir():  # the submissions themselves are untouched
        assert len(nbformat.read(sub, as_version=4).cells) > 3


@pytest.mark.slow
def test_kernel_sees_no_other_process_and_no_network(attacked):
    text = _attack_output(attacked["out"], "a_kill_grader")
    assert text.startswith("ATTACK kill: saw pids [1], network blocked")


@pytest.mark.slow
def test_nothing_outlives_its_notebook(attacked):
    assert "left a process behind" in _attack_output(attacked["out"], "a_detach")
    time.sleep(2)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 1234.5" not in ps
    assert (attacked["out"] / "state.json").read_text() == attacked["state"]


@pytest.mark.slow
@pytest.mark.parametrize("attack, says", [
    ("fork_bomb", f"started more than {LIMITS.resolved().processes} processes or threads, the grading limit"),
    ("huge_alloc", "used more than 2 GiB of memory, the grading limit"),
    ("huge_file", "64 MiB"),
])
def test_limits_are_reported_in_the_learners_terms(attacked, attack, says):
    flags = " ".join(attacked["by"][f"a_{attack}"]["flags"])
    assert f"cell 2 {says}" in flags or ("cell 2 " in flags and says in flags)


@pytest.mark.slow
def test_flooding_the_records_folder_fills_only_its_own_tmpfs(attacked):
    """The records folder is a 32 MiB tmpfs of the notebook's own sandbox: the flood stops there ("No space left
    on device"), is reported as a limit, and the notebook is still graded."""
    res = attacked["by"]["a_flood_records"]
    assert any("cell 2 wrote more than" in f and "the grading limit" in f for f in res["flags"]), res["flags"]
    assert all(t["message"] and not t["message"].startswith("not graded") for t in res["tests"])


@pytest.mark.slow
def test_resume_regrades_records_changed_after_the_run(fx_course, attacked, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(attacked["out"], out)
    subs = [attacked["subs"] / f"{A}_v3_zero.ipynb", attacked["subs"] / f"{A}_v2_partial.ipynb"]
    state = json.loads((out / "state.json").read_text())
    for entry in state["results"].values():  # what a surviving process would do: full marks for everyone
        entry["result"]["score"] = entry["result"]["max_score"]
    (out / "state.json").write_text(json.dumps(state))
    with (out / "gradebook.db").open("r+b") as f:
        f.seek(100)
        f.write(b"x")
    cached = next((out / ".cache").glob(f"course-*/source/{A}/{A}.ipynb"))
    master = cached.read_text()
    cached.write_text(master.replace("assert double(3) == 6", "assert True"))  # a weakened master copy
    calls: list[str] = []
    again = grade(subs, fx_course, out, timeout=60, limits=LIMITS, progress=calls.append)
    assert "2 to grade" in calls[0]
    assert [n["score"] for n in again["notebooks"]] == [0.0, 2.0]
    assert all(any("signature did not match" in f for f in n["flags"]) for n in again["notebooks"])
    assert any("gradebook.db had been changed" in c for c in calls)
    assert cached.read_text() == master  # the cached course copy was rebuilt, not trusted
    assert oct((out / ".key").stat().st_mode & 0o777) == "0o600"
    calls.clear()
    grade(subs, fx_course, out, timeout=60, limits=LIMITS, progress=calls.append)  # the rebuilt db verifies
    assert "0 to grade" in calls[0] and not any("gradebook.db had been changed" in c for c in calls)


# ----------------------------------------------------------------------------------------- refusal and CLI
def test_no_sandbox_refuses_untrusted_work_in_one_line(fx_course, tmp_path, monkeypatch, capsys):
    sub = tmp_path / f"{A}.ipynb"
    shutil.copy2(fx_course.exercises / f"{A}.ipynb", sub)
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap
    args = ["grade", str(sub), "--root", str(fx_course.root), "--out", str(tmp_path / "out")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bubblewrap" in err and "--unsafe-no-sandbox" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_unsafe_no_sandbox_still_grades(fx_course, tmp_path, monkeypatch, capsys):
    nb = nbformat.read(fx_course.exercises / f"{A}.ipynb", as_version=4)
    sol = nbformat.read(fx_course.solutions / f"{A}.ipynb", as_version=4)
    for gid in ("threshold_prune", "double"):
        _cell(nb, gid).source = _cell(sol, gid).source
    nbformat.write(nb, tmp_path / f"{A}.ipynb")
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # no bwrap
    args = ["grade", str(tmp_path / f"{A}.ipynb"), "--root", str(fx_course.root), "--out", str(tmp_path / "out"),
            "--json", "--unsafe-no-sandbox", "--timeout", "60"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["total"] == 4 and "NO SANDBOX" in captured.err


@pytest.mark.parametrize("bad", [["--memory", "lots"], ["--disk", "0"], ["--cpu", "0"]])
def test_bad_limits_are_one_line_errors(tmp_path, capsys, bad):
    assert main(["grade", str(tmp_path), *bad]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_grading_page_states_the_default_limits():
    section = " ".join((REPO / "docs" / "grading.md").read_text().split())  # the README links this page
    lim, parser = sandbox.Limits(), argparse.ArgumentParser()
    grade_command.add_arguments(parser)
    args = parser.parse_args([str(REPO)])
    assert sandbox.parse_size(args.memory) == lim.memory and sandbox.parse_size(args.disk) == lim.disk
    assert args.cpu == lim.cpu
    assert (f"`--memory` {sandbox.human(lim.memory)} per process, `--disk` {sandbox.human(lim.disk)} per file and "
            f"per scratch folder, `--cpu` {lim.cpu} CPU seconds per process), plus {lim.files} open files and "
            "max(128, 16 × CPU count) processes") in section
    assert max(128, 16 * (os.cpu_count() or 1)) == lim.resolved().processes
    assert f"capped at {sandbox.human(lim.records_bytes)} and {lim.records_files:,} files" in section
    assert f"`--memory` plus {sandbox.human(sandbox.HEADROOM)} (`sandbox.HEADROOM`)" in section
    assert f"`prunerl grade --memory {args.memory} --disk {args.disk} --cpu {args.cpu}`" in section


def test_records_keep_only_plain_files_and_folders(tmp_path):
    from prunerl.course.grading.judging import clean_records

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ok.json").write_text("{}")
    (tmp_path / "leak.json").symlink_to("/etc/passwd")  # would point the checker at a host file
    os.mkfifo(tmp_path / "sub" / "block.npz")  # would block the checker's read
    assert clean_records(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["ok.json", "sub"]


def test_sizes_parse_and_print():
    assert sandbox.parse_size("4G") == 4 * sandbox.GiB and sandbox.parse_size("512MiB") == 512 * 1024 ** 2
    assert sandbox.human(4 * sandbox.GiB) == "4 GiB" and sandbox.human(64 * 1024 ** 2) == "64 MiB"
    with pytest.raises(ValueError, match="not a size"):
        sandbox.parse_size("-1G")


# ------------------------------------------------------------------------------- the checker decides, not the kernel
@pytest.mark.slow
def test_a_cell_hook_earns_nothing_on_a_checked_exercise(tmp_path):
    """Wrapping every later cell in try/except makes nbgrader see no failure; the checker sees no work. The honest
    solutions of both tracks (kernels forked from a zygote that imported torch and TensorFlow) also show that a
    graded kernel's address space stays below ``sandbox.HEADROOM``, what the memory limit adds to ``--memory``."""
    layout = default_layout()
    a = "ex1_threshold_torch"
    rel = nbformat.read(layout.exercises / f"{a}.ipynb", as_version=4)
    d = tmp_path / "subs"
    d.mkdir()
    nbformat.write(_with_attack(rel, "hook_cells"), d / f"{a}_hook.ipynb")
    for track in ("ex1_threshold_torch", "ex1_threshold_tf"):
        sol = nbformat.read(layout.solutions / f"{track}.ipynb", as_version=4)
        for cell in sol.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        sol.cells.append(nbformat.v4.new_code_cell(
            "print('VmPeak', dict(l.split(':', 1) for l in open('/proc/self/status'))['VmPeak'].split()[0])"))
        nbformat.write(sol, d / f"{track}_solution.ipynb")
    out = tmp_path / "out"
    summary = grade([d], layout, out, timeout=120)
    by = {Path(n["path"]).stem: n for n in summary["notebooks"]}
    hook = by[f"{a}_hook"]
    assert hook["score"] == 0
    assert all(t["message"] for t in hook["tests"])
    assert os.path.exists(out / "state.json")
    for track in ("ex1_threshold_torch", "ex1_threshold_tf"):
        honest = by[f"{track}_solution"]
        assert honest["score"] == honest["max_score"] > 0, honest
        path = next(p for p in (out / "autograded").rglob("*.ipynb") if f"{track}_solution" in str(p))
        printed = "".join(o.get("text", "") for o in nbformat.read(path, as_version=4).cells[-1].outputs)
        assert int(printed.split("VmPeak")[1].split()[0]) * 1024 < sandbox.HEADROOM, printed


# ------------------------------------------------------------------------------- warm kernels (kernelpool)
PROBE = r'''
import ctypes, json, os, random, signal, subprocess, sys
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
print(json.dumps({"path": sys.path, "argv": sys.argv, "flags": str(sys.flags), "cwd": os.getcwd(),
                  "main": sys.modules["__main__"].__name__, "exe": sys.executable, "tmp": sorted(os.listdir("/tmp")),
                  "home": sorted(os.listdir(os.path.expanduser("~"))), "env": dict(os.environ),
                  "procs": sorted(open(f"/proc/{p}/cmdline").read() for p in os.listdir("/proc") if p.isdigit()),
                  "ppid": os.getppid(), "umask": os.umask(0o22),
                  "std": [os.readlink(f"/proc/self/fd/{fd}").split(":")[0] for fd in (0, 1, 2)],
                  "privileges": {k: status[k].split() for k in ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff",
                                                               "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")},
                  "userns": ctypes.CDLL(None).unshare(0x10000000), "limits": open("/proc/self/limits").read(),
                  "preimported": "numpy" in sys.modules, "random": random.random()}))
open("/tmp/left-by-an-earlier-notebook", "w").close()
open(os.path.expanduser("~/left-by-an-earlier-notebook"), "w").close()
subprocess.Popen(["sleep", "1234.25"], start_new_session=False)
'''


SECRETS = {"JPY_API_TOKEN": "hub-token-0123", "JUPYTERHUB_API_TOKEN": "hub-token-4567",
           "GRADER_DB_PASSWORD": "hunter2", "LC_SECRET_TOKEN": "lc-token-89"}


def _probed(fx_course, tmp_path, warm: str, students: int, monkeypatch) -> list[dict]:
    """What a first cell sees, for ``students`` notebooks graded one after the other in one batch."""
    from prunerl.course.grading.grade import prepare_template, run_batch

    monkeypatch.setenv("PRUNERL_WARM_KERNELS", warm)
    for name, value in SECRETS.items():  # what a JupyterHub server's environment holds, and any other secret
        monkeypatch.setenv(name, value)
    template = prepare_template(fx_course, tmp_path / "cache" / ".cache")
    rel = nbformat.read(fx_course.exercises / f"{A}.ipynb", as_version=4)
    rel.cells.insert(1, nbformat.v4.new_code_cell(PROBE))
    entries = [(f"s{i:05d}", A, rel) for i in range(students)]
    with tempfile.TemporaryDirectory(prefix="prunerl-grade-") as tmp:  # as grade(): a folder the sandbox uid
        raws = run_batch(template, entries, Path(tmp) / "batch", 60, False, LIMITS)  # can traverse when root
        attached = [(sandbox.job_dir(Path(tmp) / "batch", sid, A) / "attached").exists() for sid, _a, _nb in entries]
    assert attached == [warm != "0"] * students
    seen = []
    for sid, _a, _nb in entries:
        assert raws[(sid, A)]["autograded"] is not None, raws[(sid, A)]["error"]
        cell = raws[(sid, A)]["autograded"].cells[1]
        seen.append(json.loads("".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")))
    return seen


@pytest.mark.slow
def test_warm_kernels_are_fresh_kernels_and_share_nothing(fx_course, tmp_path, monkeypatch):
    """Consecutive notebooks of a batch get warm kernels that see what a kernel started for them alone sees:
    same interpreter state, an empty /tmp and home, no process of the notebook before (it sleeps on)."""
    warm = _probed(fx_course, tmp_path, "2", 3, monkeypatch)
    cold = _probed(fx_course, tmp_path, "0", 1, monkeypatch)[0]
    assert cold["privileges"]["CapBnd"] == ["0000000000000000"] and cold["privileges"]["NoNewPrivs"] == ["1"]
    assert cold["userns"] == -1 and cold["ppid"] == 1 and not cold.pop("preimported")
    for seen in [*warm, cold]:  # the environment is an allow-list: no Hub token, no secret of the grader's
        assert not set(SECRETS) & set(seen["env"]) and not set(SECRETS.values()) & set(seen["env"].values())
        inherited = {k for k, v in seen["env"].items() if os.environ.get(k) == v}  # (ipykernel sets a few more)
        assert inherited <= {*sandbox.PASSED, *TF_QUIET_ENV, "PATH", "PYTHONWARNINGS", "TERM"}, inherited
    assert len({seen.pop("random") for seen in warm} | {cold.pop("random")}) == 4  # each its own random state
    for seen in warm:  # forked by the zygote (it imported the library), otherwise a kernel like any other:
        assert seen.pop("preimported")  # same privileges, limits, environment, parent, standard streams; only the
        assert len(seen.pop("procs")) == len(cold["procs"])  # command line of PID 1 differs, never their number
        assert seen["env"] == cold["env"], set(seen["env"].items()) ^ set(cold["env"].items())
        assert seen == {k: v for k, v in cold.items() if k != "procs"}
    # a runtime folder under /tmp (a checkout there) is mounted read-only at its own path: its top folder shows
    mounts = {Path(p).relative_to("/tmp").parts[0] for p in sandbox._runtime_paths([])
              if Path(p).is_relative_to("/tmp") and Path(p) != Path("/tmp")}
    assert set(cold["tmp"]) <= mounts and "left-by-an-earlier-notebook" not in cold["home"]
    assert not any("1234.25" in p for p in cold["procs"])
    assert cold["argv"][1:3] == ["-f", "/run/kernel/kernel.json"] and cold["cwd"] == "/home/learner/work"
    time.sleep(1)
    assert "sleep 1234.25" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(p))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
                alive.add(pid)
        except OSError:
            pass
    return alive


@pytest.mark.slow
def test_a_killed_attach_leaves_no_sandbox_alive(monkeypatch):
    """jupyter_client SIGKILLs a kernel that does not shut down: with a warm kernel that is the attach process,
    and the sandbox it attached to (and what the notebook started in it) must die with it. A warm sandbox no
    notebook took dies when the batch ends."""
    from jupyter_client.manager import KernelManager

    from prunerl.course.grading.kernelpool import WarmPool

    tmp = tempfile.TemporaryDirectory(prefix="prunerl-grade-")
    batch = Path(tmp.name) / "batch"
    env, _args = sandbox.prepare(batch, LIMITS, [], warm=True)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    here = batch / "course" / "autograded" / "s00000" / A
    here.mkdir(parents=True)
    (batch / "course" / "source" / A).mkdir(parents=True)
    with WarmPool(batch, batch / "course", [("s00000", A), ("s00001", A)], 2) as pool:
        km = KernelManager(kernel_name=sandbox.KERNEL_NAME, transport="ipc", ip=str(batch / "runtime" / "kernel"))
        km.start_kernel(cwd=str(here))
        client = km.blocking_client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("import subprocess; subprocess.Popen(['sleep', '1234.75'])", timeout=60)
        assert reply["content"]["status"] == "ok"
        assert (sandbox.job_dir(batch, "s00000", A) / "attached").exists()
        (warm_proc, _job), (idle_proc, _idle_job) = pool.procs
        inside, idle = _descendants(warm_proc.pid), _descendants(idle_proc.pid) | {idle_proc.pid}
        assert len(idle) >= 3  # its launcher, bwrap, the bootstrap: never attached
        assert len(inside) >= 3  # bwrap, the kernel, its sleep
        os.kill(km.provisioner.process.pid, 9)  # the attach, as jupyter_client's kill does it
        km.provisioner.process.wait()
        deadline = time.time() + 20
        while _alive(inside | {warm_proc.pid}) and time.time() < deadline:
            time.sleep(0.2)
        client.stop_channels()
        assert not _alive(inside | {warm_proc.pid}) and _alive(idle)
    deadline = time.time() + 20
    while _alive(idle) and time.time() < deadline:
        time.sleep(0.2)
    assert not _alive(idle)  # the batch is over: the sandbox nobody asked for is gone too
    tmp.cleanup()
    assert "sleep 1234.75" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_the_pool_follows_nbgrader_order_and_the_page_states_the_lookahead():
    from prunerl.course.grading import kernelpool

    jobs = [("s00001", "ex1_threshold_tf"), ("s00000", "ex2_structured_torch"), ("s00000", "ex1_threshold_torch")]
    paths = sorted(f"submitted/{s}/{a}" for s, a in jobs)  # nbgrader: sorted(glob("submitted/*/*"))
    assert [f"submitted/{s}/{a}" for s, a in kernelpool.nbgrader_order(jobs)] == paths
    assert [kernelpool.framework(a) for _s, a in jobs] == ["tf", "torch", "torch"] and kernelpool.framework(A) == "none"
    words = {1: "one", 2: "two", 3: "three"}
    section = " ".join((REPO / "docs" / "grading.md").read_text().split())
    assert f"starts the sandboxes of the next {words[kernelpool.DEFAULT_AHEAD]} (in the order" in section


@pytest.mark.slow
def test_the_tensorflow_zygote_imports_torch_only_for_notebooks_that_do():
    """What a zygote imports for TensorFlow exercises, imported in one process: TensorFlow, and torch only for the
    exercises whose notebooks import ``prunerl.train`` themselves (they fine-tune through a torch twin)."""
    from prunerl.course.grading import kernelpool

    layout = default_layout()
    code = ("import importlib, sys\nfor m in MODS: importlib.import_module(m)\n"
            "print('torch' in sys.modules, 'tensorflow' in sys.modules)")
    for exercises, torch in ((("ex1", "ex2", "ex3"), "False"), (("ex4", "ex5"), "True")):
        mods = sorted({m for a in layout.built_assignments() if a.endswith("_tf") and a.startswith(exercises)
                       for m in kernelpool.warm_modules(layout.course, a)})
        assert "tensorflow" in mods and "prunerl.keras_nets" in mods
        assert not any(m.startswith("prunerl.course") for m in mods)
        out = subprocess.run([sys.executable, "-c", code.replace("MODS", repr(mods))], capture_output=True,
                             text=True, check=True, env=dict(os.environ, PYTHONWARNINGS="ignore")).stdout.split()
        assert out == [torch, "True"], exercises


def test_a_zygote_refuses_to_serve_with_the_checker_imported(tmp_path):
    """Kernels inherit everything the zygote imported: it exits before listening if that includes the checker."""
    from prunerl.course.grading import kernelpool

    sock = tmp_path / "zygote.sock"
    res = subprocess.run([sys.executable, str(kernelpool.ZYGOTE), str(sock), "prunerl.course.grading.checker",
                          os.pathsep.join(sandbox.hidden_paths())], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, HOME="/home/learner"))
    assert res.returncode != 0 and "refusing to serve" in res.stderr and not sock.exists()


class _DeadZygote:
    """A run's zygote that died while importing."""

    def __new__(cls, folder: Path):
        from prunerl.course.grading import kernelpool

        zygote = kernelpool.Zygote(folder, folder, [])
        zygote.proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
        return zygote


@pytest.mark.slow
def test_without_a_zygote_kernels_start_the_old_way(fx_course, tmp_path, monkeypatch):
    """A run whose zygote died still grades every notebook, each kernel started on demand in its sandbox (and the
    checker started fresh)."""
    from prunerl.course.grading.grade import prepare_template, run_batch

    monkeypatch.setenv("PRUNERL_WARM_KERNELS", "2")
    template = prepare_template(fx_course, tmp_path / "cache" / ".cache")
    sol = nbformat.read(fx_course.solutions / f"{A}.ipynb", as_version=4)
    entries = [(f"s{i:05d}", A, sol) for i in range(2)]
    with tempfile.TemporaryDirectory(prefix="prunerl-grade-") as tmp:
        zygote = _DeadZygote(Path(tmp))
        raws = run_batch(template, entries, Path(tmp) / "batch", 60, False, LIMITS, zygote=zygote)
        zygote.stop()
        attached = [(sandbox.job_dir(Path(tmp) / "batch", sid, A) / "attached").exists() for sid, _a, _nb in entries]
    assert attached == [False, False]
    for sid, _a, _nb in entries:
        grades = raws[(sid, A)]["grades"]
        assert raws[(sid, A)]["autograded"] is not None and grades
        assert all(score == top for score, top, _auto in grades.values()), grades
