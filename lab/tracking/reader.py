"""Read recorded runs back: listing with filters, one run's details, its artifacts.

Every function takes ``tracking_uri`` (default ``lab.tracking.tracking_uri()``) and
raises ``TrackingError`` when the store cannot be reached; a missing run or artifact
raises ``TrackingError`` too, naming it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from lab.tracking import store
from lab.tracking.store import TrackingError
from lab.tracking.backtests import MAIN_METRICS
from lab.tracking.runs import INF_SENTINEL

#: Columns of ``list_runs`` before the metric columns.
RUN_COLUMNS = ["run_id", "experiment", "run_name", "start_time", "status", "strategy",
               "symbol", "timeframe", "engine", "source", "params", "kind", "parent_run_id"]
#: ``list_runs(parent=TOP)``: only runs that are not nested under another run.
TOP = "top"
#: Local MLflow UI started by ``make mlflow``.
LOCAL_UI = "http://127.0.0.1:5000"


def _client(tracking_uri: str | None):
    uri = store.adopt_credentials(tracking_uri or store.tracking_uri())
    return store.client(uri), uri


def _quote(value: str, what: str) -> str:
    value = str(value).strip()
    if "'" in value or "`" in value:
        raise TrackingError(f"{what} {value!r} contains a quote; remove it")
    return value


def _metric(v: float) -> float:
    if v >= INF_SENTINEL:
        return float("inf")
    if v <= -INF_SENTINEL:
        return float("-inf")
    return float(v)


def list_experiments(tracking_uri: str | None = None) -> list[str]:
    """Names of the active experiments, sorted.

    Raises
    ------
    TrackingError
        The store is unreachable.
    """
    c, _ = _client(tracking_uri)         # _: the URI, without credentials
    try:
        names, token = [], None
        while True:
            page = c.search_experiments(max_results=1000, page_token=token)
            names += [e.name for e in page]
            token = page.token
            if not token:
                return sorted(n for n in names if n != "Default")
    except Exception as exc:        # noqa: BLE001
        raise TrackingError(f"cannot list experiments of {_}: {exc}") from None


def experiment_strategy(experiment: str) -> str:
    """The strategy part of a backtest experiment name
    ``{project}.{asset_class}.{family}.{strategy}`` (``lab.tracking.experiment_name``)."""
    return str(experiment).rsplit(".", 1)[-1]


def initial_cash(run: Mapping[str, Any]) -> float:
    """Starting equity of a recorded run (its config's ``cash``), account currency.

    Raises
    ------
    TrackingError
        When the run's config has no positive ``cash`` (a run not written by
        ``track_backtest``): its returns cannot be computed from the equity alone.
    """
    cash = (run.get("config") or {}).get("cash")
    try:
        cash = float(cash)
    except (TypeError, ValueError):
        cash = float("nan")
    if not cash > 0:
        raise TrackingError(f"run {run.get('run_id', '?')} records no starting cash in its "
                            "config, so its returns cannot be computed; rerun it from the "
                            "Backtest page to record it again")
    return cash


def list_runs(experiment: str | None = None, strategy: str | None = None,
              symbol: str | None = None, tag: str | None = None, max_results: int = 500,
              *, parent: str | None = None,
              tracking_uri: str | None = None) -> pd.DataFrame:
    """Recorded runs, newest first.

    Parameters
    ----------
    experiment : str, optional
        Exact experiment name (``lab.crypto.trend.sma_cross``); default all.
    strategy, symbol : str, optional
        Exact values of the ``strategy`` / ``symbol`` tags.
    tag : str, optional
        ``"key=value"``: runs whose tag ``key`` equals ``value``.
    max_results : int
        At most this many runs.
    parent : str, optional
        ``None``: every run; ``TOP`` (``"top"``): only runs nested under no other run
        (backtests, studies, sweeps, walk-forwards; their trials, rows and folds are
        folded away); a run id: the runs nested under that run (tag
        ``mlflow.parentRunId``).
    tracking_uri : str, optional

    Returns
    -------
    DataFrame
        ``RUN_COLUMNS`` (``start_time`` UTC Timestamp, ``params`` as ``"fast=10,
        slow=50"``, ``kind`` the ``lab.kind`` tag or ``"backtest"``, ``parent_run_id``
        None for a top-level run) followed by ``MAIN_METRICS`` (float, NaN when not
        logged, inf restored). Empty (same columns) when nothing matches.

    Raises
    ------
    TrackingError
        Unreachable store, or a malformed ``tag`` filter.
    """
    c, uri = _client(tracking_uri)
    clauses = []
    if strategy:
        clauses.append(f"tags.strategy = '{_quote(strategy, 'strategy')}'")
    if symbol:
        clauses.append(f"tags.symbol = '{_quote(symbol, 'symbol')}'")
    if tag:
        key, sep, value = str(tag).partition("=")
        if not sep or not key.strip():
            raise TrackingError(f"tag filter {tag!r} must look like key=value")
        clauses.append(f"tags.`{_quote(key, 'tag key')}` = '{_quote(value, 'tag value')}'")
    if parent == TOP:
        clauses.append("tags.`mlflow.parentRunId` IS NULL")
    elif parent:
        clauses.append(f"tags.`mlflow.parentRunId` = '{_quote(parent, 'parent run id')}'")
    try:
        names = {}
        token = None
        while True:
            page = c.search_experiments(max_results=1000, page_token=token)
            names.update({e.experiment_id: e.name for e in page})
            token = page.token
            if not token:
                break
        store.reap_dead_runs(c, list(names))
        ids = [i for i, n in names.items() if experiment is None or n == experiment]
        runs = c.search_runs(ids, filter_string=" and ".join(clauses),
                             max_results=int(max_results),
                             order_by=["attributes.start_time DESC"]) if ids else []
    except TrackingError:
        raise
    except Exception as exc:        # noqa: BLE001
        raise TrackingError(f"cannot list runs of {uri}: {exc}") from None
    rows = []
    for run in runs:
        t, m = run.data.tags, run.data.metrics
        try:
            params = json.loads(t.get("params_json", "{}"))
        except ValueError:
            params = {}
        if not params:          # an Optuna trial run logs its parameters as p.<name>
            params = {k[2:]: v for k, v in sorted(run.data.params.items())
                      if k.startswith("p.")}
        row = {"run_id": run.info.run_id, "experiment": names.get(run.info.experiment_id),
               "run_name": run.info.run_name,
               "start_time": pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
               "status": run.info.status, "strategy": t.get("strategy"),
               "symbol": t.get("symbol"), "timeframe": t.get("timeframe"),
               "engine": t.get("engine"), "source": t.get("source"),
               "params": ", ".join(f"{k}={v}" for k, v in params.items()),
               "kind": t.get("lab.kind") or "backtest",
               "parent_run_id": t.get("mlflow.parentRunId")}
        row.update({k: _metric(m[k]) if k in m else float("nan") for k in MAIN_METRICS})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS + list(MAIN_METRICS))
    frame[list(MAIN_METRICS)] = frame[list(MAIN_METRICS)].astype("float64")
    return frame


def get_run(run_id: str, *, tracking_uri: str | None = None) -> dict[str, Any]:
    """Everything needed to show a run or to run it again exactly.

    Returns
    -------
    dict
        ``run_id``, ``run_name``, ``experiment``, ``experiment_id``, ``status``,
        ``start_time`` / ``end_time`` (UTC Timestamps or None), ``strategy``,
        ``family``, ``asset_class``, ``params`` (dict, as the strategy got them),
        ``config`` (dict, ``ExecutionConfig.from_dict`` rebuilds it), ``symbol``,
        ``timeframe``, ``start``, ``end`` (ISO 8601 UTC of the first and last bar),
        ``engine``, ``fingerprint``, ``periods_per_year``, ``source``,
        ``git_commit``, ``metrics`` (dict of float, inf restored), ``tags`` (every
        tag but MLflow's own and the two JSON ones), ``artifacts`` (relative paths)
        and ``artifact_uri``.

    Raises
    ------
    TrackingError
        Unreachable store or unknown run id.
    """
    c, uri = _client(tracking_uri)
    try:
        run = c.get_run(run_id)
        exp = c.get_experiment(run.info.experiment_id)
        artifacts = _walk(c, run_id, None)
    except Exception as exc:        # noqa: BLE001
        raise TrackingError(f"cannot read run {run_id!r} from {uri}: {exc}") from None
    t = run.data.tags

    def ts(ms):
        return pd.Timestamp(ms, unit="ms", tz="UTC") if ms else None

    return {
        "run_id": run.info.run_id, "run_name": run.info.run_name, "experiment": exp.name,
        "experiment_id": exp.experiment_id, "status": run.info.status,
        "start_time": ts(run.info.start_time), "end_time": ts(run.info.end_time),
        "strategy": t.get("strategy"), "family": t.get("family"),
        "asset_class": t.get("asset_class"),
        "params": json.loads(t.get("params_json", "{}")),
        "config": json.loads(t.get("config_json", "{}")),
        "symbol": t.get("symbol"), "timeframe": t.get("timeframe"),
        "start": t.get("start"), "end": t.get("end"), "engine": t.get("engine"),
        "fingerprint": t.get("data_fingerprint"),
        "periods_per_year": float(t["periods_per_year"]) if t.get("periods_per_year") else None,
        "source": t.get("source"), "git_commit": t.get("git_commit"),
        "metrics": {k: _metric(v) for k, v in run.data.metrics.items()},
        "tags": {k: v for k, v in sorted(t.items())
                 if not k.startswith("mlflow.") and k not in ("config_json", "params_json")},
        "artifacts": artifacts, "artifact_uri": run.info.artifact_uri,
    }


def _walk(c, run_id: str, path: str | None) -> list[str]:
    out = []
    for f in c.list_artifacts(run_id, path):
        out += _walk(c, run_id, f.path) if f.is_dir else [f.path]
    return out


def list_artifacts(run_id: str, *, tracking_uri: str | None = None) -> list[str]:
    """Relative paths of every artifact file of the run (``figures/equity.html``...).

    Raises
    ------
    TrackingError
    """
    c, uri = _client(tracking_uri)
    try:
        return _walk(c, run_id, None)
    except Exception as exc:        # noqa: BLE001
        raise TrackingError(f"cannot list artifacts of run {run_id!r} in {uri}: {exc}") from None


def _download(run_id: str, path: str, tracking_uri: str | None, read):
    c, uri = _client(tracking_uri)
    with tempfile.TemporaryDirectory(prefix="lab-artifact-") as tmp:
        try:
            local = c.download_artifacts(run_id, path, dst_path=tmp)
        except Exception as exc:    # noqa: BLE001
            raise TrackingError(f"run {run_id!r} in {uri} has no artifact {path!r} "
                                f"({type(exc).__name__}: {exc})") from None
        return read(Path(local))


def load_equity(run_id: str, *, tracking_uri: str | None = None) -> pd.DataFrame:
    """The run's ``equity.parquet``.

    Returns
    -------
    DataFrame, shape (n, 3)
        ``equity`` (account currency), ``drawdown`` (fraction <= 0), ``position``
        (signed quantity) on the UTC ``ts_event`` index of the bars.

    Raises
    ------
    TrackingError
    """
    return _download(run_id, "equity.parquet", tracking_uri, pd.read_parquet)


def load_trades(run_id: str, *, tracking_uri: str | None = None) -> pd.DataFrame:
    """The run's ``trades.parquet`` (``lab.engines.result.TRADE_COLUMNS``).

    Raises
    ------
    TrackingError
    """
    return _download(run_id, "trades.parquet", tracking_uri, pd.read_parquet)


def load_text(run_id: str, path: str, *, tracking_uri: str | None = None) -> str:
    """A text artifact (``tearsheet.html``, ``figures/<name>.html``, ``summary.json``).

    Raises
    ------
    TrackingError
    """
    return _download(run_id, path, tracking_uri, lambda p: p.read_text(encoding="utf-8"))


def compare_metrics(run_ids: list[str], *, tracking_uri: str | None = None,
                    metrics: tuple[str, ...] = MAIN_METRICS) -> pd.DataFrame:
    """Metrics of several runs side by side.

    Returns
    -------
    DataFrame
        One row per metric (``metrics`` order), one column per run, labelled
        ``"<run_name> (<first 8 of run_id>)"``; NaN where a run lacks the metric.

    Raises
    ------
    TrackingError
    """
    cols = {}
    for rid in run_ids:
        r = get_run(rid, tracking_uri=tracking_uri)
        cols[f"{r['run_name']} ({rid[:8]})"] = [r["metrics"].get(k, float("nan"))
                                                 for k in metrics]
    return pd.DataFrame(cols, index=pd.Index(list(metrics), name="metric"))


def run_url(run: dict[str, Any], tracking_uri: str | None = None) -> str:
    """Address of the run in the MLflow UI: the remote server's, else the local UI
    that ``make mlflow`` starts on 127.0.0.1:5000."""
    uri = store.adopt_credentials(tracking_uri or store.tracking_uri())
    base = uri.rstrip("/") if store.is_remote(uri) else LOCAL_UI
    return f"{base}/#/experiments/{run['experiment_id']}/runs/{run['run_id']}"
