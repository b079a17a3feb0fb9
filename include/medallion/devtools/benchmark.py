"""pandas vs Spark benchmark of the whole pipeline (bronze -> silver -> gold), with a differential check.

``python -m medallion.devtools.benchmark --help`` lists the options. For each engine and repeat it:

1. generates the sources with :func:`medallion.devtools.datagen.generate` under ``data/benchmark/<size>/``
   (or reuses them when that folder's ``ground_truth.json`` has the same parameters);
2. runs, in a **fresh child process** (so engines do not share memory or caches), with a fresh lake
   root per engine (``data/benchmark/lake-<engine>``): start-up (pandas: importing the engine;
   Spark: creating the SparkSession), bronze ingestion (:func:`medallion.bronze.ingest`), silver
   (:func:`medallion.engines.pandas_engine.run_silver` / :func:`medallion.spark.silver.run`) and
   gold (``run_gold`` / :func:`medallion.spark.gold.run`), timing each step with a monotonic clock;
3. samples the resident memory (RSS) of the child's whole process tree every 0.1 s in a thread
   (for Spark this includes the driver JVM, and the executors in local mode; with a ``spark://``
   master the executors run in the cluster's worker JVMs and are not counted).

Then it prints the table (per step: pandas seconds, Spark seconds, speedup = slower / faster,
winner; the total; the overall winner and why) and the peak memory with ``rich``, writes the
results JSON (schema: :data:`RESULTS_SCHEMA`) and, when both engines ran, runs the differential
check (:mod:`medallion.devtools.diffcheck`) on the last repeat's outputs: it prints ``outputs identical`` or
the first differences, and the command exits with status 1 on a difference.

``--spark-profile DIR`` records a Java Flight Recorder CPU profile of each Spark run's driver JVM
(:mod:`medallion.devtools.profiling`; in local mode the whole job) and prints its hottest methods.

``--sweep`` runs the benchmark at 100k, 1M and 10M purchases (5 per client) and writes
``docs/benchmark_sweep.json`` and the chart ``docs/benchmark_sweep.png`` (total seconds vs purchase
rows per engine, with the crossover point where the faster engine changes, if any).

Times are wall-clock seconds; memory is bytes. Nothing here asserts a speed: the numbers are data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from medallion.config import PROJECT_ROOT

ENGINES: tuple[str, ...] = ("pandas", "spark")
STEPS: tuple[str, ...] = ("startup", "bronze", "silver", "gold")
DEFAULT_RUN_DATE = "2026-11-29"
DEFAULT_OUTPUT = Path("data") / "benchmark_results.json"
DEFAULT_DATA_DIR = Path("data") / "benchmark"
DOCS_DIR = PROJECT_ROOT / "docs"
#: Purchase row counts of ``--sweep`` (5 purchases per client).
SWEEP_PURCHASES: tuple[int, ...] = (100_000, 1_000_000, 10_000_000)
SAMPLE_SECONDS = 0.1

_NUMBER = {"type": "number", "minimum": 0}
_STEP_TIMES = {
    "type": "object",
    "properties": {**{step: _NUMBER for step in STEPS}, "total": _NUMBER, "silver_gold": _NUMBER},
    "required": [*STEPS, "total", "silver_gold"],
    "additionalProperties": False,
}
_ENGINE_RESULT = {
    "type": "object",
    "properties": {
        "runs": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"seconds": _STEP_TIMES, "peak_rss_bytes": {"type": "integer", "minimum": 0}},
                "required": ["seconds", "peak_rss_bytes"],
                "additionalProperties": False,
            },
        },
        "median_seconds": _STEP_TIMES,
        "peak_rss_bytes": {"type": "integer", "minimum": 0},
        "memory_scope": {"type": "string"},
    },
    "required": ["runs", "median_seconds", "peak_rss_bytes", "memory_scope"],
    "additionalProperties": False,
}
_COMPARISON_ROW = {
    "type": "object",
    "properties": {
        "step": {"type": "string"},
        "pandas_s": {"type": ["number", "null"]},
        "spark_s": {"type": ["number", "null"]},
        "speedup": {"type": ["number", "null"]},
        "winner": {"type": ["string", "null"], "enum": ["pandas", "spark", "tie", None]},
    },
    "required": ["step", "pandas_s", "spark_s", "speedup", "winner"],
    "additionalProperties": False,
}

#: JSON schema (draft 2020-12) of the results file written by the benchmark.
RESULTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "medallion pandas-vs-Spark benchmark results",
    "type": "object",
    "properties": {
        "format": {"const": 1},
        "started_at": {"type": "string", "description": "UTC start of the measurement (metadata only)"},
        "machine": {
            "type": "object",
            "properties": {
                "cores": {"type": "integer", "minimum": 1},
                "memory_bytes": {"type": "integer", "minimum": 1},
                "platform": {"type": "string"},
                "python": {"type": "string"},
                "versions": {
                    "type": "object",
                    "properties": {k: {"type": "string"} for k in ("pandas", "pyarrow", "pyspark", "numpy")},
                    "required": ["pandas", "pyarrow", "pyspark", "numpy"],
                },
            },
            "required": ["cores", "memory_bytes", "platform", "python", "versions"],
        },
        "parameters": {
            "type": "object",
            "properties": {
                "clients": {"type": "integer", "minimum": 1},
                "purchases_per_client": _NUMBER,
                "dirty_rate": _NUMBER,
                "seed": {"type": "integer", "minimum": 0},
                "run_date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                "repeat": {"type": "integer", "minimum": 1},
                "spark_master": {"type": "string"},
                "engines": {"type": "array", "items": {"enum": list(ENGINES)}, "minItems": 1},
            },
            "required": ["clients", "purchases_per_client", "dirty_rate", "seed", "run_date", "repeat",
                         "spark_master", "engines"],
        },
        "data": {
            "type": "object",
            "properties": {
                "folder": {"type": "string"},
                "reused": {"type": "boolean"},
                "generation_seconds": _NUMBER,
                "clients_rows": {"type": "integer", "minimum": 0},
                "purchases_rows": {"type": "integer", "minimum": 0},
                "clients_bytes": {"type": "integer", "minimum": 0},
                "purchases_bytes": {"type": "integer", "minimum": 0},
            },
            "required": ["folder", "reused", "clients_rows", "purchases_rows", "clients_bytes", "purchases_bytes"],
        },
        "steps": {"type": "array", "items": {"enum": list(STEPS)}},
        "engines": {
            "type": "object",
            "properties": {engine: _ENGINE_RESULT for engine in ENGINES},
            "additionalProperties": False,
            "minProperties": 1,
        },
        "results": {
            "type": "object",
            "properties": {
                "per_step": {"type": "array", "items": _COMPARISON_ROW},
                "total": _COMPARISON_ROW,
                "silver_gold": _COMPARISON_ROW,
                "winner": {"type": ["string", "null"]},
                "reason": {"type": "string"},
                "peak_rss_bytes": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
            "required": ["per_step", "total", "silver_gold", "winner", "reason", "peak_rss_bytes"],
        },
        "differential_check": {
            "type": "object",
            "properties": {
                "ran": {"type": "boolean"},
                "identical": {"type": ["boolean", "null"]},
                "compared": {"type": "array", "items": {"type": "string"}},
                "differences": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["ran", "identical", "compared", "differences"],
        },
    },
    "required": ["format", "machine", "parameters", "data", "steps", "engines", "results", "differential_check"],
}


# --- machine and data ---------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    """Cores, memory (bytes), platform, Python and library versions of this machine."""
    import numpy
    import pandas
    import psutil
    import pyarrow
    from importlib.metadata import PackageNotFoundError, version

    try:
        pyspark_version = version("pyspark")
    except PackageNotFoundError:
        pyspark_version = "not installed"
    return {
        "cores": os.cpu_count() or 1,
        "memory_bytes": int(psutil.virtual_memory().total),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {"pandas": pandas.__version__, "pyarrow": pyarrow.__version__,
                     "pyspark": pyspark_version, "numpy": numpy.__version__},
    }


def _size_folder(data_dir: Path, clients: int, purchases_per_client: float, dirty_rate: float, seed: int) -> Path:
    return data_dir / f"c{clients}-p{purchases_per_client:g}-d{dirty_rate:g}-s{seed}"


def prepare_data(data_dir: Path, clients: int, purchases_per_client: float, dirty_rate: float, seed: int,
                 run_date: str) -> dict[str, Any]:
    """Generate the sources, or reuse them when ``ground_truth.json`` has the same parameters.

    Returns the ``data`` section of the results (folder, reused, generation seconds, row and byte
    counts of both files).
    """
    from medallion.devtools.datagen import GROUND_TRUTH_FILE, generate

    folder = _size_folder(data_dir, clients, purchases_per_client, dirty_rate, seed)
    wanted = {"clients": clients, "purchases_per_client": float(purchases_per_client),
              "dirty_rate": float(dirty_rate), "seed": seed, "as_of": run_date}
    truth_file = folder / GROUND_TRUTH_FILE
    truth = None
    if truth_file.is_file() and (folder / "clients.csv").is_file() and (folder / "purchases.csv").is_file():
        candidate = json.loads(truth_file.read_text(encoding="utf-8"))
        if candidate.get("params") == wanted:
            truth = candidate
    reused = truth is not None
    started = time.perf_counter()
    if truth is None:
        truth = generate(folder, clients=clients, purchases_per_client=purchases_per_client,
                         dirty_rate=dirty_rate, seed=seed, as_of=run_date)
    return {
        "folder": str(folder),
        "reused": reused,
        "generation_seconds": 0.0 if reused else round(time.perf_counter() - started, 3),
        "clients_rows": int(truth["clients"]["input_rows"]),
        "purchases_rows": int(truth["purchases"]["input_rows"]),
        "clients_bytes": (folder / "clients.csv").stat().st_size,
        "purchases_bytes": (folder / "purchases.csv").stat().st_size,
    }


# --- one engine run in a child process ---------------------------------------------------------------

def _worker(args: argparse.Namespace) -> int:
    """Child-process entry: run every step of one engine and write the step times as JSON."""
    from medallion.config import Settings

    settings = Settings(lake_root=str(Path(args.lake_root).resolve()))
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = round(now - clock, 4)
        clock = now

    spark = None
    try:
        if args.worker == "pandas":
            from medallion import bronze
            from medallion.engines import pandas_engine
            lap("startup")
            bronze.ingest(settings, args.run_date, args.run_id, args.sources)
            lap("bronze")
            pandas_engine.run_silver(settings, args.run_date, args.run_id)
            lap("silver")
            pandas_engine.run_gold(settings, args.run_date, args.run_id)
            lap("gold")
        else:
            from medallion import bronze
            from medallion.spark import gold, silver
            from medallion.spark.session import build_session
            spark = build_session("medallion-benchmark", settings, master=args.spark_master)
            spark.sparkContext.setLogLevel("ERROR")
            lap("startup")
            bronze.ingest(settings, args.run_date, args.run_id, args.sources)
            lap("bronze")
            silver.run(spark, settings, args.run_date, args.run_id)
            lap("silver")
            gold.run(spark, settings, args.run_date, args.run_id)
            lap("gold")
    finally:
        if spark is not None:
            spark.stop()
    Path(args.timings_out).write_text(json.dumps(seconds), encoding="utf-8")
    return 0


class _MemorySampler(threading.Thread):
    """Peak RSS (bytes) of a process and all its descendants, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.seen: dict[int, Any] = {}
        self._halt = threading.Event()

    def sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total = 0
        for process in processes:
            self.seen.setdefault(process.pid, process)
            try:
                total += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        self.peak = max(self.peak, total)

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak

    def wait_for_descendants(self, timeout: float = 120) -> None:
        """Wait until every process seen in the tree has exited.

        The Spark driver JVM outlives its Python parent for a moment, and it writes its Flight
        Recorder file while exiting: reading that file earlier finds it incomplete.
        """
        import psutil

        psutil.wait_procs(list(self.seen.values()), timeout=timeout)


