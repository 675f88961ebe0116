"""The one data-folder rule.

Everything the project generates at run time (the bar store and its DuckDB catalog,
sweeps, walk-forward results, Optuna studies, the MLflow store, the job table, the
bots' ledgers) lives under one folder: the ``root`` a caller passes, else
``$LAB_DATA_DIR``, else ``./data`` (relative to the current working directory, which is
the repository for ``make``, ``streamlit run app.py`` and ``python -m lab``).

The folder is returned absolute, so a path handed to a child process (a job runner, a
bot) means the same folder whatever that process's working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that moves the data folder.
DATA_DIR_ENV = "LAB_DATA_DIR"
#: Data folder when neither a root nor ``$LAB_DATA_DIR`` is given (relative to the cwd).
DEFAULT_DATA_DIR = "data"


def data_root(root: str | Path | None = None) -> Path:
    """The data folder: ``root``, else ``$LAB_DATA_DIR``, else ``./data``; absolute.

    Parameters
    ----------
    root : str or Path, optional
        An explicit folder (a CLI ``--store`` / ``--root``, a test's temporary folder).
        An empty ``$LAB_DATA_DIR`` counts as unset.

    Returns
    -------
    Path
        Absolute path (symlinks resolved); the folder is not created.
    """
    if root is None or str(root) == "":
        root = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(root).resolve()


def data_path(name: str, root: str | Path | None = None) -> Path:
    """``<data>/<name>``, e.g. ``data_path("sweeps")``; not created.

    Parameters
    ----------
    name : str
        Sub-folder or file name under the data folder.
    root : str or Path, optional
        As in ``data_root``.
    """
    return data_root(root) / name


__all__ = ["DATA_DIR_ENV", "DEFAULT_DATA_DIR", "data_path", "data_root"]
