"""Cloud Data Migration (CDM), as the official ``huaweicloudsdkcdm`` v1 client calls it; its jobs really
move data, between the emulator's OBS and real PostgreSQL servers (DWS clusters).

What is emulated (paths under ``/v1.1/{project_id}``):

* clusters: create (``POST /clusters``: status ``100``, then ``200``, or ``303`` with ``failedReasons``
  when a failure is injected), list, detail (``GET /clusters/{id}``: ``status``, ``statusDetail``,
  ``actionProgress``, ``task``, instances on 127.0.0.1, the network ids echoed), delete (``DELETE
  /clusters/{id}``, shared with MRS's: a CDM cluster's id makes it CDM's; its jobs are stopped and it is
  gone -- 404 -- after ``delete_seconds``);
* links (``/clusters/{id}/cdm/link``): create (``validate=true`` only checks), show (one, or ``all``),
  update, delete -- ``obs-connector`` and ``generic-jdbc-connector`` for PostgreSQL / DWS (see
  :mod:`.configs`); passwords and secret keys are never answered;
* jobs (``/clusters/{id}/cdm/job``): create (several at once, all or none), show (one, or ``all`` with
  ``filter`` and paging), update, delete, start with ``variables`` (``${name}`` in the job's config),
  stop, status (the last submission, or ``NEVER_EXECUTED``), and the history
  (``/clusters/{id}/cdm/submissions?jname=``): submissions BOOTING -> RUNNING -> SUCCEEDED | FAILED with
  progress, Sqoop's counters (rows and bytes read and written, files) and ``error-summary``;
* ``POST /clusters/job``: create jobs on one of the given clusters that is running, chosen at random, and
  start them.

Jobs move OBS prefix -> table (CSV, JSON, Parquet, read with DuckDB), table or query -> OBS (CSV), OBS ->
OBS (files as they are), table -> table (PostgreSQL's COPY): a table target commits in one transaction,
an OBS target publishes in one metadata commit, and only when the run succeeded (see :mod:`.migration`).

Errors carry CDM's codes: ``Cdm.0001`` (no such cluster: 404), ``Cdm.0014`` (an illegal parameter, or
an operation the state does not allow), ``Cdm.0089`` (no such configuration item), ``Cdm.0100`` /
``Cdm.0101`` / ``Cdm.0102`` (no such job / link / connector), ``Cdm.0104`` (a job name in use).
``/_emulator/cdm/settings`` (unsigned) sets ``create_seconds``, ``delete_seconds``, ``job_seconds`` (the
least time a job runs) and ``fail_next_create``.

For other services: ``CdmService.run_job(project_id, cluster_id, job_name, variables)`` starts a job and
awaits its end (a DataArts Factory CDM node); cancelling it stops the job.
"""

from .service import CdmService

__all__ = ["CdmService"]
