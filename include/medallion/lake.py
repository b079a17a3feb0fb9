"""Lake paths and file I/O, on the local filesystem or S3, through ``pyarrow.fs``.

Layout (``<layer>`` is ``sources``, ``bronze``, ``silver``, ``gold`` or ``quality``):

* local: ``<lake_root>/<layer>/<key>``
* S3 (``lake_root = s3://``): bucket ``<lake_bucket_prefix><layer>``, object ``<key>``

Two spellings of the same location exist: the *filesystem path* used with :func:`filesystem`
(``/abs/path`` locally, ``bucket/key`` on S3) and the *Spark URI* (``file:///abs/path`` or
``s3a://bucket/key``) given to Spark readers and writers.
"""

from __future__ import annotations

import json
import posixpath
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
    """Write ``data`` to ``path`` (parent directories created locally)."""
    parent = posixpath.dirname(path)
    if parent:
        fs.create_dir(parent, recursive=True)
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


# --- Run-date snapshots of silver and gold -----------------------------------------------------
# A job writes each run date's output into a fresh attempt folder, then commits it by writing one
# small pointer object (atomic on local filesystems and on S3):
#
#   <layer>/run_date=YYYY-MM-DD/_current.json            {"attempt": "...", "run_id": "...", ...}
#   <layer>/run_date=YYYY-MM-DD/attempt=<id>/<table>/...  the tables and documents of that attempt
#
# Readers resolve the pointer, so they see the previous complete output or the new complete
# output, never a half-written one. Superseded attempts are deleted after the commit.

POINTER_FILE = "_current.json"


def run_date_dir(run_date: str) -> str:
    """Folder name of a run date: ``run_date=YYYY-MM-DD``."""
    return f"run_date={run_date}"


def new_attempt_id() -> str:
    """A fresh attempt folder name (``attempt=<12 hex chars>``)."""
    import uuid

    return f"attempt={uuid.uuid4().hex[:12]}"


def commit_attempt(settings: Settings, layer: str, run_date: str, attempt: str, meta: dict[str, Any]) -> None:
    """Point ``layer``'s ``run_date`` at ``attempt`` and delete the attempts it supersedes."""
    fs = filesystem(settings)
    base = layer_path(settings, layer, run_date_dir(run_date))
    write_json(fs, posixpath.join(base, POINTER_FILE), {"attempt": attempt, **meta})
    for info in fs.get_file_info(pafs.FileSelector(base, allow_not_found=True)):
        if info.type == pafs.FileType.Directory and info.base_name.startswith("attempt=") \
                and info.base_name != attempt:
            fs.delete_dir(info.path)


def current_attempt(settings: Settings, layer: str, run_date: str) -> str:
    """The committed attempt folder of ``layer`` for ``run_date``.

    Raises:
        FileNotFoundError: no committed output for that run date (the job has not run yet).
    """
    fs = filesystem(settings)
    pointer = layer_path(settings, layer, run_date_dir(run_date), POINTER_FILE)
    if not is_file(fs, pointer):
        raise FileNotFoundError(
            f"no committed {layer} output for run date {run_date}: {display_uri(settings, layer, run_date_dir(run_date), POINTER_FILE)} is missing"
        )
    return read_json(fs, pointer)["attempt"]


def snapshot_parts(settings: Settings, layer: str, run_date: str, *parts: str) -> tuple[str, ...]:
    """Path parts of ``parts`` inside the committed snapshot (for :func:`layer_path`/:func:`spark_uri`)."""
    return (run_date_dir(run_date), current_attempt(settings, layer, run_date), *parts)
