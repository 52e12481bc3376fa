"""Crash-safe file writing shared by the bundle writer and the offline generators.

A file is written to a temp name in its own folder, flushed to disk and renamed over the target,
so a reader (or a rerun after kill -9) sees the old file or the new one, never half of one.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "TEMP_SUFFIX", "append_line", "atomic_output", "fsync_dir", "sha256_bytes", "sha256_file", "temp_path",
    "write_atomic", "write_tensors",
]

TEMP_SUFFIX = ".tmp"


def temp_path(path: Path) -> Path:
    """The temp name ``.{name}.{pid}.tmp`` beside ``path`` (hidden, unique per process)."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """The temp path to write ``path``'s new content to (for writers that take a file name: matplotlib,
    torchvision, safetensors); on leaving the block it is flushed to disk and renamed over ``path``,
    and on any error removed. The one place freqaug writes files atomically."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise PermissionError(f"{path}: cannot write here (permission denied on folder {path.parent}/)") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` via temp file + fsync + rename; on any error the temp file is removed."""
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_tensors(path: str | os.PathLike[str], tensors: Mapping[str, Any], metadata: Mapping[str, str]) -> Path:
    """``tensors`` (name -> CPU tensor) and string ``metadata`` as one safetensors file, written atomically
    (bundles, checkpoints and segnet files: weights in safetensors, metadata as JSON text, never a pickle)."""
    from safetensors.torch import save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, save(dict(tensors), metadata=dict(metadata)))
    fsync_dir(path.parent)
    return path


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make renames inside ``folder`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def append_line(path: str | os.PathLike[str], line: str) -> None:
    """Append one text line to ``path`` and fsync it (a crash leaves at most a partial last line)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line.rstrip("\n") + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()
