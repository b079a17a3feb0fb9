"""The seed project's six-page dashboard over gold (Streamlit + Plotly).

Pages (:mod:`.pages`): Overview, Temporal analysis, Clients, Products, Geography, Statistics. The
sidebar chooses the source (:mod:`.sources`): Operational (the REST API) or Lake (a run date's
committed gold). Run it with ``python -m medallion.serving.dashboard`` (or ``make dashboard``, which
also starts MongoDB and the API).
"""
