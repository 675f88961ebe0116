"""Storage URLs with a password: the password stays in memory, in an environment
variable, or in one file readable by the user alone, never in a job row, a log or MLflow.

A URL is *kept* in one of three forms, and every place that stores or shows it
(job payloads and results, page widgets, CLI output, MLflow tags) holds that form:

- an environment reference, ``$LAB_OPTUNA_STORAGE`` (or ``${NAME}``): the process that
  opens the storage reads the variable; nothing is written;
- a URL without a password: kept as it is;
- a URL with a password: the whole URL is written to ``<data>/secrets/urls.json``
  (folder ``0700``, file ``0600``) under its redacted form
  (``postgresql://me:***@host/db``), and the redacted form is what is kept.

``resolve`` turns any kept form back into the URL to connect with, in the process that
connects (a job's runner, the page that reads a study).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from lab.core.errors import ConfigError
from lab.core.private import FILE_MODE, private_dir, write_private
from lab.core.urls import has_password, redact

#: ``$NAME`` or ``${NAME}``: a reference to an environment variable.
ENV_REF = re.compile(r"^\$(?:\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<n>[A-Za-z_][A-Za-z0-9_]*))$")
#: Environment variables whose value ``resolve`` matches a redacted form against.
KNOWN_ENV = ("LAB_OPTUNA_STORAGE",)


def secrets_path(root: str | Path | None = None) -> Path:
    """``<data>/secrets/urls.json`` (``root`` default ``$LAB_DATA_DIR`` or ``./data``)."""
    base = Path(root) if root is not None else Path(os.environ.get("LAB_DATA_DIR", "data"))
    return base.resolve() / "secrets" / "urls.json"


def env_name(text: str) -> str | None:
    """``"$LAB_OPTUNA_STORAGE"`` -> ``"LAB_OPTUNA_STORAGE"``; None for anything else."""
    m = ENV_REF.match(str(text).strip())
    return (m["b"] or m["n"]) if m else None


def _load(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the saved storage passwords in {path} ({exc}); "
                          "delete the file and give the storage URL again") from None


def keep(url: str, root: str | Path | None = None) -> str:
    """The form of ``url`` safe to store and show (see the module docstring).

    Parameters
    ----------
    url : str
        A storage URL as typed (with or without a password), or ``$NAME``.
    root : str or Path, optional
        Data folder whose ``secrets/urls.json`` keeps the password.

    Returns
    -------
    str
        ``$NAME`` unchanged, a URL without password unchanged, else the redacted URL
        (its password now saved ``0600``).
    """
    text = str(url).strip()
    if env_name(text) or not has_password(text):
        return text
    shown = redact(text)
    path = secrets_path(root)
    saved = _load(path)
    if saved.get(shown) != text:
        private_dir(path.parent)
        saved[shown] = text
        write_private(path, json.dumps(saved, indent=1, sort_keys=True))
    elif (path.stat().st_mode & 0o777) != FILE_MODE:
        os.chmod(path, FILE_MODE)
    return shown


def resolve(kept: str, root: str | Path | None = None) -> str:
    """The URL to connect with from a kept form (``keep``).

    Raises
    ------
    ConfigError
        ``$NAME`` whose variable is not set in this process, or a redacted URL whose
        password is neither saved under ``root`` nor in ``$LAB_OPTUNA_STORAGE``.
    """
    text = str(kept).strip()
    name = env_name(text)
    if name:
        value = os.environ.get(name, "").strip()
        if not value:
            raise ConfigError(f"storage ${name}: the environment variable {name} is not "
                              "set in this process; set it (export "
                              f"{name}=postgresql://user:password@host/db) or type the URL")
        return value
    if ":***@" not in text:
        return text
    for var in KNOWN_ENV:
        value = os.environ.get(var, "").strip()
        if value and redact(value) == text:
            return value
    saved = _load(secrets_path(root)).get(text)
    if saved:
        return saved
    raise ConfigError(f"storage {text}: its password is not saved on this machine; type "
                      "the URL with its password once, or use $LAB_OPTUNA_STORAGE")
