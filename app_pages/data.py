"""Data page: the catalog, a chart of any stored range, downloads from ccxt, Yahoo and
Databento as background jobs, refresh, and upload (CSV, Parquet, DBN) with validation."""

import pandas as pd
import streamlit as st

from lab.core.errors import DataValidationError, LabError
from lab.data import ingest_upload
from lab.data.continuous import rolls_table
from lab.ui.cache import catalog, datasets, load_bars
from lab.ui.charts import candlestick_figure
from lab.ui.data_sources import catalog_table, download_section
from lab.ui.widgets import data_picker

st.title("Data")

st.subheader("Catalog")
catalog_table()
ds = datasets()

st.subheader("Chart")
d = data_picker("data")
bars = load_bars(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
st.plotly_chart(candlestick_figure(bars, title=f"{d['symbol']} {d['timeframe']}"),
                width="stretch", key="data_chart")
info = catalog().info(d["symbol"], d["timeframe"]) if d["timeframe"] in \
    ds.loc[ds["symbol"] == d["symbol"], "timeframe"].tolist() else None
if info:
    if info.get("continuous"):
        roll = info["continuous"]
        st.caption(f"Continuous futures from {', '.join(roll['contracts'])}: roll by "
                   f"{roll['roll']}" + (f" ({roll['days_before']} days before expiry)"
                                        if roll.get("days_before") is not None else "")
                   + f", back-adjustment: {roll['adjust']}. Roll dates:")
        st.dataframe(rolls_table(roll), hide_index=True, width="stretch", key="data_rolls")
    with st.expander("Quality report and source"):
        st.json(info, expanded=False)

st.subheader("Download")
download_section("dl")

st.subheader("Upload")
st.caption("CSV or Parquet with a timestamp column and open, high, low, close (volume "
           "optional), or a Databento DBN file (.dbn, .dbn.zst) of OHLCV records. The file "
           "is validated before anything is stored: a file with bars dated after now, or "
           "whose bar spacing contradicts the timeframe chosen, is refused whole.")
with st.form("upload", clear_on_submit=False):
    up = st.file_uploader("File", type=["csv", "parquet", "dbn", "zst"], key="data_upload")
    c1, c2, c3 = st.columns(3)
    symbol = c1.text_input("Store as symbol", key="data_up_symbol", placeholder="e.g. SPY")
    timeframe = c2.selectbox("Timeframe", ["infer", "1m", "5m", "15m", "30m", "1h", "4h", "1d",
                                           "1w"], key="data_up_tf",
                             help="infer: from the bars' own spacing. A timeframe the "
                                  "spacing contradicts is refused")
    asset_class = c3.selectbox("Asset class", ["auto", "equity", "index", "fx", "crypto",
                                               "future"], key="data_up_ac",
                               help="auto: future for a DBN file of a futures exchange, "
                                    "else equity")
    submitted = st.form_submit_button("Validate and store", type="primary")

if submitted:
    if up is None or not symbol.strip():
        st.error("Choose a file and enter a symbol.")
    else:
        try:
            report = ingest_upload(catalog(), up.getvalue(), up.name, symbol=symbol.strip(),
                                   timeframe=None if timeframe == "infer" else timeframe,
                                   asset_class=None if asset_class == "auto" else asset_class)
        except DataValidationError as exc:
            st.error(str(exc))          # says "was refused and nothing was stored" once
            st.dataframe(pd.DataFrame(exc.problems), hide_index=True, width="stretch")
        except LabError as exc:
            st.error(f"Refused, nothing was stored: {exc}")
        else:
            st.success(f"Stored {symbol.strip()}: {report.summary()}")
            st.json(report.to_dict(), expanded=False)
