"""Offline generation into a folder that survives kill -9: the engine of ``freqaug generate`` and ``expand``.

Image k is the file ``{prefix}{k:06d}.{png|jpg}`` made from ``bundle.z_for(seed, k)``. Every file
is encoded in a thread pool and written atomically (temp file, fsync, rename); then a line
``{"file", "seed", "index", "sha256"}`` is appended to the index (JSONL) and fsynced. A rerun of
the same command checks what is there (index entry, sha256, decodable, right size), drops temp
files and broken index lines, and writes only the missing images, in the same aligned batches an
uninterrupted run uses, so the folder ends byte-identical to an uninterrupted run.

A layout-conditional bundle draws image k from a label map: the run takes a :data:`LayoutFn`
(``k -> (uint8 (H, W) class ids, the name of its source)``), writes that map as
``{labels}/{prefix}{k:06d}.png`` before the image (atomically too), and the index line also holds
the label's sha256 and source, so a resumed run checks the pair.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

from freqaug._files import TEMP_SUFFIX, append_line, sha256_bytes, sha256_file, write_atomic
from freqaug._json import parse_json
from freqaug._checks import check_int
from freqaug.bundle.core import Bundle

__all__ = [
    "FORMATS", "GenerateReport", "LayoutFn", "OutputFolder", "OutputFolderError", "Target", "bundle_identity",
    "generate_to_folder", "read_layouts", "to_uint8",
]

LayoutFn = Callable[[int], tuple[np.ndarray, str]]
"""Image index k -> (its label map, uint8 (H, W) class ids at the bundle's size; the name of its source)."""

FORMATS: dict[str, list[int]] = {"png": [], "jpg": [cv2.IMWRITE_JPEG_QUALITY, 95]}  # extension -> cv2 options
PARAMS_FORMAT = "freqaug-offline"
PARAMS_VERSION = 1


class OutputFolderError(ValueError):
    """The output folder belongs to another run, is in use, or cannot be written; names the folder."""


@dataclass(frozen=True)
class Target:
    """Where an offline run writes: image folder, file name prefix, index and parameter files, format."""

    folder: Path
    index: Path
    params: Path
    prefix: str = ""
    fmt: str = "png"
    labels: Path | None = None  # a conditional run's label folder (PNG label maps named like the images)

    def name(self, index: int) -> str:
        """File name of image ``index``."""
        return f"{self.prefix}{index:06d}.{self.fmt}"

    def label_name(self, index: int) -> str:
        """File name of image ``index``'s label map (always PNG: ids must survive exactly)."""
        return f"{self.prefix}{index:06d}.png"

    def index_of(self, name: str) -> int | None:
        """The image index a file name encodes, or None for other files."""
        match = re.fullmatch(rf"{re.escape(self.prefix)}(\d{{6,}})\.{self.fmt}", name)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class GenerateReport:
    """What one offline run did."""

    folder: Path
    total: int  # images in the folder now (= n)
    reused: int  # valid images found from an earlier run
    written: int  # images written by this run
    seconds: float

    @property
    def images_per_second(self) -> float:
        """Written images per second of this run."""
        return self.written / self.seconds if self.seconds > 0 else 0.0


def to_uint8(images: Tensor) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> uint8 (N, H, W, C) in OpenCV's channel order (BGR for 3 channels)."""
    array = images.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    if array.shape[-1] == 3:
        array = array.flip(-1)
    return np.ascontiguousarray(array.cpu().numpy())


def _decodes_to(data: bytes, size: tuple[int, int]) -> bool:
    """True if ``data`` is an image file of (H, W) ``size``."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return image is not None and tuple(image.shape[:2]) == tuple(size)


class OutputFolder:
    """An offline run's output folder, held with an exclusive lock while it is written.

    ``identity`` (bundle sha256, seed, format, ...) is stored in the parameter file on first use;
    a later run with other values is refused, so no folder mixes the images of two runs.
    """

    def __init__(self, target: Target, identity: dict[str, Any]) -> None:
        if target.fmt not in FORMATS:
            raise ValueError(f"format: expected one of {sorted(FORMATS)}, got {target.fmt!r}")
        self.target, self.identity = target, identity
        self._lock_fd: int | None = None
        self._index_lock = threading.Lock()

    # ---- opening: lock, identity --------------------------------------------------------------

    def __enter__(self) -> OutputFolder:
        folder = self.target.folder
        if folder.exists() and not folder.is_dir():
            raise OutputFolderError(f"{folder}: exists and is not a folder; expected an output folder")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(folder, os.O_RDONLY)
        except OSError as err:
            raise OutputFolderError(f"{folder}: cannot create or open the output folder ({err.strerror})") from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.__exit__()
            raise OutputFolderError(
                f"{folder}: another freqaug run is writing to this folder; wait for it or use another"
            ) from None
        try:
            self._remove_temp_files()
            self._check_identity()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _check_identity(self) -> None:
        """Refuse a folder made by another run; record this run's identity in a new folder."""
        params = self.target.params
        if params.exists():
            saved = _read_json(params)
            for key, value in self.identity.items():
                if saved.get(key) != value:
                    raise OutputFolderError(
                        f"{self.target.folder}: holds the images of another run ({params.name}: {key} "
                        f"{saved.get(key)!r}, this run {value!r}); use another output folder or the same "
                        "bundle, seed and format"
                    )
            return
        present = sorted(p.name for p in self.target.folder.iterdir())
        if present or self.target.index.exists():
            raise OutputFolderError(
                f"{self.target.folder}: not empty ({', '.join(present[:3]) or self.target.index.name}) and no "
                f"{params.name}: not a folder of an earlier run, so nothing is overwritten; use a new or empty folder"
            )
        record = {"format": PARAMS_FORMAT, "version": PARAMS_VERSION, **self.identity}
        write_atomic(params, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())

    # ---- resume: what is already there -------------------------------------------------------

    def _remove_temp_files(self) -> None:
        """Temp files of killed writers (images, index) are deleted."""
        patterns = [(self.target.folder, f".*{TEMP_SUFFIX}"),
                    (self.target.index.parent, f".{self.target.index.name}.*{TEMP_SUFFIX}")]
        if self.target.labels is not None and self.target.labels.is_dir():
            patterns.append((self.target.labels, f".{self.target.prefix}*{TEMP_SUFFIX}"))
        for folder, pattern in patterns:
            for path in folder.glob(pattern):
                path.unlink(missing_ok=True)

    def _index_entries(self, seed: int) -> dict[int, dict[str, Any]]:
        """Well-formed index lines of this seed, by image index (the last line of an index wins)."""
        entries: dict[int, dict[str, Any]] = {}
        if not self.target.index.exists():
            return entries
        for line in self.target.index.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash
            if _well_formed(entry, self.target, seed) and (
                self.target.labels is None or isinstance(entry.get("label_sha256"), str)
            ):
                entries[entry["index"]] = entry
        return entries

    def _entry_valid(self, entry: dict[str, Any], size: tuple[int, int]) -> bool:
        """The entry's file (and label file) exists, has the recorded sha256 and decodes to an image of ``size``."""
        files = [(self.target.folder / entry["file"], entry["sha256"])]
        if self.target.labels is not None:
            files.append((self.target.labels / self.target.label_name(entry["index"]), entry["label_sha256"]))
        for path, sha256 in files:
            try:
                data = path.read_bytes()
            except OSError:
                return False
            if sha256_bytes(data) != sha256 or not _decodes_to(data, size):
                return False
        return True

    def existing(self, n: int, seed: int, size: tuple[int, int], pool: ThreadPoolExecutor) -> dict[int, dict[str, Any]]:
        """Valid images of an earlier run; removes unindexed or broken images and rewrites the index."""
        entries = self._index_entries(seed)
        checks = dict(zip(entries, pool.map(lambda e: self._entry_valid(e, size), entries.values())))
        valid = {i: entries[i] for i in sorted(entries) if checks[i]}
        beyond = [i for i in valid if i >= n]
        if beyond:
            raise OutputFolderError(
                f"{self.target.folder}: holds {len(beyond)} image(s) with index >= {n} (up to "
                f"{self.target.name(max(beyond))}); ask for at least {max(beyond) + 1} or use another output folder"
            )
        for path in self.target.folder.iterdir():
            index = self.target.index_of(path.name)
            if index is not None and index not in valid:
                path.unlink()  # unindexed (killed before its index line) or damaged: made again
        if self.target.labels is not None and self.target.labels.is_dir():
            for path in self.target.labels.glob(f"{self.target.prefix}*.png"):
                match = re.fullmatch(rf"{re.escape(self.target.prefix)}(\d{{6,}})\.png", path.name)
                if match and int(match.group(1)) not in valid:
                    path.unlink()
        lines = "".join(json.dumps(e, sort_keys=True) + "\n" for e in valid.values())
        write_atomic(self.target.index, lines.encode())
        return valid

    # ---- writing -----------------------------------------------------------------------------

    def _write_image(self, index: int, seed: int, pixels: np.ndarray,
                     layout: tuple[np.ndarray, str] | None = None) -> None:
        """Encode, write atomically (a conditional run: the label map first), then append and fsync the index line."""
        name = self.target.name(index)
        path = self.target.folder / name
        entry: dict[str, Any] = {"file": name, "index": index, "seed": seed}
        try:
            if layout is not None and self.target.labels is not None:
                label = _encode(self.target.labels / self.target.label_name(index), layout[0], "png")
                write_atomic(self.target.labels / self.target.label_name(index), label)
                entry |= {"label_sha256": sha256_bytes(label), "layout": layout[1]}
            data = _encode(path, pixels, self.target.fmt)
            write_atomic(path, data)
            with self._index_lock:
                entry["sha256"] = sha256_bytes(data)
                append_line(self.target.index, json.dumps(entry, sort_keys=True))
        except OSError as err:
            raise OutputFolderError(
                f"{path}: cannot write ({err.strerror or err}); the images written so far are kept"
            ) from None

    def fill(
        self, bundle: Bundle, *, n: int, seed: int, batch_size: int = 64, bands_dir: Path | None = None,
        progress: bool = True, workers: int | None = None, layouts: LayoutFn | None = None,
    ) -> GenerateReport:
        """Make the folder hold exactly images 0..n-1 of ``seed``, writing only what is missing; a conditional
        bundle draws image k from ``layouts(k)`` and its label map is written beside it."""
        from freqaug._progress import progress_bar

        if bundle.channels not in (1, 3):
            raise ValueError(f"{bundle.path}: image files need 1 or 3 channels, the bundle has {bundle.channels}")
        _check_conditional(bundle, layouts, self.target)
        if self.target.labels is not None:
            self.target.labels.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        workers = workers or min(4, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="freqaug-write") as pool:
            valid = self.existing(n, seed, bundle.image_size, pool)
            bar = progress_bar(total=n, initial=len(valid), unit="img", desc=f"writing {self.target.folder.name}",
                       disable=not progress)
            try:
                written = self._write_missing(bundle, pool, bar, _blocks(n, batch_size, valid), seed, batch_size,
                                              bands_dir, window=2 * workers * max(batch_size, 1), layouts=layouts)
            finally:
                bar.close()
        return GenerateReport(self.target.folder, len(valid) + written, len(valid), written, time.perf_counter() - start)

    def _write_missing(
        self, bundle: Bundle, pool: ThreadPoolExecutor, bar, blocks: Iterable[tuple[int, int, list[int]]],
        seed: int, batch_size: int, bands_dir: Path | None, window: int, layouts: LayoutFn | None = None,
    ) -> int:
        """Generate each block and queue its missing files; at most ``window`` files in flight."""
        pending: deque[Future] = deque()
        written = 0
        try:
            for first, count, missing in blocks:
                maps = None if layouts is None else [layouts(i) for i in range(first, first + count)]
                what: Any = count if maps is None else torch.from_numpy(np.stack([m for m, _ in maps]))
                pixels = to_uint8(bundle.generate(what, seed=seed, start=first, batch_size=batch_size))
                for index in missing:
                    layout = None if maps is None else maps[index - first]
                    pending.append(pool.submit(self._write_image, index, seed, pixels[index - first], layout))
                if bands_dir is not None:
                    _save_bands(bundle, seed, first, bands_dir / f"{self.target.prefix}{first:06d}.png",
                                None if maps is None else what[:1])
                while len(pending) > window:
                    pending.popleft().result()
                    written += 1
                    bar.update(1)
            while pending:
                pending.popleft().result()
                written += 1
                bar.update(1)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        return written


def _well_formed(entry: Any, target: Target, seed: int) -> bool:
    """An index line of this run: the right keys and types, and a file name that matches the index."""
    if not isinstance(entry, dict):
        return False
    index = entry.get("index")
    return (
        isinstance(index, int) and not isinstance(index, bool) and index >= 0 and entry.get("seed") == seed
        and entry.get("file") == target.name(index) and isinstance(entry.get("sha256"), str)
    )


def _blocks(n: int, batch_size: int, valid: dict[int, Any]) -> Iterator[tuple[int, int, list[int]]]:
    """(first index, count, missing indices) of every batch-aligned block with a missing image, planned one
    block at a time (``n`` may be far more images than fit in memory as a plan)."""
    for first in range(0, n, batch_size):
        count = min(batch_size, n - first)
        missing = [i for i in range(first, first + count) if i not in valid]
        if missing:
            yield first, count, missing


def _save_bands(bundle: Bundle, seed: int, index: int, path: Path, layout: torch.Tensor | None = None) -> None:
    """A band grid (freqaug.viz) of image ``index`` (drawn from ``layout`` (1, H, W) for a conditional bundle):
    the image, its generated bands and their histograms."""
    from freqaug.viz import save_band_grid

    z = bundle.z_for(seed, [index])
    extra = () if layout is None else (layout.to(bundle.device),)
    bands = {name: band[0] for name, band in bundle.bands_from_z(z, *extra).items()}
    save_band_grid(bundle.images_from_z(z, *extra)[0], bands, bundle.spec, path,
                   title=f"{path.stem}: generated bands ({bundle.spec.describe()})")


def _encode(path: Path, pixels: np.ndarray, fmt: str) -> bytes:
    """``pixels`` encoded as a ``fmt`` file's bytes (for ``path``, named in the error)."""
    ok, encoded = cv2.imencode(f".{fmt}", pixels, FORMATS[fmt])
    if not ok:
        raise OutputFolderError(f"{path}: OpenCV could not encode the image")
    return encoded.tobytes()


def _check_conditional(bundle: Bundle, layouts: LayoutFn | None, target: Target) -> None:
    """A conditional bundle gets layouts and a label folder, an unconditional one neither."""
    if bundle.classes is None:
        if layouts is not None or target.labels is not None:
            raise ValueError(f"{bundle.path}: the bundle is unconditional (manifest 'classes' is null) and takes no "
                             "layouts; leave the label maps out")
        return
    if layouts is None or target.labels is None:
        raise ValueError(
            f"{bundle.path}: a layout-conditional bundle ({bundle.classes.num_classes} classes) draws images from "
            "label maps; give a folder of label PNGs (freqaug generate --layouts DIR) or use "
            "bundle.generate(layouts, seed=...)"
        )


def read_layouts(paths: Sequence[Path], bundle: Bundle, workers: int | None = None) -> list[np.ndarray]:
    """Label maps (uint8 (H, W) ids) of ``paths``, each checked against the conditional bundle (its size, class
    ids or ignore id); an error names the file."""
    from freqaug.data import read_label

    def read(path: Path) -> np.ndarray:
        label = read_label(path)
        bundle.model.check_labels(torch.from_numpy(label)[None], str(path))
        return label

    if not paths:
        raise ValueError("layouts: no label files; expected PNG label maps (one class id per pixel)")
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(read, paths))


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object file, or an OutputFolderError naming it."""
    try:
        data = parse_json(path.read_text(), str(path))
    except (OSError, ValueError) as err:
        raise OutputFolderError(f"{path}: cannot read the run parameters ({err})") from None
    if not isinstance(data, dict):
        raise OutputFolderError(f"{path}: expected a JSON object of run parameters")
    return data


def bundle_identity(bundle: Bundle, seed: int, fmt: str) -> dict[str, Any]:
    """What an output folder must agree on to be resumed: the bundle file's sha256, seed and format."""
    return {"bundle_sha256": sha256_file(bundle.path), "seed": seed, "image_format": fmt}


