"""Development tooling, not run by the pipeline in production.

The pandas-vs-Spark benchmark (``python -m medallion.devtools.benchmark``), its profiling and
differential check, the dirty-data generator (tests, ``make demo`` and the sample DAG) and the
local MongoDB wire server (tests, ``make demo``, ``make dashboard``). The DAG's tasks run
:mod:`medallion.bronze`, :mod:`medallion.spark`, :mod:`medallion.quality` and :mod:`medallion.publish`.
"""
