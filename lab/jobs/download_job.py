"""Job kind ``"download"``: ``lab.data.download.download`` (or ``refresh``) in a runner
process, so the Data page can close and reopen while bars land.

Payload::

    {"spec": DownloadSpec.to_dict(),     # a download, or
     "refresh": {"symbol": "BTCUSDT_BINANCE", "timeframe": "1h" | None},
     "max_cost": 1.25}                   # US dollars accepted for a paid source

Progress is counted in windows (requests); cancel is checked between windows and the
windows already fetched stay stored. ``resume`` runs the same payload again, which
fetches only what is still missing. The result is ``DownloadResult.to_dict()`` (a list
of them under ``"results"`` for a refresh).
"""

from __future__ import annotations

from typing import Any

from lab.data.sources.base import register_source

register_source("ib", "lab.live.ib.history")   # IB history lives in lab.live.ib (ib_async)


def prepare(payload: dict[str, Any]) -> tuple[dict, str, int, dict]:
    """Check a download payload before anything starts (no network).

    Returns
    -------
    (payload, title, total, result)

    Raises
    ------
    DataError
        Neither ``spec`` nor ``refresh``, an unknown source, or a bad symbol / time.
    """
    from lab.core.errors import DataError
    from lab.data.catalog import check_symbol
    from lab.data.download import DownloadSpec
    from lab.data.frames import to_utc
    from lab.data.sources.base import SOURCES, timeframe_delta

    out: dict[str, Any] = {}
    if payload.get("max_cost") is not None:
        out["max_cost"] = float(payload["max_cost"])
    if payload.get("refresh"):
        ref = dict(payload["refresh"])
        out["refresh"] = {"symbol": check_symbol(ref.get("symbol", "")),
                          "timeframe": ref.get("timeframe") or None}
        tf = out["refresh"]["timeframe"]
        return out, f"refresh {out['refresh']['symbol']}" + (f" {tf}" if tf else ""), 1, {}
    if not payload.get("spec"):
        raise DataError("a download job needs 'spec' (DownloadSpec.to_dict()) or 'refresh'")
    spec = DownloadSpec.from_dict(payload["spec"])
    if spec.source not in SOURCES:
        raise DataError(f"unknown source {spec.source!r}; sources: {', '.join(SOURCES)}")
    check_symbol(spec.symbol)
    timeframe_delta(spec.timeframe)
    to_utc(spec.start, "start")
    if spec.end:
        to_utc(spec.end, "end")
    out["spec"] = spec.to_dict()
    where = ", ".join(f"{v}" for v in spec.options.values() if v)
    title = f"download {spec.source} {spec.symbol} {spec.timeframe} from {spec.start[:10]}" \
            + (f" ({where})" if where else "")
    return out, title, 1, {}


def run(payload: dict[str, Any], ctx) -> dict[str, Any]:
    """Run (or resume) the download; ``JobCancelled`` when a cancel stopped it."""
    from lab.data import Catalog
    from lab.data.download import DownloadCancelled, DownloadSpec, download, refresh
    from lab.jobs.runner import JobCancelled

    catalog = Catalog(ctx.root)

    def progress(p) -> None:
        ctx.progress(p.done, max(p.total, 1))

    try:
        if "refresh" in payload:
            results = refresh(catalog, payload["refresh"]["symbol"],
                              payload["refresh"].get("timeframe"), progress=progress,
                              cancel=ctx.cancelled, max_cost=payload.get("max_cost"))
            ctx.progress(1, 1)
            return {"results": [r.to_dict() for r in results]}
        result = download(catalog, DownloadSpec.from_dict(payload["spec"]), progress=progress,
                          cancel=ctx.cancelled, max_cost=payload.get("max_cost"))
    except DownloadCancelled as exc:
        raise JobCancelled(str(exc)) from None
    if result.windows == 0:
        ctx.progress(1, 1)
    ctx.log(result.summary())
    return result.to_dict()
