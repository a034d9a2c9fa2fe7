"""The OBS pages: the buckets, a bucket's objects a page at a time, and an object's bytes as a download.

A bucket's page walks its keys with the OBS service's own pager (:func:`..services.obs.listing.paginate`
over :meth:`ObsState.object_page`): one index range scan per page, '/'-delimited folders jumped over, so
a bucket of 100,000 objects costs what a bucket of 100 does. The next link carries the last entry shown
as the marker, as ListObjects' ``NextMarker`` does. A download streams the object's blob.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from ..http import Response
from ..services.obs.bodies import blob_chunks
from ..services.obs.errors import no_such_key
from ..services.obs.listing import Cursor, paginate
from ..services.obs.objects import open_current
from ..services.obs.state import ObjectRecord, ObsState
from ..storage import Storage
from .html import ROOT, Markup, element, join, link, muted, next_link, segment, table, url, when
from .projects import PAGE_SIZE

PATH = f"{ROOT}/obs"
ALL = -1  # SQLite's LIMIT for "no limit"


def bucket_path(bucket: str) -> str:
    return f"{PATH}/{segment(bucket)}"


def download_path(bucket: str, key: str) -> str:
    return url(f"{bucket_path(bucket)}/object", key=key)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")  # query values keep undecodable bytes that way


class ObsPages:
    def __init__(self, storage: Storage):
        self._state = ObsState(storage.meta)
        self._blobs = storage.blobs

    def count(self) -> int:
        """How many buckets there are."""
        return len(self._state.list_buckets("", ALL))

    def buckets(self, after: str) -> Markup:
        found = self._state.list_buckets(after, PAGE_SIZE + 1)
        shown = found[:PAGE_SIZE]
        rows = []
        for bucket in shown:
            size, objects = self._state.bucket_usage(bucket.name)
            rows.append(
                (
                    link(bucket_path(bucket.name), bucket.name),
                    bucket.location,
                    bucket.storage_class,
                    when(bucket.created_at),
                    objects,
                    size,
                )
            )
        if not rows:
            return element("p", muted("No buckets yet."))
        headers = ("Bucket", "Region", "Storage class", "Created", "Objects", "Bytes")
        more = len(found) > PAGE_SIZE
        return join(
            [
                table(headers, rows, numeric=(4, 5)),
                next_link(url(PATH, after=shown[-1].name) if more else None),
            ]
        )

    def objects(self, name: str, prefix: str, delimiter: str, marker: str) -> Markup:
        """One page of the bucket's objects and folders under ``prefix``, after ``marker``."""
        bucket = self._state.require_bucket(name)
        size, count = self._state.bucket_usage(name)

        def fetch(cursor: Cursor, upper: bytes | None, limit: int) -> list[ObjectRecord]:
            return self._state.object_page(name, cursor.key, cursor.inclusive, upper, limit)

        entries, truncated = paginate(
            fetch,
            lambda record: record.key.encode("utf-8"),
            lambda record: None,  # one version per key: nothing to order within a key
            prefix=_utf8(prefix),
            delimiter=_utf8(delimiter),
            marker=Cursor(_utf8(marker), False) if marker else None,
            max_items=PAGE_SIZE,
        )
        folder = prefix[: prefix.rfind("/") + 1]  # names are shown in the folder the prefix is in
        rows: list[tuple[object, ...]] = []
        for entry in entries:
            shown = entry.text[len(folder) :]
            record = entry.row
            if record is None:
                inside = url(bucket_path(name), prefix=entry.text, delimiter=delimiter)
                rows.append((link(inside, shown), muted("folder"), "", "", ""))
            else:
                rows.append(
                    (
                        shown,
                        record.size,
                        when(record.last_modified),
                        element("code", f'"{record.etag}"'),
                        link(download_path(name, record.key), "download"),
                    )
                )
        next_page = None
        if truncated:  # as ListObjects' NextMarker: the last entry shown, a key or a folder
            next_page = url(bucket_path(name), prefix=prefix, delimiter=delimiter, marker=entries[-1].text)
        return join(
            [
                element(
                    "p",
                    f"Region {bucket.location}, created {when(bucket.created_at)}: "
                    f"{count} objects, {size} bytes in all.",
                ),
                self._crumbs(name, prefix, delimiter),
                self._filter(name, prefix, delimiter),
                table(("Name", "Bytes", "Last modified", "ETag", ""), rows, numeric=(1,))
                if rows
                else element("p", muted("No objects here.")),
                next_link(next_page),
            ]
        )

    @staticmethod
    def _crumbs(name: str, prefix: str, delimiter: str) -> Markup:
        """Links to the bucket's root and to each folder of ``prefix``."""
        parts = [link(url(bucket_path(name), delimiter=delimiter), name)]
        start = 0
        for match in re.finditer("/", prefix):
            folder = prefix[: match.end()]
            parts += [
                Markup(" / "),
                link(url(bucket_path(name), prefix=folder, delimiter=delimiter), folder[start:]),
            ]
            start = match.end()
        if prefix[start:]:
            parts += [Markup(" / "), element("span", f"{prefix[start:]}…")]
        return element("div", *parts, class_="crumbs")

    @staticmethod
    def _filter(name: str, prefix: str, delimiter: str) -> Markup:
        """The prefix filter (a plain GET form) and the switch between folders and a flat listing."""
        switch = (
            link(url(bucket_path(name), prefix=prefix, delimiter=""), "list every key (no folders)")
            if delimiter
            else link(url(bucket_path(name), prefix=prefix, delimiter="/"), "group by folders ('/')")
        )
        return element(
            "form",
            "Prefix ",
            element("input", name="prefix", value=prefix, size="40"),
            element("input", type="hidden", name="delimiter", value=delimiter),
            " ",
            element("button", "filter", type="submit"),
            " ",
            switch,
            method="get",
            action=bucket_path(name),
        )

    def download(self, name: str, key: str) -> Response:
        """The object's bytes, as an attachment (never rendered on the console's origin)."""
        found = open_current(self._state, self._blobs, name, key)
        if found is None:
            raise no_such_key(key)
        record, file = found
        filename = key.rsplit("/", 1)[-1] or "object"
        fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}",
            "Content-Length": str(record.size),
            "ETag": f'"{record.etag}"',
            "X-Content-Type-Options": "nosniff",
        }
        if record.size == 0:
            file.close()
            return Response(200, headers)
        return Response(200, headers, stream=blob_chunks(file, 0, record.size))
