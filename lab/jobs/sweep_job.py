"""Job kind ``"sweep"``: ``lab.research.sweep.run_sweep`` in a runner process.

Payload::

    {"spec": SweepSpec.to_dict(),      # required (a flat SweepSpec.to_dict() also works)
     "sweep_id": "sw-...",             # set at submission; a resume reuses it
     "workers": 2,                     # local Dask processes; 0 / absent = in the runner
     "chunk_size": 500,                # rows per chunk
     "scheduler": "tcp://host:8786"}   # an existing Dask cluster

Progress is counted in result rows (parameter sets x levels x symbols); cancel is
checked between chunks. The result is ``{"sweep_id", "rows", "complete"}``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

OPTIONS = ("sweep_id", "workers", "chunk_size", "scheduler")


def new_sweep_id() -> str:
    """``sw-YYYYmmdd-HHMMSS-xxxxxx`` (UTC)."""
    return f"sw-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def _spec_dict(payload: dict[str, Any]) -> dict[str, Any]:
    if "spec" in payload:
        return dict(payload["spec"])
    return {k: v for k, v in payload.items() if k not in OPTIONS}


def prepare(payload: dict[str, Any]) -> tuple[dict, str, int, dict]:
    """Check a sweep payload before anything starts.

    Returns
    -------
    (payload, title, total, result)
        Normalized payload (``spec`` + options, with a ``sweep_id``), a one-line
        title, the number of rows, and the initial result ``{"sweep_id": ...}``.

    Raises
    ------
    ConfigError, ParamError, UnknownStrategyError
        Invalid spec; or a sweep with no valid row.
    """
    from lab.core.ids import dataset_id
    from lab.research.sweep import SweepSpec

    spec = SweepSpec.from_dict(_spec_dict(payload))
    count = spec.check_runnable()          # no valid row: refused naming the values
    out = {"spec": spec.to_dict(), "sweep_id": payload.get("sweep_id") or new_sweep_id()}
    for k in ("workers", "chunk_size", "scheduler"):
        if payload.get(k) is not None:
            out[k] = payload[k]
    symbols = ", ".join(dataset_id(s, tf) for s, tf in spec.symbols)
    title = f"{', '.join(spec.strategies)} on {symbols} · {count['total']:,} sets"
    return out, title, count["total"], {"sweep_id": out["sweep_id"]}


def run(payload: dict[str, Any], ctx) -> dict[str, Any]:
    """Run (or resume) the sweep; ``JobCancelled`` when a cancel stopped it."""
    from lab.jobs.runner import JobCancelled
    from lab.research.sweep import SweepCancelled, SweepSpec, run_sweep

    spec = SweepSpec.from_dict(payload["spec"])
    try:
        res = run_sweep(spec, sweep_id=payload["sweep_id"], root=ctx.root,
                        scheduler=payload.get("scheduler"), workers=payload.get("workers"),
                        chunk_size=payload.get("chunk_size"), progress=ctx.progress,
                        cancel=ctx.cancelled)
    except SweepCancelled as exc:
        raise JobCancelled(str(exc)) from None
    return {"sweep_id": res.id, "rows": res.done_sets, "complete": bool(res.complete)}
