"""lab: the library behind the trading research workstation.

Importable and usable without Streamlit. Heavy dependencies (vectorbt, backtrader,
mlflow, quantstats, optuna, dask) are imported lazily inside the functions that need
them, so ``import lab`` and ``python -m lab --help`` stay fast.
"""

__version__ = "0.1.0"
