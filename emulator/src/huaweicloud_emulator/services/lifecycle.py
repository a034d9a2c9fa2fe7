"""What the services share about records that pass through states with configured durations.

A transition -- a pool being created, a cluster starting or being deleted, a snapshot being taken --
holds its state for a duration that the service's run-time settings give when it begins
(:func:`fraction_done` says how far it is). Where the record keeps when its transition ends (MRS, CDM,
ModelArts), the transition is *settled* lazily: every read first ends the transitions that are over
(:func:`settle_due`), so no timer has to survive a restart.

The settings are a :class:`RuntimeSettings` dataclass (fields ending ``_seconds`` are durations;
:class:`CreationSettings` adds a failure to inject into the next creation), served by a
:class:`SettingsSurface` under ``/_emulator/<service>/settings``, unsigned like the rest of
``/_emulator/``: ``GET`` shows them, ``PUT`` with a JSON object of some of them changes them until the
emulator stops. A wrong name or value is a 400 ``InvalidSettings`` and changes nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..http import ApiError, Request, Response
from ..storage import MetadataStore
from .base import Context, RestService, operation

INVALID_SETTINGS = "InvalidSettings"
FAIL_NEXT_CREATE = "fail_next_create"


def fraction_done(started: float, seconds: float, now: float) -> float:
    """How far a transition that began at ``started`` and lasts ``seconds`` is at ``now``, from 0 to 1."""
    if seconds <= 0:
        return 1.0
    return min(1.0, max(0.0, (now - started) / seconds))


def transition_progress(started: float | None, ends: float | None, now: float) -> float:
    """How far the transition a record keeps as its start and end times is at ``now``, from 0 to 1; 1 when
    none is under way (they are None)."""
    if started is None or ends is None:
        return 1.0
    return fraction_done(started, ends - started, now)


def settle_due(
    meta: MetadataStore, ends: Mapping[str, str], end_transitions: Callable[[sqlite3.Connection, float], None]
) -> None:
    """End the timed transitions that are over: ``ends`` names, by table, the column holding when a row's
    transition ends (NULL: none under way); when a row's time is over, ``end_transitions(db, now)`` ends
    every such transition in one write. It reads first, so that a poll writes nothing while nothing is
    due."""
    now = time.time()
    if any(
        meta.query(f"SELECT 1 FROM {table} WHERE {column} <= ? LIMIT 1", (now,))
        for table, column in ends.items()
    ):
        meta.write(lambda db: end_transitions(db, now))


@dataclass
class RuntimeSettings:
    """A service's settings: subclasses declare them as fields, durations (seconds, >= 0) ending in
    ``_seconds``."""

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes``; a wrong name or value raises ValueError and changes nothing."""
        names = [field.name for field in fields(self)]
        checked: dict[str, Any] = {}
        for key, value in changes.items():
            if key.endswith("_seconds") and key in names:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{key} must be a number of seconds >= 0")
                value = float(value)
            elif key == FAIL_NEXT_CREATE and key in names:
                if value is not None and (not isinstance(value, str) or not value):
                    raise ValueError(f"{FAIL_NEXT_CREATE} must be a non-empty reason or null")
            else:
                raise ValueError(f"unknown setting {key!r}; known: {', '.join(names)}")
            checked[key] = value
        for key, value in checked.items():
            setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass
class CreationSettings(RuntimeSettings):
    """How long a resource takes to be created and to be deleted, and the reason the next creation fails
    with (None: it does not)."""

    create_seconds: float = 1.0
    delete_seconds: float = 1.0
    fail_next_create: str | None = None

    @contextlib.contextmanager
    def next_failure(self) -> Iterator[str | None]:
        """The failure to inject into one creation: used up by it, unless the creation is refused (an
        ApiError, such as a name in use), when it is kept for the next one."""
        failure, self.fail_next_create = self.fail_next_create, None
        try:
            yield failure
        except ApiError:
            self.fail_next_create = self.fail_next_create or failure
            raise


class SettingsSurface(RestService):
    """A service's ``admin_surface``: ``GET | PUT /_emulator/<service>/settings`` on its settings. A
    subclass adds the service's other admin routes under ``/_emulator/<service>/``."""

    name = "emulator-settings"
    signed = False

    def __init__(self, service: str, settings: RuntimeSettings):
        super().__init__(None)
        self.settings = settings
        self._prefix = f"/_emulator/{service}/"

    def matches(self, request: Request) -> bool:
        # The routes' templates match every service's settings: this surface answers for its own.
        return request.path.startswith(self._prefix) and super().matches(request)

    @operation("GET", "/_emulator/{service}/settings")
    async def show_settings(self, request: Request, ctx: Context, service: str) -> Response:
        return Response.json(self.settings.to_json())

    @operation("PUT", "/_emulator/{service}/settings")
    async def update_settings(self, request: Request, ctx: Context, service: str) -> Response:
        try:
            self.settings.update(ctx.json_object(INVALID_SETTINGS))
        except ValueError as exc:
            raise ApiError(400, INVALID_SETTINGS, str(exc)) from None
        return Response.json(self.settings.to_json())
