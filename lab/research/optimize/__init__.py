"""Optuna studies over a strategy's parameters (and SL / TP / leverage).

``spec`` (``StudySpec``, ``search_space``), ``run`` (``optimize``: the objective, the
samplers, worker processes), ``store`` (storages, ``StudyResult``, reading studies back),
``checks`` (what is refused before a trial runs), ``service`` (a ``StudySpec`` on stored bars, for the CLI and the job runner). See
``lab.research.optimize.run`` for how a trial is evaluated.

Typical use::

    from lab.research.optimize import optimize
    res = optimize(bars, "sma_cross", study_name="sma-btc", n_trials=200,
                   objectives=("sharpe",), sampler="tpe", seed=1,
                   search_sl=(0.01, 0.05), asset_class="crypto", timeframe="1h")
"""

from lab.research.optimize.checks import check_continuation, check_same_study, check_search
from lab.research.optimize.run import PENALTY, POLL_S, optimize
from lab.research.optimize.spec import DIRECTIONS, OBJECTIVES, SAMPLERS, StudySpec, search_space
from lab.research.optimize.store import (StudyResult, default_storage, list_studies,
                                         load_study_result, open_storage, study_dsr,
                                         trial_backtest, trial_config, trials_returns_matrix)

__all__ = ["DIRECTIONS", "OBJECTIVES", "PENALTY", "POLL_S", "SAMPLERS", "StudyResult",
           "StudySpec", "check_continuation", "check_same_study", "check_search",
           "default_storage", "list_studies", "load_study_result",
           "open_storage", "optimize", "search_space", "study_dsr", "trial_backtest",
           "trial_config", "trials_returns_matrix"]
