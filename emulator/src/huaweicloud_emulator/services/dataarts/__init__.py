"""DataArts Studio's Factory (DataArts Factory, DLF), as the official ``huaweicloudsdkdlf`` v1 client calls
it -- with the DataArts Studio instance and its workspaces of ``huaweicloudsdkdataartsstudio``. Its jobs
really run: their nodes run SQL on the emulator's DLI and DWS, CDM jobs, and OBS operations.

What is emulated:

* the project's DataArts Studio instance (``GET /v1/{project_id}/instances``) and its workspaces (list and
  create, ``/v1/{project_id}/workspaces/{instance_id}``); every Factory request names its workspace in
  the ``workspace`` header, the ``default`` one without it;
* data connections (``/v1/{project_id}/connections``: ``DWS`` -- a cluster by name or address, and a
  database user -- and ``DLI``), scripts (``/scripts``: ``DLISQL``, ``DWSSQL``), each created, listed,
  shown, updated and deleted; a connection's password is never answered;
* jobs (``/jobs``): create, list, show, update, delete, with nodes of type ``DLISQL``, ``DWSSQL``,
  ``CDMJob``, ``OBSManager`` and ``Dummy`` and their dependencies (``preNodeName``), parameters
  (``params``) and failure policies (see :mod:`.definitions`, :mod:`.nodes`);
* ``POST /jobs/{job_name}/run-immediate`` (``jobParams`` override the job's parameters; answers the
  ``instanceId``), the instances (``GET /jobs/instances/detail``), an instance's detail with the state of
  each node (``GET /jobs/{job_name}/instances/{instance_id}``) and stop (``.../stop``). Instances pass
  ``waiting`` -> ``running`` -> ``success`` | ``fail`` | ``manual-stop``, ``running-exception`` when the
  emulator stopped under them; nodes ``waiting`` -> ``running`` -> ``success`` | ``fail`` |
  ``manual-stop``, or ``skip`` (see :mod:`.runner`). Each node's log is written to OBS, at its
  ``logPath``: where a failure says why.
* ``${name}`` parameters and basic ``#{Job...}`` expressions in node properties and scripts
  (:mod:`.expressions`).

Errors carry DataArts Factory's codes (``DLF.0100`` no such job, ``DLF.0137`` no such instance,
``DLF.6201`` no such script, ``DLF.6322`` no such connection, ``DLF.0102`` / ``DLF.0202`` / ``DLF.6309``
a name in use, ``DLF.0802`` a request the emulator refuses). ``/_emulator/dataarts/settings`` (unsigned)
sets ``node_seconds``, the least time a node runs. The emulator never schedules a job (CRON and EVENT
schedules are kept and answered): a job runs when ``run-immediate`` asks.
"""

from .service import DataArtsService

__all__ = ["DataArtsService"]
