"""Copy objects from Amazon S3 (or any S3-compatible store) to OBS: ``S3ToOBSOperator``, the migration
path from AWS.

Each object is streamed from S3's ``GetObject`` response straight into the toolkit's streaming
multipart upload: no local disk, and at most ``max_concurrency`` parts (plus the one being read) in
memory, whatever the object's size. Runs are incremental: an object that OBS already holds with the same
size and the same *source* ETag (recorded in its ``x-obs-meta-source-etag`` metadata by an earlier run)
is skipped. The Amazon provider is imported only when the task runs.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_huaweicloud.lineage import lineage, obs_dataset, s3_dataset
from airflow_huaweicloud.links import OBSObjectLink
from airflow_huaweicloud.transfers._killable import _KillableTransfer
from airflow_huaweicloud.version_compat import AirflowException

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

    from huaweicloud_toolkit.obs import TransferConfig

# User metadata written on every copy (``x-obs-meta-<name>`` on the wire).
SOURCE_ETAG_METADATA = "source-etag"
SOURCE_LAST_MODIFIED_METADATA = "source-last-modified"

_PLAIN_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


def _etag(value: str | None) -> str:
    return (value or "").strip().strip('"')


class S3ToOBSOperator(_KillableTransfer):
    """Copy the objects under ``s3_prefix`` of an S3 bucket to OBS; returns the OBS keys it wrote.

    Destination keys: the ``s3_prefix`` part of each key is replaced by ``dest_prefix`` (so
    ``s3_prefix="raw/2026/", dest_prefix="landing/"`` copies ``raw/2026/a.csv`` to ``landing/a.csv``);
    with ``dest_prefix=None`` (the default) the keys are kept as they are in S3.

    Incremental sync — for each S3 object:

    * not on OBS: copied;
    * on OBS with the same size and the S3 ETag recorded in its ``x-obs-meta-source-etag`` (or, for an
      object written by another tool, with the same plain-MD5 ETag as S3's): in sync, skipped;
    * on OBS but different: overwritten with ``replace=True``; with ``replace=False`` it is left alone,
      the other objects are still copied, and the task then fails naming the objects that differ.

    ETags of multipart uploads depend on the part size and differ between the clouds, hence the recorded
    source ETag rather than a comparison of the two ETags. Last-modified times are recorded
    (``x-obs-meta-source-last-modified``) but not compared: a rewrite with identical bytes keeps its
    ETag and needs no copy, while a changed object always gets a new ETag. The ETag and size recorded are
    those of the ``GetObject`` response, so an object rewritten during the listing is recorded as what
    was really copied. Content-Type and user metadata are carried over.

    :param s3_bucket: the source bucket. (templated)
    :param s3_prefix: copy the objects whose keys start with it (``""``: the whole bucket). (templated)
    :param dest_bucket: the OBS bucket. (templated)
    :param dest_prefix: replaces ``s3_prefix`` in the destination keys; None keeps the keys. (templated)
    :param replace: overwrite OBS objects that differ from their source.
    :param aws_conn_id: the Amazon (``aws``) connection; its ``endpoint_url`` extra points at any
        S3-compatible store.
    :param verify: TLS verification for S3, as in the Amazon provider's hooks.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    :param transfer_config: ``multipart_threshold``, ``part_size``, ``max_concurrency``, ... of the OBS
        upload; objects at least ``multipart_threshold`` long go as multipart uploads (the part size
        grows for objects that would need more than 10,000 parts).
    """

    template_fields: Sequence[str] = ("s3_bucket", "s3_prefix", "dest_bucket", "dest_prefix")
    ui_color = "#e4f0e8"
    operator_extra_links = (OBSObjectLink(),)

    def __init__(
        self,
        *,
        s3_bucket: str,
        dest_bucket: str,
        s3_prefix: str = "",
        dest_prefix: str | None = None,
        replace: bool = False,
        aws_conn_id: str | None = "aws_default",
        verify: bool | str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.s3_bucket = s3_bucket
        self.s3_prefix = s3_prefix
        self.dest_bucket = dest_bucket
        self.dest_prefix = dest_prefix
        self.replace = replace
        self.aws_conn_id = aws_conn_id
        self.verify = verify

    # Arguments ---------------------------------------------------------------------------------

    def _check_arguments(self) -> None:
        for name in ("s3_bucket", "dest_bucket"):
            value = getattr(self, name)
            if not value or not isinstance(value, str):
                raise ValueError(f"{name} is required (a bucket name), not {value!r}")
            if "://" in value or "/" in value:
                raise ValueError(
                    f"{name} {value!r} is not a bucket name: give the name alone, and the key prefix "
                    f"in {'s3_prefix' if name == 's3_bucket' else 'dest_prefix'}"
                )
        for name in ("s3_prefix", "dest_prefix"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string, not {type(value).__name__}")

    def dest_key_for(self, s3_key: str) -> str:
        """The OBS key an S3 key is copied to."""
        prefix = self.s3_prefix or ""
        if self.dest_prefix is None:
            return s3_key
        return self.dest_prefix + s3_key[len(prefix) :]

    @property
    def _dest_prefix(self) -> str:
        return self.dest_key_for(self.s3_prefix or "")

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The objects under the S3 prefix, and those under the OBS prefix they are copied to."""
        return lineage(
            inputs=[s3_dataset(self.s3_bucket, self.s3_prefix)],
            outputs=[obs_dataset(self.dest_bucket, self._dest_prefix)],
        )

    # Running -----------------------------------------------------------------------------------

    def execute(self, context: Context) -> list[str]:
        self._check_arguments()
        try:
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        except ImportError as error:
            raise AirflowException(
                "S3ToOBSOperator needs the Amazon provider: "
                "pip install 'airflow-provider-huaweicloud[amazon]'"
            ) from error
        self._arm_cancel()
        OBSObjectLink.persist(
            context, self, self.hook.session, bucket=self.dest_bucket, key=self._dest_prefix
        )
        s3 = S3Hook(aws_conn_id=self.aws_conn_id, verify=self.verify).get_conn()
        copied: list[str] = []
        differing: list[str] = []
        skipped = copied_bytes = 0
        self.log.info(
            "Syncing s3://%s/%s to obs://%s/%s",
            self.s3_bucket,
            self.s3_prefix,
            self.dest_bucket,
            self.s3_prefix if self.dest_prefix is None else self.dest_prefix,
        )
        for summary in self._iter_source(s3):
            self._stop_if_cancelled("S3ToOBSOperator was killed: the copy stopped")
            s3_key = summary["Key"]
            dest_key = self.dest_key_for(s3_key)
            if not dest_key:
                self.log.warning("Skipping s3://%s/%s: its OBS key would be empty", self.s3_bucket, s3_key)
                continue
            state = self._compare(summary, dest_key)
            if state == "in sync":
                skipped += 1
                continue
            if state == "differs" and not self.replace:
                differing.append(dest_key)
                continue
            copied_bytes += self._copy(s3, s3_key, dest_key)
            copied.append(dest_key)
        self.log.info(
            "Copied %d objects (%d bytes), %d already in sync, %d differing left alone",
            len(copied),
            copied_bytes,
            skipped,
            len(differing),
        )
        if differing:
            more = f" and {len(differing) - 10} more" if len(differing) > 10 else ""
            shown = ", ".join(differing[:10]) + more
            raise AirflowException(
                f"{len(differing)} objects exist in obs://{self.dest_bucket} with content that differs "
                f"from S3 and were not overwritten: {shown}. Set replace=True to overwrite them "
                f"({len(copied)} other objects were copied)."
            )
        return copied

    def _iter_source(self, s3: Any) -> Iterator[dict[str, Any]]:
        """The S3 listing, one page (1,000 keys) at a time."""
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.s3_bucket, Prefix=self.s3_prefix or ""):
            yield from page.get("Contents") or []

    def _compare(self, summary: dict[str, Any], dest_key: str) -> str:
        """``"missing"``, ``"in sync"`` or ``"differs"``: the OBS object against its S3 listing entry."""
        head = self.hook.head_object(dest_key, self.dest_bucket)
        if head is None:
            return "missing"
        if int(head["ContentLength"]) != int(summary["Size"]):
            return "differs"
        source_etag = _etag(summary.get("ETag"))
        recorded = head["Metadata"].get(SOURCE_ETAG_METADATA)
        if recorded is not None:
            return "in sync" if _etag(recorded) == source_etag else "differs"
        if _PLAIN_MD5.match(source_etag) and _etag(head["ETag"]).lower() == source_etag.lower():
            return "in sync"  # the same bytes, written by another tool (both ETags are the MD5)
        return "differs"

    def _config_for(self, size: int) -> TransferConfig:
        """The hook's transfer settings, with the part size fitted to this object's known size: an
        object under the threshold is read whole and sent in one PUT; a large one in at most 10,000
        parts."""
        from huaweicloud_toolkit.obs.transfer import MAX_PART_SIZE, MAX_PARTS

        base = self.hook.transfer_config
        if size < base.multipart_threshold:
            part_size = min(max(base.part_size, size), MAX_PART_SIZE)
        else:
            part_size = max(base.part_size, math.ceil(size / MAX_PARTS))
        return dataclasses.replace(base, part_size=part_size)

    def _copy(self, s3: Any, s3_key: str, dest_key: str) -> int:
        from huaweicloud_toolkit.obs import upload_fileobj

        response = s3.get_object(Bucket=self.s3_bucket, Key=s3_key)
        body = response["Body"]
        size = int(response["ContentLength"])
        metadata = dict(response.get("Metadata") or {})
        metadata[SOURCE_ETAG_METADATA] = _etag(response.get("ETag"))
        modified = response.get("LastModified")
        if isinstance(modified, datetime):
            metadata[SOURCE_LAST_MODIFIED_METADATA] = modified.isoformat()
        try:
            result = upload_fileobj(
                self.hook.session,
                body,
                self.dest_bucket,
                dest_key,
                config=self._config_for(size),
                metadata=metadata,
                content_type=response.get("ContentType"),
                cancel=self._cancel,
            )
        finally:
            body.close()
        if result.size != size:  # botocore checks the length too; never record a short copy as in sync
            self.hook.delete_objects(self.dest_bucket, [dest_key])
            raise AirflowException(
                f"s3://{self.s3_bucket}/{s3_key} gave {result.size} bytes instead of {size}: not copied"
            )
        self.log.info(
            "Copied s3://%s/%s to obs://%s/%s (%d bytes%s)",
            self.s3_bucket,
            s3_key,
            self.dest_bucket,
            dest_key,
            size,
            f", {result.parts} parts" if result.multipart else "",
        )
        return size
