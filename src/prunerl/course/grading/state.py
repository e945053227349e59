"""The results folder, trusted only where it carries our signature.

Every state record, the merged gradebook and the cached course copy carry an HMAC-SHA256 made with a key kept in
``<out>/.key`` (0600). No sandbox ever sees the results folder, and a record or file whose signature does not
verify (edited after the run, by anyone) is not trusted: the notebook is graded again and the result says so.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import warnings
from pathlib import Path

from .protocol import REVIEW

STATE_VERSION = 3
TAMPERED = ("its stored result had been changed since it was graded (the record's signature did not match): "
            "graded again")


def load_key(out: Path) -> bytes:
    path = Path(out) / ".key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) == 32:
            return key
        path.unlink()  # damaged: every record signed with it is now untrusted, which is what we want
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def sign(key: bytes, *parts: bytes | str) -> str:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        mac.update(len(data).to_bytes(8, "little") + data)
    return mac.hexdigest()


def _record_mac(key: bytes, name: str, entry: dict) -> str:
    body = {k: entry.get(k) for k in ("digest", "result", "autograded")}
    return sign(key, name, json.dumps(body, sort_keys=True))


def load_state(path: Path, key: bytes, resume: bool) -> tuple[dict, set[str]]:
    """(state, names of records whose signature failed). Unsigned or unreadable state is started afresh."""
    state = {"version": STATE_VERSION, "results": {}}
    tampered: set[str] = set()
    if not resume or not path.exists():
        return state, tampered
    try:
        loaded = json.loads(path.read_text())
    except (json.JSONDecodeError, OSError, UnicodeDecodeError):
        return state, {"*"}
    if not isinstance(loaded, dict) or loaded.get("version") != STATE_VERSION or not isinstance(
            loaded.get("results"), dict):
        return state, tampered
    for name, entry in loaded["results"].items():
        if isinstance(entry, dict) and hmac.compare_digest(str(entry.get("mac", "")), _record_mac(key, name, entry)):
            state["results"][name] = entry
        else:
            tampered.add(name)
    return state, tampered


def save_state(path: Path, state: dict, key: bytes) -> None:
    for name, entry in state["results"].items():
        entry["mac"] = _record_mac(key, name, entry)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(path)


def tree_mac(key: bytes, root: Path) -> str:
    """Signature of every file under ``root`` (names and contents), except the signature file itself."""
    parts: list[bytes | str] = []
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and path.name != ".complete":
            parts += [str(path.relative_to(root)), path.read_bytes()]
    return sign(key, *parts)


def _safe(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "notebook"


def student_id(res: dict) -> str:
    return _safe(res.get("student") or Path(res["path"]).stem)


def merge_gradebook(out: Path, template_db: Path, template_digest: str, results: list[dict], key: bytes) -> str | None:
    """Write every verified result into ``<out>/gradebook.db``; returns a note when the old one was not trusted.

    The database is signed after each merge; one changed since (a score edited in it) is rebuilt from the
    verified results instead of being updated."""
    from nbgrader.api import Gradebook

    db, stamp = out / "gradebook.db", out / "gradebook.mac"
    note = None
    expected = stamp.read_text().strip() if stamp.exists() else ""
    if db.exists() and not hmac.compare_digest(expected, sign(key, template_digest, db.read_bytes())):
        note = "gradebook.db had been changed since the last run (or was made by another course): rebuilt"
        db.unlink()
    if not db.exists():
        shutil.copy2(template_db, db)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy chatter inside nbgrader's api
        for res in results:
            if not res.get("assignment"):
                continue
            sid = student_id(res)
            gb.update_or_create_student(sid)
            sub = gb.update_or_create_submission(res["assignment"], sid)
            tests = {t["id"]: t for t in res["tests"]}
            for notebook in sub.notebooks:
                for grade in notebook.grades:
                    if grade.name in tests:
                        grade.auto_score = tests[grade.name]["score"]
                        grade.needs_manual_grade = str(tests[grade.name].get("message") or "").startswith(REVIEW)
            gb.db.commit()
    stamp.write_text(sign(key, template_digest, db.read_bytes()))
    return note
