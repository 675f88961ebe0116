"""The event-driven engine: Backtrader's broker and orders -> ``BacktestResult``.

``run`` trades precomputed ``Signals`` with the semantics of ``lab.kernels.engine``
(signal at the close of bar i, market fill at the open of bar i+1; stop-loss and
take-profit as bracket children of the entry; leverage with isolated margin and a
liquidation stop; commission through ``LabCommInfo``; slippage on market and stop
fills, none on limits and liquidations; the position left at the end closed at the
last close). Backtrader triggers and prices every fill and keeps the cash; the
adapter (``lab.engines.bt_signal``) decides which orders exist and in which order
the broker tries them. The engines agree trade for trade: see ``tests/parity`` and
``docs/engines.md`` for the few conventions where Backtrader's stock behaviour
differs and what is adapted.

``run_native`` runs a native ``bt.Strategy`` (a registered spec whose
``extra["backtrader_factory"]`` returns the class) on the same broker.

backtrader is imported inside the functions, so ``import lab`` stays fast.
"""

from __future__ import annotations

import pandas as pd

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, DataError, StrategyError
from lab.core.strategy import Signals, StrategySpec
from lab.engines.result import BacktestResult, all_metrics, orders_frame, trades_frame
from lab.engines.vectorized import check_backtest_bars

ENGINE = "backtrader"


def _check_config(config: ExecutionConfig | None) -> ExecutionConfig:
    config = config or ExecutionConfig()
    if not isinstance(config, ExecutionConfig):
        raise ConfigError(f"config must be an ExecutionConfig, got {type(config).__name__}")
    return config


def _result(bars, recorder, config, periods_per_year, **meta) -> BacktestResult:
    trades, orders = recorder.records()
    index = bars.index
    equity = pd.Series(recorder.equity, index=index, name="equity")
    position = pd.Series(recorder.position, index=index, name="position")
    trades_df = trades_frame(trades, index)
    orders_df = orders_frame(orders, index)
    metrics = all_metrics(equity, position, trades_df, orders_df, config.cash,
                          periods_per_year)
    return BacktestResult(equity=equity, position=position, trades=trades_df,
                          orders=orders_df, metrics=metrics, config=config, engine=ENGINE,
                          periods_per_year=periods_per_year, **meta)


def _meta(strategy, params, symbol, timeframe, fingerprint) -> dict:
    return dict(strategy=strategy, params=dict(params or {}), symbol=symbol,
                timeframe=timeframe, fingerprint=fingerprint)


def run(bars: pd.DataFrame, signals: Signals, config: ExecutionConfig | None = None, *,
        periods_per_year: float = 252.0, strategy: str | None = None,
        params: dict | None = None, symbol: str | None = None,
        timeframe: str | None = None, fingerprint: str | None = None) -> BacktestResult:
    """Backtest ``signals`` on ``bars`` through Backtrader's broker.

    Same inputs and result as ``lab.engines.vectorized.run`` (``engine="backtrader"``).

    Parameters
    ----------
    bars : DataFrame, shape (n, 5)
        OHLCV indexed by UTC ``ts_event`` (bar open time).
    signals : Signals
        Four bool arrays of shape (n,).
    config : ExecutionConfig, optional
        Defaults to ``ExecutionConfig()``.
    periods_per_year : float
        Bars per year for annualized metrics.
    strategy, params, symbol, timeframe, fingerprint
        Recorded in the result.

    Returns
    -------
    BacktestResult
        Equity at each close = broker value; trades and fills from Backtrader's
        executions, with exit reasons signal / stop / target / liquidation / end.

    Raises
    ------
    DataError
        Unusable bars or signals of another length.
    ConfigError
        ``config`` is not an ExecutionConfig.
    """
    from lab.engines.bt_broker import Recorder, make_cerebro
    from lab.engines.bt_signal import SignalStrategy

    config = _check_config(config)
    check_backtest_bars(bars)
    n = len(bars)
    if len(signals) != n:
        raise DataError(f"signals cover {len(signals)} bars but there are {n} bars")
    cerebro = make_cerebro(bars, config)
    arrays = (signals.entries_long, signals.exits_long, signals.entries_short,
              signals.exits_short)
    cerebro.addstrategy(SignalStrategy, signals=arrays, config=config, n=n)
    cerebro.addanalyzer(Recorder, _name="lab", n=n,
                        leverage=config.leverage, multiplier=config.multiplier,
                        initial_margin=config.initial_margin)
    strat = cerebro.run()[0]
    return _result(bars, strat.analyzers.lab, config, periods_per_year,
                   **_meta(strategy, params, symbol, timeframe, fingerprint))


