"""DLI (Data Lake Insight, Huawei Cloud's serverless Spark) logic that is more than one SDK call.

* SQL text: splitting a script into statements (on ``;`` outside quotes and comments), substituting
  ``%(name)s`` placeholders with Spark SQL literals, the ``conf`` list.
* SQL jobs: submit (sent once: retried only when it certainly never reached DLI), status, waiting, the
  result preview (at most :data:`PREVIEW_LIMIT` rows) converted to Python values by the result schema,
  export of the whole result to OBS, cancel, listing with paging.
* Spark batch jobs: submit, state, waiting, the driver log (and its tail when a job dies), cancel, listing.
* Queues, elastic resource pools, enhanced datasource connections and their routes, connectivity tests.

Which states end a wait, and how, is declared once as data (:data:`SQL_JOB_WAITER`, ...) and shared by
operators, sensors, triggers and the CLI. Records are DLI's JSON documents as it sends them, with the
field names of its API reference (``appId`` of a batch job, not the SDK's ``app_id``).

The DLI SDK is imported on first use.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from huaweicloud_toolkit.errors import HuaweiCloudError
from huaweicloud_toolkit.paging import numbered_pages, offset_pages
from huaweicloud_toolkit.retry import is_retryable_error, is_unsent_error
from huaweicloud_toolkit.session import Session
from huaweicloud_toolkit.waiters import ResourceFailedError, Status, Waiter

SERVICE = "dli"
# The preview API answers at most this many rows of a result; the whole result is read by exporting it.
PREVIEW_LIMIT = 1000
PAGE_SIZE = 100
LOG_TAIL_LINES = 40

SQL_JOB_WAITER = Waiter.of(
    "DLI SQL job", success=["FINISHED"], failure=["FAILED", "CANCELLED"], service=SERVICE
)
# A batch job is starting, running or recovering (restarting after a failure, with auto_recovery) until
# it ends success or dead (failed, or cancelled).
SPARK_BATCH_WAITER = Waiter.of("DLI Spark batch job", success=["success"], failure=["dead"], service=SERVICE)
ELASTIC_POOL_WAITER = Waiter.of(
    "DLI elastic resource pool", success=["AVAILABLE"], failure=["FAILED"], service=SERVICE
)
ENHANCED_CONNECTION_WAITER = Waiter.of(
    "DLI enhanced connection", success=["ACTIVE"], failure=["FAILED", "DELETED"], service=SERVICE
)
# A connectivity test ends with an answer either way; anything else means it is still checking.
CONNECTIVITY_WAITER = Waiter.of(
    "DLI connectivity test", success=["REACHABLE", "UNREACHABLE"], failure=[], service=SERVICE
)


class SparkBatchFailedError(ResourceFailedError):
    """A Spark batch job ended ``dead``; ``log`` holds the last lines of its driver log (where a Python
    traceback or a Java stack trace of the job ends up)."""

    def __init__(self, *, batch_id: str, state: str, log: list[str]):
        reason = "the last lines of its log:\n" + "\n".join(log) if log else "its log is empty"
        super().__init__(
            resource=SPARK_BATCH_WAITER.resource,
            resource_id=batch_id,
            state=state,
            reason=reason,
            service=SERVICE,
        )
        self.log = log


# Clients and calls -------------------------------------------------------------------------------------


def client(session: Session) -> Any:
    """The session's (cached) DliClient."""
    from huaweicloudsdkdli.v1 import DliClient

    return session.client(DliClient, SERVICE)


