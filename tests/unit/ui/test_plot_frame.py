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


def test_the_backtest_page_draws_its_charts_in_one_keyed_frame(lab_env):
    import json

    from tests.app.test_pages import open_page

    at = open_page("app_pages/backtest.py")
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    (frame,) = at.get("component_instance")
    args = json.loads(frame.proto.json_args)
    price, equity = (json.loads(f) for f in args["figures"])
    assert price["layout"]["title"]["text"].startswith("BTCUSD_COINBASE 1h")
    assert [t["name"] for t in equity["data"]] == ["equity", "buy & hold", "drawdown"]
    assert args["heights"] == [520, 460]
    assert args["keep_zoom"].startswith("BTCUSD_COINBASE|1h|")
    # another view: the frame stays in place, hidden, without figures to send
    at.session_state["bt_tab"] = "Metrics"
    at.run()
    (hidden,) = at.get("component_instance")
    assert hidden.proto.id == frame.proto.id
    assert json.loads(hidden.proto.json_args)["figures"] is None
