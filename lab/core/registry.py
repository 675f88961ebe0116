"""The strategy registry: every module under ``strategies/`` registers one spec.

Strategy modules call ``register(StrategySpec(...))`` at import time; the registry
imports the ``strategies`` package lazily the first time it is asked.
"""

from __future__ import annotations

import importlib
import pkgutil

from lab.core.errors import UnknownStrategyError
from lab.core.strategy import StrategySpec

_REGISTRY: dict[str, StrategySpec] = {}
_LOADED = False


def register(spec: StrategySpec) -> StrategySpec:
    """Add ``spec`` to the registry (re-registering the same name replaces it)."""
    _REGISTRY[spec.name] = spec
    return spec


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    package = importlib.import_module("strategies")
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"strategies.{info.name}")


def get(name: str) -> StrategySpec:
    """The strategy registered as ``name``.

    Raises
    ------
    UnknownStrategyError
        Listing the registered names.
    """
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownStrategyError(
            f"no strategy named {name!r}; registered: {', '.join(sorted(_REGISTRY))}"
        ) from None


def names() -> list[str]:
    """Registered strategy names, sorted."""
    _load()
    return sorted(_REGISTRY)


def all_strategies() -> list[StrategySpec]:
    """Every registered spec, sorted by name."""
    _load()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]
