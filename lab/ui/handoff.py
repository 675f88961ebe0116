"""Hand-offs between pages: "Open in Backtest" from the Sweep, Optimize and Runs pages.

The sending page stores the settings of a run (the dict ``lab.tracking.get_run``
returns, or one built like it by ``reopen_run`` / ``reopen_trial``) under
``reopen_key()`` and switches to the Backtest page, which loads them into its widgets
(``lab.ui.widgets.apply_reopen``) before they are drawn.
"""

from __future__ import annotations

from typing import Any, Mapping

import streamlit as st

#: The Backtest page's script (as registered in app.py).
BACKTEST_PAGE = "app_pages/backtest.py"
#: Widget key prefix of the Backtest page's form.
BACKTEST_FORM = "bt"


def reopen_key(form: str = BACKTEST_FORM) -> str:
    """Session-state key under which a page hands settings to ``form``."""
    return f"{form}_reopen"


def open_in_backtest(settings: Mapping[str, Any]) -> None:
    """Hand ``settings`` to the Backtest page and switch to it (stops this script run).

    Parameters
    ----------
    settings : mapping
        A run's settings: ``strategy``, ``params``, ``config`` (``ExecutionConfig``
        dict), ``symbol``, ``timeframe``, ``start``, ``end``, ``engine``, ``run_id``.
    """
    st.session_state[reopen_key()] = dict(settings)
    st.switch_page(BACKTEST_PAGE)


__all__ = ["BACKTEST_FORM", "BACKTEST_PAGE", "open_in_backtest", "reopen_key"]
