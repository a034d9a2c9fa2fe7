"""ModelArts, Huawei Cloud's machine-learning platform, as the official ``huaweicloudsdkmodelarts`` client
calls it where it has the calls (algorithms, training jobs) and as the API reference gives the others
(datasets, models, real-time services); training jobs and services really run, on this machine's CPU.

What is emulated (paths under ``/{project_id}``):

* datasets (``/v2/datasets``): create over an OBS data source (its objects counted as samples), list
  with filters and paging, detail, update (name, description, current version, labels), delete; and
  their versions (``.../versions``): create, list, detail, delete. A dataset or a version is creating
  (``status`` 0) for the settings' ``dataset_seconds``, then normal (1);
* algorithms (``/v2/algorithms``): create, list, detail, change, delete;
* training jobs (``/v2/training-jobs``): create, detail, search (``/v2/training-job-searches``), stop
  (``.../actions``, ``terminate``), delete, and the log preview of the job's task. A job runs its boot
  file in a process of its own (see :mod:`.training`) through the phases Creating, Pending, Running,
  Completed, Failed, Terminating, Terminated and Abnormal; any flavour id (Ascend ``modelarts.kat1.*``,
  GPU ``modelarts.p3.*``, ...) runs on the CPU, as its log says;
* models (``/v1/models``): import from an OBS model directory with its ``customize_service.py``
  (publishing, then published or failed), list, detail, delete;
* real-time services (``/v1/services``): create, list, detail, update (stop, start, a new config),
  delete; each model of a service runs its inference code in a process of its own (see :mod:`.inference`)
  and answers predictions at ``/v1/infers/{service_id}``, the service's ``access_address``.

Errors carry ModelArts's basic codes: ``ModelArts.0101`` (an invalid parameter), ``ModelArts.0102`` (no
such resource, 404), ``ModelArts.0103`` (a name in use), ``ModelArts.0105`` (not allowed now), and
``MR.0105`` when a model's inference code fails. ``/_emulator/modelarts/settings`` (unsigned) sets the
durations; ``/_emulator/modelarts/services/{id}/log`` serves a service's log. Records survive restarts:
a training job under way at a stop is Abnormal after it, and the services that were serving deploy again.
"""

from .service import ModelArtsService

__all__ = ["ModelArtsService"]
