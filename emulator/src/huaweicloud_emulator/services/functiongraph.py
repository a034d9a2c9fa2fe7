"""FunctionGraph: Python functions, created from inline code or a zip, invoked synchronously or not.

Routes and shapes follow the official ``huaweicloudsdkfunctiongraph`` v2 client (``_<op>_http_info`` and
the models' ``attribute_map``) and the FunctionGraph API reference. What is emulated:

* ``POST /v2/{project_id}/fgs/functions`` creates a function (``code_type`` ``inline``: base64 Python
  source, saved as the handler's module; ``zip``: a base64 zip archive). Runtimes ``Python3.x`` only:
  they run on the emulator's own interpreter. ``GET`` lists the project's functions (``marker`` /
  ``maxitems`` / ``package_name`` / ``func_name``); ``GET .../{function_urn}/config`` and ``/code`` show
  one; ``DELETE .../{function_urn}`` (a URN without a version: ``latest`` itself cannot be deleted)
  deletes it with its asynchronous invocation records. Functions and their code live in SQLite.
* ``POST .../{function_urn}/invocations`` runs the handler once in a child process (see
  :mod:`.functiongraph_runtime`), killed at the function's timeout (at most 900 s for a synchronous
  call, as on the cloud). The body format follows ``X-CFF-Request-Version``: ``v1`` (what the SDK
  needs) answers ``{request_id, result, log, status}``, ``status`` 200 for success, and for a failed
  function also ``error_code`` / ``error_msg``, ``status`` being the function error code; ``v0`` (the
  default) answers the result itself. Either way the HTTP status is 200 when the function ran, the
  headers ``X-Cff-Request-Id``, ``X-Cff-Invoke-Summary``, ``X-CFF-Billing-Duration``,
  ``X-Cff-Response-Version``, ``X-Func-Err-Code`` (0 for success) and ``X-Is-Func-Err`` say how it
  went, and ``X-Cff-Log-Type: tail`` adds the base64 tail of the log in ``X-Cff-Function-Log``
  (``null`` leaves the log out of the v1 body).
* ``POST .../invocations-async`` stores the request (status ``WAIT``) and answers 202 with its
  ``request_id``; it then runs in the background (``RUNNING``, then ``SUCCESS`` or ``FAIL`` with
  ``error_code`` / ``error_message``). ``GET .../async-invocations`` lists the records (filters
  ``request_id``, ``status``, ``query_begin_time`` / ``query_end_time`` -- by default the last hour, as
  on the cloud -- paged by ``marker`` / ``limit``). ``POST .../cancel`` stops a waiting or running one
  (``FAIL``, 4208 ``function invocation canceled``). Requests still waiting or running when the
  emulator stopped are run again when it next serves a FunctionGraph request (at least once, as the
  cloud's persisted asynchronous queue does).

At most ``MAX_CONCURRENT`` invocations run at a time: a synchronous call beyond that is answered 429
``FSS.0429``, an asynchronous one waits (``WAIT``). Function URNs: the 8-field form
``urn:fss:<region>:<project_id>:function:<package>:<name>:latest``, the 7-field form without a version
and the cloud's short forms (``name``, ``package:name``, ...); only the ``latest`` version exists.
Errors use FunctionGraph's codes (``FSS.0400`` a body that is not a JSON object, ``FSS.0406`` (406) an
invocation body that is not JSON, ``FSS.1002``... invalid parameters, ``FSS.1051`` no such function,
``FSS.1061`` the function exists, ``FSS.1309`` a malformed URN); a project id that is not one of the
account's fails authentication at the gateway (401 ``APIGW.0301``), as the SDK signs with that project id.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..account import Account, Project
from ..http import ApiError, Request, Response
from ..storage import Storage
from .base import Context, RestService, operation, require_project
from .functiongraph_runtime import (
    CodeError,
    FunctionSpec,
    Outcome,
    Runtime,
    canceled_error,
    check_zip,
    cpu_millicores,
    module_file,
)

log = logging.getLogger("huaweicloud_emulator.functiongraph")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fgs_functions (
    project_id TEXT NOT NULL,
    package TEXT NOT NULL,
    name TEXT NOT NULL,
    func_id TEXT NOT NULL,
    runtime TEXT NOT NULL,
    handler TEXT NOT NULL,
    timeout INTEGER NOT NULL,
    memory_size INTEGER NOT NULL,
    code_type TEXT NOT NULL,
    code_filename TEXT NOT NULL,
    code BLOB NOT NULL,
    digest TEXT NOT NULL,
    user_data TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    last_modified REAL NOT NULL,
    PRIMARY KEY (project_id, package, name)
);
CREATE TABLE IF NOT EXISTS fgs_async_invocations (
    request_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    package TEXT NOT NULL,
    name TEXT NOT NULL,
    event BLOB NOT NULL,
    status TEXT NOT NULL,
    error_code INTEGER NOT NULL DEFAULT 0,
    error_message TEXT NOT NULL DEFAULT '',
    submitted_at REAL NOT NULL,
    start_time REAL,
    end_time REAL,
    FOREIGN KEY (project_id, package, name) REFERENCES fgs_functions(project_id, package, name)
        ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS fgs_async_by_function
    ON fgs_async_invocations(project_id, package, name, submitted_at);
"""

