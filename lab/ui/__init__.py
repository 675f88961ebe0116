"""The only lab module that imports streamlit: cached loaders, widgets, plotly figures."""
