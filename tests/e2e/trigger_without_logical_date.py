"""Run the pipeline DAG once, in-process like ``airflow dags test``, as a run WITHOUT a logical date.

``airflow dags test`` always sets one; Airflow 3 creates such runs for ``airflow dags trigger`` without
``--logical-date`` and for the REST API with ``logical_date: null``. Usage: ``python <this> RUN_AFTER``
(ISO 8601); exits 1 when the run failed.
"""

import sys

import pendulum
from airflow.dag_processing.dagbag import DagBag

from medallion.config import PROJECT_ROOT

if __name__ == "__main__":
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("medallion_pipeline")
    run = dag.test(logical_date=None, run_after=pendulum.parse(sys.argv[1]))
    print(f"run {run.run_id}: logical date {run.logical_date}, run after {run.run_after}, {run.state}")
    sys.exit(0 if run.state == "success" else 1)