MAX_CONCURRENT = 32
MAX_SYNC_TIMEOUT = 900  # seconds: the longest a synchronous invocation may run on the cloud
MIN_TIMEOUT, MAX_TIMEOUT = 3, 259200
MEMORY_SIZES = (128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096)
MAX_LIST, DEFAULT_ASYNC_LIMIT, MAX_ASYNC_LIMIT = 400, 100, 500
LOG_TAIL_BYTES, LOG_HEADER_BYTES = 4096, 2000
NAME_PATTERN = re.compile(r"^[A-Za-z]([A-Za-z0-9_-]{0,58}[A-Za-z0-9])?$")
PACKAGE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HANDLER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
RUNTIME_PATTERN = re.compile(r"^Python3\.\d{1,2}$")
WAIT, RUNNING, SUCCESS, FAIL, DISCARD = "WAIT", "RUNNING", "SUCCESS", "FAIL", "DISCARD"
ASYNC_STATUSES = (WAIT, RUNNING, SUCCESS, FAIL, DISCARD)
LATEST = "latest"

# The source a function created without code gets (the cloud's "default code").
DEFAULT_CODE = b"""import json


def handler(event, context):
    return {
        "statusCode": 200,
        "isBase64Encoded": False,
        "body": json.dumps(event),
        "headers": {"Content-Type": "application/json"},
    }
"""


