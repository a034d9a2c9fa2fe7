"""The compute layer: what every service that runs a query or user code shares.

* :mod:`.staging`: a job's view of OBS -- inputs pinned as local files, outputs published to OBS in one
  transaction only when the job succeeds.
* :mod:`.spark_sql`: Spark SQL on DuckDB (statements transpiled by sqlglot) over a catalog of tables.
* :mod:`.spark`: PySpark programs on Apache Spark in local mode, in a process group of their own.

Services keep their own durable job records and state machines (DLI's SQL jobs and batches, MRS's job
executions); the engines here know nothing of any service's API.
"""