def run_engine(engine: str, *, sources: str, lake_root: Path, run_date: str, run_id: str, spark_master: str,
               log_file: Path, driver_memory: str, executor_memory: str,
               jfr_file: Path | None = None) -> dict[str, Any]:
    """Run one engine once in a child process on a fresh lake root; returns times and peak RSS.

    ``jfr_file``: for Spark, record a Java Flight Recorder CPU profile of the driver JVM there
    (:mod:`medallion.devtools.profiling`).

    Raises:
        RuntimeError: the child failed (the message holds the end of its log).
    """
    if lake_root.exists():
        shutil.rmtree(lake_root)
    lake_root.mkdir(parents=True)
    timings = lake_root.parent / f".{engine}-timings-{uuid.uuid4().hex[:8]}.json"
    java_options = ""
    if jfr_file is not None and engine == "spark":
        from medallion.devtools.profiling import jfr_java_option, spark_submit_java_options

        jfr_file.parent.mkdir(parents=True, exist_ok=True)
        option = spark_submit_java_options(jfr_java_option(jfr_file.resolve()))
        java_options = f"--driver-java-options {shlex.quote(option)} "
    env = {**os.environ, "PYSPARK_SUBMIT_ARGS":
           f"--driver-memory {driver_memory} --executor-memory {executor_memory} {java_options}pyspark-shell"}
    command = [sys.executable, "-m", "medallion.devtools.benchmark", "--worker", engine, "--lake-root", str(lake_root),
               "--sources", sources, "--run-date", run_date, "--run-id", run_id,
               "--spark-master", spark_master, "--timings-out", str(timings)]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "wb") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, env=env)
        sampler = _MemorySampler(child.pid)
        sampler.start()
        returncode = child.wait()
        peak = sampler.stop()
        sampler.wait_for_descendants()
    if returncode != 0 or not timings.is_file():
        tail = log_file.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{engine} benchmark run failed (exit {returncode}); end of {log_file}:\n{tail}")
    seconds = json.loads(timings.read_text(encoding="utf-8"))
    timings.unlink()
    seconds["total"] = round(sum(seconds[step] for step in STEPS), 4)
    seconds["silver_gold"] = round(seconds["silver"] + seconds["gold"], 4)
    return {"seconds": seconds, "peak_rss_bytes": int(peak)}


