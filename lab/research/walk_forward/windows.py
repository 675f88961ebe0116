"""Walk-forward windows: train on one stretch of bars, test on the stretch after it.

Two ways to lay them out:

* ``n_windows`` + ``train_fraction``: the bars are cut so that ``n_windows`` test windows
  of equal length end at the last bar, each after a train window holding
  ``train_fraction`` of train + test (0.7 = 70 % train, 30 % test).
* ``train_bars`` + ``test_bars``: explicit lengths; as many windows as fit (all of them
  ending at the last bar), or the last ``n_windows`` of those when it is also given.

Rolling windows keep a train window of fixed length that slides with the test window;
anchored windows start every train window at the first bar (they grow). In both, test
windows are contiguous, do not overlap, and each begins at the bar after its train
window ends. Bars at the start that do not fill a whole step are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lab.core.errors import ConfigError

#: Fewest bars of a train window and of a test window.
MIN_TRAIN_BARS = 2
MIN_TEST_BARS = 2


@dataclass(frozen=True)
class Window:
    """One fold: positions (not labels) of its train and test bars.

    Attributes
    ----------
    train, test : slice
        ``slice(start, stop)`` of integer positions, stop exclusive; ``test.start ==
        train.stop``.
    """

    train: slice
    test: slice

    @property
    def train_bars(self) -> int:
        """Number of train bars."""
        return self.train.stop - self.train.start

    @property
    def test_bars(self) -> int:
        """Number of test bars."""
        return self.test.stop - self.test.start

    def to_dict(self) -> dict[str, int]:
        """``{"train_start", "train_stop", "test_start", "test_stop"}`` positions."""
        return {"train_start": self.train.start, "train_stop": self.train.stop,
                "test_start": self.test.start, "test_stop": self.test.stop}

    @classmethod
    def from_dict(cls, d: dict[str, int]) -> "Window":
        """Inverse of ``to_dict``."""
        return cls(slice(int(d["train_start"]), int(d["train_stop"])),
                   slice(int(d["test_start"]), int(d["test_stop"])))


def _whole(value: Any, name: str, low: int) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a number") from None
    if not math.isfinite(f) or f != int(f) or f < low:
        raise ConfigError(f"{name}={value!r} must be a whole number >= {low}")
    return int(f)


def walk_forward_windows(index: Any, *, n_windows: int | None = None,
                         train_fraction: float | None = None, train_bars: int | None = None,
                         test_bars: int | None = None, anchored: bool = False) -> list[Window]:
    """Train/test windows over ``index``.

    Parameters
    ----------
    index : sized (DatetimeIndex, DataFrame, int)
        The bars (only their number is used); an int is the number of bars.
    n_windows : int, optional
        Number of folds (test windows). With ``train_fraction``: required; with
        ``train_bars``/``test_bars``: keep only the last ``n_windows`` that fit.
    train_fraction : float, optional
        Share of train bars in train + test, strictly between 0 and 1 (0.7 = 70 %).
    train_bars, test_bars : int, optional
        Explicit lengths, bars. With ``anchored`` the first train window has
        ``train_bars`` and the later ones grow.
    anchored : bool
        Every train window starts at bar 0 (expanding) instead of sliding.

    Returns
    -------
    list of Window
        Oldest first; the last test window ends at the last bar.

    Raises
    ------
    ConfigError
        Both or neither layout given, a length or fraction out of range, or too few bars
        for the windows asked for (the message says how many are needed).
    """
    n = index if isinstance(index, int) else len(index)
    explicit = train_bars is not None or test_bars is not None
    if explicit and train_fraction is not None:
        raise ConfigError("give either n_windows + train_fraction or train_bars + test_bars, "
                          "not both")
    if explicit:
        if train_bars is None or test_bars is None:
            raise ConfigError("explicit windows need both train_bars and test_bars")
        train = _whole(train_bars, "train_bars", MIN_TRAIN_BARS)
        test = _whole(test_bars, "test_bars", MIN_TEST_BARS)
        fit = (n - train) // test if n >= train + test else 0
        if fit < 1:
            raise ConfigError(f"{n} bars cannot hold one window of {train} train + {test} "
                              f"test bars; use shorter windows or more data")
        k = fit
        if n_windows is not None:
            k = _whole(n_windows, "n_windows", 1)
            if k > fit:
                raise ConfigError(f"{n} bars hold at most {fit} windows of {train} train + "
                                  f"{test} test bars, not {k}; need {train + k * test} bars")
    else:
        if n_windows is None or train_fraction is None:
            raise ConfigError("give n_windows and train_fraction (e.g. 5 and 0.7), or "
                              "train_bars and test_bars")
        k = _whole(n_windows, "n_windows", 1)
        try:
            f = float(train_fraction)
        except (TypeError, ValueError):
            raise ConfigError(f"train_fraction={train_fraction!r} is not a number") from None
        if not (0.0 < f < 1.0):
            raise ConfigError(f"train_fraction={train_fraction!r} must be strictly between "
                              "0 and 1 (0.7 = 70 % train)")
        ratio = f / (1.0 - f)               # train bars per test bar
        test = int(n // (k + ratio))
        train = int(math.floor(test * ratio))
        if test < MIN_TEST_BARS or train < MIN_TRAIN_BARS:
            need = int(math.ceil(max(MIN_TEST_BARS, MIN_TRAIN_BARS / ratio) * (k + ratio)))
            raise ConfigError(f"{n} bars are too few for {k} windows at train fraction {f:g} "
                              f"(about {need} bars needed); use fewer windows or more data")
    first_test = n - k * test
    out = []
    for i in range(k):
        t0 = first_test + i * test
        out.append(Window(slice(0 if anchored else t0 - train, t0), slice(t0, t0 + test)))
    return out