def native_class(spec: StrategySpec):
    """The ``bt.Strategy`` class of a native spec (``extra["backtrader_factory"]()``).

    Raises
    ------
    StrategyError
        If ``spec`` is a signal strategy (no factory) or the factory fails.
    """
    factory = spec.extra.get("backtrader_factory")
    if factory is None:
        raise StrategyError(f"strategy {spec.name!r} is a signal strategy, not a native "
                            "Backtrader one; use run() with its signals")
    try:
        return factory()
    except Exception as exc:
        raise StrategyError(f"backtrader factory of {spec.name!r} failed: "
                            f"{type(exc).__name__}: {exc}") from exc


def run_native(bars: pd.DataFrame, spec: StrategySpec, strategy_params=None,
               config: ExecutionConfig | None = None, *, periods_per_year: float = 252.0,
               strategy: str | None = None, params: dict | None = None,
               symbol: str | None = None, timeframe: str | None = None,
               fingerprint: str | None = None) -> BacktestResult:
    """Run a native Backtrader strategy on ``bars`` with the engine's broker.

    The strategy class gets its parameters (``params.to_dict()``) and ``config`` (the
    ``ExecutionConfig``, param name ``lab_config``) as Backtrader params. Orders it
    places in ``next`` fill at the next open; commission, slippage, leverage and the
    multiplier are those of ``config``; a position still open after the last bar is
    closed at the last close (reason "end"). Fills may carry ``reason=...`` (stop,
    target, signal, ...); untagged ones are classified by order type.

    Parameters
    ----------
    bars : DataFrame, shape (n, 5)
    spec : StrategySpec
        A native spec (``spec.extra["backtrader_factory"]``).
    strategy_params : Params or mapping, optional
        The strategy's parameters; defaults of ``spec.params_cls`` when omitted.
    config : ExecutionConfig, optional
    periods_per_year, strategy, params, symbol, timeframe, fingerprint
        Recorded in the result, as ``run`` (``strategy`` defaults to ``spec.name``,
        ``params`` to ``strategy_params.to_dict()``).

    Raises
    ------
    StrategyError
        Not a native spec, or the strategy fails.
    ParamError
        Invalid parameters.
    DataError
        Unusable bars.
    """
    import backtrader as bt

    from lab.engines.bt_broker import Recorder, make_cerebro

    config = _check_config(config)
    check_backtest_bars(bars)
    p = strategy_params if strategy_params is not None else spec.params_cls()
    if not isinstance(p, spec.params_cls):
        p = spec.params_cls.from_dict(dict(p))
    p.validate()
    cls = native_class(spec)
    n = len(bars)

    class _Native(cls):
        """The native class, closing what is left at the last bar's close."""

        def next(self):
            i = len(self.data) - 1
            if i >= n:
                return
            super().next()
            if i == n - 1:
                for o in list(self.broker.pending):
                    if o is not None and o.alive():
                        self.cancel(o)
                if self.position.size:
                    self.broker.set_coc(True)
                    self.close(reason="end")

        def prenext(self):
            if len(self.data) - 1 < n:
                super().prenext()

        def next_open(self):
            if len(self.data) - 1 < n:         # not on the synthetic closing bar
                super().next_open()

        def prenext_open(self):
            if len(self.data) - 1 < n:
                super().prenext_open()

    _Native.__name__ = cls.__name__
    cerebro = make_cerebro(bars, config)
    values = p.to_dict()
    accepted = set(cls.params._getkeys())
    unknown = sorted(set(values) - accepted)
    if unknown:
        raise StrategyError(f"native strategy {spec.name!r} has no Backtrader params "
                            f"{unknown}; declare them in its params tuple")
    extra = {"lab_config": config} if "lab_config" in accepted else {}
    cerebro.addstrategy(_Native, **values, **extra)
    cerebro.addanalyzer(Recorder, _name="lab", n=n,
                        leverage=config.leverage, multiplier=config.multiplier,
                        initial_margin=config.initial_margin)
    try:
        strat = cerebro.run()[0]
    except (bt.errors.BacktraderError, AttributeError, TypeError, ValueError,
            ZeroDivisionError, IndexError) as exc:
        raise StrategyError(f"native strategy {spec.name!r} failed: "
                            f"{type(exc).__name__}: {exc}") from exc
    return _result(bars, strat.analyzers.lab, config, periods_per_year,
                   **_meta(strategy or spec.name, params if params is not None
                           else p.to_dict(), symbol, timeframe, fingerprint))
