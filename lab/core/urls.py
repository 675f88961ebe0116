"""Connection URLs shown to people: never with their password."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

#: ``scheme://user:password@`` anywhere in a text (a log line, an error message).
_CREDS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):"
                    r"(?P<pw>[^@\s/]+)@")


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for output, logs and MLflow tags.

    ``postgresql://me:secret@host/db`` -> ``postgresql://me:***@host/db``; text that is
    not a URL with credentials comes back unchanged.
    """
    text = str(url)
    if "://" not in text or "@" not in text:
        return text
    try:
        from sqlalchemy.engine import make_url

        return make_url(text).render_as_string(hide_password=True)
    except Exception:                # noqa: BLE001 - not a URL SQLAlchemy reads
        scheme, rest = text.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else text


def redact_text(text: str) -> str:
    """Every ``scheme://user:password@`` in free text (an error message, a traceback)
    with the password replaced by ``***``."""
    return _CREDS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", str(text))


def has_password(url: str) -> bool:
    """True when ``url`` carries a password (``scheme://user:password@host``) other
    than the redacted ``***``."""
    m = _CREDS.search(str(url))
    return bool(m) and m["pw"] != "***"


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``http://user:pass@host:5000/x`` -> (``http://host:5000/x``, ``user``, ``pass``).

    User and password are percent-decoded (``p%40ss`` is ``p@ss``); a URL without them
    comes back unchanged with (None, None).
    """
    parts = urlsplit(str(url))
    if parts.username is None and parts.password is None:
        return str(url), None, None
    host = parts.hostname or ""
    if ":" in host:                  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username is not None else None
    pw = unquote(parts.password) if parts.password is not None else None
    return clean, user, pw
