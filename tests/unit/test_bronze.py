"""Bronze ingestion: byte-for-byte write-once archive with manifests and versions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from medallion import bronze
from medallion.bronze import BronzeError, ingest, latest_version

CLIENTS = (
    b"id_client,name,email,subscription_date,country\n"
    b"1,Ann Lee,ann@example.com,2024-01-02,France\n"
    b"2,Bob Ray,bob@example.com,2024-03-04,Spain\n"
)
PURCHASES = (
    b"id_purchase,id_client,product,price,quantity,purchase_date,total\n"
    b"1,1,Mouse,20.00,2,2025-01-01,40.00\n"
    b"2,2,Laptop,999.99,1,2025-02-01,999.99\n"
    b"3,1,Phone,300.00,1,2025-03-01,300.00\n"
)
RUN_DATE = "2026-11-29"


def write_sources(folder: Path, clients: bytes = CLIENTS, purchases: bytes = PURCHASES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clients.csv").write_bytes(clients)
    (folder / "purchases.csv").write_bytes(purchases)
    return folder


def bronze_dir(settings, dataset: str) -> Path:
    return Path(settings.lake_root) / "bronze" / dataset / f"ingest_date={RUN_DATE}"


def test_first_ingest_copies_bytes_and_writes_manifest(settings, tmp_path):
    src = write_sources(tmp_path / "landing")
    result = ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))

    assert result["run_date"] == RUN_DATE and result["run_id"] == "run-1"
    for dataset, content, rows in (("clients", CLIENTS, 2), ("purchases", PURCHASES, 3)):
        folder = bronze_dir(settings, dataset)
        copied = folder / f"{dataset}.csv"
        assert copied.read_bytes() == content
        manifest = json.loads((folder / "_manifest.json").read_text())
        assert manifest["sha256"] == hashlib.sha256(content).hexdigest()
        assert manifest["bytes"] == len(content)
        assert manifest["data_rows"] == rows
        assert manifest["version"] == 1
        assert manifest["file"] == f"{dataset}.csv"
        assert manifest["run_id"] == "run-1"
        assert manifest["source_uri"] == str(src / f"{dataset}.csv")
        assert manifest["ingested_at"].endswith("Z")
        assert result["datasets"][dataset]["status"] == "ingested"
        assert result["datasets"][dataset]["path"] == str(copied)
    assert json.loads((bronze_dir(settings, "clients") / "_manifest.json").read_text())["header"] == [
        "id_client", "name", "email", "subscription_date", "country"]


def test_default_sources_is_the_lake_sources_layer(settings):
    write_sources(Path(settings.lake_root) / "sources")
    result = ingest(settings, RUN_DATE, "run-1")
    assert result["datasets"]["clients"]["status"] == "ingested"
    assert (bronze_dir(settings, "purchases") / "purchases.csv").read_bytes() == PURCHASES


def test_same_bytes_again_is_a_noop(settings, tmp_path):
    src = write_sources(tmp_path / "landing")
    ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))
    before = {p: p.stat().st_mtime_ns for p in bronze_dir(settings, "clients").iterdir()}

    again = ingest(settings, RUN_DATE, "run-2", sources_dir=str(src))

    assert again["datasets"]["clients"]["status"] == "unchanged"
    assert again["datasets"]["purchases"]["status"] == "unchanged"
    assert again["datasets"]["clients"]["version"] == 1
    assert again["datasets"]["clients"]["manifest"]["run_id"] == "run-1"  # the original ingestion
    after = {p: p.stat().st_mtime_ns for p in bronze_dir(settings, "clients").iterdir()}
    assert after == before


def test_changed_bytes_make_a_new_version_next_to_the_old(settings, tmp_path):
    src = write_sources(tmp_path / "landing")
    ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))
    changed = CLIENTS + b"3,Cy Dee,cy@example.com,2024-05-06,Italy\n"
    (src / "clients.csv").write_bytes(changed)

    result = ingest(settings, RUN_DATE, "run-2", sources_dir=str(src))

    assert result["datasets"]["clients"]["status"] == "new_version"
    assert result["datasets"]["clients"]["version"] == 2
    assert result["datasets"]["purchases"]["status"] == "unchanged"
    folder = bronze_dir(settings, "clients")
    assert sorted(p.name for p in folder.iterdir()) == [
        "_manifest.json", "_manifest.v2.json", "clients.csv", "clients.v2.csv"]
    assert (folder / "clients.csv").read_bytes() == CLIENTS  # the old version is untouched
    assert (folder / "clients.v2.csv").read_bytes() == changed
    v2 = json.loads((folder / "_manifest.v2.json").read_text())
    assert (v2["version"], v2["data_rows"], v2["run_id"]) == (2, 3, "run-2")

    path, manifest = latest_version(settings, "clients", RUN_DATE)
    assert path == str(folder / "clients.v2.csv")
    assert manifest["sha256"] == hashlib.sha256(changed).hexdigest()

    # Going back to the first bytes is a third version (the latest must be what the source holds).
    (src / "clients.csv").write_bytes(CLIENTS)
    third = ingest(settings, RUN_DATE, "run-3", sources_dir=str(src))
    assert third["datasets"]["clients"]["version"] == 3
    assert (folder / "clients.v3.csv").read_bytes() == CLIENTS
    assert latest_version(settings, "clients", RUN_DATE)[1]["version"] == 3


def test_extra_columns_and_other_order_are_kept(settings, tmp_path):
    clients = (b"country,id_client,email,name,subscription_date,loyalty\n"
               b"France,1,ann@example.com,Ann Lee,2024-01-02,gold\n")
    src = write_sources(tmp_path / "landing", clients=clients)
    ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))
    folder = bronze_dir(settings, "clients")
    assert (folder / "clients.csv").read_bytes() == clients
    assert json.loads((folder / "_manifest.json").read_text())["header"] == [
        "country", "id_client", "email", "name", "subscription_date", "loyalty"]


@pytest.mark.parametrize(
    ("content", "rows"),
    [
        (b"h1,h2\na,b\nc,d\n", 2),             # newline-terminated
        (b"h1,h2\na,b\nc,d", 2),               # no final newline
        (b"h1,h2\r\na,b\r\nc,d\r\n", 2),       # CRLF
        (b"h1,h2\n\na,b\n   \n\t\nc,d\n\n", 2),  # blank and whitespace-only lines are skipped
        (b"\n\nh1,h2\na,b\n", 1),              # blank lines before the header
        (b"h1,h2\ra,b\rc,d\re,f", 3),          # old Mac CR terminators (Hadoop's reader splits on them)
    ],
)
def test_data_row_count_definition(content, rows):
    scan = bronze._Scan()
    scan.update(content)
    scan.finish()
    assert scan.data_rows == rows
    assert scan.header == b"h1,h2"


def test_row_count_across_chunk_boundaries(monkeypatch, settings, tmp_path):
    # 3-byte chunks split lines and CRLF pairs everywhere; the count must not change.
    clients = (b"id_client,name,email,subscription_date,country\r\n"
               b"1,A,a@x.io,2024-01-01,UK\r\n\r\n2,B,b@x.io,2024-01-01,UK\r\n3,C,c@x.io,2024-01-01,UK")
    monkeypatch.setattr(bronze, "CHUNK_BYTES", 3)
    src = write_sources(tmp_path / "landing", clients=clients)
    result = ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))
    manifest = result["datasets"]["clients"]["manifest"]
    assert manifest["data_rows"] == 3
    assert manifest["sha256"] == hashlib.sha256(clients).hexdigest()
    assert (bronze_dir(settings, "clients") / "clients.csv").read_bytes() == clients


def test_missing_source_file_names_it(settings, tmp_path):
    src = write_sources(tmp_path / "landing")
    (src / "purchases.csv").unlink()
    with pytest.raises(BronzeError, match=r"purchases\.csv: source file not found"):
        ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))
    assert not (Path(settings.lake_root) / "bronze").exists()  # nothing half-ingested


@pytest.mark.parametrize(
    ("clients", "message"),
    [
        (b"", r"clients\.csv: file is empty \(no header line\)"),
        (b"\n  \n", r"clients\.csv: file is empty \(no header line\)"),
        (b"id_client,name,email,subscription_date,country\n", r"clients\.csv: file has a header but no data rows"),
        (b"id_client,name,mail,subscription_date\n1,A,a@x.io,2024-01-01\n",
         r"clients\.csv: header is missing contract column\(s\) email, country"),
        (b"id_client,name,email,email,subscription_date,country\n1,A,a,b,2024-01-01,UK\n",
         r"clients\.csv: duplicate column names in header: email"),
    ],
)
def test_invalid_files_fail_with_the_file_and_the_problem(settings, tmp_path, clients, message):
    src = write_sources(tmp_path / "landing", clients=clients)
    with pytest.raises(BronzeError, match=message):
        ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))
    assert not bronze_dir(settings, "clients").exists()


# "José García", "Jürgen Müller", "Zoë Brontë" in ISO-8859-1, CRLF line ends, a blank third line.
LATIN1_CLIENTS = (
    b"id_client,name,email,subscription_date,country\r\n"             # line 1: 46 + 2 bytes
    b"1,Ann Lee,ann@example.com,2024-01-02,France\r\n"                # line 2: 43 + 2 bytes, from offset 48
    b"\r\n"                                                           # line 3: blank, offset 93
    b"2,Jos\xe9 Garc\xeda,jose@example.com,2024-03-04,Spain\r\n"       # line 4 from offset 95: 0xE9 is byte 6
    b"3,J\xfcrgen M\xfcller,jurgen@example.com,2024-05-06,Germany\r\n"
    b"4,Zo\xeb Bront\xeb,zoe@example.com,2024-07-08,UK\r\n"
)


@pytest.mark.parametrize("chunk_bytes", [bronze.CHUNK_BYTES, 3])
def test_latin1_file_read_as_utf8_fails_naming_line_and_offset(monkeypatch, settings, tmp_path, chunk_bytes):
    monkeypatch.setattr(bronze, "CHUNK_BYTES", chunk_bytes)  # 3: lines and CRLF pairs split across chunks
    src = write_sources(tmp_path / "landing", clients=LATIN1_CLIENTS)
    with pytest.raises(BronzeError) as error:
        ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))
    assert str(error.value) == (
        f"{src / 'clients.csv'}: not valid UTF-8: byte 0xE9 at line 4, column 6 (byte offset 100 in the file); "
        "set CLIENTS_ENCODING=latin-1 (or cp1252) if the file is not UTF-8")
    assert not (Path(settings.lake_root) / "bronze").exists()


def test_latin1_file_with_the_setting_is_kept_as_is_and_its_encoding_recorded(settings, tmp_path):
    src = write_sources(tmp_path / "landing", clients=LATIN1_CLIENTS)
    result = ingest(settings.with_overrides(clients_encoding="latin-1"), RUN_DATE, "run-1", sources_dir=str(src))
    manifest = result["datasets"]["clients"]["manifest"]
    assert (manifest["encoding"], manifest["data_rows"], manifest["manifest_format"]) == ("ISO-8859-1", 4, 2)
    assert result["datasets"]["purchases"]["manifest"]["encoding"] == "UTF-8"
    assert (bronze_dir(settings, "clients") / "clients.csv").read_bytes() == LATIN1_CLIENTS  # never transcoded


def test_cp1252_file_with_the_setting_then_the_same_bytes_declared_otherwise(settings, tmp_path):
    # 0x93 and 0x94 are windows-1252's curly double quotes.
    clients = CLIENTS + b"3,Zo\xeb \x93Zed\x94 Bront\xeb,zoe@example.com,2024-05-06,UK\n"
    src = write_sources(tmp_path / "landing", clients=clients)
    first = ingest(settings.with_overrides(clients_encoding="cp1252"), RUN_DATE, "run-1", sources_dir=str(src))
    assert first["datasets"]["clients"]["manifest"]["encoding"] == "windows-1252"
    assert first["datasets"]["clients"]["manifest"]["data_rows"] == 3

    # Readers decode with the manifest's encoding: declaring another one is a new version.
    again = ingest(settings.with_overrides(clients_encoding="latin1"), RUN_DATE, "run-2", sources_dir=str(src))
    clients_result = again["datasets"]["clients"]
    assert (clients_result["status"], clients_result["version"]) == ("new_version", 2)
    assert clients_result["manifest"]["encoding"] == "ISO-8859-1"
    assert again["datasets"]["purchases"]["status"] == "unchanged"
    assert (bronze_dir(settings, "clients") / "clients.v2.csv").read_bytes() == clients


@pytest.mark.parametrize("byte", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_bytes_windows_1252_leaves_undefined_are_refused(settings, tmp_path, byte):
    # Java would read them as U+FFFD, Python refuses them: the file never reaches bronze.
    # CLIENTS holds 47 + 44 + 43 = 134 bytes in 3 lines; "3,Cy" puts the byte at column 5, offset 138.
    clients = CLIENTS + b"3,Cy" + bytes([byte]) + b",cy@example.com,2024-05-06,UK\n"
    src = write_sources(tmp_path / "landing", clients=clients)
    with pytest.raises(BronzeError) as error:
        ingest(settings.with_overrides(clients_encoding="windows-1252"), RUN_DATE, "run-1", sources_dir=str(src))
    assert str(error.value) == (
        f"{src / 'clients.csv'}: not valid windows-1252: byte 0x{byte:02X} at line 4, column 5 (byte offset 138 "
        "in the file); CLIENTS_ENCODING is windows-1252: set it to the file's encoding")


def test_utf8_byte_order_mark_and_accents_pass(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(bronze, "CHUNK_BYTES", 3)  # splits the BOM and the two-byte characters
    clients = (b"\xef\xbb\xbfid_client,name,email,subscription_date,country\n"
               b"1,Jos\xc3\xa9 Garc\xc3\xada,jose@example.com,2024-03-04,Spain\n")
    src = write_sources(tmp_path / "landing", clients=clients)
    manifest = ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))["datasets"]["clients"]["manifest"]
    assert manifest["header"] == ["id_client", "name", "email", "subscription_date", "country"]
    assert (manifest["encoding"], manifest["data_rows"]) == ("UTF-8", 1)
    assert (bronze_dir(settings, "clients") / "clients.csv").read_bytes() == clients

    with pytest.raises(BronzeError, match=r"clients\.csv: starts with a UTF-8 byte-order mark but "
                                          r"CLIENTS_ENCODING is ISO-8859-1: set it to UTF-8"):
        ingest(settings.with_overrides(clients_encoding="latin-1"), "2026-11-30", "run-2", sources_dir=str(src))


def test_encoding_settings_accept_aliases_and_name_the_accepted_encodings():
    from medallion.config import Settings

    assert (Settings().clients_encoding, Settings().purchases_encoding) == ("UTF-8", "UTF-8")
    declared = Settings.from_env({"CLIENTS_ENCODING": "latin1", "PURCHASES_ENCODING": " CP1252 "})
    assert (declared.encoding("clients"), declared.encoding("purchases")) == ("ISO-8859-1", "windows-1252")
    assert Settings.from_env({"CLIENTS_ENCODING": "iso-8859-15"}).clients_encoding == "ISO-8859-15"
    assert Settings(purchases_encoding="utf8").purchases_encoding == "UTF-8"
    with pytest.raises(ValueError) as error:
        Settings.from_env({"PURCHASES_ENCODING": "utf-16"})
    assert str(error.value) == (
        "PURCHASES_ENCODING: unsupported source encoding 'utf-16'; accepted: UTF-8 (with or without a "
        "byte-order mark), ISO-8859-1 (latin-1), ISO-8859-15 (latin9) and windows-1252 (cp1252)")
    with pytest.raises(ValueError, match="CLIENTS_ENCODING: unsupported source encoding 'klingon'"):
        Settings(clients_encoding="klingon")
    assert bronze.manifest_encoding({"dataset": "clients"}) == "UTF-8"  # a manifest from before the field


def test_a_bad_second_file_leaves_bronze_untouched(settings, tmp_path):
    src = write_sources(tmp_path / "landing", purchases=b"id_purchase,id_client\n1,1\n")
    with pytest.raises(BronzeError, match=r"purchases\.csv: header is missing contract column\(s\) product"):
        ingest(settings, RUN_DATE, "run-1", sources_dir=str(src))
    assert not (Path(settings.lake_root) / "bronze").exists()  # clients.csv was valid but not written


def test_latest_version_without_data_names_the_manifest(settings):
    with pytest.raises(BronzeError, match=r"bronze/purchases/ingest_date=2026-11-29/_manifest\.json"):
        latest_version(settings, "purchases", RUN_DATE)


def test_bad_run_date_is_rejected(settings, tmp_path):
    src = write_sources(tmp_path / "landing")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        ingest(settings, "2026-13-01", "run-1", sources_dir=str(src))


@pytest.fixture()
def s3_settings():
    """Settings whose lake is on an S3 endpoint (moto's in-process server on a free loopback port)."""
    from moto.server import ThreadedMotoServer

    from medallion.config import Settings
    from tests.conftest import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield Settings(lake_root="s3://", lake_bucket_prefix="t-", s3_endpoint_url=f"http://127.0.0.1:{port}",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    finally:
        server.stop()


def test_ingest_on_s3_uses_the_same_code_path(s3_settings):
    from medallion import lake

    fs = lake.filesystem(s3_settings)
    fs.create_dir("t-sources")
    lake.write_bytes(fs, "t-sources/clients.csv", CLIENTS)
    lake.write_bytes(fs, "t-sources/purchases.csv", PURCHASES)

    first = ingest(s3_settings, RUN_DATE, "run-1")
    assert first["datasets"]["clients"]["manifest"]["source_uri"] == "s3://t-sources/clients.csv"
    assert lake.read_bytes(fs, f"t-bronze/purchases/ingest_date={RUN_DATE}/purchases.csv") == PURCHASES
    again = ingest(s3_settings, RUN_DATE, "run-2", sources_dir="s3://t-sources")
    assert again["datasets"]["clients"]["status"] == "unchanged"

    lake.write_bytes(fs, "t-sources/clients.csv", CLIENTS + b"3,Cy,cy@example.com,2024-05-06,Italy\n")
    assert ingest(s3_settings, RUN_DATE, "run-3")["datasets"]["clients"]["version"] == 2
    path, manifest = latest_version(s3_settings, "clients", RUN_DATE)
    assert path == f"t-bronze/clients/ingest_date={RUN_DATE}/clients.v2.csv"
    assert (manifest["data_rows"], manifest["bronze_uri"]) == (3, f"s3://{path}")
