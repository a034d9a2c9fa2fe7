"""DLI's errors, all HTTP 400 as the API reference's error-code table gives them; each module says which
of its cases answers which code (where the reference names none, the table's meaning is applied)."""

from __future__ import annotations

from ...http import ApiError

PARAMETER_ERROR = "DLI.0001"
NO_SUCH_OBJECT = "DLI.0002"
OBJECT_EXISTS = "DLI.0006"
UNSUPPORTED = "DLI.0007"
UNAVAILABLE = "DLI.0012"


def invalid(message: str) -> ApiError:
    """A parameter check failed."""
    return ApiError(400, PARAMETER_ERROR, message)


def missing(message: str) -> ApiError:
    """What the request names does not exist."""
    return ApiError(400, NO_SUCH_OBJECT, message)


def exists(what: str) -> ApiError:
    return ApiError(400, OBJECT_EXISTS, f"{what} already exists")


def unsupported(message: str) -> ApiError:
    return ApiError(400, UNSUPPORTED, message)


def unavailable(message: str) -> ApiError:
    return ApiError(400, UNAVAILABLE, message)
