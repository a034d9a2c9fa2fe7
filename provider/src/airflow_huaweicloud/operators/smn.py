"""Operators for Huawei Cloud SMN (Simple Message Notification).

``SMNPublishOperator`` publishes in any of SMN's three forms; the old provider's three operators, one per
form, are thin variants of it under their old names and parameters (``email_subject`` for ``subject``).
In OpenLineage, the topic is the dataset a publication writes (as Kafka and Pub/Sub topics are); the task
links to the topic in the console.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_huaweicloud.hooks.smn import SMNHook, check_message_form, check_topic_urn
from airflow_huaweicloud.lineage import lineage, smn_topic_dataset
from airflow_huaweicloud.links import SMNTopicLink

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
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
    :param region: the topic's region, overriding the connection's.
    :param project_id: the project, overriding the connection's.
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
    operator_extra_links = (SMNTopicLink(),)

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
        region: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        # Fail at parse time rather than in the run (templated values are checked again in execute).
        check_topic_urn(topic_urn)
        check_message_form(message, message_structure, template_name, tags)
        self.topic_urn = topic_urn
        self.message = message
        self.subject = subject
        self.message_structure = message_structure
        self.template_name = template_name
        self.tags = tags
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.project_id = project_id

    def execute(self, context: Context) -> str:
        hook = SMNHook(
            huaweicloud_conn_id=self.huaweicloud_conn_id, region=self.region, project_id=self.project_id
        )
        SMNTopicLink.persist(context, self, hook.session, topic_urn=self.topic_urn)
        return hook.publish(
            topic_urn=self.topic_urn,
            message=self.message,
            subject=self.subject,
            message_structure=self.message_structure,
            template_name=self.template_name,
            tags=self.tags,
        )

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The topic, ``smn://<region>/<project_id>`` / its name, is what the message is written to."""
        return lineage(outputs=[smn_topic_dataset(self.topic_urn)])


class SMNPublishTextMessageOperator(SMNPublishOperator):
    """Publish ``message`` as text to every subscription; returns the message id.

    :param email_subject: the subject of e-mail messages. (templated)
    """

    def __init__(self, *, topic_urn: str, message: str, email_subject: str | None = None, **kwargs: Any):
        super().__init__(topic_urn=topic_urn, message=message, subject=email_subject, **kwargs)


class SMNPublishJsonMessageOperator(SMNPublishOperator):
    """Publish a different text per protocol (SMN's ``message_structure``); returns the message id.

    Subscriptions of a protocol given no text get ``default``. (All texts templated.)

    :param default: the text for every protocol not given below.
    :param email_body: the e-mail text; ``email_subject`` its subject.
    :param sms: the SMS text.
    :param http: the text pushed to HTTP endpoints.
    :param https: the text pushed to HTTPS endpoints.
    :param functionstage: the text given to FunctionGraph functions.
    """

    def __init__(
        self,
        *,
        topic_urn: str,
        default: str,
        sms: str | None = None,
        email_subject: str | None = None,
        email_body: str | None = None,
        http: str | None = None,
        https: str | None = None,
        functionstage: str | None = None,
        **kwargs: Any,
    ):
        per_protocol = {
            "default": default,
            "sms": sms,
            "email": email_body,
            "http": http,
            "https": https,
            "functionstage": functionstage,
        }
        super().__init__(
            topic_urn=topic_urn,
            # A mapping, not its JSON, so that each text is rendered as a template.
            message_structure={name: text for name, text in per_protocol.items() if text is not None},
            subject=email_subject,
            **kwargs,
        )


class SMNPublishMessageTemplateOperator(SMNPublishOperator):
    """Publish the SMN message template ``template_name`` with its ``{placeholders}`` filled from ``tags``;
    returns the message id. Each protocol gets the template's variant for it, or its ``default``.

    :param email_subject: the subject of e-mail messages. (templated)
    """

    def __init__(
        self,
        *,
        topic_urn: str,
        template_name: str,
        tags: Mapping[str, Any],
        email_subject: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            topic_urn=topic_urn, template_name=template_name, tags=tags, subject=email_subject, **kwargs
        )