# --- results ----------------------------------------------------------------------------------------

def _compare_row(step: str, pandas_s: float | None, spark_s: float | None) -> dict[str, Any]:
    if pandas_s is None or spark_s is None:
        return {"step": step, "pandas_s": pandas_s, "spark_s": spark_s, "speedup": None, "winner": None}
    fast, slow = sorted((pandas_s, spark_s))
    winner = "tie" if pandas_s == spark_s else ("pandas" if pandas_s < spark_s else "spark")
    speedup = round(slow / fast, 2) if fast > 0 else None
    return {"step": step, "pandas_s": pandas_s, "spark_s": spark_s, "speedup": speedup, "winner": winner}


def summarise(engines: dict[str, dict[str, Any]], cores: int) -> dict[str, Any]:
    """The ``results`` section: per-step medians side by side, speedup (slower / faster), winners, reason."""
    def median(engine: str, step: str) -> float | None:
        return engines[engine]["median_seconds"][step] if engine in engines else None

    per_step = [_compare_row(step, median("pandas", step), median("spark", step)) for step in STEPS]
    total = _compare_row("total", median("pandas", "total"), median("spark", "total"))
    silver_gold = _compare_row("silver + gold", median("pandas", "silver_gold"), median("spark", "silver_gold"))
    winner = total["winner"]
    if winner is None:
        only = next(iter(engines))
        reason = f"only {only} ran; no comparison"
    elif winner == "tie":
        reason = "both engines took the same time"
    elif winner == "pandas":
        startup = median("spark", "startup") or 0.0
        reason = (f"pandas is {total['speedup']}x faster in total: the data fits in one process's memory "
                  f"on this {cores}-core machine, while Spark pays {startup:.1f} s of JVM/session start-up "
                  f"plus task scheduling, serialisation and shuffles that {cores} cores cannot amortise")
    else:
        reason = (f"Spark is {total['speedup']}x faster in total: its stages run on all {cores} cores in "
                  f"parallel and stream partitions, while pandas runs most operations on one core")
    return {
        "per_step": per_step, "total": total, "silver_gold": silver_gold, "winner": winner, "reason": reason,
        "peak_rss_bytes": {engine: result["peak_rss_bytes"] for engine, result in engines.items()},
    }


