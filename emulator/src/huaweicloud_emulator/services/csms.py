"""CSMS, the Cloud Secret Management Service of DEW: secrets and their versions, per project.

Routes and shapes follow the official ``huaweicloudsdkcsms`` v1 client (``_<op>_http_info`` and the
models' ``attribute_map``). What is emulated:

* ``POST /v1/{project_id}/secrets`` creates a secret with its first version ``v1`` (SYSCURRENT);
  ``GET`` lists the project's secrets by name, paged with ``limit`` / ``marker`` and ``page_info``.
* ``GET | PUT | DELETE /v1/{project_id}/secrets/{secret_name}``: show, update (description, KMS key,
  rotation settings, event subscriptions) and delete. Delete is immediate and final, as the cloud's
  DeleteSecret is (the scheduled deletion API is not emulated).
* ``POST | GET /v1/{project_id}/secrets/{secret_name}/versions``: a new value is a new version
  (``v2``, ``v3``, ...); unless ``version_stages`` says otherwise it takes SYSCURRENT, and the version
  that had SYSCURRENT takes SYSPREVIOUS. A stage name lives on one version at most.
* ``GET .../versions/{version_id}``: one version with its value; ``latest`` is the newest version.

Times are epoch milliseconds, as the cloud sends them. Values are kept in the emulator's SQLite
metadata store (this is an emulator: nothing is encrypted). Errors use the CSMS codes of the DEW
error table: ``CSMS.0004`` for a body that is not a JSON object, ``CSMS.0002`` for an invalid
parameter (a duplicate name included), ``CSMS.0106`` (404) for a secret name that does not exist and
``CSMS.0005`` (404) for a version that does not exist. A project id that is not one of the account's
fails authentication at the gateway (401 ``APIGW.0301``), as the SDK signs with that project id.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..account import Account
from ..http import ApiError, Request, Response
from ..storage import Storage
from .base import Context, RestService, operation, require_project
from .validation import query_int

_SCHEMA = """
CREATE TABLE IF NOT EXISTS csms_secrets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kms_key_id TEXT NOT NULL,
    secret_type TEXT NOT NULL,
    enterprise_project_id TEXT NOT NULL,
    auto_rotation INTEGER NOT NULL DEFAULT 0,
    rotation_period TEXT,
    rotation_config TEXT,
    rotation_func_urn TEXT,
    event_subscriptions TEXT NOT NULL DEFAULT '[]',
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    next_version INTEGER NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE IF NOT EXISTS csms_versions (
    secret_id TEXT NOT NULL REFERENCES csms_secrets(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    secret_string TEXT,
    secret_binary TEXT,
    kms_key_id TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    expire_time INTEGER,
    PRIMARY KEY (secret_id, seq)
);
CREATE TABLE IF NOT EXISTS csms_stages (
    secret_id TEXT NOT NULL REFERENCES csms_secrets(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    seq INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (secret_id, stage)
);
"""

CURRENT, PREVIOUS = "SYSCURRENT", "SYSPREVIOUS"
LATEST = "latest"
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9._-]{1,64}$")
MAX_VALUE_BYTES = 32 * 1024  # "最大32K" in the SDK's model documentation
MAX_DESCRIPTION_BYTES = 2048
MAX_STAGES, MAX_STAGE_LENGTH = 12, 64
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
SECRET_TYPES = ("COMMON", "RDS", "RDS-FG", "GaussDB-FG")

BAD_BODY = "CSMS.0004"  # The requested body format is wrong.
BAD_PARAMETER = "CSMS.0002"  # The value of parameter is invalid.
NO_SUCH_SECRET = "CSMS.0106"  # The secret name not found int the db.
NO_SUCH_RESOURCE = "CSMS.0005"  # The resource does not exist.


def _now_ms() -> int:
    return int(time.time() * 1000)


def _invalid(detail: str) -> ApiError:
    return ApiError(400, BAD_PARAMETER, f"The value of parameter is invalid: {detail}")


def _secret_not_found(name: str) -> ApiError:
    return ApiError(404, NO_SUCH_SECRET, f"The secret name not found int the db: {name}")


def _version_id(seq: int) -> str:
    return f"v{seq}"


def _seq_of(version_id: str) -> int | None:
    match = re.fullmatch(r"v([1-9][0-9]{0,17})", version_id)
    return int(match.group(1)) if match else None


def default_kms_key_id(project_id: str) -> str:
    """The id of the project's ``csms/default`` master key (stable, the shape of a KMS key id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kms:{project_id}:csms/default"))


@dataclass(frozen=True)
class SecretValue:
    secret_string: str | None
    secret_binary: str | None


# Validation of request bodies ----------------------------------------------------------------------


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"{key} must be a string")
    return value


def _value(body: dict[str, Any]) -> SecretValue:
    text, binary = _optional_str(body, "secret_string"), _optional_str(body, "secret_binary")
    if (text is None) == (binary is None):
        raise _invalid("exactly one of secret_string and secret_binary must be set")
    if binary is not None:
        try:
            size = len(base64.b64decode(binary, validate=True))
        except (binascii.Error, ValueError):
            raise _invalid("secret_binary must be base64-encoded") from None
    else:
        size = len((text or "").encode())
    if size > MAX_VALUE_BYTES:
        raise _invalid(f"the secret value exceeds {MAX_VALUE_BYTES} bytes")
    return SecretValue(text, binary)


def _description(body: dict[str, Any]) -> str | None:
    description = _optional_str(body, "description")
    if description is not None and len(description.encode()) > MAX_DESCRIPTION_BYTES:
        raise _invalid(f"description exceeds {MAX_DESCRIPTION_BYTES} bytes")
    return description


def _event_subscriptions(body: dict[str, Any]) -> list[str] | None:
    events = body.get("event_subscriptions")
    if events is None:
        return None
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events) or len(events) > 1:
        raise _invalid("event_subscriptions must be a list of at most one event name")
    return events


