"""``multipart/form-data`` bodies (RFC 7578), read as they stream in: the fields, then the file's bytes.

What a browser POST upload sends: parts separated by ``--<boundary>`` lines, each with its headers (a
``Content-Disposition: form-data; name="..."``, and a ``filename`` for a file) and its bytes. S3 and OBS
take the fields before the part named ``file`` and ignore whatever follows it; so does this reader. The
fields are held in memory, at most ``max_fields_bytes`` of them (S3 refuses more with
``MaxPostPreDataLengthExceededError``); the file is handed on chunk by chunk as it arrives, never held
whole, with only the few bytes that could start the closing boundary kept back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import Message

from ...http import ClientDisconnected, Request
from .errors import ObsError

FILE_FIELD = "file"
MAX_PART_HEADERS = 8 * 1024
MAX_BOUNDARY = 70  # RFC 2046


def malformed_form() -> ObsError:
    return ObsError(
        400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."
    )


def _fields_too_large() -> ObsError:
    return ObsError(
        400,
        "MaxPostPreDataLengthExceededError",
        "Your POST request fields preceding the upload file were too large.",
    )


def _parameter(header: str, value: str, name: str) -> str | None:
    """A parameter (``boundary``, ``name``, ``filename``) of a header value, unquoted."""
    message = Message()
    message[header] = value
    found = message.get_param(name, header=header)
    if found is None:
        return None
    return found if isinstance(found, str) else str(found[2])


def boundary_of(content_type: str) -> bytes:
    boundary = _parameter("content-type", content_type, "boundary")
    if not boundary or len(boundary) > MAX_BOUNDARY:
        raise malformed_form()
    return boundary.encode("latin-1", "replace")


@dataclass(frozen=True)
class FilePart:
    """The form's file part: its name as the browser gave it (None: no ``filename``). Its own
    Content-Type is not the object's (that is the form's ``Content-Type`` field), as on S3."""

    filename: str | None


class FormReader:
    """Reads one form from a request body: :meth:`read_fields`, then :meth:`file_chunks`."""

    def __init__(self, request: Request, *, max_fields_bytes: int):
        boundary = boundary_of(request.headers.get("content-type", ""))
        self._delimiter = b"--" + boundary
        self._part_end = b"\r\n--" + boundary  # what ends a part's bytes
        self._chunks = request.stream()
        self._buffer = bytearray()
        self._ended = False
        self._max_fields_bytes = max_fields_bytes

    async def _fill(self) -> bool:
        """Read one more chunk of the body into the buffer; False when the body has ended."""
        if self._ended:
            return False
        try:
            self._buffer += await anext(self._chunks)
        except StopAsyncIteration:
            self._ended = True
            return False
        return True

    async def _take_until(self, marker: bytes, limit: int) -> bytes:
        """The bytes before ``marker`` (which is consumed too); ``limit`` bounds what may be buffered."""
        start = 0
        while (index := self._buffer.find(marker, start)) < 0:
            if len(self._buffer) > limit:
                raise _fields_too_large()
            start = max(0, len(self._buffer) - len(marker) + 1)
            if not await self._fill():
                raise malformed_form()
        taken = bytes(self._buffer[:index])
        del self._buffer[: index + len(marker)]
        return taken

    async def _at_least(self, size: int) -> None:
        while len(self._buffer) < size:
            if not await self._fill():
                raise malformed_form()

    async def read_fields(self) -> tuple[dict[str, str], FilePart | None]:
        """The fields before the file part, by lower-cased name (the first of a repeated name wins), and
        the file part (None when the form has none); the body is then at the file's first byte."""
        budget = self._max_fields_bytes
        await self._take_until(self._delimiter, budget)  # the preamble, if any
        fields: dict[str, str] = {}
        while True:
            await self._at_least(2)
            if self._buffer.startswith(b"--"):  # the closing delimiter: no file
                return fields, None
            headers = _part_headers(await self._take_until(b"\r\n\r\n", MAX_PART_HEADERS))
            disposition = headers.get("content-disposition", "")
            name = _parameter("content-disposition", disposition, "name")
            if name is None or not disposition.lower().startswith("form-data"):
                raise malformed_form()
            if name.lower() == FILE_FIELD:
                filename = _parameter("content-disposition", disposition, "filename")
                return fields, FilePart(filename)
            raw = await self._take_until(self._part_end, budget)
            budget -= len(name) + len(raw)
            if budget < 0:
                raise _fields_too_large()
            try:
                fields.setdefault(name.lower(), raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise malformed_form() from None

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, in the chunks they arrive in (after :meth:`read_fields` found the file)."""
        keep = len(self._part_end) - 1  # bytes that may be the start of the closing boundary
        while True:
            index = self._buffer.find(self._part_end)
            if index >= 0:
                if index:
                    yield bytes(memoryview(self._buffer)[:index])
                del self._buffer[: index + len(self._part_end)]
                return
            if len(self._buffer) > keep:
                cut = len(self._buffer) - keep
                yield bytes(memoryview(self._buffer)[:cut])
                del self._buffer[:cut]
            if not await self._fill():
                raise malformed_form()  # the file part never ended

    async def drain(self) -> None:
        """Read and drop the rest of the body (so that the connection stays usable after an error)."""
        self._buffer.clear()
        with contextlib.suppress(ClientDisconnected):
            async for _ in self._chunks:
                pass


def _part_headers(block: bytes) -> dict[str, str]:
    """A part's headers (names lower-cased); the block starts with the line end after the delimiter."""
    text = block.decode("utf-8", "replace")
    first, _, rest = text.partition("\r\n")
    if first.strip():  # only transport padding may follow a delimiter on its line
        raise malformed_form()
    headers: dict[str, str] = {}
    for line in rest.split("\r\n") if rest else ():
        name, sep, value = line.partition(":")
        if not sep:
            raise malformed_form()
        headers[name.strip().lower()] = value.strip()
    return headers
