"""The Great Expectations data docs: every stored validation result rendered, and copied to the lake.

The site lands in ``quality/data_docs/`` (``index.html`` at its root), where the Airflow plugin
serves it (**Data quality** in the Airflow UI). Needs no Spark.
"""

from __future__ import annotations

import logging
import posixpath
from pathlib import Path

import pyarrow.fs as pafs

from medallion import lake
from medallion.config import Settings
from medallion.quality.gate import _upload_tree, _validations_dir, working_context
from medallion.quality.suites import DATA_DOCS_SITE

log = logging.getLogger("medallion.quality")


def data_docs_path(settings: Settings, *parts: str) -> str:
    """Lake path (for :func:`medallion.lake.filesystem`) of the built data docs site."""
    return lake.layer_path(settings, "quality", "data_docs", *parts)


def build_data_docs(settings: Settings) -> str:
    """Rebuild the data docs from every stored validation result and copy them to the lake.

    Needs no Spark: it opens a working copy of the committed context, loads every result under
    ``quality/validations/`` into its validation store, renders the ``local_site`` and copies it
    to ``quality/data_docs/`` (``index.html`` at its root). Run after every pipeline run, failed
    or not (the DAG's ``build_data_docs`` task, ``trigger_rule="all_done"``).

    Returns:
        The display URI of the site's ``index.html``.
    """
    fs = lake.filesystem(settings)
    stored = lake.layer_path(settings, "quality", "validations")
    with working_context(settings) as context:
        target = _validations_dir(context)
        count = 0
        for info in fs.get_file_info(pafs.FileSelector(stored, recursive=True, allow_not_found=True)):
            if info.type == pafs.FileType.File and info.base_name.endswith(".json"):
                rel = posixpath.relpath(info.path, stored)
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                (target / rel).write_bytes(lake.read_bytes(fs, info.path))
                count += 1
        context.build_data_docs(site_names=[DATA_DOCS_SITE])
        site = Path(context.root_directory) / "uncommitted" / "data_docs" / DATA_DOCS_SITE
        _upload_tree(settings, site, "quality", "data_docs")
    index = lake.display_uri(settings, "quality", "data_docs", "index.html")
    log.info("data docs rebuilt from %d validation result(s): %s", count, index)
    return index
