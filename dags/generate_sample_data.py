"""
### Generate sample data

Writes a synthetic `clients.csv` and `purchases.csv` (the seed's schema and vocabulary) into the landing zone
(`$LAKE_ROOT/sources/`), with a chosen share of dirty rows and a `ground_truth.json` counting every injected
defect. Trigger it by hand, then trigger `medallion_pipeline` for the same date.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

with DAG(
    dag_id="generate_sample_data",
    description="Write a synthetic (optionally dirty) sample into the landing zone",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "data-platform", "retries": 0},
    tags=["medallion", "sample-data"],
    params={
        "clients": Param(1000, type="integer", minimum=1, description="Number of client rows."),
        "purchases_per_client": Param(5.0, type="number", minimum=0, description="Average purchases per client."),
        "dirty_rate": Param(0.05, type="number", minimum=0, maximum=0.5, description="Share of rows with one defect."),
        "seed": Param(42, type="integer", description="Random seed: same parameters give the same bytes."),
    },
) as dag:

    @task
    def generate(params: dict, ds: str) -> dict:
        """Generate the sample with `medallion.devtools.datagen` into the landing zone, as of the logical date."""
        import tempfile

        import pyarrow.fs as pafs

        from medallion.config import Settings
        from medallion.devtools.datagen import generate as generate_files
        from medallion.lake import filesystem, layer_path

        settings = Settings.from_env()
        with tempfile.TemporaryDirectory() as tmp:
            truth = generate_files(tmp, clients=params["clients"], purchases_per_client=params["purchases_per_client"],
                                   dirty_rate=params["dirty_rate"], seed=params["seed"], as_of=ds)
            target = layer_path(settings, "sources")
            fs = filesystem(settings)
            fs.create_dir(target, recursive=True)
            for name in ("clients.csv", "purchases.csv", "ground_truth.json"):
                pafs.copy_files(f"{tmp}/{name}", f"{target}/{name}", destination_filesystem=fs)
        return {table: {"rows": truth[table]["input_rows"], "clean": truth[table]["output_rows"]}
                for table in ("clients", "purchases")}

    generate()
