"""What an Optuna study runs: ``StudySpec`` (data, strategy, study name and storage,
trials, objectives, sampler, searched levels), typed and checked before anything starts.

``StudySpec.to_dict()`` is the job payload of a study (``lab.jobs.optimize_job``), what the
Optimize page and ``python -m lab optimize`` build.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError

#: Objectives and the direction that is better. ``max_drawdown`` is a fraction <= 0, so
#: larger (closer to 0) is better.
DIRECTIONS = {"sharpe": "maximize", "sortino": "maximize", "calmar": "maximize",
              "total_return": "maximize", "profit_factor": "maximize",
              "cagr": "maximize", "max_drawdown": "maximize", "win_rate": "maximize"}
OBJECTIVES = tuple(DIRECTIONS)
SAMPLERS = ("tpe", "cmaes", "random", "grid", "nsga2")
#: Fields a study cannot do without.
REQUIRED = ("symbol", "timeframe", "strategy", "study_name")
#: The searched execution levels: ``search_<name>`` = (low, high).
SEARCH = ("search_sl", "search_tp", "search_leverage")


def _load_space(param_space) -> dict:
    if param_space is None:
        return {}
    if isinstance(param_space, (str, Path)):
        try:
            return json.loads(Path(param_space).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"param space {param_space}: {exc}") from None
    return dict(param_space)


def search_space(strategy: str, param_space=None) -> dict[str, dict]:
    """The strategy's search space: ``{name: {"low", "high", "step", "kind"}}`` or
    ``{name: {"choices": [...]}}`` or ``{name: {"fixed": value}}``.

    ``param_space`` (dict or JSON file) overrides per name: a dict with any of
    low/high/step, a list (categorical choices) or a scalar (fixed).

    Raises
    ------
    ConfigError
        A name the strategy does not have, or low > high.
    """
    spec = registry.get(strategy)
    space = {s.name: {"low": s.low, "high": s.high, "step": s.step,
                      "kind": "int" if s.kind is int else "float"}
             for s in spec.params_cls.specs()}
    for name, v in _load_space(param_space).items():
        if name not in space:
            raise ConfigError(f"param space: {strategy} has no parameter {name!r}; it has "
                              f"{', '.join(space)}")
        if isinstance(v, Mapping):
            space[name] = {**space[name], **{k: v[k] for k in ("low", "high", "step")
                                             if k in v}}
            if space[name]["low"] > space[name]["high"]:
                raise ConfigError(f"param space {name}: low > high")
        elif isinstance(v, (list, tuple)):
            space[name] = {"choices": list(v)}
        else:
            space[name] = {"fixed": v}
    return space


def _range(value: Any, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a (low, high) pair of numbers, got {value!r}") \
            from None
    return low, high


@dataclass(frozen=True)
class StudySpec:
    """An Optuna study of one strategy on one stored symbol (``optimize``'s settings).

    Attributes
    ----------
    symbol, timeframe : str
        Stored bars (``Catalog.datasets()``).
    strategy : str
        Registered signal strategy.
    study_name : str
        Name in the storage; an existing study of that name is resumed.
    start, end : str or None
        Inclusive bounds on the bar open time, UTC.
    config : ExecutionConfig
        Base execution settings (a dict is converted).
    storage : str or None
        Database URL or journal file; None = ``default_storage(<data>)``.
    n_trials : int or None
        Trials to run (None: until ``timeout`` or a cancel).
    timeout : float or None
        Seconds after which no new trial starts.
    objectives : tuple of str
        One or two of ``OBJECTIVES``.
    sampler : str
        One of ``SAMPLERS``.
    seed : int or None
    search_sl, search_tp, search_leverage : (float, float) or None
        Ranges searched with the parameters (sl/tp fractions of the entry price).
    param_space : mapping or None
        Overrides of the strategy's ranges (``search_space``).
    min_trades : int
    pruning : bool
    workers : int
        Processes (>= 1).

    Raises
    ------
    ConfigError, UnknownStrategyError
        On construction: a missing required field, an unknown objective or sampler, a
        bad range, fewer than 1 worker, a parameter space the strategy rejects.
    """

    symbol: str
    timeframe: str
    strategy: str
    study_name: str
    start: str | None = None
    end: str | None = None
    config: ExecutionConfig = field(default_factory=ExecutionConfig)
    storage: str | None = None
    n_trials: int | None = None
    timeout: float | None = None
    objectives: tuple[str, ...] = ("sharpe",)
    sampler: str = "tpe"
    seed: int | None = None
    search_sl: tuple[float, float] | None = None
    search_tp: tuple[float, float] | None = None
    search_leverage: tuple[float, float] | None = None
    param_space: Mapping[str, Any] | None = None
    min_trades: int = 3
    pruning: bool = True
    workers: int = 1

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        missing = [k for k in REQUIRED if not getattr(self, k)]
        if missing:
            raise ConfigError(f"optimize job needs {', '.join(missing)}")
        registry.get(self.strategy)
        search_space(self.strategy, self.param_space)
        objectives = tuple(self.objectives or ("sharpe",))
        if not 1 <= len(objectives) <= 2 or any(o not in DIRECTIONS for o in objectives):
            raise ConfigError(f"objectives {list(objectives)}: one or two of "
                              f"{', '.join(DIRECTIONS)}")
        set_(self, "objectives", objectives)
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler {self.sampler!r}: one of {', '.join(SAMPLERS)}")
        if isinstance(self.config, Mapping):
            set_(self, "config", ExecutionConfig.from_dict(dict(self.config)))
        for name in SEARCH:
            set_(self, name, _range(getattr(self, name), name))
        workers = 1 if self.workers is None else int(self.workers)
        if workers < 1:
            raise ConfigError("workers: give 1 or more processes")
        set_(self, "workers", workers)
        set_(self, "min_trades", int(self.min_trades))
        set_(self, "pruning", bool(self.pruning))

    def levels(self) -> dict[str, tuple[float, float]]:
        """The searched ranges as ``optimize`` keyword arguments (unset ones left out)."""
        return {k: getattr(self, k) for k in SEARCH if getattr(self, k)}

    @property
    def title(self) -> str:
        """One line for job lists."""
        from lab.core.ids import dataset_id

        n = int(self.n_trials or 0)
        return (f"optimize {self.strategy} on {dataset_id(self.symbol, self.timeframe)}"
                f" · study {self.study_name} · {n or '∞'} trials ({','.join(self.objectives)})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, unset options left out (the job payload; ``from_dict``
        inverts it)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            if f.name == "config":
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "StudySpec":
        """Inverse of ``to_dict``; absent keys take their defaults.

        Raises
        ------
        ConfigError
            An unknown key, or as the constructor.
        """
        missing = [k for k in REQUIRED if not d.get(k)]
        if missing:
            raise ConfigError(f"optimize job needs {', '.join(missing)}")
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"optimize job: unknown options {', '.join(sorted(unknown))}")
        return cls(**{k: v for k, v in d.items() if v is not None})


__all__ = ["DIRECTIONS", "OBJECTIVES", "REQUIRED", "SAMPLERS", "StudySpec", "search_space"]
