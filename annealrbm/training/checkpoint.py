"""Training checkpoints: one atomic, pickle-free, checksummed .npz per saved epoch.

A checkpoint holds arrays (model, optimizer moments, persistent chains) and a JSON document
(history, random-generator states, the run's configuration). Its SHA-256 over every array
and the JSON is stored inside and checked on loading, so truncated or edited files are
refused instead of silently continuing a different run.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from annealrbm.fileio import content_digest as _digest
from annealrbm.fileio import load_npz, save_npz

FORMAT_NAME = "annealrbm.Checkpoint"
FORMAT_VERSION = 1
_FILE_PATTERN = re.compile(r"^checkpoint-(\d{6,})\.npz$")


def checkpoint_path(directory: str | os.PathLike, epoch: int) -> Path:
    return Path(directory) / f"checkpoint-{epoch:06d}.npz"


def checkpoint_epoch(path: str | os.PathLike) -> int | None:
    """The epoch a checkpoint file name stands for, or None for other files."""
    match = _FILE_PATTERN.match(Path(path).name)
    return int(match.group(1)) if match else None


def _json_value(value: Any) -> Any:
    """numpy scalars and arrays (in history records) as plain JSON values."""
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else str(value)


def save_checkpoint(
    directory: str | os.PathLike, epoch: int, arrays: dict[str, np.ndarray], document: dict[str, Any], keep: int = 2
) -> Path:
    """Write checkpoint `epoch` atomically, then delete all but the newest `keep` checkpoints."""
    text = json.dumps(document, default=_json_value)
    path = save_npz(checkpoint_path(directory, epoch), {
        **arrays,
        "format": np.array(FORMAT_NAME),
        "format_version": np.array(FORMAT_VERSION),
        "document": np.array(text),
        "sha256": np.array(_digest(arrays, text)),
    })
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(directory: str | os.PathLike) -> list[Path]:
    """Checkpoint files in `directory`, oldest epoch first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(epoch, path) for path in directory.iterdir() if (epoch := checkpoint_epoch(path)) is not None]
    return [path for _, path in sorted(found)]


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The newest checkpoint in `directory`, or None."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, document) of a checkpoint; ValueError if it is truncated, edited, pickled or foreign."""
    arrays = load_npz(path, ("format", "format_version", "document", "sha256"), "checkpoint")
    if str(arrays.pop("format")) != FORMAT_NAME:
        raise ValueError(f"{path} is not an annealrbm checkpoint")
    version = int(arrays.pop("format_version"))
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format {version}; this annealrbm reads up to {FORMAT_VERSION}: upgrade it")
    text, stored = str(arrays.pop("document")), str(arrays.pop("sha256"))
    if _digest(arrays, text) != stored:
        raise ValueError(f"{path} fails its checksum (edited or corrupted); resume from an older checkpoint or start over")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} holds an unreadable run description: {exc}") from None
    return arrays, document
