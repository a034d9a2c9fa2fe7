"""Waiting for a cloud resource to reach a final state, declared as data per service.

A :class:`Waiter` names a resource ("DLI SQL job", "DWS cluster") and which of its states are success and
which failure; any other state means "still in progress". The same declaration serves every front end:
operators that wait in a worker (:meth:`Waiter.wait`), sensors that poke once (:meth:`Waiter.outcome`),
deferrable triggers that poll from the triggerer's event loop (:meth:`Waiter.outcome` between their own
``asyncio.sleep``), and the CLI. A failure state raises :class:`ResourceFailedError`, naming the resource,
its id, its state and the cloud's reason, so a failed job fails the task with what the cloud said; a wait
that outlives its timeout raises :class:`WaiterTimeoutError` with the last state seen.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from huaweicloud_toolkit.errors import HuaweiCloudError

T = TypeVar("T")


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"


class ResourceFailedError(HuaweiCloudError):
    """The resource reached one of its failure states."""

    def __init__(
        self, *, resource: str, resource_id: str, state: str, reason: str | None, service: str | None = None
    ):
        detail = f": {reason}" if reason else ""
        super().__init__(f"{resource} {resource_id} ended {state}{detail}", service=service, operation="Wait")
        self.resource = resource
        self.resource_id = resource_id
        self.state = state
        self.reason = reason


class WaiterTimeoutError(HuaweiCloudError):
    """The resource did not reach a final state in time; ``state`` is the last one seen."""

    def __init__(
        self, *, resource: str, resource_id: str, state: str | None, timeout: float, service: str | None
    ):
        super().__init__(
            f"{resource} {resource_id} still {state or 'unknown'} after {timeout:g} s",
            service=service,
            operation="Wait",
        )
        self.resource = resource
        self.resource_id = resource_id
        self.state = state


@dataclass(frozen=True)
class Status(Generic[T]):
    """One poll's answer: the state, the cloud's reason (a failure message) and the whole record."""

    state: str
    reason: str | None
    record: T


@dataclass(frozen=True)
class Waiter:
    """Which states of a resource end a wait, and how (states are compared case-insensitively)."""

    resource: str
    success: frozenset[str]
    failure: frozenset[str]
    service: str | None = None

    @classmethod
    def of(cls, resource: str, *, success: Iterable[str], failure: Iterable[str], service: str) -> Waiter:
        return cls(
            resource,
            frozenset(s.upper() for s in success),
            frozenset(s.upper() for s in failure),
            service,
        )

    def outcome(self, state: str | None) -> Outcome:
        key = (state or "").upper()
        if key in self.success:
            return Outcome.SUCCEEDED
        if key in self.failure:
            return Outcome.FAILED
        return Outcome.IN_PROGRESS

    def check(self, resource_id: str, status: Status[T]) -> bool:
        """True when ``status`` is a success state, False while in progress; raises on a failure state."""
        outcome = self.outcome(status.state)
        if outcome is Outcome.FAILED:
            raise self.failed(resource_id, status.state, status.reason)
        return outcome is Outcome.SUCCEEDED

    def failed(self, resource_id: str, state: str, reason: str | None) -> ResourceFailedError:
        return ResourceFailedError(
            resource=self.resource, resource_id=resource_id, state=state, reason=reason, service=self.service
        )

    def timed_out(self, resource_id: str, state: str | None, timeout: float) -> WaiterTimeoutError:
        return WaiterTimeoutError(
            resource=self.resource,
            resource_id=resource_id,
            state=state,
            timeout=timeout,
            service=self.service,
        )

    def wait(
        self,
        resource_id: str,
        poll: Callable[[], Status[T]],
        *,
        interval: float = 5.0,
        timeout: float | None = None,
        on_poll: Callable[[Status[T]], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Status[T]:
        """Poll until a final state: return the success status, raise on failure or after ``timeout``.

        ``on_poll`` sees every status (to log progress). The interval is kept between polls, not added to
        the time a poll takes, and the last sleep is cut short so the timeout is honoured."""
        deadline = None if timeout is None else clock() + timeout
        while True:
            started = clock()
            status = poll()
            if on_poll is not None:
                on_poll(status)
            if self.check(resource_id, status):
                return status
            now = clock()
            if deadline is not None and now >= deadline:
                raise self.timed_out(resource_id, status.state, timeout or 0.0)
            pause = max(0.0, interval - (now - started))
            if deadline is not None:
                pause = min(pause, deadline - now)
            sleep(pause)
