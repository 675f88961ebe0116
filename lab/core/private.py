"""Files and folders readable by their owner alone, for anything that can hold
credentials or trading state (the job table, Optuna and MLflow databases, secrets,
the bots' ledgers).

Create them through these helpers *before* a library (SQLite, SQLAlchemy, MLflow) opens
them: SQLite gives its ``-wal`` / ``-shm`` / ``-journal`` files the mode of the
database file, so a database created ``0600`` stays private with its companions.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Mode of a private file (``rw-------``) and of a private folder (``rwx------``).
FILE_MODE, DIR_MODE = 0o600, 0o700


def private_dir(path: str | Path) -> Path:
    """Create folder ``path`` (and its parents) if missing and make it ``0700``.

    Parents that already exist keep their mode; parents created here get ``0700`` too.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        The folder cannot be created or its mode changed (not its owner).
    """
    path = Path(path)
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    for p in [path, *missing]:
        if stat.S_IMODE(p.stat().st_mode) != DIR_MODE:
            os.chmod(p, DIR_MODE)
    return path


def private_file(path: str | Path) -> Path:
    """Create ``path`` empty with mode ``0600`` if missing (its folder as by
    ``private_dir`` when missing); an existing file is set to ``0600``, its content
    untouched.

    An existing file is never opened: closing any descriptor of a SQLite database
    releases every POSIX lock the process holds on it (fcntl semantics), which would
    break a connection this process has open.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        The file cannot be created or its mode changed.
    """
    path = Path(path)
    if not path.parent.exists():
        private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
            os.chmod(path, FILE_MODE)
        return path
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:       # a restrictive umask
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def sqlite_private(path: str | Path) -> Path:
    """``private_file`` for a SQLite database and the ``-wal`` / ``-shm`` /
    ``-journal`` files it may already have (left by an older version)."""
    path = private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        extra = Path(f"{path}{suffix}")
        if extra.exists() and stat.S_IMODE(extra.stat().st_mode) != FILE_MODE:
            os.chmod(extra, FILE_MODE)
    return path


def write_private(path: str | Path, text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8) atomically, mode ``0600`` from the start
    (the temporary file is private before a byte is written).

    Raises
    ------
    OSError
    """
    from lab.core.files import write_atomic

    path = Path(path)
    if not path.parent.exists():
        private_dir(path.parent)
    write_atomic(path, lambda fh: (os.fchmod(fh.fileno(), FILE_MODE),
                                   fh.write(text.encode("utf-8"))))
    return path
