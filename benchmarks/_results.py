"""Bookkeeping of resumable benchmark grids: one results file per setup, filled by several processes.

``read_resumable`` refuses a results file recorded with another setup (naming the fields that
differ); ``locked`` serialises the processes that merge into one folder; ``claim_run`` /
``release_claim`` let two processes share a grid without running the same run twice (a killed
process's claims lapse). These stop a benchmark script with ``SystemExit``; they are not library code.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

from freqaug._files import write_atomic

__all__ = ["claim_run", "locked", "read_resumable", "release_claim"]


def read_resumable(path: Path, setup: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """A resumable results file: ``fresh`` (with ``setup``) when absent; one recorded with another
    ``setup`` is refused, naming the fields that differ, rather than mixed into."""
    if not path.is_file():
        return {**fresh, "setup": setup}
    results = json.loads(path.read_text())
    old, new = results.get("setup") or {}, json.loads(json.dumps(setup))  # as JSON stores it (tuples -> lists)
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if changed:
        detail = "; ".join(f"{k}: {old.get(k)!r} there, {new.get(k)!r} now" for k in changed)
        raise SystemExit(f"{path}: recorded with another setup ({detail}); use another --out, or remove the file to "
                         "start over")
    return results


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold FOLDER/.lock: several processes may fill one results file, each merging under the lock."""
    with open(Path(folder) / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claims(out: Path) -> list[dict[str, Any]]:
    """Runs started by processes that still live (a killed process's claims lapse)."""
    path = out / "claims.json"
    claims = json.loads(path.read_text()) if path.is_file() else []
    return [c for c in claims if _alive(c["pid"])]


def claim_run(out: Path, key: tuple, done: Callable[[], set]) -> bool:
    """Mark ``key`` as started by this process unless ``done()`` holds it or a live process claimed it; True if claimed."""
    with locked(out):
        claims = _claims(out)
        if list(key) in [c["key"] for c in claims] or key in done():
            return False
        claims.append({"key": list(key), "pid": os.getpid()})
        write_atomic(out / "claims.json", (json.dumps(claims) + "\n").encode())
        return True


def release_claim(out: Path, key: tuple) -> None:
    """Drop the claim of ``key`` (call under :func:`locked`)."""
    claims = [c for c in _claims(out) if c["key"] != list(key)]
    write_atomic(out / "claims.json", (json.dumps(claims) + "\n").encode())
