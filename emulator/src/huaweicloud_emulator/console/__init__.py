"""The emulator's web console: read-only HTML pages on what the emulator holds, under
``/_emulator/console/`` on the emulator's own port.

Plain server-rendered HTML (no script; the pages' Content-Security-Policy allows none), every stored value
escaped. It is an admin surface: unsigned, like the rest of ``/_emulator/``, and meant for the machine the
emulator runs on. It reads each service's state through that service's own state classes, over the same
metadata store, and changes nothing:

- :mod:`.obs` -- buckets; a bucket's objects a page at a time (the OBS pager: one index range scan per
  page), with a prefix filter and '/' folders; an object's bytes as a download;
- :mod:`.dli` -- SQL jobs (with a finished query's first rows) and Spark batch jobs (with their log's tail);
- :mod:`.dws` -- clusters and how to connect to them (never the password);
- :mod:`.smn` -- topics and the messages SMN delivered (its outbox);
- :mod:`.functiongraph` -- functions and their asynchronous invocations;
- :mod:`.csms` -- secret names and versions (never a value);
- :mod:`.mrs` -- clusters and their job executions;
- :mod:`.service` -- the routes; :mod:`.html` -- escaping and layout; :mod:`.projects` -- per-project lists.
"""

from .service import ConsoleService

__all__ = ["ConsoleService"]
