"""GaussDB(DWS), the data warehouse, as the official ``huaweicloudsdkdws`` v2 client calls it; every
cluster is a real PostgreSQL server on 127.0.0.1.

What is emulated (paths under ``/{project_id}``):

* clusters: create (``POST /v1.0/clusters``, and ``POST /v2/clusters`` with the v2 field names), list
  (``GET /v1.0/clusters``, ``GET /v2/clusters``), detail (``GET /v1.0/clusters/{id}``: ``status``,
  ``sub_status``, ``task_status``, ``action_progress``, ``failed_reasons``, ``endpoints`` with
  ``connect_info`` ``127.0.0.1:<port>`` and ``jdbc_url``, ...), delete (``DELETE /v1.0/clusters/{id}``
  with ``keep_last_manual_snapshot``, ``DELETE /v2/clusters/{id}?keep_last_manual_backup=``);
* tags: ``POST /v1.0/clusters/{id}/tags/batch-create`` (a key already there takes the new value) and
  ``batch-delete`` (by key; a key not there is ignored), ``GET /v1.0/clusters/{id}/tags``, the project's
  ``GET /v1.0/tags``;
* snapshots (manual, of a whole cluster): create (``POST /v1.0/snapshots``), list (``GET
  /v1.0/snapshots``, and a cluster's, paged, ``GET /v1.0/clusters/{id}/snapshots``), detail, delete, and
  restore into a new cluster (``POST /v1.0/snapshots/{id}/actions``).

A cluster's server is made by ``initdb`` with the admin user and password of the request, holds the
database ``gaussdb`` (DWS's default), and listens on the requested port when it is free, else on
another; ``port`` and ``endpoints`` say which. Node types, node counts and network ids are checked for
form, kept and echoed, nothing more. A snapshot is a ``pg_dump`` of every database plus the roles;
restoring it gives a new server with the same data and the same admin password. Servers run while the
emulator runs: they are stopped with it and started again with it (see :mod:`.state` for the states,
:mod:`.postgres` for the engine).

Errors: ``DWS.0001`` (400) for a request the API refuses (a malformed id, a missing field, an operation
the resource's state does not allow), ``DWS.0015`` (403) for an unknown cluster or snapshot,
``DWS.3027`` (404) for a deleted cluster, ``DWS.5050`` (409) for a cluster name in use, and the
reference's ``DWS.50xx``/``DWS.51xx`` codes for invalid names, users, passwords, network ids and tags.
``/_emulator/dws/settings`` (unsigned) sets the minimum duration of each transition and makes the next
creation fail, for tests of sensors and failure states.
"""

from .service import DwsService

__all__ = ["DwsService"]
