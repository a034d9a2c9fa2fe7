"""SMN errors: the documented codes the API answers with, and the body they are rendered in."""

from __future__ import annotations

from ...http import ApiError, Response
from ..base import Context


def no_permission() -> ApiError:
    return ApiError(403, "SMN.0001", "No permission to request resources.")


def topic_not_found() -> ApiError:
    # The code the cloud answers today; the older documentation lists SMN.0006.
    return ApiError(404, "SMN.00010008", "Topic not found.")


def subscription_not_found() -> ApiError:
    return ApiError(404, "SMN.0013", "Subscription resource not found.")


def template_not_found() -> ApiError:
    return ApiError(404, "SMN.0027", "Template not found.")


def invalid(code: str, what: str, status: int = 400) -> ApiError:
    return ApiError(status, code, f"Parameter: {what} is invalid.")


def error_response(error: ApiError, ctx: Context) -> Response:
    """The gateway's keys (what the SDK reads first) plus SMN's documented ``{code, message}``."""
    body = {
        "request_id": ctx.request_id,
        "error_code": error.code,
        "error_msg": error.message,
        "code": error.code,
        "message": error.message,
    }
    return Response.json(body, error.status, {"X-Request-Id": ctx.request_id, **error.headers})
