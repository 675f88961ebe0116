"""Plotly figures of ``lab.metrics.analytics`` outputs. Pure functions: frames in,
``go.Figure`` out; percentages appear only on the axes and labels."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

_MARGIN = dict(l=10, r=10, t=40, b=10)
_SIDE_COLORS = {"long": "#1565c0", "short": "#ef6c00"}


def monthly_heatmap_figure(table: pd.DataFrame, title: str = "Monthly returns",
                           height: int | None = None) -> go.Figure:
    """Year x month heatmap of ``lab.metrics.monthly_returns`` (cells in percent).

    Parameters
    ----------
    table : DataFrame, shape (years, 13)
        Months ``Jan``..``Dec`` and ``Year`` as fractions, index ``year``.
    """
    z = table.to_numpy(dtype=float) * 100.0
    months = z[:, :12] if z.shape[1] >= 12 else z
    finite = months[np.isfinite(months)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    text = np.where(np.isfinite(z), np.vectorize(lambda v: f"{v:.1f}")(np.nan_to_num(z)), "")
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(c) for c in table.columns], y=[str(y) for y in table.index],
        text=text, texttemplate="%{text}", colorscale="RdYlGn", zmid=0,
        zmin=-limit, zmax=limit, colorbar=dict(title="%"),
        hovertemplate="%{y} %{x}: %{z:.2f} %<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(title=title, margin=_MARGIN,
                      height=height or max(220, 60 + 28 * len(table)))
    return fig


def rolling_sharpe_figure(sharpe: pd.Series, title: str = "Rolling Sharpe",
                          height: int = 320) -> go.Figure:
    """Line of ``lab.metrics.rolling_sharpe`` with a zero line."""
    fig = go.Figure(go.Scattergl(x=sharpe.index, y=sharpe.to_numpy(), name="rolling Sharpe",
                                 line=dict(color="#1565c0", width=1.4)))
    fig.add_hline(y=0, line=dict(color="#9e9e9e", width=1, dash="dot"))
    fig.update_layout(title=title, height=height, margin=_MARGIN, showlegend=False)
    fig.update_yaxes(title_text="Sharpe (ann.)")
    return fig


def underwater_figure(drawdown: pd.Series, title: str = "Underwater",
                      height: int = 300) -> go.Figure:
    """Drawdown below the running peak, in percent (filled to zero)."""
    fig = go.Figure(go.Scattergl(x=drawdown.index, y=drawdown.to_numpy() * 100.0,
                                 fill="tozeroy", name="drawdown",
                                 line=dict(color="#d32f2f", width=1)))
    fig.update_layout(title=title, height=height, margin=_MARGIN, showlegend=False)
    fig.update_yaxes(title_text="drawdown %")
    return fig


def trade_pnl_histogram(trades: pd.DataFrame, column: str = "return", bins: int = 40,
                        title: str = "Trade results", height: int = 320) -> go.Figure:
    """Histogram of closed-trade results per side.

    Parameters
    ----------
    trades : DataFrame
        ``BacktestResult.trades``.
    column : str
        ``"return"`` (fraction, drawn in percent) or ``"pnl"`` (account currency).
    """
    scale, label = (100.0, "trade return %") if column == "return" else (1.0, "trade PnL")
    fig = go.Figure()
    for side, t in trades.groupby("side") if len(trades) else []:
        fig.add_trace(go.Histogram(x=t[column].to_numpy(dtype=float) * scale, name=str(side),
                                   nbinsx=bins, opacity=0.75,
                                   marker_color=_SIDE_COLORS.get(str(side))))
    fig.add_vline(x=0, line=dict(color="#616161", width=1, dash="dot"))
    fig.update_layout(title=title, height=height, margin=_MARGIN, barmode="overlay",
                      legend=dict(orientation="h", y=1.02, x=1, xanchor="right",
                                  yanchor="bottom"))
    fig.update_xaxes(title_text=label)
    fig.update_yaxes(title_text="trades")
    return fig


def regime_figure(regimes: pd.DataFrame, title: str = "Performance by market regime",
                  height: int = 320) -> go.Figure:
    """Annualized return (percent) and Sharpe per regime (``regime_performance``)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Annualized return %", "Sharpe"))
    colors = ["#2e7d32" if "above" in str(i) else "#c62828" for i in regimes.index]
    labels = [f"{i} ({s:.0%} of time)" for i, s in zip(regimes.index, regimes["share"])]
    fig.add_trace(go.Bar(x=labels, y=regimes["annualized_return"] * 100.0,
                         marker_color=colors, name="annualized return"), row=1, col=1)
    fig.add_trace(go.Bar(x=labels, y=regimes["sharpe"], marker_color=colors,
                         name="Sharpe"), row=1, col=2)
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=70, b=10),
                      showlegend=False)
    return fig


def equity_overlay_figure(curves: Mapping[str, pd.Series], title: str = "Equity (normalized)",
                          height: int = 420) -> go.Figure:
    """Several equity curves on one axis, each divided by its first value (growth of 1).

    Parameters
    ----------
    curves : mapping of label to Series
        Equity per bar (account currency); curves may cover different dates.
    """
    fig = go.Figure()
    for label, eq in curves.items():
        if len(eq) == 0:
            continue
        start = float(eq.iloc[0]) or 1.0
        fig.add_trace(go.Scattergl(x=eq.index, y=eq.to_numpy(dtype=float) / start,
                                   name=str(label), line=dict(width=1.4)))
    fig.update_layout(title=title, height=height, margin=_MARGIN,
                      legend=dict(orientation="h", y=-0.1, x=0, yanchor="top"))
    fig.update_yaxes(title_text="growth of 1")
    return fig
