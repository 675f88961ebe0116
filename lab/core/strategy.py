"""The strategy contract shared by every engine and the live bots.

A strategy is a module under ``strategies/`` that builds a ``StrategySpec``:
a parameter dataclass (``lab.core.params.Params``) and a ``signals`` function.
``signals(bars, params, cache)`` looks only at bars up to and including bar i to
decide the signal at bar i; the engines execute it at the open of bar i+1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, MutableMapping

import numpy as np
import pandas as pd

from lab.core.errors import ParamError, StrategyError
from lab.core.params import Params


@dataclass(frozen=True)
class Signals:
    """Entry and exit signals of one parameter set.

    Attributes
    ----------
    entries_long, exits_long, entries_short, exits_short : ndarray of bool, shape (n,)
        True at bar i when the condition holds at the close of bar i. Entries are
        level triggers: when flat, an entry at bar i opens a position at bar i+1's
        open (like vectorbt's ``from_signals``). An exit closes a position on that
        side; an entry of the other side reverses when the direction is BOTH.
    """

    entries_long: np.ndarray
    exits_long: np.ndarray
    entries_short: np.ndarray
    exits_short: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for name in ("entries_long", "exits_long", "entries_short", "exits_short"):
            arr = np.asarray(getattr(self, name))
            if arr.ndim != 1:
                raise StrategyError(f"{name} must be 1-D, got shape {arr.shape}")
            if n is None:
                n = arr.shape[0]
            elif arr.shape[0] != n:
                raise StrategyError(f"{name} has {arr.shape[0]} bars, expected {n}")
            object.__setattr__(self, name, arr.astype(bool, copy=False))

    def __len__(self) -> int:
        return int(self.entries_long.shape[0])

    def truncated(self, n: int) -> "Signals":
        """The first ``n`` bars of each array."""
        return Signals(self.entries_long[:n], self.exits_long[:n],
                       self.entries_short[:n], self.exits_short[:n])


SignalFn = Callable[[pd.DataFrame, Any, MutableMapping], Signals]


@dataclass(frozen=True)
class StrategySpec:
    """A registered strategy.

    Attributes
    ----------
    name : str
        Registry key, snake_case (``"sma_cross"``).
    family : str
        One of ``trend``, ``breakout``, ``mean_reversion``, ``momentum``,
        ``volatility``, ``benchmark``.
    params_cls : type of Params
        Frozen dataclass of parameters with defaults, ranges and a constraint.
    signal_fn : callable
        ``signal_fn(bars, params, cache) -> Signals``. ``cache`` is a dict that a
        batch call shares across parameter sets, so an indicator with the same
        arguments is computed once (key it by ``(indicator_name, *args)``).
    description : str
        One sentence for the UI: the rule in plain words.
    """

    name: str
    family: str
    params_cls: type
    signal_fn: SignalFn
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def is_native(self) -> bool:
        """True for a native Backtrader strategy (no signals; runs only on Backtrader)."""
        return self.extra.get("backtrader_factory") is not None

    def params(self, **values: Any) -> Params:
        """Validated parameters: defaults overridden by ``values``."""
        return self.params_cls.from_dict(values)

    def signals(self, bars: pd.DataFrame, params: Params | None = None,
                cache: MutableMapping | None = None) -> Signals:
        """Signals for one parameter set on ``bars``.

        Parameters
        ----------
        bars : DataFrame
            OHLCV bars indexed by UTC ``ts_event`` (see ``lab.core.types``).
        params : Params, optional
            Defaults when omitted.
        cache : dict, optional
            Shared indicator cache (see ``signal_fn``).

        Raises
        ------
        ParamError
            If ``params`` is of the wrong class or invalid.
        StrategyError
            If the strategy code fails or returns arrays of the wrong length.
        """
        if params is None:
            params = self.params_cls()
        if not isinstance(params, self.params_cls):
            raise ParamError(
                f"{self.name} expects {self.params_cls.__name__}, got {type(params).__name__}"
            )
        params.validate()
        try:
            out = self.signal_fn(bars, params, {} if cache is None else cache)
        except (ParamError, StrategyError):
            raise
        except Exception as exc:  # user strategy code: wrap so the caller sees who failed
            raise StrategyError(
                f"strategy {self.name!r} failed with {params.to_dict()}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(out, Signals):
            raise StrategyError(f"strategy {self.name!r} returned {type(out).__name__}, "
                                "expected lab.core.strategy.Signals")
        if len(out) != len(bars):
            raise StrategyError(
                f"strategy {self.name!r} returned {len(out)} signals for {len(bars)} bars"
            )
        return out

    def signals_batch(self, bars: pd.DataFrame, params_list: list[Params]) -> list[Signals]:
        """Signals for many parameter sets, sharing indicator work through one cache."""
        cache: dict = {}
        return [self.signals(bars, p, cache) for p in params_list]