def _engine_result(engine: str, runs: list[dict[str, Any]], spark_master: str) -> dict[str, Any]:
    keys = [*STEPS, "total", "silver_gold"]
    medians = {key: round(statistics.median(run["seconds"][key] for run in runs), 4) for key in keys}
    if engine == "pandas":
        scope = "RSS of the benchmark's pandas child process"
    elif spark_master.startswith("local"):
        scope = "RSS of the Spark child process tree: Python driver + JVM (driver and local executors)"
    else:
        scope = ("RSS of the Spark child process tree: Python driver + driver JVM; executors run in the "
                 "cluster's worker JVMs and are not counted")
    return {"runs": runs, "median_seconds": medians, "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
            "memory_scope": scope}


def _gib(value: int) -> str:
    return f"{value / 2**30:.2f} GiB"


def print_report(results: dict[str, Any], console=None) -> None:
    """The seed's table with rich: per step pandas s, Spark s, speedup, winner; total; peak memory."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    params, data = results["parameters"], results["data"]
    table = Table(title=(f"pandas vs Spark — {data['clients_rows']:,} client rows, {data['purchases_rows']:,} "
                         f"purchase rows, dirty rate {params['dirty_rate']}, Spark {params['spark_master']}, "
                         f"median of {params['repeat']}"))
    for column, justify in (("step", "left"), ("pandas (s)", "right"), ("Spark (s)", "right"),
                            ("speedup", "right"), ("winner", "left")):
        table.add_column(column, justify=justify)

    def fmt(value, suffix=""):
        return "—" if value is None else f"{value:.2f}{suffix}"

    rows = [*results["results"]["per_step"], results["results"]["silver_gold"], results["results"]["total"]]
    for row in rows:
        style = "bold" if row["step"] == "total" else None
        table.add_row(row["step"], fmt(row["pandas_s"]), fmt(row["spark_s"]), fmt(row["speedup"], "x"),
                      row["winner"] or "—", style=style)
    peaks = results["results"]["peak_rss_bytes"]
    table.add_row("peak memory", _gib(peaks["pandas"]) if "pandas" in peaks else "—",
                  _gib(peaks["spark"]) if "spark" in peaks else "—", "", "")
    console.print(table)
    console.print(f"Winner: [bold]{results['results']['winner'] or '—'}[/bold] — {results['results']['reason']}")


def print_hot_methods(jfr_file: Path, console=None, top: int = 15) -> None:
    """Print the ``top`` methods of a JFR recording by self samples (share of all samples)."""
    from rich.console import Console
    from rich.table import Table

    from medallion.devtools.profiling import hot_methods

    console = console or Console()
    samples, methods = hot_methods(jfr_file, top)
    console.print(f"  JFR recording {jfr_file} ({samples:,} CPU samples)", soft_wrap=True)
    table = Table(title="Spark JVM hot methods (share of samples on top of the stack)")
    table.add_column("self %", justify="right")
    table.add_column("method")
    for method, count in methods:
        table.add_row(f"{100 * count / samples:.1f}", method)
    console.print(table)


def validate_results(results: dict[str, Any]) -> None:
    """Validate a results document against :data:`RESULTS_SCHEMA` (raises ``jsonschema.ValidationError``)."""
    import jsonschema

    jsonschema.validate(results, RESULTS_SCHEMA)


def run_benchmark(*, clients: int, purchases_per_client: float, dirty_rate: float, seed: int, repeat: int,
                  engines: Sequence[str], spark_master: str, run_date: str, data_dir: Path,
                  driver_memory: str, executor_memory: str, diff: bool = True, console=None,
                  profile_dir: Path | None = None) -> dict[str, Any]:
    """Run the benchmark once (one data size) and return the results document (:data:`RESULTS_SCHEMA`).

    With ``profile_dir``, each Spark run records a JFR CPU profile of the driver JVM into
    ``profile_dir/spark-<size folder>-<repeat>.jfr`` and its hottest methods are printed.
    """
    from rich.console import Console

    from medallion.config import Settings
    from medallion.devtools.diffcheck import compare_lakes

    console = console or Console()
    if repeat < 1:
        raise ValueError(f"--repeat must be >= 1, got {repeat}")
    started_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    machine = machine_info()
    console.print(f"Preparing data in {_size_folder(data_dir, clients, purchases_per_client, dirty_rate, seed)} ...")
    data = prepare_data(data_dir, clients, purchases_per_client, dirty_rate, seed, run_date)
    console.print(f"  {'reused' if data['reused'] else 'generated'}: {data['clients_rows']:,} clients, "
                  f"{data['purchases_rows']:,} purchases")
    runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in engines}
    lakes = {engine: data_dir / f"lake-{engine}" for engine in engines}
    for index in range(repeat):
        run_id = f"benchmark-{index + 1}"
        for engine in engines:
            console.print(f"Run {index + 1}/{repeat}: {engine} ...")
            jfr_file = (profile_dir / f"spark-{Path(data['folder']).name}-{index + 1}.jfr"
                        if profile_dir is not None and engine == "spark" else None)
            result = run_engine(engine, sources=data["folder"], lake_root=lakes[engine], run_date=run_date,
                                run_id=run_id, spark_master=spark_master,
                                log_file=data_dir / "logs" / f"{engine}-{index + 1}.log",
                                driver_memory=driver_memory, executor_memory=executor_memory, jfr_file=jfr_file)
            console.print(f"  {engine}: " + ", ".join(f"{k} {v:.2f} s" for k, v in result["seconds"].items())
                          + f", peak {_gib(result['peak_rss_bytes'])}")
            if jfr_file is not None:
                print_hot_methods(jfr_file, console)
            runs[engine].append(result)
    engine_results = {engine: _engine_result(engine, runs[engine], spark_master) for engine in engines}
    check: dict[str, Any] = {"ran": False, "identical": None, "compared": [], "differences": []}
    if diff and len(engines) == 2:
        outcome = compare_lakes(Settings(lake_root=str(lakes["pandas"].resolve())),
                                Settings(lake_root=str(lakes["spark"].resolve())), run_date)
        check = {"ran": True, "identical": outcome.identical, "compared": outcome.compared,
                 "differences": outcome.differences}
    results = {
        "format": 1,
        "started_at": started_at,
        "machine": machine,
        "parameters": {"clients": clients, "purchases_per_client": float(purchases_per_client),
                       "dirty_rate": float(dirty_rate), "seed": seed, "run_date": run_date, "repeat": repeat,
                       "spark_master": spark_master, "engines": list(engines)},
        "data": data,
        "steps": list(STEPS),
        "engines": engine_results,
        "results": summarise(engine_results, machine["cores"]),
        "differential_check": check,
    }
    return results


def print_diff(check: dict[str, Any], console) -> None:
    if not check["ran"]:
        console.print("Differential check skipped (needs both engines).")
    elif check["identical"]:
        console.print(f"[green]outputs identical[/green] ({len(check['compared'])} tables and documents compared)")
    else:
        console.print("[red]outputs differ[/red]; first differences:")
        for line in check["differences"]:
            console.print(f"  - {line}", markup=False)


# --- sweep --------------------------------------------------------------------------------------------

def crossover(rows: Sequence[int], pandas_s: Sequence[float], spark_s: Sequence[float]) -> float | None:
    """Purchase rows where the faster engine changes (log-log interpolation between sizes), or None."""
    import math

    for i in range(len(rows) - 1):
        d0 = math.log(pandas_s[i]) - math.log(spark_s[i])
        d1 = math.log(pandas_s[i + 1]) - math.log(spark_s[i + 1])
        if d0 == 0:
            return float(rows[i])
        if d0 * d1 < 0:
            t = d0 / (d0 - d1)
            return float(math.exp(math.log(rows[i]) + t * (math.log(rows[i + 1]) - math.log(rows[i]))))
    return None


def write_sweep(documents: list[dict[str, Any]], docs_dir: Path) -> tuple[Path, Path]:
    """Write ``benchmark_sweep.json`` and the chart ``benchmark_sweep.png`` (Agg backend) into ``docs_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    docs_dir.mkdir(parents=True, exist_ok=True)
    rows = [doc["data"]["purchases_rows"] for doc in documents]
    series = {engine: [doc["engines"][engine]["median_seconds"]["total"] for doc in documents]
              for engine in ENGINES if all(engine in doc["engines"] for doc in documents)}
    point = crossover(rows, series["pandas"], series["spark"]) if len(series) == 2 else None
    summary = {"format": 1, "purchases_rows": rows, "total_seconds": series, "crossover_purchase_rows": point,
               "runs": documents}
    json_path = docs_dir / "benchmark_sweep.json"
    json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for engine, values in series.items():
        axes.plot(rows, values, marker="o", label=engine)
    if point is not None:
        axes.axvline(point, linestyle="--", color="grey", label=f"crossover ≈ {point:,.0f} rows")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("purchase rows")
    axes.set_ylabel("total seconds (bronze + silver + gold, median)")
    cores = documents[0]["machine"]["cores"]
    axes.set_title(f"pandas vs Spark ({documents[0]['parameters']['spark_master']}), {cores} cores")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    png_path = docs_dir / "benchmark_sweep.png"
    figure.savefig(png_path, dpi=120)
    plt.close(figure)
    return json_path, png_path


