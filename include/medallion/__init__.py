"""medallion: the library behind the bronze -> silver -> gold pipeline.

Imported by the Airflow DAGs, the Spark jobs (driver and executors), the CLIs and the tests.
It never imports Airflow at module level.
"""

__version__ = "0.1.0"
