"""Running a sweep: data, manifest, chunk scheduling (in-process or Dask), persistence.

See ``lab.research.sweep`` for the public entry point and the rules.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pandas as pd

import lab
from lab.core.errors import ConfigError, DataError
from lab.core.types import periods_per_year
from lab.research import sweep_store as store
from lab.research.sweep_plan import chunk_frame, columns, plan_chunks
from lab.research.sweep_spec import SweepSpec

#: Seconds between ``cancel()`` checks while chunks run on Dask.
POLL_SECONDS = 0.2


def open_catalog(root: Path):
    """``Catalog(root)``, built from the bundled samples when the store is empty."""
    from lab.data import Catalog, build_sample_store

    catalog = Catalog(root)
    if catalog.datasets().empty:
        build_sample_store(catalog)
    return catalog


def new_id(spec: SweepSpec) -> str:
    """``YYYYMMDD-HHMMSS-<8 hex of the spec and time>``."""
    now = datetime.now(timezone.utc)
    digest = hashlib.sha256((json.dumps(spec.to_dict(), sort_keys=True)
                             + now.isoformat() + str(os.getpid())).encode()).hexdigest()[:8]
    return f"{now:%Y%m%d-%H%M%S}-{digest}"


def load_data(spec: SweepSpec, catalog) -> dict[tuple[str, str], dict[str, Any]]:
    """Bars and metadata of every (symbol, timeframe): ``{"bars", "fingerprint",
    "asset_class", "periods_per_year"}``."""
    from lab.data import fingerprint
    from lab.engines.vectorized import check_bars

    out = {}
    for symbol, timeframe in spec.symbols:
        bars = catalog.load(symbol, timeframe, start=spec.start, end=spec.end)
        check_bars(bars)
        asset_class = catalog.asset_class(symbol)
        out[(symbol, timeframe)] = {
            "bars": bars, "fingerprint": fingerprint(bars), "asset_class": asset_class,
            "periods_per_year": periods_per_year(timeframe, asset_class)}
    return out


def _data_doc(data) -> dict[str, dict]:
    return {f"{s}@{tf}": {"fingerprint": d["fingerprint"], "bars": len(d["bars"]),
                          "first": d["bars"].index[0].isoformat(),
                          "last": d["bars"].index[-1].isoformat(),
                          "asset_class": d["asset_class"],
                          "periods_per_year": d["periods_per_year"]}
            for (s, tf), d in data.items()}


def _check_engine(spec: SweepSpec) -> None:
    if spec.engine != "vectorbt":
        return
    from lab.engines.vectorbt_batch import check_sweep

    check_sweep(spec)


def _resolve_executor(spec, scheduler, workers, steps) -> tuple[str, str | None, int]:
    """("in-process" | "local" | "remote", address, workers)."""
    address = scheduler or os.environ.get("LAB_DASK_ADDRESS") or None
    if address:
        return "remote", address, max(1, workers or 1)
    if workers is not None and workers < 0:
        raise ConfigError(f"workers={workers} must be >= 0 (0 = in-process)")
    if workers == 0 or (workers is None and steps < _in_process_steps()):
        return "in-process", None, 0
    return "local", None, workers or (os.cpu_count() or 1)


def _in_process_steps() -> int:
    from lab.research.sweep import IN_PROCESS_STEPS

    return IN_PROCESS_STEPS


def run(spec: SweepSpec, *, sweep_id: str | None, root: Path, scheduler: str | None,
        workers: int | None, chunk_size: int | None,
        progress: Callable[[int, int], Any] | None, cancel: Callable[[], bool] | None,
        catalog) -> Any:
    """See ``lab.research.sweep.run_sweep``."""
    from lab.research.sweep import SweepCancelled, SweepResult, sweeps_root

    if not isinstance(spec, SweepSpec):
        raise ConfigError(f"run_sweep needs a SweepSpec, got {type(spec).__name__}")
    _check_engine(spec)
    spec.check_runnable()                  # every row invalid: refused before anything runs
    sweep_id = store.check_id(sweep_id) if sweep_id is not None else new_id(spec)
    path = store.sweep_dir(sweeps_root(root), sweep_id)
    catalog = catalog if catalog is not None else open_catalog(root)
    data = load_data(spec, catalog)
    data_doc = _data_doc(data)
    total = spec.count()["total"]
    steps = sum(spec.count()["per_strategy"][s] // len(spec.symbols) * len(d["bars"])
                for s in spec.strategies for d in data.values())
    mode, address, n_workers = _resolve_executor(spec, scheduler, workers, steps)
    manifest = store.read_manifest(path)
    if manifest is None:
        chunks = plan_chunks(spec, {k: len(d["bars"]) for k, d in data.items()},
                             chunk_size, max(1, n_workers))
        manifest = {"id": sweep_id, "lab_version": lab.__version__,
                    "created_at": store.now_iso(), "updated_at": store.now_iso(),
                    "spec": spec.to_dict(), "total_sets": total, "data": data_doc,
                    "columns": columns(spec), "chunks": chunks, "status": "partial",
                    "done_sets": 0, "executor": None}
        store.write_manifest(path, manifest)
    else:
        _check_resume(manifest, spec, data_doc, sweep_id)
        for tmp in (path / store.CHUNKS).glob(".*.tmp"):   # left by a killed writer
            tmp.unlink(missing_ok=True)
    chunks = manifest["chunks"]
    done = store.done_chunks(path, manifest)
    done_sets = sum(c["sets"] for c in chunks if c["id"] in done)
    todo = [c for c in chunks if c["id"] not in done]
    manifest["executor"] = {"mode": mode, "address": address, "workers": n_workers}
    if progress is not None:
        progress(done_sets, total)
    state = {"done_sets": done_sets, "done": done}

    def finished(chunk: dict, stats) -> None:
        store.write_chunk(path, chunk["id"], chunk_frame(spec, chunk, stats))
        state["done"].add(chunk["id"])
        state["done_sets"] += chunk["sets"]
        _update_manifest(path, manifest, state)
        if progress is not None:
            progress(state["done_sets"], total)

    def cancelled() -> bool:
        return cancel is not None and bool(cancel())

    stopped = False
    if todo:
        args = {c["id"]: _task_args(spec, c, data) for c in todo}
        if mode == "in-process":
            stopped = _run_in_process(todo, args, data, finished, cancelled)
        else:
            stopped = _run_dask(todo, args, data, finished, cancelled, address, n_workers)
    _update_manifest(path, manifest, state)
    if stopped:
        raise SweepCancelled(
            f"sweep {sweep_id} cancelled after {state['done_sets']} of {total} sets; run it "
            "again with the same sweep_id to resume", sweep_id, state["done_sets"], total)
    results = store.read_results(path, manifest)
    return SweepResult(id=sweep_id, path=path, spec=spec, results=results, manifest=manifest)


def _check_resume(manifest: dict, spec: SweepSpec, data_doc: dict, sweep_id: str) -> None:
    if SweepSpec.from_dict(manifest["spec"]) != spec:
        raise ConfigError(f"sweep {sweep_id} exists with another spec; resume it with its "
                          "own spec (load_sweep(id).spec) or choose a new sweep_id")
    for key, doc in data_doc.items():
        old = manifest["data"].get(key, {}).get("fingerprint")
        if old != doc["fingerprint"]:
            raise DataError(f"{key.replace('@', ' ')} bars changed since sweep {sweep_id} "
                            f"started (fingerprint {doc['fingerprint']} != {old}); start a "
                            "new sweep on the current data")


def _update_manifest(path: Path, manifest: dict, state: dict) -> None:
    manifest["done_sets"] = state["done_sets"]
    manifest["status"] = ("complete" if len(state["done"]) == len(manifest["chunks"])
                          else "partial")
    manifest["updated_at"] = store.now_iso()
    store.write_manifest(path, manifest)


def _task_args(spec: SweepSpec, chunk: dict, data) -> dict[str, Any]:
    d = data[(chunk["symbol"], chunk["timeframe"])]
    params = spec.parameter_sets(chunk["strategy"])[chunk["param_start"]:chunk["param_stop"]]
    return {"strategy": chunk["strategy"], "param_dicts": [p.to_dict() for p in params],
            "levels": spec.exec_levels(), "config": spec.config.to_dict(),
            "periods_per_year": d["periods_per_year"], "engine": spec.engine}


def _run_in_process(todo, args, data, finished, cancelled) -> bool:
    from lab.research.sweep_exec import chunk_stats

    for chunk in todo:
        if cancelled():
            return True
        bars = data[(chunk["symbol"], chunk["timeframe"])]["bars"]
        finished(chunk, chunk_stats(bars, **args[chunk["id"]]))
    return False


def _run_dask(todo, args, data, finished, cancelled, address, n_workers) -> bool:
    from distributed import Client, LocalCluster, wait

    from lab.research.sweep_exec import chunk_stats

    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, scheduler_port=0, silence_logs=40)
        threads = max(1, (os.cpu_count() or 1) // n_workers)
    else:
        threads = None
    client = Client(cluster if cluster is not None else address)
    try:
        bars = {k: client.scatter(d["bars"], broadcast=True) for k, d in data.items()
                if any((c["symbol"], c["timeframe"]) == k for c in todo)}
        futures = {}
        for chunk in todo:
            f = client.submit(chunk_stats, bars[(chunk["symbol"], chunk["timeframe"])],
                              threads=threads, pure=False, key=f"sweep-chunk-{chunk['id']}-"
                              f"{time.time_ns()}", **args[chunk["id"]])
            futures[f] = chunk
        pending = set(futures)
        while pending:
            if cancelled():
                client.cancel(list(pending))
                return True
            try:
                done = wait(pending, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                continue
            for f in done:
                pending.discard(f)
                chunk = futures[f]
                finished(chunk, f.result())
                if cancelled():
                    client.cancel(list(pending))
                    return True
        return False
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
