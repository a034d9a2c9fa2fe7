"""Requests for the calls a service SDK does not have, still signed, sent and retried the SDK's way.

Some APIs the provider needs are missing from the official SDKs (ModelArts's datasets, its v1 models and
real-time services, a service's inference address). :func:`request` sends one through the service's own
SDK client (``client.call_api``, the path every generated operation takes): the SDK signs it (never
this code), fills ``{project_id}`` in, applies the session's HTTP settings and raises its exceptions on
an error answer, which the session's retry policy and error mapping then handle as for any SDK call.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from huaweicloud_toolkit.retry import is_retryable_error, is_unsent_error
from huaweicloud_toolkit.session import Session


@functools.cache
def _raw_response_type() -> type:
    """An SDK response with no fields: the SDK keeps the answer's bytes (``to_json_object``)."""
    from huaweicloudsdkcore.sdk_response import SdkResponse

    return type("RawResponse", (SdkResponse,), {"openapi_types": {}, "attribute_map": {}})


def request(
    session: Session,
    client_cls: Any,
    service: str,
    method: str,
    path: str,
    *,
    operation: str,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
    once: bool = False,
    endpoint: str | None = None,
) -> Any:
    """Send ``method path`` (``{project_id}`` is filled in) with ``query`` (None values left out) and a
    JSON ``body`` through ``client_cls``, and return the answer's JSON (None for an empty one).
    ``operation`` names the call in errors; ``once``: the call creates something and is retried only when
    it certainly never reached the service; ``endpoint``: another base URL than the service's."""
    client = session.client(client_cls, service, endpoint=endpoint)
    parameters = [(key, value) for key, value in (query or {}).items() if value is not None]
    answer = session.call(
        lambda: client.call_api(
            resource_path=path,
            method=method,
            path_params={},
            query_params=parameters,
            header_params={"Content-Type": "application/json"},
            body=body,
            response_type=_raw_response_type(),
        ),
        service=service,
        operation=operation,
        is_retryable=is_unsent_error if once else is_retryable_error,
    )
    return answer.to_json_object()
