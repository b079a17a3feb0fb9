"""Lake paths and file I/O, on the local filesystem or S3, through ``pyarrow.fs``.

Layout (``<layer>`` is ``sources``, ``bronze``, ``silver``, ``gold`` or ``quality``):

* local: ``<lake_root>/<layer>/<key>``
* S3 (``lake_root = s3://``): bucket ``<lake_bucket_prefix><layer>``, object ``<key>``

Silver and gold tables are Delta Lake tables (``<layer>/<table>/``); a layer's JSON documents
are under ``<layer>/_documents/run_date=YYYY-MM-DD/``.

Two spellings of the same location exist: the *filesystem path* used with :func:`filesystem`
(``/abs/path`` locally, ``bucket/key`` on S3) and the *Spark URI* (``file:///abs/path`` or
``s3a://bucket/key``) given to Spark readers and writers.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from functools import lru_cache
from typing import Any

import pyarrow.fs as pafs

from medallion.config import Settings

LAYERS: tuple[str, ...] = ("sources", "bronze", "silver", "gold", "quality")


def _check_layer(layer: str) -> None:
    if layer not in LAYERS:
        raise ValueError(f"unknown lake layer {layer!r}; expected one of {', '.join(LAYERS)}")


def layer_path(settings: Settings, layer: str, *parts: str) -> str:
    """Filesystem path of ``parts`` inside ``layer`` (for :func:`filesystem`)."""
    _check_layer(layer)
    key = posixpath.join(*parts) if parts else ""
    if settings.is_s3:
        base = f"{settings.lake_bucket_prefix}{layer}"
    else:
        base = posixpath.join(settings.lake_root, layer)
    return posixpath.join(base, key) if key else base


def spark_uri(settings: Settings, layer: str, *parts: str) -> str:
    """URI of ``parts`` inside ``layer`` for Spark readers and writers (``file://`` or ``s3a://``)."""
    path = layer_path(settings, layer, *parts)
    return f"s3a://{path}" if settings.is_s3 else f"file://{path}"


def display_uri(settings: Settings, layer: str, *parts: str) -> str:
    """Human-readable location (``s3://bucket/key`` or an absolute path) for logs and manifests."""
    path = layer_path(settings, layer, *parts)
    return f"s3://{path}" if settings.is_s3 else path


@lru_cache(maxsize=8)
def _s3(endpoint: str, key: str, secret: str, region: str) -> pafs.FileSystem:
    kwargs: dict[str, Any] = {"region": region, "allow_bucket_creation": True}
    if key:
        kwargs.update(access_key=key, secret_key=secret)
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        kwargs.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    return pafs.S3FileSystem(**kwargs)


def filesystem(settings: Settings) -> pafs.FileSystem:
    """The ``pyarrow.fs`` filesystem that holds the lake."""
    if settings.is_s3:
        return _s3(settings.s3_endpoint_url, settings.aws_access_key_id,
                   settings.aws_secret_access_key, settings.aws_region)
    return pafs.LocalFileSystem()


def exists(fs: pafs.FileSystem, path: str) -> bool:
    """True when ``path`` is an existing file or directory."""
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def is_file(fs: pafs.FileSystem, path: str) -> bool:
    """True when ``path`` is an existing file."""
    return fs.get_file_info(path).type == pafs.FileType.File


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes:
    """Whole content of a (small) file."""
    with fs.open_input_stream(path) as stream:
        return stream.read()


def write_bytes(fs: pafs.FileSystem, path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: readers see the old content or the new, never a part.

    On S3 one PUT is atomic; locally the bytes go to a temporary file in the same folder that is
    then renamed over ``path``.
    """
    parent = posixpath.dirname(path)
    if parent:
        fs.create_dir(parent, recursive=True)
    if isinstance(fs, pafs.LocalFileSystem):
        temporary = posixpath.join(parent, f".{posixpath.basename(path)}.{uuid.uuid4().hex}.tmp")
        with fs.open_output_stream(temporary) as stream:
            stream.write(data)
        fs.move(temporary, path)
        return
    with fs.open_output_stream(path) as stream:
        stream.write(data)


def read_json(fs: pafs.FileSystem, path: str) -> Any:
    """Parse a JSON file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    if not is_file(fs, path):
        raise FileNotFoundError(f"JSON file not found: {path}")
    return json.loads(read_bytes(fs, path).decode("utf-8"))


def write_json(fs: pafs.FileSystem, path: str, document: Any) -> None:
    """Write ``document`` as indented, key-sorted UTF-8 JSON (stable bytes for the same content)."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_bytes(fs, path, text.encode("utf-8"))


# --- Tables and documents ----------------------------------------------------------------------
# Silver and gold tables are Delta Lake tables at ``<layer>/<table>/`` (see medallion.tables and
# medallion.spark.delta). A layer's JSON documents live beside them, one folder per run date:
#
#   <layer>/_documents/run_date=YYYY-MM-DD/<name>.json
#
# A job writes them only after every table of the layer is committed, so a document never
# describes an uncommitted run (each names the table versions it describes).

DOCUMENTS_DIR = "_documents"


def run_date_dir(run_date: str) -> str:
    """Folder name of a run date: ``run_date=YYYY-MM-DD``."""
    return f"run_date={run_date}"


def table_uri(settings: Settings, layer: str, table: str) -> str:
    """Spark URI of a Delta table (``file:///…/<layer>/<table>`` or ``s3a://<bucket>/<table>``)."""
    return spark_uri(settings, layer, table)


def delta_uri(settings: Settings, layer: str, table: str) -> str:
    """URI of a Delta table for the ``deltalake`` package (an absolute path or ``s3://<bucket>/<table>``)."""
    return display_uri(settings, layer, table)


def document_path(settings: Settings, layer: str, run_date: str, name: str) -> str:
    """Filesystem path of document ``name`` (``quality_report``, ``gold_summary``…) of ``run_date``."""
    return layer_path(settings, layer, DOCUMENTS_DIR, run_date_dir(run_date), f"{name}.json")


def read_document(settings: Settings, layer: str, run_date: str, name: str) -> dict[str, Any]:
    """A committed layer's document of ``run_date``.

    Raises:
        FileNotFoundError: the layer has no committed output for ``run_date`` (names the location).
    """
    fs = filesystem(settings)
    path = document_path(settings, layer, run_date, name)
    if not is_file(fs, path):
        where = display_uri(settings, layer, DOCUMENTS_DIR, run_date_dir(run_date), f"{name}.json")
        raise FileNotFoundError(f"no committed {layer} output for run date {run_date}: {where} is missing")
    return read_json(fs, path)


def document_run_dates(settings: Settings, layer: str, name: str) -> list[str]:
    """Run dates (``YYYY-MM-DD``, newest first) that have document ``name`` of ``layer``.

    A layer's documents are written after its tables' commit, so these are the committed run dates.
    """
    fs = filesystem(settings)
    root = layer_path(settings, layer, DOCUMENTS_DIR)
    if not exists(fs, root):
        return []
    dates = []
    for info in fs.get_file_info(pafs.FileSelector(root)):
        folder = info.base_name
        if info.type == pafs.FileType.Directory and folder.startswith("run_date="):
            if is_file(fs, f"{info.path}/{name}.json"):
                dates.append(folder.removeprefix("run_date="))
    return sorted(dates, reverse=True)


def write_document(settings: Settings, layer: str, run_date: str, name: str, document: Any) -> str:
    """Write a layer's document of ``run_date`` (call it after the layer's commits); returns its display URI."""
    write_json(filesystem(settings), document_path(settings, layer, run_date, name), document)
    return display_uri(settings, layer, DOCUMENTS_DIR, run_date_dir(run_date), f"{name}.json")
