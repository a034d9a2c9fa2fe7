"""``hwcloud smn publish``: a message to every confirmed subscription of a topic.

Exactly one of ``--message`` (text), ``--message-structure`` (JSON: protocol -> text, with a
``default``) or ``--template-name`` (a message template, its ``{placeholders}`` filled from ``--tags``).
The publish is sent once: retried only when it certainly never reached SMN, so that no subscriber gets
a message twice.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from huaweicloud_toolkit.cli.args import add_command, add_group, json_object
from huaweicloud_toolkit.cli.context import Context
from huaweicloud_toolkit.cli.exits import CliError


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    commands = add_group(groups, "smn", "Simple Message Notification")
    publish = add_command(commands, "publish", publish_command, common, "publish a message to a topic")
    publish.add_argument("--topic-urn", required=True, help="urn:smn:<region>:<project id>:<topic name>")
    message = publish.add_mutually_exclusive_group(required=True)
    message.add_argument("--message", help="the text")
    message.add_argument(
        "--message-structure", type=json_object, help='JSON: {"default": text, "email": text, ...}'
    )
    message.add_argument("--template-name", help="a message template of the topic's account")
    publish.add_argument("--tags", type=json_object, help="JSON object filling the template's {placeholders}")
    publish.add_argument("--subject", help="the subject (e-mail subscriptions)")


def publish_command(ctx: Context) -> dict[str, Any]:
    from huaweicloudsdksmn.v2 import PublishMessageRequest, PublishMessageRequestBody, SmnClient

    from huaweicloud_toolkit.retry import is_unsent_error

    args = ctx.args
    if args.tags is not None and args.template_name is None:
        raise CliError("--tags fill a message template: give --template-name with them")
    structure = args.message_structure
    if structure is not None and not isinstance(structure.get("default"), str):
        raise CliError("--message-structure needs a 'default' message, used for every other protocol")
    body = PublishMessageRequestBody(
        subject=args.subject,
        message=args.message,
        message_structure=json.dumps(structure, ensure_ascii=False) if structure is not None else None,
        message_template_name=args.template_name,
        tags={key: str(value) for key, value in args.tags.items()} if args.tags is not None else None,
    )
    request = PublishMessageRequest(topic_urn=args.topic_urn, body=body)
    client = ctx.session.client(SmnClient, "smn")
    answer = ctx.session.call(
        lambda: client.publish_message(request),
        service="smn",
        operation="PublishMessage",
        is_retryable=is_unsent_error,
    )
    return {"message_id": answer.message_id, "request_id": answer.request_id, "topic_urn": args.topic_urn}
