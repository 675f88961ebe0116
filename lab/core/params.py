"""Strategy parameters: frozen dataclasses whose fields carry their search ranges.

Example
-------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class SmaCrossParams(Params):
...     fast: int = param(10, low=2, high=100, step=1, help="fast SMA length, bars")
...     slow: int = param(50, low=5, high=400, step=5, help="slow SMA length, bars")
...     def check(self) -> None:
...         require(self.fast < self.slow, "fast must be shorter than slow")
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from lab.core.errors import ParamError


def param(default: Any, *, low: float, high: float, step: float | None = None,
          help: str = "", valid: tuple[float, float] | None = None) -> Any:
    """Declare a strategy parameter with its default, search range and valid range.

    Parameters
    ----------
    default : int or float
        Default value; its type (int or float) is the parameter's type.
    low, high : float
        The default search range of sweeps and studies (inclusive); not a limit: a
        backtest or a grid may go beyond it.
    step : float, optional
        Grid step for sweeps; defaults to 1 for ints and (high-low)/10 for floats.
    help : str
        One line for the UI and the CLI, with units.
    valid : (float, float), optional
        The values that make sense at all (inclusive). Default: from ``min(low, 1)``
        for ints (a length in bars is at least 1), from ``min(low, 0)`` for floats,
        with no upper bound.
    """
    kind = int if isinstance(default, (int, np.integer)) and not isinstance(default, bool) else float
    if step is None:
        step = 1 if kind is int else (high - low) / 10.0
    if valid is None:
        valid = (min(low, 1) if kind is int else min(low, 0.0), float("inf"))
    return field(default=default, metadata={"low": low, "high": high, "step": step,
                                             "help": help, "kind": kind,
                                             "valid": tuple(valid)})


def require(condition: bool, message: str) -> None:
    """Raise ``ParamError(message)`` when ``condition`` is false (for ``check``)."""
    if not condition:
        raise ParamError(message)


@dataclass(frozen=True)
class ParamSpec:
    """Description of one parameter (read from the dataclass field)."""

    name: str
    kind: type
    default: float
    low: float
    high: float
    step: float
    help: str
    valid: tuple[float, float] = (float("-inf"), float("inf"))

    def check_value(self, value: float, label: str | None = None) -> None:
        """Raise ``ParamError`` naming the rule when ``value`` makes no sense.

        The search range ``low..high`` is not a limit; ``valid`` is.
        """
        name = label or self.name
        lo, hi = self.valid
        if value < lo or value > hi:
            what = f"{self.help}" if self.help else "the parameter"
            if self.kind is int and lo == 1 and value < 1:
                rule = "a length in bars is at least 1"
            elif hi == float("inf"):
                rule = f"it must be at least {lo:g}"
            else:
                rule = f"it must lie in [{lo:g}, {hi:g}]"
            raise ParamError(f"{name}={value:g} makes no sense ({what}): {rule}")

    def grid(self) -> np.ndarray:
        """Values from ``low`` to ``high`` inclusive in steps of ``step``."""
        n = int(np.floor((self.high - self.low) / self.step + 1e-9)) + 1
        values = self.low + self.step * np.arange(n)
        return values.astype(np.int64) if self.kind is int else values


@dataclass(frozen=True)
class Params:
    """Base class of strategy parameter dataclasses (subclass with ``frozen=True``)."""

    def check(self) -> None:
        """Raise ``ParamError`` when the combination is invalid; override to add rules."""

    def is_valid(self) -> bool:
        """True when the values are in range and ``check`` passes."""
        try:
            self.validate()
        except ParamError:
            return False
        return True

    def validate(self) -> None:
        """Check ranges and types, then the class's own constraint.

        Raises
        ------
        ParamError
            Naming the parameter, its value and the rule it breaks (the search range
            ``low..high`` is no limit; see ``param``'s ``valid``).
        """
        for spec in self.specs():
            value = getattr(self, spec.name)
            if not np.isfinite(value):
                raise ParamError(f"{spec.name}={value} is not a finite number")
            if spec.kind is int and int(value) != value:
                raise ParamError(f"{spec.name}={value} must be a whole number")
            spec.check_value(value)
        self.check()

    @classmethod
    def specs(cls) -> list[ParamSpec]:
        """One ``ParamSpec`` per field, in declaration order."""
        out = []
        for f in dataclasses.fields(cls):
            md = f.metadata
            if "low" not in md:
                continue
            out.append(ParamSpec(f.name, md["kind"], f.default, md["low"], md["high"],
                                 md["step"], md["help"],
                                 md.get("valid", (float("-inf"), float("inf")))))
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Params":
        """Build and validate parameters from a mapping (strings are converted).

        Raises
        ------
        ParamError
            For an unknown name, a value that is not a number, or a broken rule.
        """
        specs = {s.name: s for s in cls.specs()}
        unknown = set(values) - set(specs)
        if unknown:
            raise ParamError(
                f"unknown parameter(s) {sorted(unknown)}; this strategy takes {sorted(specs)}"
            )
        kwargs = {}
        for name, raw in values.items():
            kind = specs[name].kind
            try:
                number = float(raw)
                if kind is int:
                    if number != int(number):
                        raise ValueError
                    kwargs[name] = int(number)
                else:
                    kwargs[name] = number
            except (TypeError, ValueError):
                raise ParamError(
                    f"{name}={raw!r} is not a valid {kind.__name__}"
                ) from None
        obj = cls(**kwargs)
        obj.validate()
        return obj

    def to_dict(self) -> dict[str, Any]:
        """Parameters as a plain dict (JSON-serializable numbers)."""
        return {s.name: getattr(self, s.name) for s in self.specs()}
