"""SMNNotifier: Airflow task and DAG callbacks that publish to a Huawei Cloud SMN topic.

Usage::

    from airflow_huaweicloud.notifications.smn import SMNNotifier

    @task(on_failure_callback=SMNNotifier(topic_urn="{{ var.value.alerts_topic_urn }}"))
    def load(): ...

    @dag(on_failure_callback=SMNNotifier(topic_urn=..., subject="Nightly load failed"), ...)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

from airflow_huaweicloud.hooks.smn import SMNHook, check_topic_urn

if TYPE_CHECKING:
    from airflow.sdk import Context

MAX_SUBJECT_BYTES = 512  # SMN refuses longer subjects
MAX_EXCEPTION_CHARS = 4000

# What the state a callback sees means, in the words of the alert.
_OUTCOMES = {
    "failed": "failed",
    "success": "succeeded",
    "up_for_retry": "failed and will be retried",
    "skipped": "was skipped",
    "upstream_failed": "did not run: an upstream task failed",
}


def _value(state: Any) -> str:
    return str(getattr(state, "value", state) or "")


def _outcome(context: Context | dict[str, Any]) -> str:
    reason = context.get("reason")  # only DAG-level callbacks carry one
    if reason:
        return "succeeded" if reason == "success" else f"failed ({reason})"
    if context.get("exception") is not None:
        return "failed"
    ti = context.get("ti") or context.get("task_instance")
    state = _value(getattr(ti, "state", None))
    return _OUTCOMES.get(state, state or "finished")


def _truncate_bytes(text: str, limit: int) -> str:
    encoded = text.encode()
    return text if len(encoded) <= limit else encoded[: limit - 3].decode(errors="ignore") + "..."


def default_subject(context: Context | dict[str, Any]) -> str:
    """``Airflow: <dag_id>.<task_id> failed`` for a task, ``Airflow: DAG <dag_id> failed`` for a run."""
    dag_id, task_id = _ids(context)
    what = f"DAG {dag_id}" if context.get("reason") or not task_id else f"{dag_id}.{task_id}"
    return _truncate_bytes(f"Airflow: {what} {_outcome(context)}", MAX_SUBJECT_BYTES)


def default_message(context: Context | dict[str, Any]) -> str:
    """DAG, task, run, try, logical date, exception and log URL, as far as the callback knows them."""
    dag_id, task_id = _ids(context)
    ti = context.get("ti") or context.get("task_instance")
    lines = [f"{default_subject(context).removeprefix('Airflow: ')}.", "", f"DAG: {dag_id}"]
    if task_id:
        map_index = getattr(ti, "map_index", None)
        mapped = f" (map index {map_index})" if isinstance(map_index, int) and map_index >= 0 else ""
        lines.append(f"Task: {task_id}{mapped}")
    lines.append(f"Run: {context.get('run_id') or getattr(ti, 'run_id', '')}")
    try_number = getattr(ti, "try_number", None)
    if try_number is not None:
        max_tries = getattr(ti, "max_tries", None)
        lines.append(f"Try: {try_number}" + (f" of {max_tries + 1}" if isinstance(max_tries, int) else ""))
    logical_date = context.get("logical_date")
    if logical_date is not None:
        lines.append(f"Logical date: {logical_date}")
    if context.get("reason"):
        lines.append(f"Reason: {context['reason']}")
    exception = context.get("exception")
    if exception is not None:
        text = str(exception)
        if isinstance(exception, BaseException):
            text = f"{type(exception).__name__}: {text}"
        lines.append(f"Exception: {text[:MAX_EXCEPTION_CHARS]}")
    log_url = _log_url(ti)
    if log_url:
        lines.append(f"Log: {log_url}")
    return "\n".join(lines)


def _ids(context: Context | dict[str, Any]) -> tuple[str, str]:
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None) or ""
    return str(dag_id), str(getattr(ti, "task_id", None) or "")


def _log_url(ti: Any) -> str:
    try:
        return str(getattr(ti, "log_url", "") or "")
    except Exception:  # the URL is a nicety: never let it break the alert
        return ""


class SMNNotifier(BaseNotifier):
    """Publish to an SMN topic from ``on_failure_callback`` / ``on_success_callback`` (and the other
    state callbacks) of a task or a DAG.

    Without a ``message`` the alert names the DAG, the task, the run, the try, the exception and the
    log URL; without a ``subject`` it reads ``Airflow: <dag_id>.<task_id> failed``.

    :param topic_urn: the topic, ``urn:smn:<region>:<project_id>:<name>``. (templated)
    :param message: the text to send instead of the default one. (templated)
    :param subject: the e-mail subject instead of the default one. (templated)
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    template_fields: Sequence[str] = ("topic_urn", "message", "subject")
    # Its fields are text: render them as text, without asking the DAG (see render_template_fields).
    render_template_as_native_obj = False

    def __init__(
        self,
        topic_urn: str,
        message: str | None = None,
        subject: str | None = None,
        huaweicloud_conn_id: str = SMNHook.default_conn_name,
    ):
        super().__init__()
        check_topic_urn(topic_urn)  # at parse time; the hook checks the rendered value again
        self.topic_urn = topic_urn
        self.message = message
        self.subject = subject
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        # A DAG-level callback run by `airflow dags test` (Airflow 3.3) gets a serialized DAG, which has
        # no template environment: render with the default one rather than fail the callback.
        if jinja_env is None and not hasattr(context.get("dag"), "get_template_env"):
            jinja_env = self.get_template_env()
        super().render_template_fields(context, jinja_env)

    def notify(self, context: Context) -> None:
        hook = SMNHook(huaweicloud_conn_id=self.huaweicloud_conn_id)
        hook.publish(
            topic_urn=self.topic_urn,
            message=self.message or default_message(context),
            subject=self.subject or default_subject(context),
        )

    async def async_notify(self, context: Context) -> None:
        await asyncio.to_thread(self.notify, context)


send_smn_notification = SMNNotifier
