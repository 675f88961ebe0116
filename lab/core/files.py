"""Crash-safe file writes shared by the data store, sweeps and jobs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through ``write(fh)`` on a temporary file in the same folder,
    fsync it, then ``os.replace`` it into place: readers see the old file or the whole
    new one, never a half-written file, even if the process is killed.

    Parameters
    ----------
    path : Path
        Destination; its folder is created if missing.
    write : callable
        Receives the open binary file handle.

    Raises
    ------
    Whatever ``write`` or the file system raises; the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
