"""Airflow glue: the operator of the DAG's Spark layer jobs.

:class:`SparkJobOperator` is ``SparkSubmitOperator`` that reads the job's exit code
(:mod:`medallion.spark.job`) when spark-submit fails:

* ``3`` (a quality gate failed, nothing committed): the task fails at once, without a retry, with
  a message naming each failed gate and expectation (read from the gate summaries the job stored
  in the lake) and where the data docs are;
* ``2`` (bad input: a missing bronze file or silver snapshot, a wrong column): the task fails at
  once with the job's own error lines;
* anything else (a lost executor or worker, a storage error): the error is raised as it is, so
  the task's ``retries`` apply.

It also holds the DAG's run-date rule (:func:`run_date_of`), shared by its templates and tasks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowFailException

from medallion import lake
from medallion.config import Settings
from medallion.spark.job import EXIT_BAD_INPUT, EXIT_GATE_FAILED

#: The DAG's timezone: a run date is a calendar date in it.
TIMEZONE = "UTC"


def run_date_of(params: dict[str, Any] | None, dag_run: Any) -> str:
    """The run date (``YYYY-MM-DD``) of a DAG run: what every task of the run processes.

    ``params["run_date"]`` when given, else the run's logical date, else (a run created without a
    logical date: ``airflow dags trigger`` without ``--logical-date``, the REST API with
    ``logical_date: null``, the UI's trigger form with the date cleared) the date of its
    ``run_after``, the time it was triggered for, both as calendar dates in :data:`TIMEZONE`.
    """
    chosen = (params or {}).get("run_date")
    if chosen:
        return str(chosen)
    return pendulum.instance(dag_run.logical_date or dag_run.run_after).in_timezone(TIMEZONE).to_date_string()


def logical_date_of(dag_run: Any) -> str:
    """The run's logical date as ``YYYY-MM-DD`` in :data:`TIMEZONE`, or ``""`` for a run without one."""
    when = dag_run.logical_date
    return pendulum.instance(when).in_timezone(TIMEZONE).to_date_string() if when else ""


def gate_failure_message(settings: Settings, gates: tuple[str, ...], run_date: str, run_id: str,
                         since: dt.datetime) -> str | None:
    """The failure message of the first of ``gates`` that failed for this run since ``since``, if any.

    Reads the summaries :func:`medallion.quality.audit` stores in ``quality/gates/``.
    """
    from medallion.quality import gate_result_path

    fs = lake.filesystem(settings)
    for layer in gates:
        path = gate_result_path(settings, layer, run_date)
        if not lake.is_file(fs, path):
            continue
        summary = lake.read_json(fs, path)
        finished = dt.datetime.fromisoformat(summary.get("finished_at", "1970-01-01T00:00:00+00:00"))
        if summary.get("run_id") != run_id or summary.get("passed", True) or finished < since:
            continue
        lines = [f"gate_{layer} FAILED for run date {run_date}: nothing of the layer was committed "
                 "(readers keep the previous snapshot). Failed expectations:"]
        for failure in summary.get("failures", []):
            if failure.get("severity") == "critical":
                detail = ", ".join(f"{key}={failure[key]}" for key in ("column", "unexpected_count", "observed_value")
                                   if failure.get(key) is not None)
                lines.append(f"  - {failure['suite']}: {failure['expectation']} ({detail})")
        lines.append(f"Data docs: {lake.display_uri(settings, 'quality', 'data_docs', 'index.html')} "
                     "(Data quality in the Airflow UI).")
        return "\n".join(lines)
    return None


class SparkJobOperator(SparkSubmitOperator):
    """``SparkSubmitOperator`` for a layer job: gate failures and bad input fail at once, with their reason.

    Args:
        gates: the quality gates the job runs, in order (``("bronze", "silver")`` for the silver job).
        run_date: the rendered run date (templated), to find the gate summaries.
        **kwargs: ``SparkSubmitOperator`` arguments.
    """

    template_fields = (*SparkSubmitOperator.template_fields, "run_date")

    def __init__(self, *, gates: tuple[str, ...], run_date: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gates = gates
        self.run_date = run_date

    def execute(self, context: Any) -> None:
        started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        try:
            super().execute(context)
        except Exception as error:
            process = getattr(self._hook, "_submit_sp", None)
            code = getattr(process, "returncode", None)
            if code == EXIT_GATE_FAILED:
                message = gate_failure_message(Settings.from_env(), self.gates, self.run_date,
                                               context["run_id"], started)
                raise AirflowFailException(message or f"a quality gate of {self.task_id} failed") from error
            if code == EXIT_BAD_INPUT:
                raise AirflowFailException(f"{self.task_id} cannot run on its input (no retry): {error}") from error
            raise
