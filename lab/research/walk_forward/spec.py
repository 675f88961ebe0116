"""What a walk-forward runs: ``WalkForwardSpec`` (data, strategies, windows, selection,
levels, execution), and its candidates as a ``SweepSpec`` (``walk_forward_spec``).

``WalkForwardSpec.to_dict()`` is the job payload of a walk-forward (``lab.jobs``), what
the Walk-forward page and ``python -m lab walkforward`` build, and what tracking records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.research.sweep.spec import SweepSpec

#: Parameter selection methods.
SELECT = ("grid", "optuna")
#: Execution levels a walk-forward can search (``param_<name>`` in the windows).
LEVELS = ("sl", "tp", "leverage")
#: Keys of ``WalkForwardSpec.windows`` (arguments of ``walk_forward_windows``).
WINDOW_KEYS = ("n_windows", "train_fraction", "train_bars", "test_bars", "anchored")


def _strategies(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else (value or ())
    out = tuple(dict.fromkeys(str(x).strip() for x in items if str(x).strip()))
    if not out:
        raise ConfigError("a walk-forward needs at least one strategy (e.g. sma_cross)")
    return out


def _levels(value: Any) -> tuple | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return value                        # refused by walk_forward_spec with its message
    return tuple(value)


@dataclass(frozen=True)
class WalkForwardSpec:
    """A walk-forward validation: strategies on one stored symbol, windows, selection.

    Attributes
    ----------
    data : str
        Stored symbol (``Catalog.datasets()``).
    strategies : tuple of str
        Registered signal strategies (a comma separated string is split).
    timeframe : str or None
        Bar size; None = the finest stored for ``data``.
    start, end : str or None
        Inclusive bounds on the bar open time, UTC.
    grids : mapping
        Per-strategy grid overrides ``{"sma_cross": {"fast": (5, 10)}}``.
    windows : mapping
        ``walk_forward_windows`` arguments (``WINDOW_KEYS``), e.g. ``{"n_windows": 5,
        "train_fraction": 0.7}``.
    select : {"grid", "optuna"}
    objective : str
        A name of ``lab.kernels.sweep.STAT_NAMES`` to maximize on each train window.
    min_trades : int
        Fewest train-window trades for a candidate to be chosen (>= 0).
    compound : bool
        Each fold starts with the previous fold's final equity.
    n_trials : int or None
        Optuna trials per window (default min(50, candidates)).
    seed : int
        Optuna seed (window ``i`` uses ``seed + i``).
    sl, tp, leverage : tuple or None
        Levels to choose from (fractions of the entry price, None inside = off;
        leverage multiples); None = the config's own value only.
    config : ExecutionConfig
        Base execution settings (a dict is converted).

    Raises
    ------
    ConfigError, ParamError, UnknownStrategyError
        On construction: no strategy, no data, an unknown selection, objective or window
        key, a bad level list (naming the level), a grid the strategy rejects.
    """

    data: str
    strategies: tuple[str, ...]
    timeframe: str | None = None
    start: str | None = None
    end: str | None = None
    grids: Mapping[str, Mapping[str, tuple]] = field(default_factory=dict)
    windows: Mapping[str, Any] = field(default_factory=dict)
    select: str = "grid"
    objective: str = "sharpe"
    min_trades: int = 3
    compound: bool = False
    n_trials: int | None = None
    seed: int = 0
    sl: tuple | None = None
    tp: tuple | None = None
    leverage: tuple | None = None
    config: ExecutionConfig = field(default_factory=ExecutionConfig)

    def __post_init__(self) -> None:
        from lab.kernels.sweep import STAT_NAMES

        set_ = object.__setattr__
        set_(self, "strategies", _strategies(self.strategies))
        for s in self.strategies:
            registry.get(s)
        if not self.data:
            raise ConfigError("a walk-forward needs data: a stored symbol")
        if self.select not in SELECT:
            raise ConfigError(f"unknown selection {self.select!r}; use one of {SELECT}")
        if self.objective not in STAT_NAMES:
            raise ConfigError(f"unknown objective {self.objective!r}; use one of "
                              f"{list(STAT_NAMES)}")
        if isinstance(self.config, Mapping):
            set_(self, "config", ExecutionConfig.from_dict(dict(self.config)))
        windows = dict(self.windows or {})
        unknown = sorted(set(windows) - set(WINDOW_KEYS))
        if unknown:
            raise ConfigError(f"unknown window option(s) {unknown}; use {list(WINDOW_KEYS)}")
        set_(self, "windows", windows)
        set_(self, "grids", {k: {p: tuple(v) for p, v in g.items()}
                             for k, g in dict(self.grids or {}).items()})
        for name in LEVELS:
            set_(self, name, _levels(getattr(self, name)))
        set_(self, "min_trades", int(self.min_trades))
        set_(self, "seed", int(self.seed or 0))
        if self.n_trials is not None:
            set_(self, "n_trials", int(self.n_trials))
        set_(self, "compound", bool(self.compound))
        self.candidates()                              # grids and levels checked now

    def candidates(self) -> SweepSpec:
        """The candidates (parameter sets x levels) as a checked ``SweepSpec``."""
        return walk_forward_spec(self.strategies, config=self.config, grids=self.grids or None,
                                 sl=self.sl, tp=self.tp, leverage=self.leverage,
                                 symbol=self.data, timeframe=self.timeframe or "1d",
                                 min_trades=self.min_trades)

    def window_args(self) -> dict[str, Any]:
        """Keyword arguments of ``walk_forward_windows`` (unset ones left out)."""
        return {k: v for k, v in self.windows.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the job payload; ``from_dict`` inverts it)."""
        return {"data": self.data, "timeframe": self.timeframe, "start": self.start,
                "end": self.end, "strategies": list(self.strategies),
                "grids": {k: {p: list(v) for p, v in g.items()} for k, g in self.grids.items()},
                "windows": dict(self.windows), "select": self.select,
                "objective": self.objective, "min_trades": self.min_trades,
                "compound": self.compound, "n_trials": self.n_trials, "seed": self.seed,
                **{k: None if getattr(self, k) is None else list(getattr(self, k))
                   for k in LEVELS},
                "config": self.config.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "WalkForwardSpec":
        """Inverse of ``to_dict``; absent keys take their defaults.

        Raises
        ------
        ConfigError
            An unknown key (the message lists the known ones), or as the constructor.
        """
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown walk-forward option(s) {unknown}; use {sorted(names)}")
        return cls(**{k: v for k, v in d.items() if v is not None or k in LEVELS})

    @property
    def title(self) -> str:
        """One line for job lists: strategies, ``symbol@timeframe``, selection."""
        from lab.core.ids import dataset_id

        return (f"walk-forward {', '.join(self.strategies)} on "
                f"{dataset_id(self.data, self.timeframe or 'finest')} · {self.select}")


def walk_forward_spec(strategies: Sequence[str] | str, *, config: ExecutionConfig | None = None,
                      grids: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
                      sl: Sequence[float | None] | None = None,
                      tp: Sequence[float | None] | None = None,
                      leverage: Sequence[float] | None = None, symbol: str | None = None,
                      timeframe: str = "1d", min_trades: int = 3):
    """The candidates of a walk-forward as a ``SweepSpec`` (grids x levels), checked.

    Parameters
    ----------
    strategies, config, grids, symbol, timeframe, min_trades
        As ``run_walk_forward``.
    sl, tp : sequence of float or None, optional
        Stop-loss / take-profit levels, fractions of the entry price (0.02 = 2 %); None
        inside the sequence = off. Default: the config's own value only.
    leverage : sequence of float, optional
        Leverage levels (1 = cash account, up to ``MAX_LEVERAGE``). Default: the
        config's own value only.

    Returns
    -------
    SweepSpec
        Its ``exec_levels()`` are every (sl, tp, leverage) combination.

    Raises
    ------
    ConfigError
        A level list that is empty or not a list, a level that is not a number or not
        above 0, or a level the execution settings reject (e.g. leverage below 1, or too
        high for the maintenance margin), each naming the level.
    ParamError, UnknownStrategyError
        As ``SweepSpec``.
    """
    config = config or ExecutionConfig()
    strategies = (strategies,) if isinstance(strategies, str) else tuple(strategies)
    given = {"sl": sl, "tp": tp, "leverage": leverage}
    for name, values in given.items():
        if values is None:
            given[name] = (getattr(config, name),)
        elif isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ConfigError(f"{name} levels must be a list such as "
                              f"{'[1, 2]' if name == 'leverage' else '[None, 0.02]'}"
                              f"{'' if name == 'leverage' else ' (fractions; None = off)'}, "
                              f"got {values!r}")
        else:
            given[name] = tuple(values)
    spec = SweepSpec(strategies=strategies, symbols=((symbol or "data", timeframe),),
                     grids={k: {p: tuple(v) for p, v in g.items()}
                            for k, g in (grids or {}).items()},
                     config=config, min_trades=min_trades, **given)
    for name in LEVELS:
        for v in getattr(spec, name):
            try:
                config.replace(**{name: v})
            except ConfigError as exc:
                raise ConfigError(f"{name} level {v!r} does not fit the execution settings: "
                                  f"{exc}") from None
    if len(spec.exec_levels()) != len(spec.sl) * len(spec.tp) * len(spec.leverage):
        raise ConfigError("some (sl, tp, leverage) combinations do not fit the execution "
                          "settings; narrow the level lists")
    return spec
