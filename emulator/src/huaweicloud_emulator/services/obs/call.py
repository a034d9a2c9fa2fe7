"""What every OBS operation handler gets: the request, its target, the signing style and the backend."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from ...http import Request, Response
from ...storage import BlobStore
from ..base import Context
from .addressing import Target
from .headers import OBS_PREFIX, signing_prefix
from .state import ObsState
from .xml import CONTENT_TYPE, OBS_NAMESPACE, S3_NAMESPACE


@dataclass
class Backend:
    """The durable parts an operation works on, and the account that owns every bucket."""

    state: ObsState
    blobs: BlobStore
    owner_id: str
    owner_name: str

    async def discard(self, blob_ids: Iterable[str]) -> None:
        """Delete blobs nothing references any more (after the commit that dropped them)."""
        ids = list(blob_ids)
        if ids:
            await asyncio.to_thread(self._delete_all, ids)

    def _delete_all(self, blob_ids: list[str]) -> None:
        for blob_id in blob_ids:
            with contextlib.suppress(OSError):
                self.blobs.delete(blob_id)


@dataclass
class Call:
    request: Request
    ctx: Context
    target: Target
    backend: Backend

    @property
    def prefix(self) -> str:
        """``x-obs-`` or ``x-amz-``: how this client names prefixed headers (see headers.signing_prefix)."""
        return signing_prefix(self.request)

    @property
    def obs_style(self) -> bool:
        return self.prefix == OBS_PREFIX

    @property
    def namespace(self) -> str:
        return OBS_NAMESPACE if self.obs_style else S3_NAMESPACE

    @property
    def bucket(self) -> str:
        assert self.target.bucket is not None
        return self.target.bucket

    @property
    def key(self) -> str:
        assert self.target.key is not None
        return self.target.key

    @property
    def query(self) -> dict[str, str]:
        return self.request.query

    def xml(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(status, {"Content-Type": CONTENT_TYPE, **(headers or {})}, body)
