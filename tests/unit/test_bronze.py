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
