"""Atomic, pickle-free file writing and checked .npz reading.

Every file annealrbm writes goes through `atomic_write`: the bytes land in a temporary
file in the same directory, are fsynced, then renamed over the target, so a crash never
leaves a half-written model or result behind. Ctrl-C during a save is held until the save is
done: cutting a save short gains nothing, and an interrupt inside zipfile's writer turns
into a ValueError that hides it.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()  # what open() would give: mkstemp's 0600 is too private


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) until the block (or decorated call) has finished, then raise the
    KeyboardInterrupt.

    Only where Python's own handler is installed, in the main thread: a handler the user
    set, or a nested block, is left alone.
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt


@interrupts_deferred()
def atomic_write(path: str | os.PathLike, payload: bytes) -> Path:
    """Write `payload` to `path` atomically (temporary file, fsync, rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    directory_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
    return target


def content_digest(arrays: Mapping[str, np.ndarray], text: str = "") -> str:
    """SHA-256 over `text` and every array's name, dtype, shape and bytes (in name order):
    stored inside a file, it shows on loading whether the content was edited or damaged."""
    digest = hashlib.sha256(text.encode("utf-8"))
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{array.dtype.str}|{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@interrupts_deferred()
def save_npz(path: str | os.PathLike, arrays: Mapping[str, Any]) -> Path:
    """Save arrays as an uncompressed .npz atomically; object arrays are refused."""
    buffer = io.BytesIO()
    checked = {}
    for key, value in arrays.items():
        array = np.asarray(value)
        if array.dtype == object:
            raise ValueError(f"refusing to save object array {key!r}: it would need pickle")
        checked[key] = array
    np.savez(buffer, **checked)
    return atomic_write(path, buffer.getvalue())


def load_npz(path: str | os.PathLike, required: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    """Load an .npz without ever unpickling; ValueError if it is unreadable or lacks `required`."""
    try:
        loaded = np.load(path, allow_pickle=False)
        arrays = None
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as archive:
                arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise ValueError(f"{what} file not found: {path}") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(
            f"{path} is not a valid {what} file (truncated, tampered or pickled content): {exc}"
        ) from None
    if arrays is None:  # a bare .npy array, not a file annealrbm saved
        article = "an" if what[:1].lower() in "aeiou" else "a"
        raise ValueError(f"{path} holds a single array (.npy), not {article} {what} file: pass a file written by "
                         "annealrbm (e.g. train --save model.npz)")
    missing = [key for key in required if key not in arrays]
    if missing:
        raise ValueError(f"{path} is not a valid {what} file: missing {', '.join(missing)}")
    return arrays


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented JSON atomically."""
    return atomic_write(path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))
