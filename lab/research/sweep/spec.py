"""What a sweep runs: ``SweepSpec`` and its expansion into parameter sets.

A sweep is the product strategies x parameter grids x stop-loss x take-profit x
leverage x (symbol, timeframe). One result row ("set") is one element of that
product. Rows are numbered (``set_id``) in expansion order::

    for strategy in spec.strategies:                 # as given
        for symbol, timeframe in spec.symbols:       # as given
            for params in spec.parameter_sets(strategy):   # grid product, first name slowest
                for sl, tp, leverage in spec.exec_levels():   # sl slowest, leverage fastest

A parameter combination that breaks the strategy's constraint (e.g. ``fast >= slow``)
and an (sl, tp, leverage) level that ``ExecutionConfig`` rejects with the base
configuration (e.g. leverage 50 with a maintenance margin of 5 %) are dropped and
counted (``count()["dropped_invalid"]``, in rows).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, ParamError
from lab.core.params import Params

ENGINES = ("vectorized", "vectorbt")


def _level(value: Any, what: str) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} level {value!r} is not a number (fractions, 0.02 = 2 %; "
                          "None = off)") from None
    if not (v > 0 and math.isfinite(v)):
        raise ConfigError(f"{what} level {value!r} must be a fraction above 0 (0.02 = 2 %) "
                          "or None for off")
    return v


def _dedupe(values) -> tuple:
    out: list = []
    for v in values:
        if v not in out:
            out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class SweepSpec:
    """A parameter sweep: strategies x grids x SL x TP x leverage x symbols.

    Attributes
    ----------
    strategies : tuple of str
        Registered strategy names (``lab.core.registry.names()``); native Backtrader
        strategies cannot be swept.
    symbols : tuple of (str, str)
        ``(symbol, timeframe)`` pairs of the catalog, e.g. ``(("BTCUSD_COINBASE", "1h"),)``.
    grids : mapping of str to mapping of str to tuple of float
        Per-strategy grid overrides: ``{"sma_cross": {"fast": (5, 10, 20)}}``. A
        parameter not named here sweeps ``ParamSpec.grid()`` (its low..high by step).
    sl, tp : tuple of float or None
        Stop-loss / take-profit levels, fractions of the entry price (0.02 = 2 %);
        None = off.
    leverage : tuple of float
        Leverage levels (1 = cash account).
    start, end : str or None
        Inclusive bounds on the bar open time, UTC (``Catalog.load``).
    config : ExecutionConfig
        Base execution (cash, costs, direction, sizing); its ``sl``, ``tp`` and
        ``leverage`` are replaced by each level.
    engine : str
        "vectorized" (numba sweep kernel) or "vectorbt" (``Portfolio.from_signals``,
        leverage 1 and percent commission only).
    min_trades : int
        Fewest trades for a row to rank on a leaderboard (carried, not applied here).

    Raises
    ------
    ConfigError, ParamError, UnknownStrategyError
        On construction, for an empty or malformed field, an unknown strategy or
        parameter, or a grid value outside the parameter's range.
    """

    strategies: tuple[str, ...]
    symbols: tuple[tuple[str, str], ...]
    grids: Mapping[str, Mapping[str, tuple[float, ...]]] = field(default_factory=dict)
    sl: tuple[float | None, ...] = (None,)
    tp: tuple[float | None, ...] = (None,)
    leverage: tuple[float, ...] = (1.0,)
    start: str | None = None
    end: str | None = None
    config: ExecutionConfig = field(default_factory=ExecutionConfig)
    engine: str = "vectorized"
    min_trades: int = 3

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        strategies = (self.strategies,) if isinstance(self.strategies, str) else self.strategies
        set_(self, "strategies", _dedupe(str(s).strip() for s in strategies))
        if not self.strategies:
            raise ConfigError("a sweep needs at least one strategy (e.g. ('sma_cross',))")
        symbols = []
        for item in self.symbols:
            if isinstance(item, str) or len(item) != 2:
                raise ConfigError(f"symbols must be (symbol, timeframe) pairs, got {item!r}; "
                                  "e.g. (('BTCUSD_COINBASE', '1h'),)")
            symbols.append((str(item[0]), str(item[1])))
        set_(self, "symbols", _dedupe(symbols))
        if not self.symbols:
            raise ConfigError("a sweep needs at least one (symbol, timeframe)")
        set_(self, "sl", _dedupe(_level(v, "sl") for v in self.sl))
        set_(self, "tp", _dedupe(_level(v, "tp") for v in self.tp))
        lev = []
        for v in self.leverage:
            try:
                lev.append(float(v))
            except (TypeError, ValueError):
                raise ConfigError(f"leverage level {v!r} is not a number") from None
        set_(self, "leverage", _dedupe(lev))
        for name in ("sl", "tp", "leverage"):
            if not getattr(self, name):
                raise ConfigError(f"{name} needs at least one level (use (None,) for off)"
                                  if name != "leverage" else "leverage needs at least one level")
        if isinstance(self.config, Mapping):
            set_(self, "config", ExecutionConfig.from_dict(dict(self.config)))
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown sweep engine {self.engine!r}; use one of {ENGINES}")
        if int(self.min_trades) != self.min_trades or self.min_trades < 0:
            raise ConfigError(f"min_trades={self.min_trades!r} must be a whole number >= 0")
        set_(self, "min_trades", int(self.min_trades))
        for name in ("start", "end"):
            v = getattr(self, name)
            set_(self, name, None if v is None else str(v))
        set_(self, "grids", self._checked_grids())
        set_(self, "_expanded", {})      # strategy -> (combinations, valid Params); not a field

    def _checked_grids(self) -> dict[str, dict[str, tuple[float, ...]]]:
        unknown = set(self.grids) - set(self.strategies)
        if unknown:
            raise ConfigError(f"grids given for {sorted(unknown)}, which are not among the "
                              f"swept strategies {list(self.strategies)}")
        out: dict[str, dict[str, tuple[float, ...]]] = {}
        for strategy in self.strategies:
            spec = registry.get(strategy)
            if spec.extra.get("backtrader_factory") is not None:
                raise ConfigError(f"{strategy} is a native Backtrader strategy; sweeps run "
                                  "signal strategies only")
            specs = {s.name: s for s in spec.params_cls.specs()}
            grid = dict(self.grids.get(strategy, {}))
            bad = set(grid) - set(specs)
            if bad:
                raise ParamError(f"{strategy} has no parameter(s) {sorted(bad)}; it takes "
                                 f"{sorted(specs)}")
            checked = {}
            for name, values in grid.items():
                s = specs[name]
                values = (values,) if isinstance(values, (int, float)) else tuple(values)
                if not values:
                    raise ParamError(f"grid of {strategy}.{name} is empty")
                clean = []
                for v in values:
                    try:
                        f = float(v)
                    except (TypeError, ValueError):
                        raise ParamError(f"{strategy}.{name}={v!r} is not a number") from None
                    if s.kind is int and f != int(f):
                        raise ParamError(f"{strategy}.{name}={v!r} must be a whole number")
                    s.check_value(f, f"{strategy}.{name}")
                    clean.append(f)
                checked[name] = _dedupe(clean)
            if checked:
                out[strategy] = checked
        return out

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __getstate__(self) -> dict:            # pickle without the expansion cache
        return {k: v for k, v in self.__dict__.items() if k != "_expanded"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "_expanded", {})

    # -- serialization ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable dict (``from_dict`` inverts it)."""
        return {
            "strategies": list(self.strategies),
            "symbols": [list(s) for s in self.symbols],
            "grids": {k: {n: list(v) for n, v in g.items()} for k, g in self.grids.items()},
            "sl": list(self.sl), "tp": list(self.tp), "leverage": list(self.leverage),
            "start": self.start, "end": self.end,
            "config": self.config.to_dict(),
            "engine": self.engine, "min_trades": self.min_trades,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SweepSpec":
        """Inverse of ``to_dict``."""
        d = dict(d)
        return cls(
            strategies=tuple(d["strategies"]),
            symbols=tuple(tuple(s) for s in d["symbols"]),
            grids={k: {n: tuple(v) for n, v in g.items()} for k, g in d.get("grids", {}).items()},
            sl=tuple(d.get("sl", (None,))), tp=tuple(d.get("tp", (None,))),
            leverage=tuple(d.get("leverage", (1.0,))),
            start=d.get("start"), end=d.get("end"),
            config=ExecutionConfig.from_dict(d.get("config", {})),
            engine=d.get("engine", "vectorized"), min_trades=d.get("min_trades", 3))

    # -- expansion --------------------------------------------------------------------
    def grid_values(self, strategy: str) -> dict[str, tuple]:
        """Values swept for each parameter of ``strategy``, in declaration order.

        Returns
        -------
        dict of str to tuple of int or float
            Overrides from ``grids``, else ``ParamSpec.grid()``; ints for int parameters.
        """
        spec = registry.get(strategy)
        over = self.grids.get(strategy, {})
        out = {}
        for s in spec.params_cls.specs():
            values = over.get(s.name)
            if values is None:       # low + step x k, rounded so 0.1 x 3 reads 0.3
                values = tuple(s.grid().tolist())
                if s.kind is not int:
                    values = tuple(round(v, 10) for v in values)
            out[s.name] = tuple(int(v) for v in values) if s.kind is int else \
                tuple(float(v) for v in values)
        return out

    def _param_product(self, strategy: str) -> tuple[int, list[Params]]:
        hit = self._expanded.get(strategy)
        if hit is not None:
            return hit
        cls = registry.get(strategy).params_cls
        grid = self.grid_values(strategy)
        names = list(grid)
        total, valid = 0, []
        for combo in itertools.product(*grid.values()):
            total += 1
            p = cls(**dict(zip(names, combo)))
            try:
                p.validate()
            except ParamError:
                continue
            valid.append(p)
        self._expanded[strategy] = (total, valid)
        return total, valid

    def parameter_sets(self, strategy: str) -> list[Params]:
        """Valid parameter sets of ``strategy`` (constraint applied), in expansion order.

        Raises
        ------
        ConfigError
            If ``strategy`` is not one of ``strategies``.
        """
        if strategy not in self.strategies:
            raise ConfigError(f"{strategy!r} is not swept here; strategies: "
                              f"{list(self.strategies)}")
        return list(self._param_product(strategy)[1])

    def exec_levels(self) -> list[tuple[float | None, float | None, float]]:
        """Valid ``(sl, tp, leverage)`` levels with the base config, in expansion order."""
        out = []
        for sl, tp, lev in itertools.product(self.sl, self.tp, self.leverage):
            try:
                self.config.replace(sl=sl, tp=tp, leverage=lev)
            except ConfigError:
                continue
            out.append((sl, tp, lev))
        return out

    def level_config(self, sl: float | None, tp: float | None,
                     leverage: float) -> ExecutionConfig:
        """The base config with one (sl, tp, leverage) level applied (validated)."""
        return self.config.replace(sl=sl, tp=tp, leverage=leverage)

    def count(self) -> dict[str, Any]:
        """How many result rows the sweep has.

        Returns
        -------
        dict
            ``total`` (rows), ``per_strategy`` ({name: rows}), ``dropped_invalid`` (rows
            of the full product dropped for an invalid parameter combination or an
            invalid sl/tp/leverage level).
        """
        n_sym = len(self.symbols)
        n_exec_all = len(self.sl) * len(self.tp) * len(self.leverage)
        n_exec = len(self.exec_levels())
        per, dropped = {}, 0
        for strategy in self.strategies:
            n_all, valid = self._param_product(strategy)
            per[strategy] = len(valid) * n_exec * n_sym
            dropped += n_all * n_exec_all * n_sym - per[strategy]
        return {"total": sum(per.values()), "per_strategy": per, "dropped_invalid": dropped}

    def invalid_reasons(self) -> list[str]:
        """Why rows of the full product are dropped, one sentence per cause: each
        strategy's parameter combinations that break its rule (how many, the rule, an
        example) and each stop-loss / take-profit / leverage value the base
        configuration refuses (the value and the rule). Empty when nothing is dropped."""
        out = []
        for strategy in self.strategies:
            n_all, valid = self._param_product(strategy)
            if len(valid) == n_all:
                continue
            cls = registry.get(strategy).params_cls
            grid = self.grid_values(strategy)
            example = None
            for combo in itertools.product(*grid.values()):
                try:
                    cls(**dict(zip(grid, combo))).validate()
                except ParamError as exc:
                    example = str(exc)
                    break
            out.append(f"{strategy}: {n_all - len(valid)} of {n_all} parameter "
                       f"combinations break its rule ({example})")
        for name, values in (("sl", self.sl), ("tp", self.tp), ("leverage", self.leverage)):
            for v in values:
                try:
                    self.config.replace(**{name: v})
                except ConfigError as exc:
                    out.append(f"{name} {v:g}: {exc}")
        n_levels = len(self.sl) * len(self.tp) * len(self.leverage)
        singly = sum(1 for sl, tp, lev in itertools.product(self.sl, self.tp, self.leverage)
                     if self._ok(sl=sl) and self._ok(tp=tp) and self._ok(leverage=lev))
        together = singly - len(self.exec_levels())
        if together > 0:
            out.append(f"{together} of {n_levels} (sl, tp, leverage) levels are refused "
                       "together with the base configuration")
        return out

    def _ok(self, **change) -> bool:
        try:
            self.config.replace(**change)
        except ConfigError:
            return False
        return True

    def check_runnable(self) -> dict[str, Any]:
        """``count()`` when at least one row is valid, else a refusal naming the invalid
        values (before anything runs or is stored).

        Raises
        ------
        ConfigError
            No valid row: the message lists ``invalid_reasons()``.
        """
        count = self.count()
        if count["total"] == 0:
            raise ConfigError("this sweep has no valid parameter set, nothing was run: "
                              + "; ".join(self.invalid_reasons())
                              + ". Change those values")
        return count