def _auto_rotation(body: dict[str, Any]) -> bool | None:
    value = body.get("auto_rotation")
    if value is not None and not isinstance(value, bool):
        raise _invalid("auto_rotation must be true or false")
    return value


def _stages(body: dict[str, Any]) -> list[str] | None:
    stages = body.get("version_stages")
    if stages is None:
        return None
    if (
        not isinstance(stages, list)
        or not 1 <= len(stages) <= MAX_STAGES
        or not all(isinstance(s, str) and 1 <= len(s) <= MAX_STAGE_LENGTH for s in stages)
    ):
        raise _invalid(
            f"version_stages must list 1 to {MAX_STAGES} stage names of 1 to {MAX_STAGE_LENGTH} characters"
        )
    return list(dict.fromkeys(stages))


def _expire_time(body: dict[str, Any]) -> int | None:
    value = body.get("expire_time")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise _invalid("expire_time must be a timestamp in milliseconds")
    return value


def _limit(request: Request) -> int:
    return query_int(request.query, "limit", DEFAULT_LIMIT, _invalid, low=1, high=MAX_LIMIT)


# The durable state -----------------------------------------------------------------------------------


class CsmsState:
    """Secrets, versions and stages in the metadata store; every method blocks (run it in a thread)."""

    def __init__(self, storage: Storage):
        self._meta = storage.meta
        self._meta.register_schema("csms", _SCHEMA)

    def _secret_row(self, project_id: str, name: str) -> sqlite3.Row:
        rows = self._meta.query(
            "SELECT * FROM csms_secrets WHERE project_id = ? AND name = ?", (project_id, name)
        )
        if not rows:
            raise _secret_not_found(name)
        return rows[0]

    def _stages_by_seq(self, secret_id: str) -> dict[int, list[str]]:
        stages: dict[int, list[str]] = {}
        for row in self._meta.query(
            "SELECT stage, seq FROM csms_stages WHERE secret_id = ? ORDER BY stage", (secret_id,)
        ):
            stages.setdefault(row["seq"], []).append(row["stage"])
        return stages

    def create(self, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise _invalid("name must be 1 to 64 characters: letters, digits, '.', '_' and '-'")
        value = _value(body)
        secret_type = _optional_str(body, "secret_type") or "COMMON"
        if secret_type not in SECRET_TYPES:
            raise _invalid(f"secret_type must be one of {', '.join(SECRET_TYPES)}")
        auto_rotation = bool(_auto_rotation(body))
        if auto_rotation and not body.get("rotation_period"):
            raise _invalid("rotation_period is required when auto_rotation is true")
        secret_id = str(uuid.uuid4())
        kms_key_id = _optional_str(body, "kms_key_id") or default_kms_key_id(project_id)
        now = _now_ms()
        row = (
            secret_id,
            project_id,
            name,
            _description(body) or "",
            kms_key_id,
            secret_type,
            _optional_str(body, "enterprise_project_id") or "0",
            int(auto_rotation),
            _optional_str(body, "rotation_period"),
            _optional_str(body, "rotation_config"),
            _optional_str(body, "rotation_func_urn"),
            json.dumps(_event_subscriptions(body) or []),
            now,
            now,
        )
        try:
            with self._meta.transaction() as db:
                db.execute(
                    "INSERT INTO csms_secrets (id, project_id, name, description, kms_key_id, secret_type,"
                    " enterprise_project_id, auto_rotation, rotation_period, rotation_config,"
                    " rotation_func_urn, event_subscriptions, create_time, update_time, next_version)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 2)",
                    row,
                )
                db.execute(
                    "INSERT INTO csms_versions VALUES (?, 1, ?, ?, ?, ?, NULL)",
                    (secret_id, value.secret_string, value.secret_binary, kms_key_id, now),
                )
                db.execute("INSERT INTO csms_stages VALUES (?, ?, 1, ?)", (secret_id, CURRENT, now))
        except sqlite3.IntegrityError:
            raise _invalid(f"a secret named {name!r} already exists") from None
        return self.show(project_id, name)

    def show(self, project_id: str, name: str) -> dict[str, Any]:
        return _secret_document(self._secret_row(project_id, name))

    def list_secrets(self, project_id: str, limit: int, marker: str | None) -> dict[str, Any]:
        rows = self._meta.query(
            "SELECT * FROM csms_secrets WHERE project_id = ? AND name > ? ORDER BY name LIMIT ?",
            (project_id, marker or "", limit + 1),
        )
        page, more = rows[:limit], len(rows) > limit
        return {
            "secrets": [_secret_document(row) for row in page],
            "page_info": {
                "next_marker": page[-1]["name"] if more else None,
                "previous_marker": marker or None,
                "current_count": len(page),
            },
        }

    def update(self, project_id: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        description = _description(body)
        if description is not None:
            changes["description"] = description
        for key in ("kms_key_id", "rotation_period", "rotation_func_urn"):
            text = _optional_str(body, key)
            if text is not None:
                changes[key] = text
        auto_rotation = _auto_rotation(body)
        if auto_rotation is not None:
            changes["auto_rotation"] = int(auto_rotation)
        events = _event_subscriptions(body)
        if events is not None:
            changes["event_subscriptions"] = json.dumps(events)
        with self._meta.transaction() as db:
            row = self._secret_row(project_id, name)
            if changes:
                assignments = ", ".join(f"{column} = ?" for column in changes)
                db.execute(
                    f"UPDATE csms_secrets SET {assignments}, update_time = ? WHERE id = ?",
                    (*changes.values(), _now_ms(), row["id"]),
                )
        return self.show(project_id, name)

    def delete(self, project_id: str, name: str) -> None:
        with self._meta.transaction() as db:
            row = self._secret_row(project_id, name)
            # Versions and stages go with it (ON DELETE CASCADE).
            db.execute("DELETE FROM csms_secrets WHERE id = ?", (row["id"],))

    def create_version(self, project_id: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        value = _value(body)
        stages = _stages(body) or [CURRENT]
        expire_time = _expire_time(body)
        now = _now_ms()
        with self._meta.transaction() as db:
            secret = self._secret_row(project_id, name)
            secret_id, seq = secret["id"], secret["next_version"]
            db.execute(
                "INSERT INTO csms_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    secret_id,
                    seq,
                    value.secret_string,
                    value.secret_binary,
                    secret["kms_key_id"],
                    now,
                    expire_time,
                ),
            )
            if CURRENT in stages:
                current = db.execute(
                    "SELECT seq FROM csms_stages WHERE secret_id = ? AND stage = ?", (secret_id, CURRENT)
                ).fetchone()
                if current is not None and PREVIOUS not in stages:
                    self._move_stage(db, secret_id, PREVIOUS, current["seq"], now)
            for stage in stages:
                self._move_stage(db, secret_id, stage, seq, now)
            db.execute(
                "UPDATE csms_secrets SET next_version = ?, update_time = ? WHERE id = ?",
                (seq + 1, now, secret_id),
            )
            version = db.execute(
                "SELECT * FROM csms_versions WHERE secret_id = ? AND seq = ?", (secret_id, seq)
            ).fetchone()
            metadata = _version_metadata(name, version, self._stages_by_seq(secret_id).get(seq, []))
        return {"version_metadata": metadata}

    @staticmethod
    def _move_stage(db: sqlite3.Connection, secret_id: str, stage: str, seq: int, now: int) -> None:
        db.execute(
            "INSERT INTO csms_stages VALUES (?, ?, ?, ?) ON CONFLICT(secret_id, stage)"
            " DO UPDATE SET seq = excluded.seq, update_time = excluded.update_time",
            (secret_id, stage, seq, now),
        )

    def show_version(self, project_id: str, name: str, version_id: str) -> dict[str, Any]:
        secret = self._secret_row(project_id, name)
        if version_id == LATEST:
            rows = self._meta.query(
                "SELECT * FROM csms_versions WHERE secret_id = ? ORDER BY seq DESC LIMIT 1", (secret["id"],)
            )
        else:
            seq = _seq_of(version_id)
            rows = (
                self._meta.query(
                    "SELECT * FROM csms_versions WHERE secret_id = ? AND seq = ?", (secret["id"], seq)
                )
                if seq is not None
                else []
            )
        if not rows:
            raise ApiError(
                404, NO_SUCH_RESOURCE, f"The resource does not exist: version {version_id} of secret {name}"
            )
        version = rows[0]
        stages = self._stages_by_seq(secret["id"]).get(version["seq"], [])
        return {
            "version": {
                "version_metadata": _version_metadata(name, version, stages),
                "secret_string": version["secret_string"],
                "secret_binary": version["secret_binary"],
            }
        }

    def list_versions(self, project_id: str, name: str, limit: int, marker: str | None) -> dict[str, Any]:
        secret = self._secret_row(project_id, name)
        after = 0
        if marker:
            seq = _seq_of(marker)
            if seq is None:
                raise _invalid(f"marker {marker!r} is not a version id")
            after = seq
        rows = self._meta.query(
            "SELECT * FROM csms_versions WHERE secret_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (secret["id"], after, limit + 1),
        )
        page, more = rows[:limit], len(rows) > limit
        stages = self._stages_by_seq(secret["id"])
        return {
            "version_metadatas": [_version_metadata(name, row, stages.get(row["seq"], [])) for row in page],
            "page_info": {
                "next_marker": _version_id(page[-1]["seq"]) if more else None,
                "previous_marker": marker or None,
                "current_count": len(page),
            },
        }


def _secret_document(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "state": "ENABLED",
        "kms_key_id": row["kms_key_id"],
        "description": row["description"],
        "create_time": row["create_time"],
        "update_time": row["update_time"],
        "scheduled_delete_time": None,
        "secret_type": row["secret_type"],
        "auto_rotation": bool(row["auto_rotation"]),
        "rotation_period": row["rotation_period"],
        "rotation_config": row["rotation_config"],
        "rotation_time": None,
        "next_rotation_time": None,
        "event_subscriptions": json.loads(row["event_subscriptions"]),
        "enterprise_project_id": row["enterprise_project_id"],
        "rotation_func_urn": row["rotation_func_urn"],
    }


def _version_metadata(name: str, row: sqlite3.Row, stages: list[str]) -> dict[str, Any]:
    return {
        "id": _version_id(row["seq"]),
        "create_time": row["create_time"],
        "expire_time": row["expire_time"],
        "kms_key_id": row["kms_key_id"],
        "secret_name": name,
        "version_stages": sorted(stages),
    }


# The service -----------------------------------------------------------------------------------------


class CsmsService(RestService):
    name = "csms"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self._state = CsmsState(storage)

    def _project(self, project_id: str) -> str:
        return require_project(self._account, project_id).id

    @operation("POST", "/v1/{project_id}/secrets")
    async def create_secret(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(BAD_BODY)
        return Response.json({"secret": await asyncio.to_thread(self._state.create, project, body)})

    @operation("GET", "/v1/{project_id}/secrets")
    async def list_secrets(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        limit, marker = _limit(request), request.query.get("marker") or None
        return Response.json(await asyncio.to_thread(self._state.list_secrets, project, limit, marker))

    @operation("GET", "/v1/{project_id}/secrets/{secret_name}")
    async def show_secret(
        self, request: Request, ctx: Context, project_id: str, secret_name: str
    ) -> Response:
        project = self._project(project_id)
        return Response.json({"secret": await asyncio.to_thread(self._state.show, project, secret_name)})

    @operation("PUT", "/v1/{project_id}/secrets/{secret_name}")
    async def update_secret(
        self, request: Request, ctx: Context, project_id: str, secret_name: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(BAD_BODY)
        secret = await asyncio.to_thread(self._state.update, project, secret_name, body)
        return Response.json({"secret": secret})

    @operation("DELETE", "/v1/{project_id}/secrets/{secret_name}")
    async def delete_secret(
        self, request: Request, ctx: Context, project_id: str, secret_name: str
    ) -> Response:
        project = self._project(project_id)
        await asyncio.to_thread(self._state.delete, project, secret_name)
        return Response(200)

    @operation("POST", "/v1/{project_id}/secrets/{secret_name}/versions")
    async def create_secret_version(
        self, request: Request, ctx: Context, project_id: str, secret_name: str
    ) -> Response:
        project = self._project(project_id)
        body = ctx.json_object(BAD_BODY)
        return Response.json(await asyncio.to_thread(self._state.create_version, project, secret_name, body))

    @operation("GET", "/v1/{project_id}/secrets/{secret_name}/versions")
    async def list_secret_versions(
        self, request: Request, ctx: Context, project_id: str, secret_name: str
    ) -> Response:
        project = self._project(project_id)
        limit, marker = _limit(request), request.query.get("marker") or None
        return Response.json(
            await asyncio.to_thread(self._state.list_versions, project, secret_name, limit, marker)
        )

    @operation("GET", "/v1/{project_id}/secrets/{secret_name}/versions/{version_id}")
    async def show_secret_version(
        self, request: Request, ctx: Context, project_id: str, secret_name: str, version_id: str
    ) -> Response:
        project = self._project(project_id)
        return Response.json(
            await asyncio.to_thread(self._state.show_version, project, secret_name, version_id)
        )
