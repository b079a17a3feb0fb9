"""A Spark application for the cluster test: runs 40 tasks, then prints its executors as JSON.

Printed line: ``EXECUTORS <json>`` where the JSON is the application's executor list from the
driver's REST API (``/api/v1/applications/<id>/executors``) and ``APP_ID <id>``.
"""

import json
import urllib.request

from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("cluster-executor-report").getOrCreate()
sc = spark.sparkContext
total = spark.range(0, 400_000, numPartitions=40).selectExpr("sum(id) AS s").first()["s"]
print(f"SUM {total}")
app_id = sc.applicationId
with urllib.request.urlopen(f"{sc.uiWebUrl}/api/v1/applications/{app_id}/executors", timeout=10) as response:
    executors = json.load(response)
print(f"APP_ID {app_id}")
print("EXECUTORS " + json.dumps(executors))
spark.stop()