def _operation_name(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def _call(session: Session, method: str, request: Any, *, once: bool = False) -> Any:
    """Call ``DliClient.<method>(request)`` under the session's retry policy.

    ``once``: the call creates something (a job, a queue...) and is retried only when it certainly never
    reached DLI. DLI answers some failures with ``is_success: false`` and HTTP 200: those raise too.
    """
    operation = _operation_name(method)
    answer = session.call(
        lambda: getattr(client(session), method)(request),
        service=SERVICE,
        operation=operation,
        is_retryable=is_unsent_error if once else is_retryable_error,
    )
    if getattr(answer, "is_success", None) is False:
        raise HuaweiCloudError(
            str(answer.message or "DLI answered is_success false"),
            status=getattr(answer, "status_code", None),
            service=SERVICE,
            operation=operation,
        )
    return answer


def record(answer: Any) -> dict[str, Any]:
    """An SDK response as the JSON document DLI sent (the API reference's field names)."""
    document = answer.to_json_object()
    return dict(document) if isinstance(document, dict) else {}


def _items(answer: Any, field: str) -> list[dict[str, Any]]:
    """The records listed under ``field`` of a listing's document."""
    return [dict(item) for item in record(answer).get(field) or [] if isinstance(item, dict)]


def _tags(tags: Mapping[str, str] | Sequence[Mapping[str, str]] | None) -> list[Any] | None:
    """Tags as DLI takes them, from ``{"key": "value"}`` or ``[{"key": k, "value": v}, ...]``."""
    from huaweicloudsdkdli.v1 import Tag

    if not tags:
        return None
    if isinstance(tags, Mapping):
        return [Tag(key=str(key), value=str(value)) for key, value in tags.items()]
    return [Tag(key=str(tag["key"]), value=str(tag["value"])) for tag in tags]


def _counted_listing(
    session: Session, method: str, field: str, request: Callable[..., Any], offset: int, page_size: int
) -> Iterator[dict[str, Any]]:
    """The records under ``field`` of a listing whose ``request(offset=, limit=)`` answers a page and the
    ``count`` of them all, from the ``offset``-th."""

    def fetch(start: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        answer = _call(session, method, request(offset=offset + start, limit=limit))
        return _items(answer, field), answer.count - offset if answer.count is not None else None

    return offset_pages(fetch, page_size)


def _bound(elastic_resource_pools: Sequence[str] | None, queues: Sequence[str] | None) -> dict[str, Any]:
    """The pools and queues an enhanced connection binds, as its request bodies take them."""
    return {
        "elastic_resource_pools": list(elastic_resource_pools) if elastic_resource_pools else None,
        "queues": list(queues) if queues else None,
    }


# SQL text ----------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pieces(sql: str) -> Iterator[tuple[str, str]]:
    """The text as ``(kind, text)`` pieces: ``code``, ``quoted`` (a string literal or a back-quoted
    identifier), ``comment``, and ``end`` for each ``;`` outside the others.

    As Spark SQL reads it: a backslash escapes the next character inside a string literal; ``--`` comments
    run to the end of the line; ``/* */`` comments nest. An unterminated literal or comment runs to the
    end of the text (the engine then reports the error).
    """
    i, n, start = 0, len(sql), 0
    while i < n:
        char = sql[i]
        if char == ";" or char in "'\"`" or sql.startswith(("--", "/*"), i):
            if start < i:
                yield "code", sql[start:i]
            if char == ";":
                end, kind = i + 1, "end"
            elif char in "'\"`":
                end, kind = _quoted_end(sql, i), "quoted"
            elif char == "-":
                newline = sql.find("\n", i)
                end, kind = (n if newline < 0 else newline), "comment"
            else:
                end, kind = _block_comment_end(sql, i), "comment"
            yield kind, sql[i:end]
            i = start = end
        else:
            i += 1
    if start < n:
        yield "code", sql[start:]


def _quoted_end(sql: str, i: int) -> int:
    quote, j = sql[i], i + 1
    while j < len(sql):
        if sql[j] == "\\" and quote != "`":
            j += 2
        elif sql[j] == quote:
            return j + 1
        else:
            j += 1
    return len(sql)


def _block_comment_end(sql: str, i: int) -> int:
    depth, j = 0, i
    while j < len(sql):
        if sql.startswith("/*", j):
            depth, j = depth + 1, j + 2
        elif sql.startswith("*/", j):
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    return len(sql)


def split_statements(sql: str) -> list[str]:
    """The statements of a script, split on ``;`` outside string literals, quoted identifiers and
    comments, in order. Comments before a statement are dropped (DLI tells a query from DDL by its first
    word); statements with nothing but comments and blanks are left out."""
    statements: list[str] = []
    current: list[tuple[str, str]] = []
    for kind, text in [*_pieces(sql), ("end", ";")]:
        if kind != "end":
            current.append((kind, text))
            continue
        while current and (current[0][0] == "comment" or not current[0][1].strip()):
            current.pop(0)
        statement = "".join(text for _, text in current).strip()
        if statement:
            statements.append(statement)
        current = []
    return statements


def spark_literal(value: Any) -> str:
    """``value`` as a Spark SQL literal.

    ``None`` is ``NULL``; booleans ``TRUE``/``FALSE``; integers and decimals as numbers; floats as
    ``CAST(... AS DOUBLE)`` (a bare ``1.5`` is a DECIMAL in Spark SQL); strings quoted, with backslashes
    and single quotes escaped; bytes as ``X'..'``; dates ``DATE '...'``; datetimes ``TIMESTAMP '...'``
    (an aware one in UTC); a list, tuple or set as a parenthesised list, for ``IN %(ids)s``.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "CAST('NaN' AS DOUBLE)"
        if math.isinf(value):
            return f"CAST('{'' if value > 0 else '-'}Infinity' AS DOUBLE)"
        return f"CAST({value!r} AS DOUBLE)"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} has no Spark SQL decimal literal")
        return format(value, "f")
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, bytes | bytearray):
        return f"X'{bytes(value).hex().upper()}'"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
        if not items:
            raise ValueError("an empty collection has no Spark SQL literal (IN () is not valid SQL)")
        return "(" + ", ".join(spark_literal(item) for item in items) + ")"
    raise TypeError(f"no Spark SQL literal for a {type(value).__name__}: {value!r}")


def render_parameters(sql: str, parameters: Mapping[str, Any] | None) -> str:
    """Substitute each ``%(name)s`` placeholder outside string literals and comments with
    ``parameters[name]`` as a Spark SQL literal (:func:`spark_literal`). Other ``%`` signs (a ``LIKE
    'a%'`` pattern) need no escaping. A placeholder without a value raises ``KeyError``."""
    if parameters is None:
        return sql

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in parameters:
            raise KeyError(f"no value for the placeholder %({name})s in parameters {sorted(parameters)}")
        return spark_literal(parameters[name])

    return "".join(
        _PLACEHOLDER.sub(substitute, text) if kind == "code" else text for kind, text in _pieces(sql)
    )


def conf_list(conf: Mapping[str, Any] | Sequence[str] | None) -> list[str] | None:
    """A SQL job's ``conf`` as DLI takes it: ``["key=value", ...]``, from a mapping or such a list."""
    if not conf:
        return None
    if isinstance(conf, Mapping):
        return [f"{key}={_conf_value(value)}" for key, value in conf.items()]
    items = [str(item) for item in conf]
    malformed = [item for item in items if "=" not in item]
    if malformed:
        raise ValueError(f"conf items must look like key=value: {malformed}")
    return items


def _conf_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# Result values -----------------------------------------------------------------------------------------

_INTEGER_TYPES = frozenset({"tinyint", "smallint", "int", "integer", "bigint", "byte", "short", "long"})
_FLOAT_TYPES = frozenset({"float", "double", "real"})
_NESTED_TYPES = frozenset({"array", "map", "struct"})


def _base_type(type_name: str) -> str:
    return re.split(r"[(<]", type_name.strip().lower(), maxsplit=1)[0].strip()


def convert_value(value: Any, type_name: str) -> Any:
    """A result value as the Python value of its Spark SQL type: integers ``int``, float and double
    ``float``, decimal ``Decimal``, boolean ``bool``, date ``date``, timestamp ``datetime``; arrays, maps
    and structs decoded where DLI sends them as JSON text; strings and other types as they come."""
    if value is None:
        return None
    base = _base_type(type_name)
    if base in _INTEGER_TYPES:
        return int(value)
    if base in _FLOAT_TYPES:
        return float(value)
    if base in ("decimal", "numeric", "dec"):
        return Decimal(str(value))
    if base == "boolean":
        return value if isinstance(value, bool) else str(value).strip().lower() == "true"
    if base == "date" and isinstance(value, str):
        return date.fromisoformat(value.strip())
    if base.startswith("timestamp") and isinstance(value, str):
        return datetime.fromisoformat(value.strip())
    if base in _NESTED_TYPES and isinstance(value, str):
        return json.loads(value)
    return value


def schema_columns(schema: Sequence[Mapping[str, str]] | None) -> list[tuple[str, str]]:
    """DLI's result schema, a list of one-key objects (``[{"id": "int"}, ...]``), as (name, type) pairs."""
    columns: list[tuple[str, str]] = []
    for entry in schema or []:
        ((name, type_name),) = entry.items()
        columns.append((str(name), str(type_name)))
    return columns


def convert_rows(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Each row's values converted by their column's type (:func:`convert_value`)."""
    converted = []
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a result row has {len(row)} values for {len(columns)} columns: {row!r}")
        values = []
        for value, (name, type_name) in zip(row, columns, strict=True):
            try:
                values.append(convert_value(value, type_name))
            except (ValueError, TypeError, ArithmeticError) as error:
                raise ValueError(f"column {name!r} ({type_name}): cannot read {value!r}: {error}") from None
        converted.append(values)
    return converted


@dataclass(frozen=True)
class SqlResult:
    """Rows of a SQL job's result, converted to Python values; ``row_count`` is how many rows DLI says the
    result has (the preview holds at most :data:`PREVIEW_LIMIT` of them)."""

    job_id: str
    columns: list[tuple[str, str]]
    rows: list[list[Any]]
    row_count: int | None = None

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


@dataclass(frozen=True)
class SubmittedSqlJob:
    """DLI's answer to a submitted statement. ``job_type`` is DLI's (QUERY, DDL, INSERT, ...);
    ``job_mode`` ``sync`` for statements DLI answers at once (DDL), whose rows (``SHOW TABLES``) come in
    ``result``."""

    job_id: str
    job_type: str | None
    job_mode: str | None
    result: SqlResult | None = None


# SQL jobs ----------------------------------------------------------------------------------------------


def submit_sql_job(
    session: Session,
    sql: str,
    *,
    database_name: str | None = None,
    queue_name: str | None = None,
    conf: Mapping[str, Any] | Sequence[str] | None = None,
    tags: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    engine_type: str | None = None,
) -> SubmittedSqlJob:
    """Submit one statement as a DLI SQL job. Sent once: never retried once it may have reached DLI."""
    from huaweicloudsdkdli.v1 import CreateSqlJobRequest, CreateSqlJobRequestBody

    body = CreateSqlJobRequestBody(
        sql=sql,
        currentdb=database_name,
        queue_name=queue_name,
        conf=conf_list(conf),
        tags=_tags(tags),
        engine_type=engine_type,
    )
    answer = _call(session, "create_sql_job", CreateSqlJobRequest(body=body), once=True)
    result = None
    if answer.schema:
        columns = schema_columns(answer.schema)
        rows = convert_rows(columns, answer.rows or [])
        result = SqlResult(str(answer.job_id), columns, rows, len(rows))
    return SubmittedSqlJob(str(answer.job_id), answer.job_type, answer.job_mode, result)


def sql_job_status(session: Session, job_id: str) -> Status[dict[str, Any]]:
    """The job's status (LAUNCHING, RUNNING, FINISHED, FAILED, CANCELLED); ``reason``: DLI's message."""
    from huaweicloudsdkdli.v1 import ShowSqlJobStatusRequest

    answer = _call(session, "show_sql_job_status", ShowSqlJobStatusRequest(job_id=job_id))
    return Status(str(answer.status), answer.message or None, record(answer))


def wait_for_sql_job(
    session: Session,
    job_id: str,
    *,
    poll_interval: float = 5.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
) -> Status[dict[str, Any]]:
    """Poll until the job ends: its FINISHED status, or ``ResourceFailedError`` (FAILED, CANCELLED, with
    DLI's message) / ``WaiterTimeoutError``."""
    return SQL_JOB_WAITER.wait(
        job_id,
        lambda: sql_job_status(session, job_id),
        interval=poll_interval,
        timeout=timeout,
        on_poll=on_poll,
    )


def sql_job_detail(session: Session, job_id: str) -> dict[str, Any]:
    """The job's detail record (for an export or import job: its path, format, ...)."""
    from huaweicloudsdkdli.v1 import ShowSqlJobDetailRequest

    return record(_call(session, "show_sql_job_detail", ShowSqlJobDetailRequest(job_id=job_id)))


def preview_sql_job_result(
    session: Session, job_id: str, *, queue_name: str | None = None, max_rows: int = PREVIEW_LIMIT
) -> SqlResult:
    """The first ``max_rows`` rows of a finished QUERY job's result, converted to Python values.

    DLI previews at most :data:`PREVIEW_LIMIT` rows: asking for more raises ``ValueError`` (export the
    result with :func:`export_sql_job_result` to read it all). Previewing a job that is not a query
    fails with DLI's error."""
    from huaweicloudsdkdli.v1 import PreviewSqlJobResultRequest

    check_max_rows(max_rows)
    request = PreviewSqlJobResultRequest(job_id=job_id, queue_name=queue_name)
    answer = _call(session, "preview_sql_job_result", request)
    columns = schema_columns(answer.schema)
    rows = convert_rows(columns, (answer.rows or [])[:max_rows])
    return SqlResult(job_id, columns, rows, answer.row_count)


def check_max_rows(max_rows: int) -> None:
    if not 0 <= max_rows <= PREVIEW_LIMIT:
        raise ValueError(
            f"max_rows is {max_rows}: DLI previews between 0 and {PREVIEW_LIMIT:,} rows of a result; "
            "export the result to OBS to read more"
        )


def export_sql_job_result(
    session: Session,
    job_id: str,
    data_path: str,
    *,
    data_type: str = "csv",
    queue_name: str | None = None,
    compress: str = "none",
    export_mode: str = "ErrorIfExists",
    with_column_header: bool | None = None,
    limit_num: int | None = None,
) -> str:
    """Start exporting a finished QUERY job's whole result to the OBS folder ``data_path``
    (``obs://bucket/prefix``) as ``csv`` or ``json``; returns the export job's id (wait for it with
    :func:`wait_for_sql_job`). ``export_mode``: ``ErrorIfExists`` or ``Overwrite``."""
    from huaweicloudsdkdli.v1 import ExportSqlJobResultRequest, ExportSqlJobResultRequestBody

    body = ExportSqlJobResultRequestBody(
        data_path=data_path,
        data_type=data_type,
        queue_name=queue_name,
        compress=compress,
        export_mode=export_mode,
        with_column_header=with_column_header,
        limit_num=limit_num,
    )
    request = ExportSqlJobResultRequest(job_id=job_id, body=body)
    answer = _call(session, "export_sql_job_result", request, once=True)
    return str(answer.job_id)


def cancel_sql_job(session: Session, job_id: str) -> None:
    """Cancel a job that is launching or running (it ends CANCELLED)."""
    from huaweicloudsdkdli.v1 import CancelSqlJobRequest

    _call(session, "cancel_sql_job", CancelSqlJobRequest(job_id=job_id))


def iter_sql_jobs(
    session: Session, *, page_size: int = PAGE_SIZE, **filters: Any
) -> Iterator[dict[str, Any]]:
    """Every SQL job that matches ``filters`` (``ListSqlJobsRequest`` fields: ``queue_name``,
    ``job_status``, ``job_type``, ``db_name``, ``table_name``, ``sql_pattern``, ``start``, ``end`` (epoch
    ms), ``order``, ``tags``, ...), fetched a page at a time."""
    from huaweicloudsdkdli.v1 import ListSqlJobsRequest

    def fetch_page(page: int, size: int) -> tuple[list[dict[str, Any]], int | None]:
        answer = _call(
            session, "list_sql_jobs", ListSqlJobsRequest(current_page=page, page_size=size, **filters)
        )
        return _items(answer, "jobs"), answer.job_count

    return numbered_pages(fetch_page, page_size)


# Spark batch jobs --------------------------------------------------------------------------------------


def submit_spark_batch(
    session: Session,
    file: str,
    *,
    class_name: str | None = None,
    queue_name: str | None = None,
    args: Sequence[str] | None = None,
    conf: Mapping[str, Any] | None = None,
    jars: Sequence[str] | None = None,
    py_files: Sequence[str] | None = None,
    files: Sequence[str] | None = None,
    name: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Submit a Spark batch job and return its record (``id``, ``state``, ...). Sent once.

    ``file``: the application (``obs://bucket/app.py`` or a jar); ``class_name``: a jar's main class;
    ``options``: any other field of DLI's ``CreateSparkJobRequestBody`` by its SDK name
    (``driver_memory``, ``executor_cores``, ``num_executors``, ``spark_version``, ``feature``, ...).
    """
    from huaweicloudsdkdli.v1 import CreateSparkJobRequest, CreateSparkJobRequestBody

    body = CreateSparkJobRequestBody(
        file=file,
        class_name=class_name,
        queue=queue_name,
        args=list(args) if args else None,
        conf=dict(conf) if conf else None,
        jars=list(jars) if jars else None,
        py_files=list(py_files) if py_files else None,
        files=list(files) if files else None,
        name=name,
        **options,
    )
    answer = _call(session, "create_spark_job", CreateSparkJobRequest(body=body), once=True)
    return record(answer)


def spark_batch_state(session: Session, batch_id: str) -> Status[dict[str, Any]]:
    """The batch job's state: starting, running, recovering, success or dead."""
    from huaweicloudsdkdli.v1 import ShowSparkJobStatusRequest

    answer = _call(session, "show_spark_job_status", ShowSparkJobStatusRequest(batch_id=batch_id))
    return Status(str(answer.state), None, record(answer))


def spark_batch(session: Session, batch_id: str) -> dict[str, Any]:
    """The batch job's record (``id``, ``state``, ``app_id``, ``name``, ``queue``, ``create_time``, ...)."""
    from huaweicloudsdkdli.v1 import ShowSparkJobRequest

    return record(_call(session, "show_spark_job", ShowSparkJobRequest(batch_id=batch_id)))


@dataclass(frozen=True)
class SparkBatchLog:
    """Lines ``start`` to ``start + len(lines)`` of a batch job's driver log, which has ``total`` lines."""

    start: int
    total: int
    lines: list[str]


def spark_batch_log(
    session: Session, batch_id: str, *, start: int = 0, size: int | None = None
) -> SparkBatchLog:
    """Up to ``size`` lines of the batch job's driver log from line ``start``."""
    from huaweicloudsdkdli.v1 import ShowSparkJobLogRequest

    request = ShowSparkJobLogRequest(batch_id=batch_id, _from=start, size=size)
    answer = _call(session, "show_spark_job_log", request)
    lines = [str(line) for line in answer.log or []]
    return SparkBatchLog(start, answer.total if answer.total is not None else start + len(lines), lines)


def spark_batch_log_tail(session: Session, batch_id: str, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of the batch job's driver log."""
    head = spark_batch_log(session, batch_id, start=0, size=lines)
    if head.total <= len(head.lines):
        return head.lines[-lines:]
    tail = spark_batch_log(session, batch_id, start=head.total - lines, size=lines)
    return tail.lines[-lines:]


def spark_batch_failure(
    session: Session, batch_id: str, state: str, *, log_lines: int = LOG_TAIL_LINES
) -> SparkBatchFailedError:
    """The error for a batch job that ended ``state`` (dead), with the tail of its log."""
    try:
        log = spark_batch_log_tail(session, batch_id, log_lines)
    except HuaweiCloudError as error:
        log = [f"(its log could not be read: {error})"]
    return SparkBatchFailedError(batch_id=batch_id, state=state, log=log)


def wait_for_spark_batch(
    session: Session,
    batch_id: str,
    *,
    poll_interval: float = 10.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
    log_lines: int = LOG_TAIL_LINES,
) -> Status[dict[str, Any]]:
    """Poll until the batch job ends: its ``success`` status, or ``SparkBatchFailedError`` (dead, with
    the tail of its log) / ``WaiterTimeoutError``."""
    try:
        return SPARK_BATCH_WAITER.wait(
            batch_id,
            lambda: spark_batch_state(session, batch_id),
            interval=poll_interval,
            timeout=timeout,
            on_poll=on_poll,
        )
    except ResourceFailedError as failed:
        raise spark_batch_failure(session, batch_id, failed.state, log_lines=log_lines) from None


def cancel_spark_batch(session: Session, batch_id: str) -> None:
    """Cancel a batch job that is starting or running (it ends dead)."""
    from huaweicloudsdkdli.v1 import CancelSparkJobRequest

    _call(session, "cancel_spark_job", CancelSparkJobRequest(batch_id=batch_id))


def iter_spark_batches(
    session: Session, *, page_size: int = PAGE_SIZE, **filters: Any
) -> Iterator[dict[str, Any]]:
    """Every batch job that matches ``filters`` (``ListSparkJobsRequest`` fields: ``queue_name``,
    ``job_name``, ``state``, ``start``, ``end``, ``order``, ...), fetched a page at a time."""
    from huaweicloudsdkdli.v1 import ListSparkJobsRequest

    def fetch(offset: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        answer = _call(session, "list_spark_jobs", ListSparkJobsRequest(_from=offset, size=limit, **filters))
        return _items(answer, "sessions"), answer.total

    return offset_pages(fetch, page_size)


# Queues ------------------------------------------------------------------------------------------------


def create_queue(
    session: Session,
    queue_name: str,
    cu_count: int,
    *,
    tags: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Create a queue of ``cu_count`` CUs; ``options``: other ``CreateQueueRequestBody`` fields
    (``queue_type`` sql or general, ``description``, ``elastic_resource_pool_name``, ``platform``,
    ``feature``, ``resource_mode``, ``charging_mode``, ``enterprise_project_id``, ``labels``, ...)."""
    from huaweicloudsdkdli.v1 import CreateQueueRequest, CreateQueueRequestBody

    body = CreateQueueRequestBody(queue_name=queue_name, cu_count=cu_count, tags=_tags(tags), **options)
    return record(_call(session, "create_queue", CreateQueueRequest(body=body), once=True))


def delete_queue(session: Session, queue_name: str) -> dict[str, Any]:
    from huaweicloudsdkdli.v1 import DeleteQueueRequest

    return record(_call(session, "delete_queue", DeleteQueueRequest(queue_name=queue_name)))


def show_queue(session: Session, queue_name: str) -> dict[str, Any]:
    from huaweicloudsdkdli.v1 import ShowQueueRequest

    return record(_call(session, "show_queue", ShowQueueRequest(queue_name=queue_name)))


def list_queues(
    session: Session,
    *,
    queue_type: str | None = None,
    tags: str | None = None,
    with_charge_info: bool | None = None,
    with_priv: bool | None = None,
) -> list[dict[str, Any]]:
    """The project's queues (``queue_type``: sql (DLI's default), general or all)."""
    from huaweicloudsdkdli.v1 import ListQueuesRequest

    request = ListQueuesRequest(
        queue_type=queue_type, tags=tags, with_charge_info=with_charge_info, with_priv=with_priv
    )
    return _items(_call(session, "list_queues", request), "queues")


def update_queue_cidr(session: Session, queue_name: str, cidr_in_vpc: str) -> dict[str, Any]:
    from huaweicloudsdkdli.v1 import UpdateQueueCidrRequest, UpdateQueueCidrRequestBody

    body = UpdateQueueCidrRequestBody(cidr_in_vpc=cidr_in_vpc)
    request = UpdateQueueCidrRequest(queue_name=queue_name, body=body)
    return record(_call(session, "update_queue_cidr", request))


def start_connectivity_test(session: Session, queue_name: str, address: str) -> str:
    """Start testing whether the queue reaches ``address`` (``host`` or ``host:port``); returns the
    test's task id."""
    from huaweicloudsdkdli.v1 import CreateConnectivityTaskRequest, CreateConnectivityTaskRequestBody

    body = CreateConnectivityTaskRequestBody(address=address)
    request = CreateConnectivityTaskRequest(queue_name=queue_name, body=body)
    return str(_call(session, "create_connectivity_task", request, once=True).task_id)


def connectivity_test_status(session: Session, queue_name: str, task_id: str) -> Status[dict[str, Any]]:
    from huaweicloudsdkdli.v1 import ShowConnectivityTaskRequest

    request = ShowConnectivityTaskRequest(queue_name=queue_name, task_id=task_id)
    answer = _call(session, "show_connectivity_task", request)
    return Status(str(answer.connectivity or ""), answer.message, record(answer))


def check_connectivity(
    session: Session, queue_name: str, address: str, *, poll_interval: float = 2.0, timeout: float = 300
) -> str:
    """Test whether the queue reaches ``address`` and wait for the answer: REACHABLE or UNREACHABLE."""
    task_id = start_connectivity_test(session, queue_name, address)
    status = CONNECTIVITY_WAITER.wait(
        task_id,
        lambda: connectivity_test_status(session, queue_name, task_id),
        interval=poll_interval,
        timeout=timeout,
    )
    return status.state.upper()


# Elastic resource pools --------------------------------------------------------------------------------


def create_elastic_resource_pool(
    session: Session,
    elastic_resource_pool_name: str,
    *,
    max_cu: int,
    min_cu: int,
    tags: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Create an elastic resource pool (it is CREATING, then AVAILABLE or FAILED); ``options``: other
    ``CreateElasticResourcePoolRequestBody`` fields (``description``, ``cidr_in_vpc``, ``charging_mode``,
    ``enterprise_project_id``, ``label``, ...)."""
    from huaweicloudsdkdli.v1 import CreateElasticResourcePoolRequest, CreateElasticResourcePoolRequestBody

    body = CreateElasticResourcePoolRequestBody(
        elastic_resource_pool_name=elastic_resource_pool_name,
        max_cu=max_cu,
        min_cu=min_cu,
        tags=_tags(tags),
        **options,
    )
    request = CreateElasticResourcePoolRequest(body=body)
    return record(_call(session, "create_elastic_resource_pool", request, once=True))


def iter_elastic_resource_pools(
    session: Session,
    *,
    name: str | None = None,
    status: str | None = None,
    tags: str | None = None,
    offset: int = 0,
    page_size: int = PAGE_SIZE,
) -> Iterator[dict[str, Any]]:
    """The pools whose name contains ``name`` (and with ``status``), from the ``offset``-th."""
    from huaweicloudsdkdli.v1 import ListElasticResourcePoolsRequest

    request = partial(ListElasticResourcePoolsRequest, name=name, status=status, tags=tags)
    return _counted_listing(
        session, "list_elastic_resource_pools", "elastic_resource_pools", request, offset, page_size
    )


def elastic_resource_pool(session: Session, elastic_resource_pool_name: str) -> dict[str, Any]:
    """The pool of exactly that name (DLI's listing matches names fuzzily)."""
    for pool in iter_elastic_resource_pools(session, name=elastic_resource_pool_name):
        if pool.get("elastic_resource_pool_name") == elastic_resource_pool_name:
            return pool
    raise HuaweiCloudError(
        f"there is no elastic resource pool named {elastic_resource_pool_name!r}",
        status=404,
        service=SERVICE,
        operation="ListElasticResourcePools",
    )


def elastic_resource_pool_status(session: Session, elastic_resource_pool_name: str) -> Status[dict[str, Any]]:
    """The pool's status (CREATING, AVAILABLE, SCALING, FAILED); ``reason``: its ``fail_reason``."""
    pool = elastic_resource_pool(session, elastic_resource_pool_name)
    return Status(str(pool.get("status")), pool.get("fail_reason") or None, pool)


def wait_for_elastic_resource_pool(
    session: Session,
    elastic_resource_pool_name: str,
    *,
    poll_interval: float = 10.0,
    timeout: float | None = None,
    on_poll: Callable[[Status[dict[str, Any]]], None] | None = None,
) -> Status[dict[str, Any]]:
    """Poll until the pool is AVAILABLE; raises ``ResourceFailedError`` if it ends FAILED."""
    return ELASTIC_POOL_WAITER.wait(
        elastic_resource_pool_name,
        lambda: elastic_resource_pool_status(session, elastic_resource_pool_name),
        interval=poll_interval,
        timeout=timeout,
        on_poll=on_poll,
    )


def delete_elastic_resource_pool(session: Session, elastic_resource_pool_name: str) -> dict[str, Any]:
    from huaweicloudsdkdli.v1 import DeleteElasticResourcePoolRequest

    request = DeleteElasticResourcePoolRequest(elastic_resource_pool_name=elastic_resource_pool_name)
    return record(_call(session, "delete_elastic_resource_pool", request))


def iter_elastic_resource_pool_queues(
    session: Session,
    elastic_resource_pool_name: str,
    *,
    queue_name: str | None = None,
    offset: int = 0,
    page_size: int = PAGE_SIZE,
) -> Iterator[dict[str, Any]]:
    """The queues in the pool (those whose name contains ``queue_name``), from the ``offset``-th."""
    from huaweicloudsdkdli.v1 import ListElasticResourcePoolQueuesRequest

    request = partial(
        ListElasticResourcePoolQueuesRequest,
        elastic_resource_pool_name=elastic_resource_pool_name,
        queue_name=queue_name,
    )
    return _counted_listing(
        session, "list_elastic_resource_pool_queues", "queues", request, offset, page_size
    )


# Enhanced datasource connections -----------------------------------------------------------------------


def create_enhanced_connection(
    session: Session,
    name: str,
    *,
    dest_vpc_id: str,
    dest_network_id: str,
    elastic_resource_pools: Sequence[str] | None = None,
    queues: Sequence[str] | None = None,
    hosts: Sequence[Mapping[str, str]] | None = None,
    routetable_id: str | None = None,
    tags: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
) -> str:
    """Create an enhanced datasource connection to a VPC subnet; returns its id. ``hosts``: ``[{"name":
    ..., "ip": ...}]`` entries the queues resolve."""
    from huaweicloudsdkdli.v1 import (
        CreateEnhancedConnectionRequest,
        CreateEnhancedConnectionRequestBody,
        EnhancedConnectionHost,
    )

    body = CreateEnhancedConnectionRequestBody(
        name=name,
        dest_vpc_id=dest_vpc_id,
        dest_network_id=dest_network_id,
        **_bound(elastic_resource_pools, queues),
        hosts=[EnhancedConnectionHost(name=h["name"], ip=h["ip"]) for h in hosts] if hosts else None,
        routetable_id=str(routetable_id) if routetable_id is not None else None,
        tags=_tags(tags),
    )
    request = CreateEnhancedConnectionRequest(body=body)
    return str(_call(session, "create_enhanced_connection", request, once=True).connection_id)


def enhanced_connection(session: Session, connection_id: str) -> dict[str, Any]:
    from huaweicloudsdkdli.v1 import ShowEnhancedConnectionRequest

    request = ShowEnhancedConnectionRequest(connection_id=connection_id)
    return record(_call(session, "show_enhanced_connection", request))


def enhanced_connection_status(session: Session, connection_id: str) -> Status[dict[str, Any]]:
    """The connection's status (ACTIVE, DELETED, ...); ``reason``: the errors of the pools and queues it
    failed to reach."""
    connection = enhanced_connection(session, connection_id)
    bound = [
        *(connection.get("elastic_resource_pools") or []),
        *(connection.get("available_queue_info") or []),
    ]
    errors = [f"{item.get('name')}: {item['err_msg']}" for item in bound if item.get("err_msg")]
    return Status(str(connection.get("status")), "; ".join(errors) or None, connection)


def wait_for_enhanced_connection(
    session: Session,
    connection_id: str,
    *,
    poll_interval: float = 5.0,
    timeout: float | None = None,
) -> Status[dict[str, Any]]:
    """Poll until the connection is ACTIVE; raises ``ResourceFailedError`` if it ends FAILED or DELETED."""
    return ENHANCED_CONNECTION_WAITER.wait(
        connection_id,
        lambda: enhanced_connection_status(session, connection_id),
        interval=poll_interval,
        timeout=timeout,
    )


def iter_enhanced_connections(
    session: Session,
    *,
    name: str | None = None,
    status: str | None = None,
    tags: str | None = None,
    offset: int = 0,
    page_size: int = PAGE_SIZE,
) -> Iterator[dict[str, Any]]:
    """The connections whose name contains ``name`` (and with ``status``), from the ``offset``-th."""
    from huaweicloudsdkdli.v1 import ListEnhancedConnectionsRequest

    request = partial(ListEnhancedConnectionsRequest, name=name, status=status, tags=tags)
    return _counted_listing(session, "list_enhanced_connections", "connections", request, offset, page_size)


def delete_enhanced_connection(session: Session, connection_id: str) -> dict[str, Any]:
    from huaweicloudsdkdli.v1 import DeleteEnhancedConnectionRequest

    request = DeleteEnhancedConnectionRequest(connection_id=connection_id)
    return record(_call(session, "delete_enhanced_connection", request))


def associate_enhanced_connection(
    session: Session,
    connection_id: str,
    *,
    elastic_resource_pools: Sequence[str] | None = None,
    queues: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Bind elastic resource pools (and queues) to the connection."""
    from huaweicloudsdkdli.v1 import (
        AssociateQueueToEnhancedConnectionRequest,
        AssociateQueueToEnhancedConnectionRequestBody,
    )

    body = AssociateQueueToEnhancedConnectionRequestBody(**_bound(elastic_resource_pools, queues))
    request = AssociateQueueToEnhancedConnectionRequest(connection_id=connection_id, body=body)
    return record(_call(session, "associate_queue_to_enhanced_connection", request))


def disassociate_enhanced_connection(
    session: Session,
    connection_id: str,
    *,
    elastic_resource_pools: Sequence[str] | None = None,
    queues: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Unbind elastic resource pools (and queues) from the connection."""
    from huaweicloudsdkdli.v1 import (
        DisassociateQueueFromEnhancedConnectionRequest,
        DisassociateQueueFromEnhancedConnectionRequestBody,
    )

    body = DisassociateQueueFromEnhancedConnectionRequestBody(**_bound(elastic_resource_pools, queues))
    request = DisassociateQueueFromEnhancedConnectionRequest(connection_id=connection_id, body=body)
    return record(_call(session, "disassociate_queue_from_enhanced_connection", request))


def create_enhanced_connection_route(
    session: Session, connection_id: str, name: str, cidr: str
) -> dict[str, Any]:
    """Add a route (a name and a CIDR of the peer network) to the connection."""
    from huaweicloudsdkdli.v1 import (
        CreateRouteToEnhancedConnectionRequest,
        CreateRouteToEnhancedConnectionRequestBody,
    )

    body = CreateRouteToEnhancedConnectionRequestBody(name=name, cidr=cidr)
    request = CreateRouteToEnhancedConnectionRequest(connection_id=connection_id, body=body)
    return record(_call(session, "create_route_to_enhanced_connection", request, once=True))


def delete_enhanced_connection_route(session: Session, connection_id: str, name: str) -> dict[str, Any]:
    from huaweicloudsdkdli.v1 import DeleteRouteFromEnhancedConnectionRequest

    request = DeleteRouteFromEnhancedConnectionRequest(connection_id=connection_id, name=name)
    return record(_call(session, "delete_route_from_enhanced_connection", request))


# Job resources -----------------------------------------------------------------------------------------


def upload_files(session: Session, group: str, paths: Sequence[str]) -> dict[str, Any]:
    """Register OBS objects (``obs://bucket/key``) as file packages of the resource group ``group``.

    Spark batch jobs can instead name OBS paths directly (``files``, ``py_files``, ``jars``)."""
    from huaweicloudsdkdli.v1 import UploadFileJobResourcesRequest, UploadResourcesRequestBody

    request = UploadFileJobResourcesRequest(body=UploadResourcesRequestBody(paths=list(paths), group=group))
    return record(_call(session, "upload_file_job_resources", request, once=True))
