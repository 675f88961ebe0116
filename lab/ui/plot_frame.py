"""Plotly figures that are updated in place: a Streamlit component frame of stacked
charts, each redrawn by ``Plotly.react`` when its figure changes.

``st.plotly_chart`` (Streamlit 1.67) gives a chart a new element identity whenever its
figure changes (it hashes the figure into the id), so the browser mounts a new chart,
and it draws it twice: two ``plotly_afterplot`` events per changed figure, 25-30 ms
apart, the second after the frontend sets the layout's width (measured in Chromium on
the Backtest page at 20,000 bars; the largest part of a slider change there,
benchmarks/page_latency.py), and the user's zoom is lost on every change. This frame
keeps its identity (a keyed component), draws each new figure once with
``Plotly.react``, skips an unchanged one, and keeps the zoom across settings changes
(``layout.uirevision``). The page's charts share one frame: plotly.js (4.8 MB) is loaded
and compiled once, not once per chart (~0.8 s each here).

plotly.js is the copy shipped inside the ``plotly`` Python package, served with the
frame's page from a folder in the temporary directory (one per version of the page and
of plotly).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import plotly.graph_objects as go

_PAGE = Path(__file__).with_name("assets") / "plot_frame.html"
_NAME = "lab_plot_frame"
#: The frame's title attribute in the page (Streamlit: ``<module>.<name>``).
FRAME_TITLE = f"{__name__}.{_NAME}"


def _frame_dir() -> Path:
    """The component's folder: its page and plotly.min.js (copied: Streamlit serves no
    file whose real path is outside the folder)."""
    import plotly

    page = _PAGE.read_bytes()
    tag = hashlib.blake2b(page + plotly.__version__.encode(), digest_size=6).hexdigest()
    folder = Path(tempfile.gettempdir()) / f"lab-plot-frame-{tag}"
    js = folder / "plotly.min.js"
    if not js.exists():
        folder.mkdir(parents=True, exist_ok=True)
        source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        part = folder / f".plotly.min.js.{os.getpid()}.part"
        shutil.copyfile(source, part)
        part.replace(js)                        # atomic: no half-copied file is served
    (folder / "index.html").write_bytes(page)
    return folder


@lru_cache(maxsize=1)
def _component():
    import streamlit.components.v1 as components

    return components.declare_component(_NAME, path=str(_frame_dir()))


def plot_frames(figures: list[go.Figure] | None, key: str,
                keep_zoom: str | None = None) -> None:
    """Draw ``figures`` stacked in one frame that is updated in place (see the module
    docstring).

    Parameters
    ----------
    figures : list of go.Figure, or None
        Top to bottom; each one's ``layout.height`` (pixels, 450 when unset) sets its
        height, the width follows the page. A figure equal to the one drawn at its
        place is not redrawn. None hides the frame and keeps its charts drawn: call it at
        the same place of the page while another view is shown, and showing the same
        figures again is instant (no reload of plotly.js, no redraw).
    key : str
        The frame's identity on the page; the same key on the next run updates it.
    keep_zoom : str, optional
        Zoom and pan are kept across figures with the same value (e.g. the data range)
        and reset when it changes (``layout.uirevision``).
    """
    import plotly.io as pio
    import streamlit as st

    # a block, not inline: a hidden (0 px) frame then takes no line of its own
    st.html(f"<style>iframe[title='{FRAME_TITLE}']{{display:block}}</style>")
    specs = heights = None
    if figures is not None:
        specs = [pio.to_json(f, validate=False) for f in figures]
        heights = [f.layout.height or 450 for f in figures]
    _component()(figures=specs, heights=heights, keep_zoom=keep_zoom, key=key,
                 default=None)
