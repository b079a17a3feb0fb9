"""What users look at: the published gold, served read-only.

* :mod:`medallion.serving.api` -- the REST API (FastAPI) over the gold collections in MongoDB;
* :mod:`medallion.serving.dashboard` -- the six-page Streamlit dashboard, reading either the API
  (Operational) or the committed gold tables of a run date in the lake (Lake);
* :mod:`medallion.serving.metabase` -- Metabase provisioned through its REST API, from the metrics
  glossary (:mod:`medallion.metrics`).

Nothing here computes a metric: every figure is read from what the pipeline committed.
"""
