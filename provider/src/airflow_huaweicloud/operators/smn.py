"""Operators for Huawei Cloud SMN (Simple Message Notification)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_huaweicloud.hooks.smn import SMNHook, check_message_form

if TYPE_CHECKING:
    from airflow.sdk import Context


class SMNPublishOperator(BaseOperator):
    """Publish a message to an SMN topic; returns (and pushes to XCom) the message id.

    Give exactly one of ``message``, ``message_structure`` or ``template_name``.

    :param topic_urn: the topic, ``urn:smn:<region>:<project_id>:<name>``. (templated)
    :param message: the text sent to every subscription. (templated)
    :param subject: the subject of e-mail messages. (templated)
    :param message_structure: protocol -> text (``email``, ``sms``, ``http``, ...), with a ``default``
        for the others; a mapping or its JSON. (templated)
    :param template_name: an SMN message template, sent with its ``{placeholders}`` filled. (templated)
    :param tags: the values of the template's placeholders. (templated)
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    """

    template_fields: Sequence[str] = (
        "topic_urn",
        "message",
        "subject",
        "message_structure",
        "tags",
        "template_name",
    )
    template_fields_renderers = {"message_structure": "json", "tags": "json"}
    ui_color = "#fde9e4"

    def __init__(
        self,
        *,
        topic_urn: str,
        message: str | None = None,
        subject: str | None = None,
        message_structure: str | Mapping[str, Any] | None = None,
        template_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        huaweicloud_conn_id: str = SMNHook.default_conn_name,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        # Fail at parse time rather than in the run (templated values are checked again in execute).
        check_message_form(message, message_structure, template_name, tags)
        self.topic_urn = topic_urn
        self.message = message
        self.subject = subject
        self.message_structure = message_structure
        self.template_name = template_name
        self.tags = tags
        self.huaweicloud_conn_id = huaweicloud_conn_id

    def execute(self, context: Context) -> str:
        hook = SMNHook(huaweicloud_conn_id=self.huaweicloud_conn_id)
        return hook.publish(
            topic_urn=self.topic_urn,
            message=self.message,
            subject=self.subject,
            message_structure=self.message_structure,
            template_name=self.template_name,
            tags=self.tags,
        )