# --- CLI ----------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m medallion.devtools.benchmark",
        description="pandas vs Spark on the medallion pipeline (bronze -> silver -> gold), "
                    "with a differential check of their outputs.")
    engines = parser.add_mutually_exclusive_group()
    engines.add_argument("--pandas-only", action="store_true", help="run only the pandas engine")
    engines.add_argument("--spark-only", action="store_true", help="run only the Spark engine")
    parser.add_argument("--spark-master", default="local[2]",
                        help="Spark master URL: local[N] or spark://host:port [local[2]]")
    parser.add_argument("--clients", type=int, default=2_000_000, help="clean client rows [2000000]")
    parser.add_argument("--purchases-per-client", type=float, default=5.0, help="average purchases per client [5]")
    parser.add_argument("--dirty-rate", type=float, default=0.05, help="share of defective rows [0.05]")
    parser.add_argument("--seed", type=int, default=42, help="random seed of the generator [42]")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; medians are reported [1]")
    parser.add_argument("--run-date", default=DEFAULT_RUN_DATE, help=f"run date (as-of) [{DEFAULT_RUN_DATE}]")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"results JSON [{DEFAULT_OUTPUT}]; with --sweep, benchmark_sweep.json and "
                             f".png go to this path's folder [docs/]")
    parser.add_argument("--data-dir", type=Path, default=None, help=f"generated data and lakes [{DEFAULT_DATA_DIR}]")
    parser.add_argument("--sweep", action="store_true",
                        help="run at 100k, 1M and 10M purchases; write JSON + PNG chart to docs/")
    parser.add_argument("--no-diff", action="store_true", help="skip the differential check")
    parser.add_argument("--spark-profile", type=Path, default=None, metavar="DIR",
                        help="record a Java Flight Recorder CPU profile of each Spark run's driver JVM "
                             "(local mode: the whole job; spark://: the driver only) into DIR and print "
                             "its hottest methods")
    parser.add_argument("--driver-memory", default=os.environ.get("BENCHMARK_DRIVER_MEMORY", "6g"),
                        help="Spark driver memory (local mode: also the executors') [6g]")
    parser.add_argument("--executor-memory", default=os.environ.get("BENCHMARK_EXECUTOR_MEMORY", "3g"),
                        help="Spark executor memory with a spark:// master [3g]")
    # Internal: the child process that runs one engine.
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--lake-root", help=argparse.SUPPRESS)
    parser.add_argument("--sources", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--timings-out", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point. Exit status: 0 ok, 1 the engines' outputs differ, 2 a run failed."""
    args = build_parser().parse_args(argv)
    if args.worker:
        return _worker(args)
    from rich.console import Console

    console = Console()
    engines = ["pandas"] if args.pandas_only else ["spark"] if args.spark_only else list(ENGINES)
    data_dir = (args.data_dir or PROJECT_ROOT / DEFAULT_DATA_DIR).resolve()
    common = dict(dirty_rate=args.dirty_rate, seed=args.seed, repeat=args.repeat, engines=engines,
                  spark_master=args.spark_master, run_date=args.run_date, data_dir=data_dir,
                  driver_memory=args.driver_memory, executor_memory=args.executor_memory,
                  diff=not args.no_diff, console=console,
                  profile_dir=args.spark_profile.resolve() if args.spark_profile else None)
    sizes = ([(rows // 5, 5.0) for rows in SWEEP_PURCHASES] if args.sweep
             else [(args.clients, args.purchases_per_client)])
    documents = []
    status = 0
    for clients, per_client in sizes:
        try:
            results = run_benchmark(clients=clients, purchases_per_client=per_client, **common)
        except RuntimeError as error:
            console.print(f"[red]{error}[/red]", markup=True)
            return 2
        print_report(results, console)
        print_diff(results["differential_check"], console)
        if results["differential_check"]["ran"] and not results["differential_check"]["identical"]:
            status = 1
        documents.append(results)
    if args.sweep:
        docs_dir = args.output.parent if args.output else DOCS_DIR
        json_path, png_path = write_sweep(documents, docs_dir)
        console.print(f"Sweep written to {json_path} and {png_path}")
    else:
        output = args.output or PROJECT_ROOT / DEFAULT_OUTPUT
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(documents[0], indent=2) + "\n", encoding="utf-8")
        console.print(f"Results written to {output}")
    return status


if __name__ == "__main__":
    sys.exit(main())
