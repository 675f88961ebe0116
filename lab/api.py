"""The public entry points that the CLI and the pages call.

One call per user action: load bars (from the store or a file), compute a
strategy's signals, run an engine, return a ``BacktestResult``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from lab.core import registry
from lab.core.config import Commission, ExecutionConfig
from lab.core.errors import ConfigError
from lab.core.params import Params
from lab.core.paths import data_root
from lab.core.types import AssetClass, CommissionModel, periods_per_year
from lab.engines.result import BacktestResult

#: Engines by name: "vectorized" (numba, full semantics), "backtrader" (event-driven
#: check, also runs native bt.Strategy classes), "vectorbt" (no leverage).
ENGINES = ("vectorized", "backtrader", "vectorbt")


def open_catalog(root: str | Path | None = None):
    """The bar catalog under ``root`` (default ``data_root()``), built from the bundled
    samples on first use."""
    from lab.data import Catalog, build_sample_store

    catalog = Catalog(root if root is not None else data_root())
    if catalog.datasets().empty:
        build_sample_store(catalog)
    return catalog


def default_commission(asset_class: AssetClass | str,
                       model: CommissionModel | str | None = None) -> Commission:
    """Typical commission for an asset class, or the default of a chosen model.

    Crypto: 0.1 % of notional (a common taker fee). Equities: Interactive Brokers
    fixed ($0.005/share, $1 minimum, 1 % cap). FX: 0.2 bps of notional (IB spot FX
    tier 1). Indices and futures: $0.85 per contract when the model is per contract,
    else 0.
    """
    from lab import costs

    ac = AssetClass(asset_class)
    if model is None:
        model = {AssetClass.CRYPTO: CommissionModel.PERCENT,
                 AssetClass.EQUITY: CommissionModel.PER_SHARE,
                 AssetClass.FX: CommissionModel.PERCENT,
                 AssetClass.INDEX: CommissionModel.PERCENT,
                 AssetClass.FUTURE: CommissionModel.PER_CONTRACT}[ac]
    model = CommissionModel(model)
    if model is CommissionModel.PER_SHARE:
        return costs.ib_fixed()
    if model is CommissionModel.PER_CONTRACT:
        return costs.per_contract(0.85)
    rate = {AssetClass.CRYPTO: 0.001, AssetClass.FX: 0.00002}.get(ac, 0.0)
    return costs.percent(rate)


def resolve_params(strategy: str, params: Params | Mapping[str, Any] | None) -> Params:
    """Validated parameters of ``strategy`` (defaults for the names not given).

    Raises
    ------
    UnknownStrategyError, ParamError
    """
    spec = registry.get(strategy)
    if isinstance(params, Params):
        params.validate()
        return params
    return spec.params_cls.from_dict(dict(params or {}))


def run_backtest(bars: pd.DataFrame, strategy: str,
                 params: Params | Mapping[str, Any] | None = None,
                 config: ExecutionConfig | None = None, *,
                 asset_class: AssetClass | str = AssetClass.EQUITY,
                 timeframe: str = "1d", symbol: str | None = None,
                 fingerprint: str | None = None,
                 engine: str = "vectorized") -> BacktestResult:
    """Backtest a registered strategy on ``bars``.

    Parameters
    ----------
    bars : DataFrame, shape (n, 5)
        OHLCV indexed by UTC ``ts_event``.
    strategy : str
        Registered name (``lab.core.registry.names()``).
    params : Params or mapping, optional
        Strategy parameters; defaults for missing names.
    config : ExecutionConfig, optional
    asset_class, timeframe : str
        Drive annualization (``lab.core.types.periods_per_year``).
    symbol, fingerprint : str, optional
        Recorded in the result; the fingerprint is computed when omitted.
    engine : str
        One of ``ENGINES``. Native Backtrader strategies run only on "backtrader".

    Raises
    ------
    ConfigError
        Unknown engine, a native strategy on another engine, or a configuration the
        engine does not support (e.g. leverage on vectorbt).
    UnknownStrategyError, ParamError, StrategyError, DataError
    """
    from lab.data import fingerprint as data_fingerprint
    from lab.engines import vectorized

    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")
    spec = registry.get(strategy)
    p = resolve_params(strategy, params)
    vectorized.check_backtest_bars(bars)
    meta = dict(periods_per_year=periods_per_year(timeframe, asset_class),
                strategy=strategy, params=p.to_dict(), symbol=symbol, timeframe=timeframe,
                fingerprint=fingerprint or data_fingerprint(bars))
    config = config or ExecutionConfig()
    if spec.is_native:
        if engine != "backtrader":
            raise ConfigError(f"{strategy} is a native Backtrader strategy; run it with "
                              "engine='backtrader'")
        from lab.engines import backtrader_engine

        return backtrader_engine.run_native(bars, spec, p, config, **meta)
    signals = spec.signals(bars, p)
    if engine == "backtrader":
        from lab.engines import backtrader_engine

        return backtrader_engine.run(bars, signals, config, **meta)
    if engine == "vectorbt":
        from lab.engines import vectorbt_engine

        return vectorbt_engine.run(bars, signals, config, **meta)
    return vectorized.run(bars, signals, config, **meta)


def backtest_stored(catalog, symbol: str, timeframe: str, strategy: str,
                    params: Params | Mapping[str, Any] | None = None,
                    config: ExecutionConfig | None = None, *, start=None, end=None,
                    engine: str = "vectorized") -> BacktestResult:
    """Load ``symbol``/``timeframe`` bars from ``catalog`` (resampled if needed) and
    backtest them; see ``run_backtest``."""
    bars = catalog.load(symbol, timeframe, start=start, end=end)
    return run_backtest(bars, strategy, params, config,
                        asset_class=catalog.asset_class(symbol), timeframe=timeframe,
                        symbol=symbol, engine=engine)


def record_backtest(result: BacktestResult, *, asset_class: AssetClass | str,
                    bars: pd.DataFrame | None = None, source: str = "cli",
                    figures: Mapping[str, Any] | None = None, tearsheet: bool = True):
    """Record a backtest as an MLflow run, with its QuantStats tearsheet. Never raises.

    Parameters
    ----------
    result : BacktestResult
    asset_class : str
        Part of the experiment name ``{project}.{asset_class}.{family}.{strategy}``.
    bars : DataFrame, optional
        The bars of the run; their buy-and-hold is the tearsheet's benchmark.
    source : str
        ``"cli"`` or ``"app"``.
    figures : mapping of name to plotly Figure, optional
        Stored as HTML artifacts.
    tearsheet : bool
        Build and store the tearsheet (about 1.5-2.5 s).

    Returns
    -------
    lab.tracking.TrackingOutcome
        ``recorded`` False with ``error`` when the store cannot be written; the result
        itself is unaffected. A tearsheet that fails to build is skipped and noted.
    """
    from lab.tracking import track_backtest

    family = registry.get(result.strategy).family if result.strategy else "unknown"
    html, note = None, None
    if tearsheet:
        try:
            from lab.metrics.tearsheet import buy_and_hold_returns, tearsheet_html

            bench = buy_and_hold_returns(bars["close"], "buy & hold") if bars is not None else None
            html = tearsheet_html(result.returns, bench,
                                  title=f"{result.strategy} on {result.symbol} {result.timeframe}")
        except Exception as exc:  # noqa: BLE001 - a tearsheet is optional
            note = f"tearsheet skipped: {type(exc).__name__}: {exc}"
    outcome = track_backtest(result, asset_class=str(AssetClass(asset_class).value),
                             family=family, source=source, figures=figures,
                             tearsheet_html=html)
    if note and outcome.error is None:
        outcome = dataclasses.replace(outcome, error=note)
    return outcome
