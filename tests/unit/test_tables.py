"""The Python side of the Delta tables (``medallion.tables``, the ``deltalake`` package): a run date's
partition replaced in one commit, readers of a date, commit metadata, retention and VACUUM."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from medallion import lake, tables
from medallion.config import Settings

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.decimal128(18, 2))])


def rows(*items: tuple[int, str, str]) -> pa.Table:
    return pa.Table.from_pylist([{"id": i, "name": n, "amount": Decimal(a)} for i, n, a in items], SCHEMA)


def test_a_run_date_is_a_partition_replaced_in_one_commit(settings):
    assert tables.write_snapshot(settings, "gold", "t", "2026-11-28", rows((1, "a", "1.50")), {"run_id": "r1"}) == 0
    assert tables.write_snapshot(settings, "gold", "t", "2026-11-29", rows((2, "b", "2.00"), (3, "c", "3.25")),
                                 {"run_id": "r2"}) == 1
    assert tables.write_snapshot(settings, "gold", "t", "2026-11-29", rows((4, "d", "4.00")), {"run_id": "r3"}) == 2

    assert tables.read_snapshot(settings, "gold", "t", "2026-11-28").to_pylist() == [
        {"id": 1, "name": "a", "amount": Decimal("1.50")}]
    assert tables.read_snapshot(settings, "gold", "t", dt.date(2026, 11, 29)).to_pylist() == [
        {"id": 4, "name": "d", "amount": Decimal("4.00")}]
    assert tables.read_snapshot(settings, "gold", "t", "2026-11-30").num_rows == 0
    assert tables.read_snapshot(settings, "gold", "t", "2026-11-29", columns=["name"]).column_names == ["name"]
    # The replaced rows are still there for time travel.
    assert tables.snapshot_reader(settings, "gold", "t", "2026-11-29", version=1).read_all().num_rows == 2
    assert [p.rsplit("/", 2)[-2] for p in tables.snapshot_files(settings, "gold", "t", "2026-11-29")] == [
        "run_date=2026-11-29"]
    commit = tables.last_commit(settings, "gold", "t")
    assert (commit["version"], commit["operation"], commit["metadata"]) == (2, "WRITE", {"run_id": "r3"})


def test_a_missing_table_names_its_location(settings):
    with pytest.raises(FileNotFoundError, match=r"gold table nope does not exist yet: no Delta table at .*/gold/nope"):
        tables.read_snapshot(settings, "gold", "nope", "2026-11-29")


def test_retention_deletes_old_run_dates_and_vacuum_frees_their_files(settings):
    for day in (20, 25, 28, 29):
        tables.write_snapshot(settings, "silver", "clients", f"2026-11-{day}", rows((day, "x", "1.00")), {})
    tables.write_snapshot(settings, "silver", "clients", "2026-11-29", rows((99, "y", "2.00")), {})  # replaces
    folder = lake.layer_path(settings, "silver", "clients")
    fs = lake.filesystem(settings)

    def data_files() -> set[str]:
        return {info.path.removeprefix(folder + "/") for info in fs.get_file_info(
            lake.pafs.FileSelector(folder, recursive=True))
            if info.path.endswith(".parquet") and "/_delta_log/" not in info.path}

    assert len(data_files()) == 5
    # Default: keep every run date; VACUUM with the default retention keeps recent files.
    kept = tables.apply_retention(settings, "2026-11-29")
    assert kept == {"cutoff": None, "tables": {"silver/clients": {"deleted_rows": 0, "vacuumed_files": 0}}}
    # Keep 3 days: run dates before 2026-11-26 go; with 0 hours of VACUUM retention their files too.
    pruned = tables.apply_retention(settings.with_overrides(retention_days=3, vacuum_retain_hours=0), "2026-11-29")
    assert pruned["cutoff"] == "2026-11-26"
    assert pruned["tables"]["silver/clients"]["deleted_rows"] == 2
    assert pruned["tables"]["silver/clients"]["vacuumed_files"] == 3  # 20, 25 and the replaced 29
    assert {path.split("/")[0] for path in data_files()} == {"run_date=2026-11-28", "run_date=2026-11-29"}
    assert len(data_files()) == 2
    assert tables.read_snapshot(settings, "silver", "clients", "2026-11-29").column("id").to_pylist() == [99]
    assert tables.read_snapshot(settings, "silver", "clients", "2026-11-20").num_rows == 0
    history = [commit["operation"] for commit in tables.open_table(settings, "silver", "clients").history()]
    assert history[:3] == ["VACUUM END", "VACUUM START", "DELETE"]


def test_settings_validate_the_retention_values():
    assert Settings.from_env({"RETENTION_DAYS": "7", "VACUUM_RETAIN_HOURS": "24"}).retention_days == 7
    with pytest.raises(ValueError, match="RETENTION_DAYS must be a whole number, got 'a week'"):
        Settings.from_env({"RETENTION_DAYS": "a week"})
    with pytest.raises(ValueError, match="VACUUM_RETAIN_HOURS must be 0 or more, got -1"):
        Settings(vacuum_retain_hours=-1)


def test_s3_storage_options_come_from_the_settings():
    s3 = Settings(lake_root="s3://", s3_endpoint_url="http://minio:9000", aws_access_key_id="key",
                  aws_secret_access_key="secret", aws_region="eu-west-1")
    assert tables.storage_options(s3) == {
        "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_ENDPOINT_URL": "http://minio:9000", "AWS_ALLOW_HTTP": "true"}
    assert tables.storage_options(Settings(lake_root="/tmp/lake")) == {}


def test_remove_orphans_deletes_only_the_uncommitted_files_written_since_the_run_began(settings):
    folder = Path(lake.layer_path(settings, "silver", "clients", "run_date=2026-11-29"))
    other_date = Path(lake.layer_path(settings, "silver", "clients", "run_date=2026-11-28"))
    tables.write_snapshot(settings, "silver", "clients", "2026-11-28", rows((1, "a", "1.00")), {})
    tables.write_snapshot(settings, "silver", "clients", "2026-11-29", rows((2, "b", "2.00")), {})
    before_run = set(folder.glob("*.parquet"))
    since = dt.datetime.now(dt.timezone.utc)
    hour = dt.timedelta(hours=1).total_seconds()

    def stray(where: Path, name: str, size: int, mtime: float) -> Path:
        path = where / name
        path.write_bytes(b"x" * size)
        os.utime(path, (mtime, mtime))
        return path

    # Written before the run: left to VACUUM. A file of the version current at the start whose
    # clock ran ahead: still a committed file, kept.
    old_orphan = stray(folder, "part-00000-old.c000.snappy.parquet", 10, since.timestamp() - hour)
    for path in before_run:
        os.utime(path, (since.timestamp() + hour, since.timestamp() + hour))
    # The run: two commits of the date (the first one replaced by the second), an attempt's file
    # that no commit names with its Hadoop checksum, and a stray file in another date's partition.
    tables.write_snapshot(settings, "silver", "clients", "2026-11-29", rows((3, "c", "3.00")), {})
    first_attempt = set(folder.glob("*.parquet")) - before_run - {old_orphan}
    tables.write_snapshot(settings, "silver", "clients", "2026-11-29", rows((4, "d", "4.00")), {})
    committed = set(folder.glob("*.parquet")) - before_run - first_attempt - {old_orphan}
    orphan = stray(folder, "part-00001-lost.c000.snappy.parquet", 100, since.timestamp() + 1)
    checksum = stray(folder, ".part-00001-lost.c000.snappy.parquet.crc", 12, since.timestamp() + 1)
    other = stray(other_date, "part-00002-other.c000.snappy.parquet", 7, since.timestamp() + 1)
    assert len(before_run) == len(first_attempt) == len(committed) == 1

    assert tables.remove_orphans(settings, "silver", "clients", "2026-11-29", since) == {"files": 2, "bytes": 112}
    assert not orphan.exists() and not checksum.exists()
    assert all(path.exists() for path in before_run | first_attempt | committed | {old_orphan, other})
    assert tables.read_snapshot(settings, "silver", "clients", "2026-11-29").column("id").to_pylist() == [4]
    assert tables.remove_orphans(settings, "silver", "clients", "2026-11-29", since) == {"files": 0, "bytes": 0}
    with pytest.raises(ValueError, match="since must have a time zone"):
        tables.remove_orphans(settings, "silver", "clients", "2026-11-29", dt.datetime(2026, 11, 29))
