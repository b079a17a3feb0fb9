"""Bronze ingestion: the landing-zone CSV files archived byte-for-byte, write-once, with a manifest.

Layout (one folder per dataset and ingest date, inside the lake's ``bronze`` layer)::

    bronze/<dataset>/ingest_date=YYYY-MM-DD/<file>              version 1 (e.g. clients.csv)
    bronze/<dataset>/ingest_date=YYYY-MM-DD/_manifest.json       its manifest
    bronze/<dataset>/ingest_date=YYYY-MM-DD/<dataset>.vN.csv     version N >= 2 (changed source bytes)
    bronze/<dataset>/ingest_date=YYYY-MM-DD/_manifest.vN.json    its manifest

Rules:

* The same bytes as the latest version of that date again, in the same declared encoding, are a
  no-op, reported as ``unchanged``.
* Different bytes (or the same bytes declared in another encoding) are stored as the next version
  next to the old ones. Nothing is ever overwritten or deleted. (Bytes equal to an *older* version
  but not to the latest one are a new version too: the latest version must always be what the
  source held last.)
* A manifest is written after its CSV file and is the commit marker: a version exists once its
  manifest exists. A CSV file without a manifest (an ingestion that died mid-copy) is not a
  version; the next ingestion of that date writes the same version number again.

**Data rows** (manifest ``data_rows``): the file is split into lines at ``\\n``, ``\\r\\n`` or
``\\r`` (Hadoop's line reader, which Spark's CSV source uses); a missing final line terminator
still ends a line; lines made only of characters ``<= U+0020`` (spaces, tabs, control characters)
are blank and skipped, as Spark's CSV reader skips them. The first non-blank line is the header;
every other non-blank line is one data row. Quoted fields spanning several lines are not
supported (Spark reads CSV line by line too). The silver job numbers rows the same way, and checks
that it read exactly ``data_rows`` rows.

**Encoding** (manifest ``encoding``): bronze keeps the bytes as they are, never transcoded. Each
source is declared in one of :data:`medallion.contract.SOURCE_ENCODINGS` (settings
``clients_encoding`` / ``purchases_encoding``, variables ``CLIENTS_ENCODING`` /
``PURCHASES_ENCODING``, default UTF-8); the validation pass decodes every line with it and refuses
a file holding a byte that does not decode, naming its line and offset. Readers of bronze decode
with the manifest's encoding (:func:`manifest_encoding`).

All I/O goes through :mod:`medallion.lake` (``pyarrow.fs``), so the same code runs on a local
folder or on S3/MinIO.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import posixpath
import re
from datetime import date, datetime, timezone
from typing import Any

import pyarrow.fs as pafs

from medallion import lake
from medallion.config import ENCODING_VARIABLES, Settings
from medallion.contract import DATASETS, DEFAULT_ENCODING, SOURCE_COLUMNS, SOURCE_FILES, source_encoding

#: Bytes read per chunk when hashing and copying (files can be hundreds of MB).
CHUNK_BYTES = 8 * 1024 * 1024
#: Manifest format version, bumped when fields change.
MANIFEST_FORMAT = 2

#: Bytes a blank line may consist of (what Java's ``String.trim`` removes: U+0000..U+0020).
_BLANK_BYTES = bytes(range(0x21))
_MANIFEST_RE = re.compile(r"^_manifest(?:\.v([0-9]+))?\.json$")


class BronzeError(ValueError):
    """A source or bronze file is missing or does not satisfy the data contract.

    The message always names the file (its URI or path) and the problem.
    """


def ingest_dir(run_date: str) -> str:
    """Folder name of an ingest date: ``ingest_date=YYYY-MM-DD``."""
    return f"ingest_date={run_date}"


def version_file_names(dataset: str, version: int) -> tuple[str, str]:
    """``(csv file name, manifest file name)`` of ``version`` (1-based) of ``dataset``.

    Version 1 keeps the source file name (``clients.csv`` / ``_manifest.json``); version N >= 2 is
    ``<dataset>.vN.csv`` / ``_manifest.vN.json``.
    """
    if version < 1:
        raise ValueError(f"bronze versions start at 1, got {version}")
    if version == 1:
        return SOURCE_FILES[dataset], "_manifest.json"
    return f"{dataset}.v{version}.csv", f"_manifest.v{version}.json"


def _check_run_date(run_date: str) -> None:
    try:
        date.fromisoformat(run_date)
    except (TypeError, ValueError):
        raise ValueError(f"run date must be YYYY-MM-DD, got {run_date!r}") from None
    if len(run_date) != 10:
        raise ValueError(f"run date must be YYYY-MM-DD, got {run_date!r}")


def _sources(settings: Settings, sources_dir: str | None) -> tuple[pafs.FileSystem, str, str]:
    """(filesystem, filesystem path, display prefix) of the landing folder."""
    if sources_dir is None:
        return (lake.filesystem(settings), lake.layer_path(settings, "sources"),
                lake.display_uri(settings, "sources"))
    text = str(sources_dir)
    for scheme in ("s3://", "s3a://"):
        if text.startswith(scheme):
            # Same S3 endpoint and credentials as the lake's settings, whatever the lake root is.
            fs = lake.filesystem(settings.with_overrides(lake_root="s3://"))
            path = text[len(scheme):].rstrip("/")
            return fs, path, f"s3://{path}"
    path = posixpath.abspath(text[len("file://"):] if text.startswith("file://") else text)
    return pafs.LocalFileSystem(), path, path


class _Scan:
    """Streaming sha256, byte count, header line and data-row count of a file (see module doc).

    With an ``encoding``, lines are also decoded with it (strictly) up to the first byte that does
    not decode; ``bad_byte`` is then ``(line, column, offset, value)``: the 1-based line number
    counting every line (header and blank lines too, as an editor does), the byte's 1-based column
    in bytes within that line, its 0-based offset in the file, and its value.
    """

    def __init__(self, encoding: str | None = None) -> None:
        self.sha = hashlib.sha256()
        self.size = 0
        self.header: bytes | None = None
        self.data_rows = 0
        self.encoding = encoding
        self.bad_byte: tuple[int, int, int, int] | None = None
        self._carry = b""
        self._lines_decoded = 0
        self._offset = 0  # file offset of the first byte not decoded yet

    def _decode(self, lines: list[bytes]) -> None:
        # Line terminators are single ASCII bytes in every accepted encoding, so decoding whole
        # lines together finds the same first bad byte as decoding them one by one (as Spark does).
        block = b"".join(lines)
        try:
            block.decode(self.encoding)
        except UnicodeDecodeError as error:
            start = 0
            for number, line in enumerate(lines, start=self._lines_decoded + 1):
                if error.start < start + len(line):
                    column = error.start - start
                    self.bad_byte = (number, column + 1, self._offset + error.start, line[column])
                    break
                start += len(line)
        self._lines_decoded += len(lines)
        self._offset += len(block)

    def _lines(self, lines: list[bytes]) -> None:
        if self.encoding and self.bad_byte is None:
            self._decode(lines)
        for line in lines:
            if not line.strip(_BLANK_BYTES):
                continue
            if self.header is None:
                self.header = line.rstrip(b"\r\n")
            else:
                self.data_rows += 1

    def update(self, chunk: bytes) -> None:
        self.sha.update(chunk)
        self.size += len(chunk)
        lines = (self._carry + chunk).splitlines(keepends=True)
        # Keep the last piece for the next chunk when it has no terminator yet, or ends with a lone
        # "\r" that may be the first half of a "\r\n" split across chunks.
        if lines and (lines[-1].endswith(b"\r") or not lines[-1].endswith((b"\n", b"\r"))):
            self._carry = lines.pop()
        else:
            self._carry = b""
        self._lines(lines)

    def finish(self) -> None:
        if self._carry:
            self._lines([self._carry])
            self._carry = b""


def _stream(fs: pafs.FileSystem, path: str, scan: _Scan, out: Any | None = None) -> None:
    with fs.open_input_stream(path) as stream:
        while True:
            chunk = stream.read(CHUNK_BYTES)
            if not chunk:
                break
            scan.update(chunk)
            if out is not None:
                out.write(chunk)
            if scan.bad_byte:
                return  # the file is refused: reading on cannot change that
    scan.finish()


def parse_header(header_line: bytes, where: str, encoding: str = DEFAULT_ENCODING) -> list[str]:
    """Column names of a CSV header line (decoded with ``encoding``, a leading UTF-8 BOM ignored, names trimmed).

    Raises:
        BronzeError: the line does not decode or holds duplicate or empty column names.
    """
    try:
        text = header_line.decode("utf-8-sig" if encoding == "UTF-8" else encoding)
    except UnicodeDecodeError as exc:
        raise BronzeError(f"{where}: header is not valid {encoding} ({exc})") from None
    names = [name.strip() for name in next(csv.reader([text]))]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BronzeError(f"{where}: duplicate column names in header: {', '.join(duplicates)}")
    if "" in names:
        raise BronzeError(f"{where}: header has an empty column name (column {names.index('') + 1})")
    return names


def read_header(fs: pafs.FileSystem, path: str, where: str | None = None,
                encoding: str = DEFAULT_ENCODING) -> list[str]:
    """Column names of a CSV file's header (its first non-blank line), reading only as far as needed.

    Raises:
        BronzeError: the file has no header line, or the header is invalid (see :func:`parse_header`).
    """
    where = where or path
    scan = _Scan()
    with fs.open_input_stream(path) as stream:
        while scan.header is None:
            chunk = stream.read(64 * 1024)
            if not chunk:
                scan.finish()
                break
            scan.update(chunk)
    if scan.header is None:
        raise BronzeError(f"{where}: file is empty (no header line)")
    return parse_header(scan.header, where, encoding)


def manifest_encoding(manifest: dict[str, Any]) -> str:
    """The encoding a bronze file was validated with (manifests written before there was one: UTF-8)."""
    return source_encoding(manifest.get("encoding", DEFAULT_ENCODING))


def check_header(dataset: str, names: list[str], where: str) -> None:
    """Raise :class:`BronzeError` when a contract column of ``dataset`` is missing from ``names``.

    Column order may differ from the contract; extra columns are allowed.
    """
    missing = [c for c in SOURCE_COLUMNS[dataset] if c not in names]
    if missing:
        raise BronzeError(
            f"{where}: header is missing contract column(s) {', '.join(missing)} "
            f"(found: {', '.join(names)}; expected at least: {', '.join(SOURCE_COLUMNS[dataset])})"
        )


def _versions(fs: pafs.FileSystem, folder: str) -> dict[int, str]:
    """Committed versions of a bronze folder: version -> manifest path."""
    found: dict[int, str] = {}
    for info in fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
        match = _MANIFEST_RE.match(info.base_name)
        if info.type == pafs.FileType.File and match:
            found[int(match.group(1) or 1)] = info.path
    return found


def _undecodable(where: str, dataset: str, scan: _Scan) -> BronzeError:
    line, column, offset, value = scan.bad_byte
    variable = ENCODING_VARIABLES[dataset]
    if scan.encoding == "UTF-8":
        hint = f"set {variable}=latin-1 (or cp1252) if the file is not UTF-8"
    else:
        hint = f"{variable} is {scan.encoding}: set it to the file's encoding"
    return BronzeError(f"{where}: not valid {scan.encoding}: byte 0x{value:02X} at line {line}, column {column} "
                       f"(byte offset {offset} in the file); {hint}")


def _validate(dataset: str, src_fs: pafs.FileSystem, src_path: str, src_uri: str,
              encoding: str) -> tuple[_Scan, list[str]]:
    """Pass 1 over a source file: hash, count, decode and check it without writing anything to bronze."""
    if not lake.is_file(src_fs, src_path):
        raise BronzeError(f"{src_uri}: source file not found")
    scan = _Scan(encoding)
    _stream(src_fs, src_path, scan)
    if scan.bad_byte:
        raise _undecodable(src_uri, dataset, scan)
    if scan.header is None:
        raise BronzeError(f"{src_uri}: file is empty (no header line)")
    if encoding != "UTF-8" and scan.header.startswith(codecs.BOM_UTF8):
        raise BronzeError(f"{src_uri}: starts with a UTF-8 byte-order mark but {ENCODING_VARIABLES[dataset]} "
                          f"is {encoding}: set it to UTF-8")
    header = parse_header(scan.header, src_uri, encoding)
    check_header(dataset, header, src_uri)
    if scan.data_rows == 0:
        raise BronzeError(f"{src_uri}: file has a header but no data rows")
    return scan, header


def _store(settings: Settings, dataset: str, run_date: str, run_id: str, src_fs: pafs.FileSystem,
           src_path: str, src_uri: str, scan: _Scan, header: list[str]) -> dict[str, Any]:
    """Pass 2: no-op when the latest version holds the same bytes, else copy as the next version."""
    fs = lake.filesystem(settings)
    folder = lake.layer_path(settings, "bronze", dataset, ingest_dir(run_date))
    versions = _versions(fs, folder)
    if versions:
        latest = max(versions)
        manifest = lake.read_json(fs, versions[latest])
        if (manifest.get("sha256") == scan.sha.hexdigest() and manifest.get("bytes") == scan.size
                and manifest_encoding(manifest) == scan.encoding):
            return {"status": "unchanged", "version": latest,
                    "path": posixpath.join(folder, manifest["file"]), "manifest": manifest}
    version = max(versions, default=0) + 1
    bronze_name, manifest_name = version_file_names(dataset, version)
    target = posixpath.join(folder, bronze_name)

    # Copy, re-hashing what is copied, so a source that changed since pass 1 is caught.
    fs.create_dir(folder, recursive=True)
    copied = _Scan()
    with fs.open_output_stream(target) as out:
        _stream(src_fs, src_path, copied, out)
    if copied.sha.hexdigest() != scan.sha.hexdigest():
        raise BronzeError(f"{src_uri}: source file changed while it was being copied to {target}; retry")

    manifest = {
        "dataset": dataset,
        "file": bronze_name,
        "version": version,
        "sha256": scan.sha.hexdigest(),
        "bytes": scan.size,
        "data_rows": scan.data_rows,
        "header": header,
        "encoding": scan.encoding,
        "source_uri": src_uri,
        "bronze_uri": lake.display_uri(settings, "bronze", dataset, ingest_dir(run_date), bronze_name),
        "ingest_date": run_date,
        "run_id": run_id,
        "ingested_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "manifest_format": MANIFEST_FORMAT,
    }
    lake.write_json(fs, posixpath.join(folder, manifest_name), manifest)
    return {"status": "ingested" if version == 1 else "new_version", "version": version,
            "path": target, "manifest": manifest}


def ingest(settings: Settings, run_date: str, run_id: str, sources_dir: str | None = None) -> dict[str, Any]:
    """Archive the landing-zone files of ``run_date`` into bronze (see the module docstring).

    Args:
        settings: Pipeline settings (lake location and S3 credentials).
        run_date: Logical date ``YYYY-MM-DD``; the bronze folder is ``ingest_date=<run_date>``.
        run_id: Identifier of the pipeline run, recorded in each new manifest.
        sources_dir: Folder holding ``clients.csv`` and ``purchases.csv``: a local path,
            ``file://`` URI or ``s3://bucket/prefix`` (same endpoint and credentials as the lake).
            Default: the lake's ``sources`` layer.

    Returns:
        ``{"run_date", "run_id", "datasets": {dataset: {"status", "version", "path",
        "manifest"}}}`` where ``status`` is ``ingested`` (version 1), ``new_version`` (version N >= 2,
        the bytes or their declared encoding changed) or ``unchanged`` (the latest version already
        holds these bytes in this encoding; nothing written); ``path`` is the bronze CSV's
        filesystem path and ``manifest`` its manifest: ``dataset``, ``file``, ``version``,
        ``sha256`` (hex), ``bytes``, ``data_rows``, ``header``
        (column names as in the file), ``encoding`` (the ``contract.SOURCE_ENCODINGS`` name the
        file was validated with: ``settings.encoding(dataset)``), ``source_uri``, ``bronze_uri``,
        ``ingest_date``, ``run_id``, ``ingested_at`` (UTC, ISO 8601), ``manifest_format``.

    Raises:
        BronzeError: a source file is missing or empty (no header or no data rows), holds a byte
            that does not decode in its declared encoding (message: line, column, byte offset,
            byte value and the variable to set), starts with a UTF-8 byte-order mark but is declared
            in another encoding, its header has duplicate or empty names or lacks a contract column;
            or it changed during the copy. Both files are validated before either is written.
        ValueError: ``run_date`` is not ``YYYY-MM-DD``.
    """
    _check_run_date(run_date)
    src_fs, src_dir, src_display = _sources(settings, sources_dir)
    # Fail fast on a missing file before spending time on the other one.
    for dataset in DATASETS:
        path = posixpath.join(src_dir, SOURCE_FILES[dataset])
        if not lake.is_file(src_fs, path):
            raise BronzeError(f"{posixpath.join(src_display, SOURCE_FILES[dataset])}: source file not found")
    checked = {}
    for dataset in DATASETS:  # validate every file before writing any
        src_path = posixpath.join(src_dir, SOURCE_FILES[dataset])
        src_uri = posixpath.join(src_display, SOURCE_FILES[dataset])
        checked[dataset] = (src_path, src_uri,
                            *_validate(dataset, src_fs, src_path, src_uri, settings.encoding(dataset)))
    results = {dataset: _store(settings, dataset, run_date, run_id, src_fs, *checked[dataset])
               for dataset in DATASETS}
    return {"run_date": run_date, "run_id": run_id, "datasets": results}


def latest_version(settings: Settings, dataset: str, run_date: str) -> tuple[str, dict[str, Any]]:
    """The latest committed bronze version of ``dataset`` for ``run_date``.

    Returns:
        ``(filesystem path of the CSV file, manifest dict)`` (path for :func:`medallion.lake.filesystem`;
        the Spark URI is ``lake.spark_uri(settings, "bronze", dataset, ingest_dir(run_date),
        manifest["file"])``).

    Raises:
        BronzeError: no manifest for that dataset and date (bronze ingestion has not run), or the
            manifest's CSV file is missing.
        ValueError: unknown dataset or malformed run date.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    _check_run_date(run_date)
    fs = lake.filesystem(settings)
    folder = lake.layer_path(settings, "bronze", dataset, ingest_dir(run_date))
    versions = _versions(fs, folder)
    if not versions:
        where = lake.display_uri(settings, "bronze", dataset, ingest_dir(run_date), "_manifest.json")
        raise BronzeError(f"{where}: no bronze data for {dataset} on {run_date} (run the bronze ingestion first)")
    manifest = lake.read_json(fs, versions[max(versions)])
    path = posixpath.join(folder, manifest["file"])
    if not lake.is_file(fs, path):
        raise BronzeError(f"{path}: bronze file named by {versions[max(versions)]} is missing")
    return path, manifest
