"""medallion.devtools.profiling without a JVM: the JVM option and the errors of hot_methods.

The recording itself is read in tests/integration/test_benchmark.py (a real Spark run with JFR).
"""

from __future__ import annotations

import shlex

import pytest

from medallion.devtools import profiling


def test_jfr_option_records_the_whole_jvm_life_into_the_file(tmp_path):
    option = profiling.jfr_java_option(tmp_path / "run 1.jfr")
    assert option == f"-XX:StartFlightRecording=filename={tmp_path / 'run 1.jfr'},settings=profile,dumponexit=true"


def test_java_option_is_quoted_for_the_spark_launcher():
    # Double quotes keep the space inside one argument; backslashes and quotes are escaped.
    assert profiling.spark_submit_java_options('-Da=x y') == '"-Da=x y"'
    assert profiling.spark_submit_java_options('-Da=c:\\t "q"') == '"-Da=c:\\\\t \\"q\\""'
    # PYSPARK_SUBMIT_ARGS (split with shlex by PySpark) hands the quoted value over unchanged.
    quoted = profiling.spark_submit_java_options("-Da=x y")
    assert shlex.split(f"--driver-java-options {shlex.quote(quoted)} pyspark-shell")[1] == quoted


def test_hot_methods_names_what_is_missing(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no JFR recording at .*absent.jfr"):
        profiling.hot_methods(tmp_path / "absent.jfr")
    recording = tmp_path / "run.jfr"
    recording.write_bytes(profiling.JFR_MAGIC)
    monkeypatch.setattr(profiling.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="`jfr` tool is not on PATH"):
        profiling.hot_methods(recording)
