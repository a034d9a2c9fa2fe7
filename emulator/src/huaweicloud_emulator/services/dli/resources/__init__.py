"""DLI's control plane: queues, elastic resource pools, enhanced datasource connections and their routes.

Routes and shapes follow the official ``huaweicloudsdkdli`` v1 client (``_<op>_http_info`` and the models'
``attribute_map``) and the DLI API reference. Everything lives in the emulator's SQLite metadata store.

* Queues (``/v1.0/{project_id}/queues``): create, list, show, delete, update the CIDR (``PUT
  .../{queue_name}``), actions (``PUT .../action``: ``restart``, ``scale_out``, ``scale_in``) and address
  connectivity tests (``POST .../connection-test`` answers a ``task_id``;
  ``GET .../connection-test/{task_id}`` answers ``connectivity`` REACHABLE or UNREACHABLE). Names are
  case-insensitive (stored lower-case), as on the cloud. Every project has the cloud's shared queue
  ``default``, a SQL queue nobody creates, which cannot be deleted, scaled, restarted, re-addressed or
  bound to anything. Listing without ``queue_type`` lists SQL queues only (the documented default);
  ``all`` lists every queue; the documented ``page-size`` / ``current-page`` / ``order`` and ``tags``
  (``k=v,k2=v2``) are honoured, ``with-priv`` / ``with-charge-info`` accepted (the SDK's ``Queue`` model
  has no field for what they add). :func:`require_queue` is how the SQL and batch side refuse a job on an
  unknown queue.
* Elastic resource pools (``/v3/{project_id}/elastic-resource-pools``): create (``CREATING``, then
  ``AVAILABLE`` after ``pool_create_seconds``), list (``status``, ``name`` as a substring, ``tags``,
  ``limit`` default 100 / ``offset``, ``count`` = all matches), update (a new CU range makes the pool
  ``SCALING``, then ``AVAILABLE`` after ``pool_scale_seconds``), delete, add a queue (``POST .../queues``)
  and list its queues. A transition ends by time: the status is derived from the stored deadline when a
  pool is read, so it survives restarts with no background task. ``FAILED`` is never reached here.
* Enhanced connections (``/v2.0/{project_id}/datasource/enhanced-connections``): create (``ACTIVE``),
  list (``limit`` default 100, 0 = all / ``offset``, by creation time; ``name`` as a substring, ``status``
  case-insensitive, ``tags``), show, update the hosts, delete (the record stays, ``DELETED``, without its
  queues, pools and routes; its name is free again), associate / disassociate queues and elastic pools,
  and routes: create (``POST .../routes``, v3 and v2.0) and delete (``DELETE .../routes/{name}``).

Connectivity: an address ``host[:port]`` is REACHABLE from a queue when its host is loopback
(``localhost``, ``127.0.0.0/8``, ``::1``), a port is given and a TCP connection to it succeeds within a
second (the emulator's own machine); or when the host -- an IP address, or a name in the ``hosts`` of
one of these connections -- lies in a route of an ACTIVE enhanced connection associated with the queue or
with the elastic pool the queue belongs to. Anything else is UNREACHABLE. The test runs when it is created.

Durations are the defaults ``POOL_CREATE_SECONDS`` / ``POOL_SCALE_SECONDS`` of :mod:`.service`, changed
at run time with ``PUT /_emulator/dli/settings`` (unsigned; JSON keys ``pool_create_seconds``,
``pool_scale_seconds``) and read with ``GET``: see :class:`.service.DliSettings` and :mod:`...lifecycle`.

Errors are DLI's (all HTTP 400, as the error-code table gives them): ``DLI.0001`` a parameter check
(a body that is not a JSON object, a bad name, CU value, CIDR, address or action; also, a guess, adding
a queue that is already in a pool or beyond the pool's ``max_cu``, and disassociating what a connection
does not serve), ``DLI.0002`` an object
that does not exist (for a queue, the cloud's own "There is no queue named ..."), ``DLI.0006`` an object
that exists (a duplicate queue, pool, live connection or route name). The table's meanings, applied where
the reference names no code, are guesses: ``DLI.0007`` (operation not supported) for what the reference
forbids -- touching the ``default`` queue, restarting a non-SQL queue, re-addressing a queue bound to a
connection, deleting a pool that still has queues; ``DLI.0012`` (resource unavailable) for a pool that is
not AVAILABLE or a connection that is DELETED. A project id that is not one of the account's fails at the
gateway (401 ``APIGW.0301``), as the SDK signs with that project id.

Choices where the reference is silent or loose: a pool's ``max_cu`` may equal its ``min_cu`` (the
reference says "greater than"); pool CUs step by 16 as on the console; a queue's CIDR must lie in
10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a prefix no longer than its CU size allows (/24 up to 64
CUs, /22 for 256, /21 beyond), a pool's likewise with at most /24; created queues are dedicated
(``resource_mode`` 1) unless the body says otherwise.

The modules: :mod:`.rules` (states, limits and what requests may carry), :mod:`.documents` (the SDK's
models), :mod:`.state` (the records and their rules) and :mod:`.service` (the routes, the connectivity
probe, the settings).
"""

from .rules import has_tags, parse_tags, wanted_tags
from .service import DliResourcesService, DliSettings
from .state import DliResources, require_queue

__all__ = [
    "DliResources",
    "DliResourcesService",
    "DliSettings",
    "has_tags",
    "parse_tags",
    "require_queue",
    "wanted_tags",
]
