"""A zip of LMS downloads as grading input (``prunerl grade downloads.zip``).

Canvas names each downloaded file ``<student>_[LATE_]<user id>_<submission id>_<original file name>``, a
resubmission's original name getting ``-1``, ``-2``... before its extension. The student id is the ``<student>``
part; the assignment is matched from the original name as for any notebook. ``NAME_PATTERN`` also works as
``c.FileNameCollector.named_regexp`` for ``nbgrader zip_collect``, so both tools agree on the student ids.

The archive is learner-made data: no member may point outside it (zip-slip), and it may hold at most
``MAX_FILES`` files and unpack to at most ``MAX_BYTES`` (zip bombs); anything else refuses the whole zip.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

NAME_PATTERN = (r"^(?:.*/)?(?P<student_id>[A-Za-z0-9][A-Za-z0-9.-]*)_(?:(?P<late>LATE)_)?(?P<user_id>\d+)_"
                r"(?P<submission_id>\d+)_(?P<file_id>[^/]+)$")
NAME = re.compile(NAME_PATTERN)
RESUBMISSION = re.compile(r"^(?P<base>.+)-(?P<n>\d+)(?P<ext>\.[^.]+)$")
MAX_FILES = 10_000
MAX_BYTES = 2 * 1024 ** 3
SUFFIXES = (".ipynb", ".py")


class BadZip(ValueError):
    """The zip cannot be graded: unreadable, unsafe or too large (one line for the user)."""


@dataclass
class Download:
    member: str
    student: str | None        # None: the name does not follow the LMS pattern (graded as a loose notebook)
    user_id: str = ""
    order: tuple[int, int] = (0, 0)    # (submission id, resubmission number): larger is newer
    file_id: str = ""
    base: str = ""
    flags: list[str] | None = None


def parse_name(member: str) -> Download:
    """What an LMS download's file name says (``doejane_LATE_12345_678901_ex1-1.ipynb``)."""
    name = PurePosixPath(member).name
    m = NAME.match(name)
    if m is None:
        return Download(member, None, file_id=name, base=name, flags=[])
    file_id = m["file_id"]
    r = RESUBMISSION.match(file_id)
    base, n = (r["base"] + r["ext"], int(r["n"])) if r else (file_id, 0)
    flags = ["submitted after the due date (LATE in the LMS file name)"] if m["late"] else []
    return Download(member, m["student_id"], m["user_id"], (int(m["submission_id"]), n), file_id, base, flags)


def _check_member(zip_path: Path, info: zipfile.ZipInfo) -> None:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise BadZip(f"{zip_path}: member {info.filename!r} points outside the archive (zip-slip): refused")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise BadZip(f"{zip_path}: member {info.filename!r} is a symbolic link: refused")


def select(downloads: list[Download], zip_path: Path) -> list[Download]:
    """One file per learner and original name, the newest by the name's order; flags what was left out.
    Two learners sharing a name (different LMS user ids) get ``<name>-<user id>``."""
    users: dict[str, set[str]] = {}
    for d in downloads:
        if d.student:
            users.setdefault(d.student, set()).add(d.user_id)
    groups: dict[tuple, list[Download]] = {}
    for d in downloads:
        if d.student and len(users[d.student]) > 1:
            d.flags.append(f"{len(users[d.student])} LMS users share the name {d.student!r}: student id "
                           f"{d.student}-{d.user_id}")
            d.student = f"{d.student}-{d.user_id}"
        groups.setdefault((d.student, d.base) if d.student else (None, d.member), []).append(d)
    kept = []
    for group in groups.values():
        group.sort(key=lambda d: d.order)
        newest = group[-1]
        if len(group) > 1:
            older = ", ".join(PurePosixPath(d.member).name for d in group[:-1])
            newest.flags.append(f"{len(group)} files for {newest.base} from this learner in {zip_path.name}: "
                                f"graded the newest ({PurePosixPath(newest.member).name}); ignored {older}")
        kept.append(newest)
    return sorted(kept, key=lambda d: d.member)


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "prunerl" / "lms"


def _copy_capped(src, dest: Path, budget: list[int], zip_path: Path, max_bytes: int) -> None:
    with open(dest, "wb") as out:
        while chunk := src.read(1 << 20):
            budget[0] += len(chunk)
            if budget[0] > max_bytes:
                raise BadZip(f"{zip_path}: unpacks to more than {max_bytes / 1024 ** 2:.0f} MiB (a zip bomb?): refused")
            out.write(chunk)


def extract(zip_path: Path, root: Path | None = None) -> list[tuple[Path, str, Download]]:
    """The notebooks of an LMS zip, unpacked (once per zip content) under ``root`` (default: the user's cache):
    [(file, label, download)], the newest file per learner and original name."""
    zip_path, max_files, max_bytes = Path(zip_path), MAX_FILES, MAX_BYTES
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadZip(f"{zip_path}: not a readable zip file ({exc})") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > max_files:
            raise BadZip(f"{zip_path}: holds {len(infos)} files, more than {max_files} (a zip bomb?): refused")
        for info in infos:
            _check_member(zip_path, info)
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise BadZip(f"{zip_path}: unpacks to {declared / 1024 ** 2:.0f} MiB, more than "
                         f"{max_bytes / 1024 ** 2:.0f} MiB (a zip bomb?): refused")
        downloads = select([parse_name(i.filename) for i in infos
                            if PurePosixPath(i.filename).suffix in SUFFIXES], zip_path)
        digest = hashlib.sha256()
        with open(zip_path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        dest = Path(root or _cache_root()) / digest.hexdigest()[:24]
        files = [(dest / (d.student or f"_unnamed/{n}") / PurePosixPath(d.file_id).name, d)
                 for n, d in enumerate(downloads)]
        if not (dest / ".complete").exists():
            tmp = dest.with_name(f".tmp-{dest.name}-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True, mode=0o700)
            budget = [0]
            try:
                for path, d in files:
                    target = tmp / path.relative_to(dest)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(d.member) as src:
                        _copy_capped(src, target, budget, zip_path, max_bytes)
            except BadZip:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:  # corrupt or encrypted member
                shutil.rmtree(tmp, ignore_errors=True)
                raise BadZip(f"{zip_path}: cannot unpack ({type(exc).__name__}: {exc})") from None
            (tmp / ".complete").write_text(zip_path.name)
            shutil.rmtree(dest, ignore_errors=True)
            tmp.rename(dest)
    return [(path, f"{zip_path}:{d.member}", d) for path, d in files]
