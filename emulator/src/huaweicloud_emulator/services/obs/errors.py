"""OBS errors: one exception type carrying the cloud's status, code and message, plus the common ones.

Codes and statuses are those of the OBS error table (the same as S3's where both have the error).
"""

from __future__ import annotations

from collections.abc import Mapping

from ...http import ApiError


class ObsError(ApiError):
    """An OBS error; ``details`` become extra elements of the ``<Error>`` document (e.g. StringToSign)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        resource: str = "",
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, str] | None = None,
    ):
        super().__init__(status, code, message, resource=resource, headers=headers)
        self.details = dict(details or {})


def no_such_bucket(bucket: str) -> ObsError:
    return ObsError(
        404, "NoSuchBucket", "The specified bucket does not exist", details={"BucketName": bucket}
    )


def no_such_key(key: str) -> ObsError:
    return ObsError(404, "NoSuchKey", "The specified key does not exist.", details={"Key": key})


def no_such_upload(upload_id: str) -> ObsError:
    return ObsError(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
        "been aborted or completed.",
        details={"UploadId": upload_id},
    )


def invalid_argument(message: str, name: str = "", value: str = "") -> ObsError:
    details = {"ArgumentName": name, "ArgumentValue": value} if name else {}
    return ObsError(400, "InvalidArgument", message, details=details)


def malformed_xml(reason: str = "") -> ObsError:
    message = "The XML you provided was not well-formed or did not validate against our published schema."
    return ObsError(400, "MalformedXML", f"{message} {reason}".strip())


def precondition_failed(condition: str) -> ObsError:
    return ObsError(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        details={"Condition": condition},
    )


def method_not_allowed(method: str, resource_type: str) -> ObsError:
    return ObsError(
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        details={"Method": method, "ResourceType": resource_type},
    )


def not_implemented(what: str) -> ObsError:
    return ObsError(501, "NotImplemented", f"{what} is not implemented by the emulator.")