def _invalid(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def _not_found(urn: str) -> ApiError:
    return ApiError(404, "FSS.1051", f"The function does not exist: {urn}")


def _time_text(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def _async_time(epoch: float | None) -> str | None:
    return None if epoch is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


@dataclass(frozen=True)
class FunctionRef:
    project_id: str
    package: str
    name: str
    version: str | None  # None: the URN named no version


def parse_urn(raw: str, project: Project) -> FunctionRef:
    """A function URN in any of the cloud's forms, checked against the project of the request."""
    parts = raw.split(":")
    bad = ApiError(400, "FSS.1309", f"Invalid function URN: {raw}")
    if parts[0] == "urn":
        if len(parts) not in (7, 8) or parts[1] != "fss" or parts[4] != "function":
            raise bad
        project_id, package, name = parts[3], parts[5], parts[6]
        version = parts[7] if len(parts) == 8 else None
    elif len(parts) == 1:
        project_id, package, name, version = project.id, "default", parts[0], None
    elif len(parts) == 2:
        project_id, package, name, version = project.id, parts[0], parts[1], None
    elif len(parts) in (3, 4):
        project_id, package, name = parts[0], parts[1], parts[2]
        version = parts[3] if len(parts) == 4 else None
    else:
        raise bad
    if not all((project_id, package, name)) or version == "":
        raise bad
    if project_id != project.id:
        raise _not_found(raw)
    return FunctionRef(project_id, package, name, version)


def function_urn(project: Project, package: str, name: str, version: str | None = LATEST) -> str:
    urn = f"urn:fss:{project.name}:{project.id}:function:{package}:{name}"
    return f"{urn}:{version}" if version else urn


# Validation of a new function ---------------------------------------------------------------------


@dataclass(frozen=True)
class NewFunction:
    name: str
    package: str
    runtime: str
    handler: str
    timeout: int
    memory_size: int
    code_type: str
    code_filename: str
    code: bytes
    user_data: str
    description: str


def _string(body: dict[str, Any], key: str, code: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(code, f"{key} must be a non-empty string")
    return value


def _integer(body: dict[str, Any], key: str, code: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(code, f"{key} must be an integer")
    return value


def _user_data(body: dict[str, Any]) -> str:
    raw = body.get("user_data")
    if raw in (None, ""):
        return ""
    if not isinstance(raw, str):
        raise _invalid("FSS.1009", "Invalid function UserData: user_data must be a JSON string")
    try:
        variables = json.loads(raw)
    except ValueError:
        raise _invalid("FSS.1009", "Invalid function UserData: user_data is not a JSON object") from None
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise _invalid("FSS.1009", "Invalid function UserData: user_data must map names to strings")
    if len(variables) > 20:
        raise _invalid(
            "FSS.1017", "The number of items in the UserData field exceeds the maximum allowed limit (20)."
        )
    if len(raw.encode()) > 4096:
        raise _invalid("FSS.1018", "The total size of the UserData field exceeds the maximum allowed limit.")
    return raw


def validate_new_function(body: dict[str, Any]) -> NewFunction:
    name = _string(body, "func_name", "FSS.1002")
    if not NAME_PATTERN.match(name or ""):
        raise _invalid(
            "FSS.1002",
            "Invalid function name: 1 to 60 letters, digits, hyphens and underscores, "
            "starting with a letter and ending with a letter or digit",
        )
    package = _string(body, "package", "FSS.1004")
    if not PACKAGE_PATTERN.match(package or ""):
        raise _invalid("FSS.1004", "Invalid Package (function app).")
    runtime = _string(body, "runtime", "FSS.1005")
    if not RUNTIME_PATTERN.match(runtime or ""):
        raise _invalid("FSS.1005", f"Invalid runtime: {runtime} (the emulator runs Python3.x functions only)")
    handler = _string(body, "handler", "FSS.1003")
    if not HANDLER_PATTERN.match(handler or "") or not 3 <= len(handler or "") <= 128:
        raise _invalid(
            "FSS.1003", "Invalid function handler: expected <module>.<function>, e.g. index.handler"
        )
    timeout = _integer(body, "timeout", "FSS.1008")
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise _invalid("FSS.1008", f"Invalid function timeout: {MIN_TIMEOUT} to {MAX_TIMEOUT} seconds")
    memory_size = _integer(body, "memory_size", "FSS.1007")
    if memory_size not in MEMORY_SIZES:
        raise _invalid("FSS.1007", f"Invalid function memory: one of {', '.join(map(str, MEMORY_SIZES))}")
    code_type = _string(body, "code_type", "FSS.1006")
    if code_type not in ("inline", "zip"):
        raise _invalid(
            "FSS.1006", f"Invalid function code entry mode: {code_type} (the emulator takes inline and zip)"
        )
    func_code = body.get("func_code") or {}
    if not isinstance(func_code, dict):
        raise _invalid("FSS.1011", "Invalid function code: func_code must be an object")
    encoded = func_code.get("file")
    if encoded in (None, ""):
        if code_type == "zip":
            raise ApiError(400, "FSS.1012", "The function code must be configured.")
        code = DEFAULT_CODE
    else:
        if not isinstance(encoded, str):
            raise _invalid("FSS.1011", "Invalid function code: func_code.file must be base64 text")
        try:
            code = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid("FSS.1011", "Invalid function code: func_code.file is not base64") from None
    if code_type == "zip":
        try:
            check_zip(code)
        except CodeError as exc:
            raise _invalid("FSS.1011", f"Invalid function code: {exc}") from None
        code_filename = _string(body, "code_filename", "FSS.1013", required=False) or f"{name}.zip"
    else:
        code_filename = module_file(handler or "")
    description = body.get("description") or ""
    if not isinstance(description, str) or len(description) > 512:
        raise _invalid("FSS.1019", "The description exceeds the maximum allowed limit.")
    return NewFunction(
        name or "",
        package or "",
        runtime or "",
        handler or "",
        timeout,
        memory_size,
        code_type,
        code_filename,
        code,
        _user_data(body),
        description,
    )


# State ---------------------------------------------------------------------------------------------


class FunctionGraphState:
    """Functions and asynchronous invocation records in SQLite. Blocking: call via ``asyncio.to_thread``."""

    def __init__(self, storage: Storage):
        self._meta = storage.meta
        storage.meta.register_schema("functiongraph", _SCHEMA)

    def create(self, project_id: str, new: NewFunction, now: float) -> sqlite3.Row:
        digest = hashlib.sha512(new.code).hexdigest()
        try:
            with self._meta.transaction() as db:
                db.execute(
                    "INSERT INTO fgs_functions (project_id, package, name, func_id, runtime, handler,"
                    " timeout, memory_size, code_type, code_filename, code, digest, user_data, description,"
                    " created_at, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        project_id,
                        new.package,
                        new.name,
                        str(uuid.uuid4()),
                        new.runtime,
                        new.handler,
                        new.timeout,
                        new.memory_size,
                        new.code_type,
                        new.code_filename,
                        new.code,
                        digest,
                        new.user_data,
                        new.description,
                        now,
                        now,
                    ),
                )
        except sqlite3.IntegrityError:
            raise ApiError(
                409, "FSS.1061", f"The function already exists: {new.package}:{new.name}"
            ) from None
        return self.function(FunctionRef(project_id, new.package, new.name, None), "")

    def function(self, ref: FunctionRef, urn: str) -> sqlite3.Row:
        if ref.version not in (None, LATEST):
            raise ApiError(404, "FSS.1052", f"The version does not exist: {ref.version}")
        rows = self._meta.query(
            "SELECT * FROM fgs_functions WHERE project_id = ? AND package = ? AND name = ?",
            (ref.project_id, ref.package, ref.name),
        )
        if not rows:
            raise _not_found(urn or ref.name)
        return rows[0]

    def list_functions(
        self, project_id: str, package: str | None, name: str | None, offset: int, limit: int
    ) -> tuple[int, list[sqlite3.Row]]:
        where, params = "project_id = ?", [project_id]
        if package:
            where, params = where + " AND package = ?", [*params, package]
        if name:
            where, params = where + " AND name = ?", [*params, name]
        count = self._meta.query(f"SELECT COUNT(*) AS n FROM fgs_functions WHERE {where}", params)[0]["n"]
        rows = self._meta.query(
            f"SELECT * FROM fgs_functions WHERE {where} ORDER BY created_at, package, name LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return count, rows

    def delete(self, ref: FunctionRef, urn: str) -> None:
        with self._meta.transaction() as db:
            deleted = db.execute(
                "DELETE FROM fgs_functions WHERE project_id = ? AND package = ? AND name = ?",
                (ref.project_id, ref.package, ref.name),
            ).rowcount
        if not deleted:
            raise _not_found(urn)

    # Asynchronous invocations ---------------------------------------------------------------------

    def submit(self, ref: FunctionRef, event: bytes, now: float) -> str:
        request_id = str(uuid.uuid4())
        with self._meta.transaction() as db:
            db.execute(
                "INSERT INTO fgs_async_invocations (request_id, project_id, package, name, event, status,"
                " submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (request_id, ref.project_id, ref.package, ref.name, event, WAIT, now),
            )
        return request_id

    def unfinished(self) -> list[str]:
        rows = self._meta.query(
            "SELECT request_id FROM fgs_async_invocations WHERE status IN (?, ?) ORDER BY submitted_at",
            (WAIT, RUNNING),
        )
        return [row["request_id"] for row in rows]

    def invocation(self, request_id: str) -> sqlite3.Row | None:
        rows = self._meta.query(
            "SELECT a.*, f.handler, f.code_type, f.code, f.timeout, f.memory_size, f.user_data"
            " FROM fgs_async_invocations AS a JOIN fgs_functions AS f"
            " USING (project_id, package, name) WHERE a.request_id = ?",
            (request_id,),
        )
        return rows[0] if rows else None

    def mark_running(self, request_id: str, now: float) -> bool:
        with self._meta.transaction() as db:
            return bool(
                db.execute(
                    "UPDATE fgs_async_invocations SET status = ?, start_time = ? WHERE request_id = ?"
                    " AND status IN (?, ?)",
                    (RUNNING, now, request_id, WAIT, RUNNING),
                ).rowcount
            )

    def finish(self, request_id: str, status: str, code: int, message: str, now: float) -> None:
        with self._meta.transaction() as db:
            db.execute(
                "UPDATE fgs_async_invocations SET status = ?, error_code = ?, error_message = ?,"
                " start_time = COALESCE(start_time, ?), end_time = ? WHERE request_id = ?"
                " AND status IN (?, ?)",
                (status, code, message, now, now, request_id, WAIT, RUNNING),
            )

    def list_invocations(
        self,
        ref: FunctionRef,
        request_id: str | None,
        status: str | None,
        begin: float,
        end: float,
        offset: int,
        limit: int,
    ) -> tuple[int, list[sqlite3.Row]]:
        where = "project_id = ? AND package = ? AND name = ? AND submitted_at BETWEEN ? AND ?"
        params: list[Any] = [ref.project_id, ref.package, ref.name, begin, end]
        if request_id:
            where, params = where + " AND request_id = ?", [*params, request_id]
        if status:
            where, params = where + " AND status = ?", [*params, status]
        count = self._meta.query(f"SELECT COUNT(*) AS n FROM fgs_async_invocations WHERE {where}", params)
        rows = self._meta.query(
            f"SELECT * FROM fgs_async_invocations WHERE {where} ORDER BY submitted_at DESC, request_id"
            " LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return count[0]["n"], rows

    def async_status(self, ref: FunctionRef, request_id: str) -> str | None:
        rows = self._meta.query(
            "SELECT status FROM fgs_async_invocations WHERE request_id = ? AND project_id = ? AND package = ?"
            " AND name = ?",
            (request_id, ref.project_id, ref.package, ref.name),
        )
        return rows[0]["status"] if rows else None


# Documents -----------------------------------------------------------------------------------------


def _function_document(
    row: sqlite3.Row, project: Project, domain_id: str, *, versioned: bool
) -> dict[str, Any]:
    return {
        "func_id": row["func_id"],
        "resource_id": f"{row['func_id']}:{row['name']}",
        "func_urn": function_urn(project, row["package"], row["name"], LATEST if versioned else None),
        "func_name": row["name"],
        "domain_id": domain_id,
        "namespace": project.id,
        "project_name": project.name,
        "package": row["package"],
        "runtime": row["runtime"],
        "timeout": row["timeout"],
        "handler": row["handler"],
        "memory_size": row["memory_size"],
        "cpu": cpu_millicores(row["memory_size"]),
        "code_type": row["code_type"],
        "code_url": "",
        "code_filename": row["code_filename"],
        "code_size": len(row["code"]),
        "user_data": row["user_data"],
        "encrypted_user_data": "",
        "digest": row["digest"],
        "version": LATEST,
        "image_name": f"latest-{time.strftime('%y%m%d%H%M%S', time.gmtime(row['last_modified']))}",
        "xrole": "",
        "app_xrole": "",
        "description": row["description"],
        "last_modified": _time_text(row["last_modified"]),
        "depend_list": [],
        "depend_version_list": [],
        "strategy_config": {"concurrency": -1},
        "type": "v2",
        "long_time": False,
        "enable_dynamic_memory": False,
        "is_stateful_function": False,
        "enable_lts_log": False,
    }


def _code_document(row: sqlite3.Row, project: Project, domain_id: str) -> dict[str, Any]:
    return {
        "func_urn": function_urn(project, row["package"], row["name"]),
        "func_name": row["name"],
        "domain_id": domain_id,
        "runtime": row["runtime"],
        "code_type": row["code_type"],
        "code_url": "",
        "code_filename": row["code_filename"],
        "code_size": len(row["code"]),
        "digest": row["digest"],
        "last_modified": _time_text(row["last_modified"]),
        "func_code": {"file": base64.b64encode(row["code"]).decode(), "link": ""},
        "depend_list": [],
        "depend_version_list": [],
        "strategy_config": {"concurrency": -1},
        "dependencies": [],
    }


def _invocation_document(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "request_id": row["request_id"],
        "status": row["status"],
        "error_code": row["error_code"],
        "error_message": row["error_message"],
        "start_time": _async_time(row["start_time"]),
        "end_time": _async_time(row["end_time"]),
    }


def _spec(row: sqlite3.Row) -> FunctionSpec:
    user_data = json.loads(row["user_data"]) if row["user_data"] else {}
    return FunctionSpec(
        name=row["name"],
        package=row["package"],
        project_id=row["project_id"],
        handler=row["handler"],
        code_type=row["code_type"],
        code=bytes(row["code"]),
        timeout=row["timeout"],
        memory_size=row["memory_size"],
        user_data=user_data,
    )


def _event(ctx: Context) -> bytes:
    """The invocation's event: the body, which must be JSON (``{}`` when empty)."""
    body = ctx.body.strip() or b"{}"
    try:
        json.loads(body)
    except ValueError as exc:
        raise ApiError(
            406, "FSS.0406", f"Not acceptable: the request body is not valid JSON: {exc}"
        ) from None
    return body


def _tail(text: str, size: int) -> bytes:
    return text.encode()[-size:]


def _query_time(request: Request, key: str, default: float) -> float:
    raw = request.query.get(key)
    if not raw:
        return default
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(
            "FSS.1001", f"Invalid query parameter: {key} must be YYYY-MM-DDTHH:mm:ss (UTC)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _query_int(request: Request, key: str, default: int, maximum: int) -> int:
    raw = request.query.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid("FSS.1001", f"Invalid query parameter: {key} must be an integer") from None
    if value < 0:
        raise _invalid("FSS.1001", f"Invalid query parameter: {key} must not be negative")
    return default if value == 0 or value > maximum else value


# The service ---------------------------------------------------------------------------------------


class FunctionGraphService(RestService):
    name = "functiongraph"

    def __init__(self, storage: Storage, account: Account):
        super().__init__(account)
        self._account = account
        self.state = FunctionGraphState(storage)
        self.runtime = Runtime()
        self._slots: asyncio.Semaphore | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._resumed = False
        self._closed = False

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        return self._slots

    async def handle(self, request: Request, ctx: Context) -> Response:
        if not self._resumed:
            self._resumed = True
            for request_id in await asyncio.to_thread(self.state.unfinished):
                self._schedule(request_id)
        return await super().handle(request, ctx)

    def close(self) -> None:
        self._closed = True
        for task in list(self._tasks.values()):
            task.cancel()
        self.runtime.close()

    def _project(self, project_id: str) -> Project:
        return require_project(self._account, project_id)

    async def _function(self, project: Project, urn: str) -> tuple[FunctionRef, sqlite3.Row]:
        ref = parse_urn(urn, project)
        return ref, await asyncio.to_thread(self.state.function, ref, urn)

    # Functions ----------------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/fgs/functions")
    async def create_function(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        new = validate_new_function(ctx.json_object("FSS.0400"))
        row = await asyncio.to_thread(self.state.create, project.id, new, time.time())
        return Response.json(_function_document(row, project, self._account.domain_id, versioned=True))

    @operation("GET", "/v2/{project_id}/fgs/functions")
    async def list_functions(self, request: Request, ctx: Context, project_id: str) -> Response:
        project = self._project(project_id)
        offset = _query_int(request, "marker", 0, 2**31)
        limit = _query_int(request, "maxitems", MAX_LIST, MAX_LIST)
        count, rows = await asyncio.to_thread(
            self.state.list_functions,
            project.id,
            request.query.get("package_name") or None,
            request.query.get("func_name") or None,
            offset,
            limit,
        )
        functions = [_function_document(r, project, self._account.domain_id, versioned=False) for r in rows]
        return Response.json({"functions": functions, "next_marker": offset + len(rows), "count": count})

    @operation("GET", "/v2/{project_id}/fgs/functions/{function_urn}/config")
    async def show_function_config(
        self, request: Request, ctx: Context, project_id: str, function_urn: str
    ) -> Response:
        project = self._project(project_id)
        _, row = await self._function(project, function_urn)
        return Response.json(_function_document(row, project, self._account.domain_id, versioned=True))

    @operation("GET", "/v2/{project_id}/fgs/functions/{function_urn}/code")
    async def show_function_code(
        self, request: Request, ctx: Context, project_id: str, function_urn: str
    ) -> Response:
        project = self._project(project_id)
        _, row = await self._function(project, function_urn)
        return Response.json(_code_document(row, project, self._account.domain_id))

    @operation("DELETE", "/v2/{project_id}/fgs/functions/{function_urn}")
    async def delete_function(
        self, request: Request, ctx: Context, project_id: str, function_urn: str
    ) -> Response:
        project = self._project(project_id)
        ref = parse_urn(function_urn, project)
        if ref.version == LATEST:
            raise _invalid(
                "FSS.1015",
                "Invalid function version: the latest version cannot be deleted; give the URN without a "
                "version to delete the function",
            )
        if ref.version is not None:
            raise ApiError(404, "FSS.1052", f"The version does not exist: {ref.version}")
        await asyncio.to_thread(self.state.delete, ref, function_urn)
        return Response(204)

    # Synchronous invocation -------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/fgs/functions/{function_urn}/invocations")
    async def invoke_function(
        self, request: Request, ctx: Context, project_id: str, function_urn: str
    ) -> Response:
        project = self._project(project_id)
        _, row = await self._function(project, function_urn)
        event = _event(ctx)
        version = request.headers.get("x-cff-request-version", "v0").lower()
        log_type = request.headers.get("x-cff-log-type", "").lower()
        slots = self._semaphore()
        if slots.locked():
            raise ApiError(429, "FSS.0429", "Too many requests: the concurrent invocation limit is reached")
        async with slots:
            spec = _spec(row)
            outcome = await self.runtime.invoke(
                spec, event, str(uuid.uuid4()), timeout=min(spec.timeout, MAX_SYNC_TIMEOUT)
            )
        return self._invocation_response(outcome, version, log_type)

    def _invocation_response(self, outcome: Outcome, version: str, log_type: str) -> Response:
        summary = {
            "duration": round(outcome.duration_ms, 3),
            "billingDuration": outcome.billing_duration_ms,
            "memorySize": outcome.memory_size,
            "memoryUsed": round(outcome.memory_used_mb, 3),
        }
        headers = {
            "X-Cff-Request-Id": outcome.request_id,
            "X-Cff-Invoke-Summary": json.dumps(summary),
            "X-CFF-Billing-Duration": str(outcome.billing_duration_ms),
            "X-Cff-Response-Version": "v1" if version == "v1" else "v0",
            "X-Func-Err-Code": str(outcome.code),
            "X-Is-Func-Err": "false" if outcome.ok else "true",
        }
        if log_type == "tail":
            headers["X-Cff-Function-Log"] = base64.b64encode(_tail(outcome.log, LOG_HEADER_BYTES)).decode()
        if version != "v1":
            content_type = "application/json" if _is_json(outcome.result) else "text/plain; charset=utf-8"
            return Response(200, {"Content-Type": content_type, **headers}, outcome.result.encode())
        document: dict[str, Any] = {
            "request_id": outcome.request_id,
            "result": outcome.result,
            "log": "" if log_type == "null" else _tail(outcome.log, LOG_TAIL_BYTES).decode(errors="ignore"),
            "status": 200 if outcome.ok else outcome.code,
        }
        if outcome.error is not None:
            document["error_code"] = str(outcome.code)
            document["error_msg"] = outcome.error.summary
        return Response.json(document, 200, headers)

    # Asynchronous invocation ------------------------------------------------------------------------

    @operation("POST", "/v2/{project_id}/fgs/functions/{function_urn}/invocations-async")
    async def async_invoke_function(
        self, request: Request, ctx: Context, project_id: str, function_urn: str
    ) -> Response:
        project = self._project(project_id)
        _, row = await self._function(project, function_urn)
        event = _event(ctx)
        canonical = FunctionRef(project.id, row["package"], row["name"], None)
        request_id = await asyncio.to_thread(self.state.submit, canonical, event, time.time())
        self._schedule(request_id)
        return Response.json({"request_id": request_id}, 202)

    @operation("GET", "/v2/{project_id}/fgs/functions/{function_urn}/async-invocations")
    async def list_async_invocations(
        self, request: Request, ctx: Context, project_id: str, function_urn: str
    ) -> Response:
        project = self._project(project_id)
        ref, _ = await self._function(project, function_urn)
        status = request.query.get("status") or None
        if status is not None and status not in ASYNC_STATUSES:
            raise _invalid(
                "FSS.1001", f"Invalid query parameter: status must be one of {', '.join(ASYNC_STATUSES)}"
            )
        now = time.time()
        end = _query_time(request, "query_end_time", now)
        begin = _query_time(request, "query_begin_time", end - timedelta(hours=1).total_seconds())
        offset = _query_int(request, "marker", 0, 2**31)
        limit = _query_int(request, "limit", DEFAULT_ASYNC_LIMIT, MAX_ASYNC_LIMIT)
        count, rows = await asyncio.to_thread(
            self.state.list_invocations,
            ref,
            request.query.get("request_id") or None,
            status,
            begin,
            end,
            offset,
            limit,
        )
        return Response.json(
            {
                "invocations": [_invocation_document(r) for r in rows],
                "count": count,
                "next_marker": offset + len(rows),
            }
        )

    @operation("POST", "/v2/{project_id}/fgs/functions/{function_urn}/cancel")
    async def cancel_async_invocation(
        self, request: Request, ctx: Context, project_id: str, function_urn: str
    ) -> Response:
        project = self._project(project_id)
        ref, _ = await self._function(project, function_urn)
        body = ctx.json_object("FSS.0400")
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise _invalid("FSS.0400", "Invalid RequestId")
        status = await asyncio.to_thread(self.state.async_status, ref, request_id)
        if status not in (WAIT, RUNNING):
            raise _invalid("FSS.0400", f"Invalid RequestId: {request_id} is not waiting or running")
        error = canceled_error()
        task = self._tasks.get(request_id)
        if task is not None:
            task.cancel()
        await asyncio.to_thread(self.state.finish, request_id, FAIL, error.code, error.message, time.time())
        return Response(200, {"Content-Type": "application/json;charset=UTF-8"}, b"null")

    def _schedule(self, request_id: str) -> None:
        if self._closed or request_id in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._run_async(request_id))
        self._tasks[request_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(request_id, None))

    async def _run_async(self, request_id: str) -> None:
        try:
            async with self._semaphore():
                row = await asyncio.to_thread(self.state.invocation, request_id)
                if row is None:
                    return  # the function was deleted while the request waited
                if not await asyncio.to_thread(self.state.mark_running, request_id, time.time()):
                    return  # cancelled while it waited
                outcome = await self.runtime.invoke(_spec(row), bytes(row["event"]), request_id)
            error = outcome.error
            await asyncio.to_thread(
                self.state.finish,
                request_id,
                SUCCESS if error is None else FAIL,
                outcome.code,
                "" if error is None else error.summary,
                time.time(),
            )
        except asyncio.CancelledError:
            raise  # cancelled (recorded by the cancel request) or the server is stopping (resumed later)
        except Exception:  # the storage closed under us at shutdown, or a bug: never crash the server
            if not self._closed:
                log.exception("asynchronous invocation %s failed", request_id)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
