"""MapReduce Service (MRS), Huawei Cloud's managed Hadoop/Spark, as the official ``huaweicloudsdkmrs``
v1 and v2 clients call it; a cluster's jobs really run, on the emulator's compute layer.

What is emulated (paths under ``/{project_id}``):

* clusters: create (``POST /v2/clusters``, the request's parameters checked and echoed), create with
  steps (``POST /v2/run-job-flow``: the steps run one after another once the cluster runs, then, with
  ``delete_when_no_steps``, it terminates), detail (``GET /v1.1/cluster_infos/{id}``: ``clusterState``
  starting / running / terminating / terminated / failed, ``stageDesc``, ``errorInfo``, node groups,
  components, ...), list (``GET /v1.1/cluster_infos``, its filters and paging), delete (``DELETE
  /v1.1/clusters/{id}``);
* job executions (``/v2/clusters/{cluster_id}/job-executions``): submit, list, detail, kill
  (``.../{id}/kill``), batch delete, and a SparkSql job's rows (``.../{id}/sql-result``). SparkSubmit and
  SparkPython run on local Apache Spark (the runner DLI's batches use), SparkSql / HiveSql and their
  Script variants on Spark SQL (DuckDB) over a catalog of each cluster's own, DistCp as a copy between
  ``obs://`` paths; outputs reach OBS only when the job succeeds (see :mod:`.jobs`, and :mod:`.state`
  for ``job_state`` and ``job_result``). A job submitted to a cluster that is not running is refused
  with the cloud's ``0056``;
* SQL executions (``/v2/clusters/{cluster_id}/sql-execution``): execute, show, cancel.

Errors carry MRS's codes: ``MRS.0002`` (a parameter of a v2 request), ``12000003`` (no such cluster),
``12000043`` (a cluster name in use), ``12000021`` (a cluster that cannot be terminated), ``0056``,
``0057`` / ``0168`` (the cluster has no Spark / Hive), ``0173`` (a job the emulator cannot run),
``0176`` (no such job), ``0179`` / ``0181`` / ``0183`` (sql-result). ``/_emulator/mrs/settings``
(unsigned) sets how long clusters start and terminate and makes the next creation fail;
``/_emulator/mrs/job-executions/{id}/log`` serves a job's log. On a cluster created with a ``log_uri``
(and ``log_collection`` not 0) each job's log is also published to OBS when the job ends, at
``{log_uri}/{cluster_id}/job-executions/{job_id}/job.log``. Records survive restarts; a job running at a
stop is FAILED after it.
"""

from .service import MrsService

__all__ = ["MrsService"]
