"""The one exception type raised by the signature verifiers."""

from __future__ import annotations

from collections.abc import Mapping


class SignatureError(Exception):
    """A request failed authentication.

    ``status`` is the HTTP status to answer with, ``code`` the cloud's error code (``APIGW.0301`` for
    the API Gateway fronted services, ``SignatureDoesNotMatch`` and friends for OBS) and ``message``
    the human readable text.  ``details`` carries optional extra fields a caller may echo in its error
    body, e.g. ``StringToSign`` / ``SignatureProvided`` / ``AccessKeyId`` for OBS, the way the real
    service does to help a client debug a signature mismatch.
    """

    status: int
    code: str
    message: str
    details: Mapping[str, str]

    def __init__(self, status: int, code: str, message: str, *, details: Mapping[str, str] | None = None):
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"SignatureError(status={self.status!r}, code={self.code!r}, message={self.message!r})"
