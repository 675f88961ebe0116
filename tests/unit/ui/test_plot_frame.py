"""The chart frame of the Backtest page: its folder, and the page drawing into it."""

from __future__ import annotations

from pathlib import Path

import plotly

from lab.ui import plot_frame


def test_the_frame_folder_serves_its_page_and_the_installed_plotly_js():
    folder = plot_frame._frame_dir()
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (folder / "plotly.min.js").read_bytes() == shipped.read_bytes()
    assert (folder / "index.html").read_bytes() == plot_frame._PAGE.read_bytes()
    assert not list(folder.glob("*.part"))
    assert plot_frame._frame_dir() == folder           # made once, found again


def test_the_backtest_page_draws_its_charts_in_two_keyed_frames(lab_env):
    import json

    from tests.app.test_pages import open_page

    at = open_page("app_pages/backtest.py")
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    frames = at.get("component_instance")
    assert len(frames) == 2
    figures = [json.loads(json.loads(f.proto.json_args)["figure"]) for f in frames]
    price, equity = figures
    assert price["layout"]["title"]["text"].startswith("BTCUSD_COINBASE 1h")
    assert [t["name"] for t in equity["data"]] == ["equity", "buy & hold", "drawdown"]
    zoom = {json.loads(f.proto.json_args)["keep_zoom"] for f in frames}
    assert len(zoom) == 1 and "BTCUSD_COINBASE|1h" in zoom.pop()
    # another view: the frames stay in place, hidden, without a figure to send
    at.session_state["bt_tab"] = "Metrics"
    at.run()
    hidden = at.get("component_instance")
    assert [f.proto.id for f in hidden] == [f.proto.id for f in frames]
    assert [json.loads(f.proto.json_args)["figure"] for f in hidden] == [None, None]
    assert [json.loads(f.proto.json_args)["height"] for f in hidden] == [0, 0]
