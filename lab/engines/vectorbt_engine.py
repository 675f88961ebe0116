"""The vectorbt engine: ``vbt.Portfolio.from_signals`` -> ``BacktestResult``.

vectorbt fills at most one order per row and checks stops before signals, at one
price per row. To reproduce the kernel's bar (open: gap exits, then the pending
signal; intrabar: stop / target / liquidation; close), each bar becomes
``ROWS_PER_BAR`` rows that vectorbt simulates in order:

====  =========  ======================  ===========================================
row   name       prices (O, H, L, C)     what may fill there
====  =========  ======================  ===========================================
0     GAP_STOP   open, open, open, open  stop-loss the open gapped through (+ slip)
1     GAP_LIQ    open x 4                short liquidation gapped through (no slip)
2     GAP_TGT    open x 4                take-profit the open gapped through
3     EXIT       open x 4                exit / reversal close of the pending signal
4     ENTRY_L    open x 4                pending long entry (market, + slippage)
5     ENTRY_S    open x 4                pending short entry
6     TGT_FIRST  bar O, H, L, C          take-profit when it goes before the stop
7     STOP       bar O, H, L, C          stop-loss (stop-market: + slippage)
8     LIQ        bar O, H, L, C          short liquidation (stop-limit: at its level)
9     TGT_LAST   bar O, H, L, C          take-profit when the stop goes first
10    CLOSE      close x 4               nothing; the position at the close is noted
====  =========  ======================  ===========================================

plus one END row after the last bar that closes what is left at the last close.
Which stop is live on a row is set by ``adjust_sl_func_nb`` / ``adjust_tp_func_nb``;
which signal fires by ``signal_func_nb`` (the kernel's pending-action rule on the
position at the previous close). Stops are placed at the fill price
(``StopEntryPrice.FillPrice``); stop-losses exit as stop-market orders (slippage),
take-profits and liquidations as stop-limit orders (none). A contract multiplier is
applied by scaling prices (notional = quantity x price x multiplier).

Unsupported, with a ``ConfigError`` that names the setting: leverage above 1 (no
margin in vectorbt; a short at 1x is liquidated like the kernel's, through the LIQ
rows), commission minimums and caps, a minimum notional, futures margin per contract,
exchange and SEC fees, stops or targets rounded to a tick, per-share / per-contract
commission unless the size is a fixed quantity, and (found after the run) an entry the kernel would size
or charge differently (a fixed quantity or notional beyond the buying power, whole
units a hair below an integer) or an account that went below zero. vectorbt is
imported inside ``run``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numba import njit

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, DataError
from lab.core.strategy import Signals
from lab.core.types import CommissionModel, SizeType
from lab.engines.result import BacktestResult, all_metrics, orders_frame, trades_frame
from lab.costs.rules import PEND_CLOSE, PEND_LONG, PEND_SHORT, entry_quantity
from lab.costs.kernel_params import BOTH_HIT_CODE, DIRECTION_CODE
from lab.engines.vectorized import check_backtest_bars
from lab.kernels import layout as L
from lab.kernels.layout import BOTH_NEAREST_TO_OPEN, BOTH_TARGET_FIRST, DIR_LONG, DIR_SHORT

ENGINE = "vectorbt"
(GAP_STOP, GAP_LIQ, GAP_TGT, EXIT, ENTRY_L, ENTRY_S, TGT_FIRST, STOP, LIQ, TGT_LAST,
 CLOSE) = range(11)
ROWS_PER_BAR = 11
#: Kernel reason code (``lab.kernels.layout.R_*``) of the fill of each row kind.
_KIND = {row: float(code) for row, code in (
    (GAP_STOP, L.R_STOP), (GAP_LIQ, L.R_LIQUIDATION), (GAP_TGT, L.R_TARGET), (EXIT, L.R_SIGNAL),
    (ENTRY_L, L.R_ENTRY), (ENTRY_S, L.R_ENTRY), (TGT_FIRST, L.R_TARGET), (STOP, L.R_STOP),
    (LIQ, L.R_LIQUIDATION), (TGT_LAST, L.R_TARGET))}
_R_END = float(L.R_END)


@njit(cache=True)
def _pending_nb(direction, qty, el, xl, es, xs):
    long_sig = el and not xl and direction != DIR_SHORT
    short_sig = es and not xs and direction != DIR_LONG
    if long_sig and short_sig:
        return 0
    if qty > 0:
        if short_sig:
            return PEND_SHORT
        return PEND_CLOSE if (xl and not el) else 0
    if qty < 0:
        if long_sig:
            return PEND_LONG
        return PEND_CLOSE if (xs and not es) else 0
    if long_sig:
        return PEND_LONG
    return PEND_SHORT if short_sig else 0


@njit(cache=True)
def signal_func_nb(c, el, xl, es, xs, direction, n_bars, state):
    """Signals of one row (see the module table); ``state[0]`` = position at the close."""
    bar = c.i // ROWS_PER_BAR
    kind = c.i - bar * ROWS_PER_BAR
    pos = c.position_now
    if bar >= n_bars:                                      # END row
        return False, pos > 0, False, pos < 0
    if kind == CLOSE:
        state[0] = pos
        return False, False, False, False
    if bar == 0 or not (kind == EXIT or kind == ENTRY_L or kind == ENTRY_S):
        return False, False, False, False
    j = bar - 1
    pend = _pending_nb(direction, state[0], el[j], xl[j], es[j], xs[j])
    if kind == EXIT:
        if pos > 0 and (pend == PEND_CLOSE or pend == PEND_SHORT):
            return False, True, False, False
        if pos < 0 and (pend == PEND_CLOSE or pend == PEND_LONG):
            return False, False, False, True
    elif pos == 0:
        if kind == ENTRY_L and pend == PEND_LONG:
            return True, False, False, False
        if kind == ENTRY_S and pend == PEND_SHORT:
            return False, False, True, False
    return False, False, False, False


@njit(cache=True)
def _short_adverse_nb(sl, liq):
    """(fraction, is_liquidation) of a short's adverse exit: the stop if it lies
    below the liquidation price, else the liquidation."""
    if sl == sl and sl <= liq:
        return sl, False
    return liq, True


@njit(cache=True)
def adjust_sl_func_nb(c, n_bars, sl, liq, open_, slip, mm):
    """Stop-loss fraction live on this row (NaN = none); ``liq`` = short
    liquidation distance, fraction of the entry price; ``open_`` = unscaled bar opens
    (the gap test uses the kernel's arithmetic)."""
    pos = c.position_now
    bar = c.i // ROWS_PER_BAR
    if pos == 0 or bar >= n_bars:
        return np.nan, False
    kind = c.i - bar * ROWS_PER_BAR
    if pos > 0:
        stop, is_liq = sl, False
    else:
        stop, is_liq = _short_adverse_nb(sl, liq)
        if not is_liq and (kind == GAP_STOP or kind == GAP_LIQ):
            fill = open_[c.init_i // ROWS_PER_BAR] * (1.0 - slip)
            if open_[bar] >= fill * (1.0 + 1.0) / (1.0 + mm):
                stop, is_liq = liq, True   # opened beyond both: the liquidation goes first
    if (kind == GAP_STOP or kind == STOP) and not is_liq:
        return stop, False
    if (kind == GAP_LIQ or kind == LIQ) and is_liq:
        return stop, False
    return np.nan, False


@njit(cache=True)
def adjust_tp_func_nb(c, n_bars, tp, sl, rule, open_, slip, mm):
    """Take-profit fraction live on this row, by ``rule`` (0 stop first, 1 target
    first, 2 nearest to the open). For rule 2 the levels are recomputed from the
    unscaled bar opens ``open_`` with the kernel's own arithmetic, so that a tie
    (stop and target equally far from the open) resolves as in the kernel."""
    pos = c.position_now
    bar = c.i // ROWS_PER_BAR
    if pos == 0 or bar >= n_bars or tp != tp:
        return np.nan
    kind = c.i - bar * ROWS_PER_BAR
    if kind == GAP_TGT:
        return tp
    if kind != TGT_FIRST and kind != TGT_LAST:
        return np.nan
    target_first = rule == BOTH_TARGET_FIRST
    if rule == BOTH_NEAREST_TO_OPEN:
        o = open_[bar]
        side = 1.0 if pos > 0 else -1.0
        fill = open_[c.init_i // ROWS_PER_BAR] * (1.0 + side * slip)
        if pos > 0:
            target = fill * (1.0 + tp)
            adverse = fill * (1.0 - sl) if sl == sl else 0.0
        else:
            target = fill * (1.0 - tp)
            adverse = fill * (1.0 + 1.0) / (1.0 + mm)          # liquidation at 1x
            if sl == sl and fill * (1.0 + sl) <= adverse:
                adverse = fill * (1.0 + sl)
        target_first = not (abs(o - adverse) <= abs(target - o))
    if (kind == TGT_FIRST) == target_first:
        return tp
    return np.nan


def check_config(config: ExecutionConfig) -> None:
    """Raise ``ConfigError`` for a setting vectorbt cannot reproduce.

    Raises
    ------
    ConfigError
        Leverage above 1, a commission minimum or cap, a per-share / per-contract
        commission with a size other than a fixed quantity, a minimum notional, futures
        margin, exchange or SEC fees, or tick rounding of stops and targets.
    """
    if config.leverage != 1.0:
        raise ConfigError(f"leverage={config.leverage:g}: vectorbt has no margin or "
                          "leverage; use leverage=1 or engine='vectorized'/'backtrader'")
    c = config.commission
    if c.minimum > 0 or c.maximum_fraction > 0:
        raise ConfigError(
            f"commission minimum={c.minimum:g} / maximum_fraction={c.maximum_fraction:g}: "
            "vectorbt charges a fraction of the order value plus a fixed amount, with no "
            "minimum or cap; use engine='vectorized' or 'backtrader'")
    if config.initial_margin > 0:
        raise ConfigError(
            f"initial_margin={config.initial_margin:g}: vectorbt has no futures margin "
            "(margin per contract, account-level margin call); use engine='vectorized' "
            "or 'backtrader'")
    if config.exchange_fee > 0 or config.sec_fee > 0:
        which = "exchange_fee" if config.exchange_fee > 0 else "sec_fee"
        raise ConfigError(
            f"{which}={getattr(config, which):g}: vectorbt charges one fee schedule per "
            "order (a fraction plus a fixed amount), not a fee per contract on top of the "
            "commission or a fee on sells only; use engine='vectorized' or 'backtrader'")
    if config.tick_size > 0 and (config.sl is not None or config.tp is not None):
        raise ConfigError(
            f"tick_size={config.tick_size:g} with a stop or target: vectorbt places stops "
            "at a fraction of the entry price and cannot round them to the tick; use "
            "tick_size=0 or engine='vectorized'/'backtrader'")
    if config.min_notional > 0:
        raise ConfigError(
            f"min_notional={config.min_notional:g}: vectorbt has a minimum order size in "
            "units, not a minimum order value (notional); use min_notional=0 or "
            "engine='vectorized'/'backtrader'")
    if c.model is not CommissionModel.PERCENT and c.rate > 0 \
            and config.size_type is not SizeType.QUANTITY:
        raise ConfigError(
            f"{c.model.value} commission with size_type={config.size_type.value}: vectorbt "
            "can charge rate x quantity only as a fixed fee per order, which needs a fixed "
            "quantity (size_type='quantity'); use engine='vectorized' or 'backtrader'")


def expanded_rows(bars: pd.DataFrame, mult: float):
    """Prices of the expanded rows (module table), each of shape (n x ROWS_PER_BAR + 1,),
    scaled by the multiplier; and the bar opens, shape (n,)."""
    o, h, l, c = (bars[k].to_numpy(dtype=np.float64) * mult
                  for k in ("open", "high", "low", "close"))

    def layout(intrabar: np.ndarray) -> np.ndarray:
        a = np.empty((len(o), ROWS_PER_BAR))
        a[:, :TGT_FIRST] = o[:, None]
        a[:, TGT_FIRST:CLOSE] = intrabar[:, None]
        a[:, CLOSE] = c
        return np.append(a.ravel(), c[-1])          # + the END row

    return (layout(o), layout(h), layout(l), layout(c)), o


def run(bars: pd.DataFrame, signals: Signals, config: ExecutionConfig | None = None, *,
        periods_per_year: float = 252.0, strategy: str | None = None,
        params: dict | None = None, symbol: str | None = None,
        timeframe: str | None = None, fingerprint: str | None = None) -> BacktestResult:
    """Backtest ``signals`` on ``bars`` with ``vectorbt.Portfolio.from_signals``.

    Same inputs and result as ``lab.engines.vectorized.run`` (``engine="vectorbt"``);
    see the module docstring for how each bar is laid out for vectorbt.

    Parameters
    ----------
    bars : DataFrame, shape (n, 5)
        OHLCV indexed by UTC ``ts_event``.
    signals : Signals
        Four bool arrays of shape (n,).
    config : ExecutionConfig, optional
    periods_per_year : float
    strategy, params, symbol, timeframe, fingerprint
        Recorded in the result.

    Returns
    -------
    BacktestResult

    Raises
    ------
    ConfigError
        A setting vectorbt cannot reproduce (``check_config``); found after the run,
        an entry vectorbt sized or a fill it charged unlike the kernel's rules, or an
        account that went below zero.
    DataError
        Unusable bars or signals of another length.
    """
    import vectorbt as vbt
    from vectorbt.portfolio.enums import SizeType as VbtSize
    from vectorbt.portfolio.enums import StopEntryPrice, StopExitPrice

    config = config or ExecutionConfig()
    check_config(config)
    check_backtest_bars(bars)
    n = len(bars)
    if len(signals) != n:
        raise DataError(f"signals cover {len(signals)} bars but there are {n} bars")
    mult = config.multiplier
    (o, h, l, c), _ = expanded_rows(bars, mult)
    raw_open = bars["open"].to_numpy(dtype=np.float64)
    rows = len(c)
    kind = np.arange(rows) % ROWS_PER_BAR
    kind[-1] = -1
    slip = config.slippage
    stop_exit = np.where((kind == GAP_STOP) | (kind == STOP), StopExitPrice.StopMarket,
                         StopExitPrice.StopLimit)
    comm = config.commission
    fees, fixed = (comm.rate, 0.0) if comm.model is CommissionModel.PERCENT else (0.0, 0.0)
    # one array type for every configuration, so numba compiles the simulation once
    if config.size_type is SizeType.EQUITY_FRACTION:
        size, size_type = np.full(rows, config.size), VbtSize.Percent
    elif config.size_type is SizeType.QUANTITY:
        q = math.floor(config.size + 1e-9) if config.whole_units else config.size
        size, size_type = np.full(rows, float(q)), VbtSize.Amount
        if comm.model is not CommissionModel.PERCENT:
            fixed = comm.rate * q
    else:           # the notional buys size / fill, and vectorbt divides by the open
        size = np.where(kind == ENTRY_S, config.size / (1.0 - slip),
                        config.size / (1.0 + slip))
        size_type = VbtSize.Value
    sl = np.nan if config.sl is None else float(config.sl)
    tp = np.nan if config.tp is None else float(config.tp)
    liq = (1.0 + 1.0) / (1.0 + config.maintenance_margin) - 1.0
    state = np.zeros(1)
    arrays = tuple(np.ascontiguousarray(a, dtype=np.bool_) for a in (
        signals.entries_long, signals.exits_long, signals.entries_short, signals.exits_short))
    try:
        pf = vbt.Portfolio.from_signals(
            c, open=o, high=h, low=l, init_cash=config.cash, size=size, size_type=size_type,
            fees=fees, fixed_fees=fixed, slippage=slip,
            size_granularity=1.0 if config.whole_units else np.nan,
            signal_func_nb=signal_func_nb,
            signal_args=(*arrays, DIRECTION_CODE[config.direction], n, state),
            sl_stop=sl, tp_stop=tp, stop_entry_price=StopEntryPrice.FillPrice,
            stop_exit_price=stop_exit, adjust_sl_func_nb=adjust_sl_func_nb,
            adjust_sl_args=(n, sl, liq, raw_open, slip, config.maintenance_margin),
            adjust_tp_func_nb=adjust_tp_func_nb,
            adjust_tp_args=(n, tp, sl, BOTH_HIT_CODE[config.both_hit], raw_open, slip,
                            config.maintenance_margin),
            use_stops=True, max_orders=4 * n + 4, freq=None)
    except ValueError as exc:
        if "cash" in str(exc):
            raise ConfigError("the account went below zero (a gap beyond a short's "
                              "liquidation price); vectorbt cannot trade on from there, the "
                              "kernel stops entering; use engine='vectorized'") from exc
        raise
    return portfolio_result(bars, pf, config, kind, periods_per_year,
                   dict(strategy=strategy, params=dict(params or {}), symbol=symbol,
                        timeframe=timeframe, fingerprint=fingerprint))


def portfolio_result(bars, pf, config, kind, periods_per_year, meta) -> BacktestResult:
    """A ``BacktestResult`` from the vectorbt ``Portfolio`` ``pf`` of the expanded rows
    (``kind``: the row kind of each order), checked against the kernel's rules (a fill
    vectorbt could not place as the kernel would raises ``ConfigError``)."""
    n, k, mult = len(bars), ROWS_PER_BAR, config.multiplier
    value = pf.value().to_numpy()
    assets = pf.assets().to_numpy()
    cash = pf.cash().to_numpy()
    at_close = np.arange(n) * k + CLOSE
    at_close[-1] = len(value) - 1                       # after the END row
    equity = pd.Series(value[at_close], index=bars.index, name="equity")
    position = pd.Series(assets[at_close], index=bars.index, name="position")

    def reason(row: int) -> float:
        return _R_END if kind[row] < 0 else _KIND[int(kind[row])]

    od = pf.orders.values
    exits = od["idx"][[int(kind[r]) not in (ENTRY_L, ENTRY_S) for r in od["idx"]]]
    if exits.size and np.any(assets[exits] != 0.0):
        row = int(exits[np.flatnonzero(assets[exits] != 0.0)[0]])
        raise ConfigError(
            f"the account went below zero at bar {min(row // k, n - 1)} (a gap beyond a "
            "short's liquidation price): vectorbt buys back only what the cash pays for, "
            "the kernel closes the whole position; use engine='vectorized' or 'backtrader'")
    orders = np.column_stack([
        np.minimum(od["idx"] // k, n - 1), np.where(od["side"] == 0, 1.0, -1.0),
        od["size"], od["price"] / mult, od["fees"],
        [reason(r) for r in od["idx"]]]).astype(np.float64).reshape(-1, 6)
    _check_orders(config, od, kind, cash, mult)
    tr = pf.trades.values
    tr = tr[tr["status"] == 1]
    trades = np.column_stack([
        np.minimum(tr["entry_idx"] // k, n - 1), np.minimum(tr["exit_idx"] // k, n - 1),
        np.where(tr["direction"] == 0, 1.0, -1.0), tr["size"], tr["entry_price"] / mult,
        tr["exit_price"] / mult, tr["pnl"], tr["entry_fees"] + tr["exit_fees"],
        [reason(r) for r in tr["exit_idx"]],
        tr["size"] * tr["entry_price"]]).astype(np.float64).reshape(-1, 10)
    trades_df = trades_frame(trades, bars.index)
    orders_df = orders_frame(orders, bars.index)
    metrics = all_metrics(equity, position, trades_df, orders_df, config.cash,
                          periods_per_year)
    return BacktestResult(equity=equity, position=position, trades=trades_df,
                          orders=orders_df, metrics=metrics, config=config, engine=ENGINE,
                          periods_per_year=periods_per_year, **meta)


def _check_orders(config, od, kind, cash, mult) -> None:
    """Raise ``ConfigError`` when vectorbt sized an entry or charged a fill unlike
    the kernel's rules (given vectorbt's own cash before the entry)."""
    from lab.costs import commission_of

    def fee(q, price):
        return commission_of(config.commission, q, price / mult, mult)

    scaled = config.replace(multiplier=1.0)        # prices are already x multiplier
    for rec in od:
        row, qty, price = int(rec["idx"]), float(rec["size"]), float(rec["price"])
        bar = row // ROWS_PER_BAR
        if kind[row] in (ENTRY_L, ENTRY_S):
            want = entry_quantity(scaled, cash[row - 1], price, fee)
            if not math.isclose(want, qty, rel_tol=1e-9, abs_tol=1e-12):
                raise ConfigError(
                    f"vectorbt bought {qty:.10g} units at bar {bar} where the kernel's "
                    f"sizing gives {want:.10g} (size_type={config.size_type.value}, "
                    f"size={config.size:g}): a fixed quantity or notional beyond the "
                    "buying power is capped differently (vectorbt does not cap shorts); "
                    "lower `size` or use engine='vectorized'")
        want = fee(qty, price)
        if not math.isclose(want, float(rec["fees"]), rel_tol=1e-9, abs_tol=1e-9):
            raise ConfigError(
                f"vectorbt charged {float(rec['fees']):.6g} on a fill of {qty:.10g} units "
                f"at bar {bar} where the commission is {want:.6g}: its fixed fee per order "
                "assumes the requested quantity, which the buying power capped; lower "
                "`size` or use engine='vectorized'")