def generate_to_folder(
    bundle: Bundle, out: str | os.PathLike[str], *, n: int, seed: int = 0, batch_size: int = 64, fmt: str = "png",
    with_bands: bool = False, progress: bool = True, layouts: str | os.PathLike[str] | None = None,
) -> GenerateReport:
    """``freqaug generate``: images 0..n-1 of ``seed`` as ``out/{k:06d}.{fmt}``, ``out/index.jsonl``,
    ``out/generate.json`` (and band grids in ``out/bands/``); resumes an interrupted run. A conditional
    bundle takes ``layouts``, a folder of label PNGs: image k is drawn from file k % count (sorted by
    name), and the label map is written as ``out/labels/{k:06d}.png``."""
    out = Path(out)
    identity = bundle_identity(bundle, seed, fmt)
    layout_fn, labels = None, None
    if layouts is not None and bundle.classes is not None:
        layout_fn, identity["layouts"] = _folder_layouts(Path(layouts), bundle)
        labels = out / "labels"
    elif layouts is not None:
        raise ValueError(f"--layouts: the bundle {bundle.path} is unconditional (manifest 'classes' is null) and "
                         "draws no scenes from label maps; leave --layouts out")
    target = Target(out, out / "index.jsonl", out / "generate.json", "", fmt, labels)
    _check_conditional(bundle, layout_fn, target)  # every argument is checked before the folder is touched,
    bundle.z_for(seed, [max(n - 1, 0)])  # so a refused command leaves nothing that refuses the corrected one
    check_int(batch_size, "batch_size", 1, 2**63 - 1)
    with OutputFolder(target, identity) as folder:
        return folder.fill(bundle, n=n, seed=seed, batch_size=batch_size,
                           bands_dir=out / "bands" if with_bands else None, progress=progress, layouts=layout_fn)


def _folder_layouts(folder: Path, bundle: Bundle) -> tuple[LayoutFn, dict[str, Any]]:
    """(image k -> label file k % count of ``folder``, the folder's identity: count and sha256 of names and bytes)."""
    from freqaug.data import IMAGE_EXTENSIONS

    if not folder.is_dir():
        raise ValueError(f"--layouts {folder}: not a folder; expected a folder of label PNGs (class id per pixel)")
    paths = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS),
                   key=lambda p: p.name)
    if not paths:
        raise ValueError(f"--layouts {folder}: no label files; expected PNG label maps (one class id per pixel)")
    maps = read_layouts(paths, bundle)
    digest = sha256_bytes(b"".join(p.name.encode() + b"\0" + m.tobytes() for p, m in zip(paths, maps)))
    return (lambda k: (maps[k % len(maps)], paths[k % len(maps)].name)), {"count": len(maps), "sha256": digest}
