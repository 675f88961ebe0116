"""What the Runs page says about one run: its heading, the run shown by default, and
why a run has no equity curve (study, trial, sweep and walk-forward parents record
metrics and tables, not one backtest's equity)."""

from __future__ import annotations

import pandas as pd

#: ``lab.kind`` tag -> how the page names such a run.
KIND_LABELS = {"study": "Optuna study", "trial": "Optuna trial", "sweep": "sweep",
               "walkforward": "walk-forward"}


def default_run_index(runs: pd.DataFrame) -> int:
    """Row of ``runs`` (newest first) to show in the details by default: the newest
    backtest (a run with an ``engine`` tag, so with bars and an equity curve), else the
    newest run."""
    if runs.empty or "engine" not in runs:
        return 0
    hits = [i for i, e in enumerate(runs["engine"].tolist()) if isinstance(e, str) and e]
    return hits[0] if hits else 0


def run_kind(run: dict) -> str:
    """``"backtest"`` or the label of the run's ``lab.kind`` tag."""
    kind = (run.get("tags") or {}).get("lab.kind")
    return KIND_LABELS.get(kind, kind) if kind else "backtest"


def _known(value) -> bool:
    return value not in (None, "", "None", "nan")


def run_heading(run: dict) -> str:
    """One markdown line: what ran on which data and range, status, engine, data
    fingerprint and commit, leaving out what the run did not record (never
    ``None -> None``)."""
    tags = run.get("tags") or {}
    kind = run_kind(run)
    what = f"**{run['strategy']}**" if _known(run.get("strategy")) else "**run**"
    if kind != "backtest":
        number = tags.get("lab.trial")
        study = tags.get("lab.study_name")
        what = (f"{kind} {number} of study **{study}** · {what}" if number and study else
                f"{kind} **{study}** · {what}" if study else f"{kind} · {what}")
    parts = [what]
    if _known(run.get("symbol")):
        parts[0] += f" on **{run['symbol']}" + (f" {run['timeframe']}**"
                                               if _known(run.get("timeframe")) else "**")
    if _known(run.get("start")) and _known(run.get("end")):
        parts.append(f"{run['start']} → {run['end']}")
    parts.append(f"status {run['status']}")
    if _known(run.get("engine")):
        parts.append(f"engine {run['engine']}")
    if _known(run.get("fingerprint")):
        parts.append(f"data fingerprint `{run['fingerprint']}`")
    if _known(run.get("git_commit")):
        parts.append(f"commit `{run['git_commit'][:10]}`")
    return " · ".join(parts)


def no_curve_text(run: dict) -> str | None:
    """Why the run shows no equity curve or trades, or None when it stored them."""
    if "equity.parquet" in (run.get("artifacts") or []):
        return None
    kind = run_kind(run)
    if kind == "backtest":
        return ("This run stored no equity curve or trades (it was recorded without "
                "artifacts, or they were deleted); its metrics are above.")
    parent = (run.get("tags") or {}).get("lab.parent_study")
    where = f" Its study is run `{parent}`." if parent else ""
    return (f"This {kind} run records metrics and tables, not one backtest's equity "
            f"curve: pick a backtest run, or reopen it in Backtest to see one.{where}")
