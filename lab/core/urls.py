"""Connection URLs shown to people: never with their password."""

from __future__ import annotations


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
