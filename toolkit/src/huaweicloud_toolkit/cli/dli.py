"""``hwcloud dli sql``: run statements on DLI one after another, wait for each, print the last one's rows.

Each statement is one DLI SQL job; a job that ends FAILED or CANCELLED fails the command (exit 5) with
DLI's message, and the statements after it are not run. The rows are the preview DLI keeps of a query's
result (at most 1,000; ``--max-rows``), converted by the result's schema. Ctrl-C, SIGTERM (an aborted CI
build) or ``--timeout`` cancels the running job before the command ends.
"""

from __future__ import annotations

import argparse
import functools
from typing import Any

from huaweicloud_toolkit.cli.args import add_command, add_group, add_sql_source, key_value, read_sql
from huaweicloud_toolkit.cli.context import Context
from huaweicloud_toolkit.cli.exits import CliError


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    commands = add_group(groups, "dli", "Data Lake Insight (serverless Spark)")
    sql = add_command(commands, "sql", sql_command, common, "run SQL, wait, print the last statement's rows")
    add_sql_source(sql)
    sql.add_argument("--database", help="the database statements run in")
    sql.add_argument("--queue", help="the queue (default: DLI's default queue)")
    sql.add_argument(
        "--conf", action="append", type=key_value, default=[], metavar="KEY=VALUE", help="Spark setting"
    )
    sql.add_argument("--max-rows", type=int, default=1000, help="rows to print, 0 to 1,000 (default 1,000)")
    sql.add_argument("--poll-interval", type=float, default=2.0, help="seconds between polls (default 2)")
    sql.add_argument("--timeout", type=float, help="seconds to wait for each statement (default: no limit)")


def sql_command(ctx: Context) -> dict[str, Any]:
    from huaweicloud_toolkit import dli
    from huaweicloud_toolkit.waiters import WaiterTimeoutError

    args = ctx.args
    try:
        dli.check_max_rows(args.max_rows)
    except ValueError as error:
        raise CliError(str(error)) from None
    statements = dli.split_statements(read_sql(args))
    if not statements:
        raise CliError("the SQL holds no statement")
    session = ctx.session
    jobs = []
    for number, statement in enumerate(statements, 1):
        job = dli.submit_sql_job(
            session,
            statement,
            database_name=args.database,
            queue_name=args.queue,
            conf=dict(args.conf) or None,
        )
        jobs.append({"job_id": job.job_id, "job_type": job.job_type})
        ctx.note(f"statement {number} of {len(statements)}: DLI job {job.job_id} ({job.job_type})")
        try:
            dli.wait_for_sql_job(
                session,
                job.job_id,
                poll_interval=args.poll_interval,
                timeout=args.timeout,
                on_poll=functools.partial(_note_state, ctx, job.job_id),
            )
        except (KeyboardInterrupt, WaiterTimeoutError):
            dli.cancel_sql_job(session, job.job_id)
            raise
    result = job.result
    if result is None and job.job_type == "QUERY" and args.max_rows:
        result = dli.preview_sql_job_result(
            session, job.job_id, queue_name=args.queue, max_rows=args.max_rows
        )
    return {
        "job_id": job.job_id,
        "job_type": job.job_type,
        "status": "FINISHED",
        "jobs": jobs,
        "columns": [{"name": name, "type": kind} for name, kind in result.columns] if result else [],
        "rows": result.rows[: args.max_rows] if result else [],
        "row_count": result.row_count if result else None,
    }


def _note_state(ctx: Context, job_id: str, status: Any) -> None:
    ctx.note(f"DLI job {job_id}: {status.state}")
