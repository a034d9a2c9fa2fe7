"""What the transfers that stream between a database or S3 and OBS share when their task is killed: a
cancel event made when the task runs, checked between steps, and set by ``on_kill``, which also cancels
the query the database connection is running. No concrete operator lives here."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from airflow_huaweicloud.operators.obs import _OBSOperator
from airflow_huaweicloud.version_compat import AirflowException


class _KillableTransfer(_OBSOperator):
    """``on_kill`` sets the cancel event (when :meth:`_arm_cancel` made one) and cancels the work of
    ``_db_connection`` (when one is open), then stops the OBS hook's transfers."""

    # Made when the task runs: an Event would not survive the deep copy Airflow 3.0 makes of a DAG.
    _cancel: threading.Event | None = None
    # The database connection execute() has open, set and cleared by the subclass.
    _db_connection: Any = None
    # What the connection runs, as the warning names it when cancelling it fails.
    _db_work: ClassVar[str] = "the query"

    def _arm_cancel(self) -> None:
        """For ``execute``: a fresh event for this run."""
        self._cancel = threading.Event()

    def _stop_if_cancelled(self, message: str) -> None:
        """Between steps: stop with ``message`` once the task has been killed."""
        if self._cancel is not None and self._cancel.is_set():
            raise AirflowException(message)

    def on_kill(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        connection = self._db_connection
        cancel = getattr(connection, "cancel_safe", None) or getattr(connection, "cancel", None)
        if callable(cancel):
            try:
                cancel()  # interrupts what the server is still running; its transaction rolls back
            except Exception as error:
                self.log.warning("Could not cancel %s: %s", self._db_work, error)
        super().on_kill()
