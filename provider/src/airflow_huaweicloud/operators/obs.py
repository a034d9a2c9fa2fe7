"""Operators for Huawei Cloud OBS: buckets, objects, listings and a download-transform-upload step.

Names and parameters mirror the Amazon provider's S3 operators (``S3CopyObjectOperator`` ->
``OBSCopyObjectOperator``, ``s3_key`` -> ``obs_key``, ...); those with no S3 analog (list buckets, get,
move and delete one object) keep the old Huawei provider's parameters (``object_key``, ``bucket_name``).
Keys may be ``obs://bucket/key`` URLs with the bucket name left out; where an operator writes an object, its
key may also be an ``Asset("obs://bucket/key")``, which becomes an outlet of the task (DAGs scheduled on it
run when the task succeeds). Each operator reports its OpenLineage datasets and links to the object's page
in the console (``airflow_huaweicloud.lineage``, ``.links``). The SDKs are imported only when a task runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_huaweicloud.assets.obs import key_or_asset
from airflow_huaweicloud.hooks.obs import OBSHook, get_obs_bucket_key
from airflow_huaweicloud.lineage import DROP, RENAME, changed, file_dataset, lineage, obs_dataset
from airflow_huaweicloud.links import OBSBucketLink, OBSObjectLink
from airflow_huaweicloud.version_compat import AirflowException

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Asset, Context


class _OBSOperator(BaseOperator):
    """Holds the connection settings and builds the hook on first use."""

    ui_color = "#fbe3e4"

    def __init__(
        self,
        *,
        huaweicloud_conn_id: str | None = OBSHook.default_conn_name,
        region: str | None = None,
        transfer_config: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.huaweicloud_conn_id = huaweicloud_conn_id
        self.region = region
        self.transfer_config = dict(transfer_config) if transfer_config else None
        self._hook: OBSHook | None = None

    @property
    def hook(self) -> OBSHook:
        if self._hook is None:
            self._hook = OBSHook(
                huaweicloud_conn_id=self.huaweicloud_conn_id,
                region=self.region,
                transfer_config=self.transfer_config,
            )
        return self._hook

    def on_kill(self) -> None:
        if self._hook is not None:
            self._hook.cancel_transfers()


class OBSCreateBucketOperator(_OBSOperator):
    """Create a bucket, unless it exists already; returns the bucket name.

    :param bucket_name: the bucket. (templated)
    :param region_name: where to create it; the connection's region by default.
    """

    template_fields: Sequence[str] = ("bucket_name", "region_name")
    operator_extra_links = (OBSBucketLink(),)

    def __init__(self, *, bucket_name: str, region_name: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.bucket_name = bucket_name
        self.region_name = region_name

    def execute(self, context: Context) -> str:
        if self.hook.check_for_bucket(self.bucket_name):
            self.log.info("Bucket %s exists already", self.bucket_name)
        else:
            self.hook.create_bucket(self.bucket_name, region_name=self.region_name)
            self.log.info("Created bucket %s", self.bucket_name)
        OBSBucketLink.persist(context, self, self.hook.session, bucket=self.bucket_name)
        return self.bucket_name


class OBSDeleteBucketOperator(_OBSOperator):
    """Delete a bucket if it exists.

    :param bucket_name: the bucket. (templated)
    :param force_delete: first delete every object in it (and abort its unfinished multipart uploads).
    """

    template_fields: Sequence[str] = ("bucket_name",)

    def __init__(self, *, bucket_name: str, force_delete: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.bucket_name = bucket_name
        self.force_delete = force_delete

    def execute(self, context: Context) -> None:
        if self.hook.check_for_bucket(self.bucket_name):
            self.hook.delete_bucket(self.bucket_name, force_delete=self.force_delete)
            self.log.info("Deleted bucket %s", self.bucket_name)
        else:
            self.log.info("Bucket %s does not exist", self.bucket_name)

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """With ``force_delete``, every object of the bucket is dropped (without, only an empty bucket can
        be deleted: no data goes)."""
        dropped = [changed(obs_dataset(self.bucket_name), DROP)] if self.force_delete else []
        return lineage(inputs=dropped)


class OBSListBucketsOperator(_OBSOperator):
    """Return the names of every bucket of the account."""

    def execute(self, context: Context) -> list[str]:
        return [bucket["Name"] for bucket in self.hook.list_buckets()]


class OBSGetBucketTaggingOperator(_OBSOperator):
    """Return the bucket's tags as ``[{"Key": ..., "Value": ...}]``.

    :param bucket_name: the bucket. (templated)
    """

    template_fields: Sequence[str] = ("bucket_name",)

    def __init__(self, *, bucket_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.bucket_name = bucket_name

    def execute(self, context: Context) -> list[dict[str, str]]:
        return self.hook.get_bucket_tagging(self.bucket_name)


class OBSPutBucketTaggingOperator(_OBSOperator):
    """Replace the bucket's tags with ``tag_set`` (or the one tag ``key``/``value``).

    :param bucket_name: the bucket. (templated)
    :param tag_set: a mapping, or ``[{"Key": ..., "Value": ...}]``. (templated)
    """

    template_fields: Sequence[str] = ("bucket_name", "tag_set", "key", "value")
    template_fields_renderers = {"tag_set": "json"}

    def __init__(
        self,
        *,
        bucket_name: str,
        tag_set: Mapping[str, str] | list[dict[str, str]] | None = None,
        key: str | None = None,
        value: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.bucket_name = bucket_name
        self.tag_set = tag_set
        self.key = key
        self.value = value

    def execute(self, context: Context) -> None:
        self.hook.put_bucket_tagging(self.tag_set, self.key, self.value, bucket_name=self.bucket_name)


class OBSDeleteBucketTaggingOperator(_OBSOperator):
    """Remove every tag of the bucket.

    :param bucket_name: the bucket. (templated)
    """

    template_fields: Sequence[str] = ("bucket_name",)

    def __init__(self, *, bucket_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.bucket_name = bucket_name

    def execute(self, context: Context) -> None:
        self.hook.delete_bucket_tagging(self.bucket_name)


class _OBSBucketOperator(_OBSOperator):
    """An operator on one bucket's configuration.

    :param bucket_name: the bucket. (templated)
    """

    template_fields: Sequence[str] = ("bucket_name",)

    def __init__(self, *, bucket_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.bucket_name = bucket_name


class OBSPutBucketVersioningOperator(_OBSBucketOperator):
    """Enable or suspend the bucket's versioning.

    :param bucket_name: the bucket. (templated)
    :param status: ``Enabled`` or ``Suspended``. (templated)
    """

    template_fields: Sequence[str] = ("bucket_name", "status")

    def __init__(self, *, bucket_name: str, status: str = "Enabled", **kwargs: Any):
        super().__init__(bucket_name=bucket_name, **kwargs)
        self.status = status

    def execute(self, context: Context) -> None:
        if self.status not in ("Enabled", "Suspended"):
            raise ValueError(f"status must be 'Enabled' or 'Suspended', not {self.status!r}")
        self.hook.put_bucket_versioning(self.bucket_name, self.status)


class OBSGetBucketPolicyOperator(_OBSBucketOperator):
    """Return the bucket policy's JSON document; None when the bucket has none."""

    def execute(self, context: Context) -> str | None:
        return self.hook.get_bucket_policy(self.bucket_name)


class OBSPutBucketPolicyOperator(_OBSBucketOperator):
    """Set the bucket policy.

    :param bucket_name: the bucket. (templated)
    :param policy: the policy: a JSON document, or the dict it is made of. (templated)
    """

    template_fields: Sequence[str] = ("bucket_name", "policy")
    template_fields_renderers = {"policy": "json"}

    def __init__(self, *, bucket_name: str, policy: str | dict[str, Any], **kwargs: Any):
        super().__init__(bucket_name=bucket_name, **kwargs)
        self.policy = policy

    def execute(self, context: Context) -> None:
        self.hook.put_bucket_policy(self.bucket_name, self.policy)


class OBSDeleteBucketPolicyOperator(_OBSBucketOperator):
    """Remove the bucket policy."""

    def execute(self, context: Context) -> None:
        self.hook.delete_bucket_policy(self.bucket_name)


class OBSGetBucketCorsOperator(_OBSBucketOperator):
    """Return the bucket's CORS rules (``[{"AllowedMethods": [...], "AllowedOrigins": [...], ...}]``, the
    S3 shape); empty when it has none."""

    def execute(self, context: Context) -> list[dict[str, Any]]:
        return self.hook.get_bucket_cors(self.bucket_name)


class OBSPutBucketCorsOperator(_OBSBucketOperator):
    """Replace the bucket's CORS rules.

    :param bucket_name: the bucket. (templated)
    :param cors_rules: the rules in the S3 shape (``AllowedMethods``, ``AllowedOrigins``,
        ``AllowedHeaders``, ``ExposeHeaders``, ``MaxAgeSeconds``, ``ID``). (templated)
    """

    template_fields: Sequence[str] = ("bucket_name", "cors_rules")
    template_fields_renderers = {"cors_rules": "json"}

    def __init__(self, *, bucket_name: str, cors_rules: list[dict[str, Any]], **kwargs: Any):
        super().__init__(bucket_name=bucket_name, **kwargs)
        self.cors_rules = cors_rules

    def execute(self, context: Context) -> None:
        self.hook.put_bucket_cors(self.bucket_name, self.cors_rules)


class OBSDeleteBucketCorsOperator(_OBSBucketOperator):
    """Remove every CORS rule of the bucket."""

    def execute(self, context: Context) -> None:
        self.hook.delete_bucket_cors(self.bucket_name)


class OBSGetBucketLifecycleOperator(_OBSBucketOperator):
    """Return the bucket's lifecycle rules (the S3 shape); empty when it has none."""

    def execute(self, context: Context) -> list[dict[str, Any]]:
        return self.hook.get_bucket_lifecycle(self.bucket_name)


class OBSPutBucketLifecycleOperator(_OBSBucketOperator):
    """Replace the bucket's lifecycle rules.

    :param bucket_name: the bucket. (templated)
    :param lifecycle_rules: the rules in the S3 shape (``ID``, ``Prefix``, ``Status``, ``Expiration``,
        ``Transitions``, ``NoncurrentVersionExpiration``, ``NoncurrentVersionTransitions``,
        ``AbortIncompleteMultipartUpload``). (templated)
    """

    template_fields: Sequence[str] = ("bucket_name", "lifecycle_rules")
    template_fields_renderers = {"lifecycle_rules": "json"}

    def __init__(self, *, bucket_name: str, lifecycle_rules: list[dict[str, Any]], **kwargs: Any):
        super().__init__(bucket_name=bucket_name, **kwargs)
        self.lifecycle_rules = lifecycle_rules

    def execute(self, context: Context) -> None:
        self.hook.put_bucket_lifecycle(self.bucket_name, self.lifecycle_rules)


class OBSDeleteBucketLifecycleOperator(_OBSBucketOperator):
    """Remove every lifecycle rule of the bucket."""

    def execute(self, context: Context) -> None:
        self.hook.delete_bucket_lifecycle(self.bucket_name)


class OBSCreateObjectOperator(_OBSOperator):
    """Create an object from ``data`` (str or bytes); returns its ``obs://`` URL.

    :param obs_bucket: the bucket; leave it out when ``obs_key`` is an ``obs://`` URL. (templated)
    :param obs_key: the key, ``obs://bucket/key``, or an ``obs://`` asset (an outlet of the task).
        (templated)
    :param data: the content. (templated)
    :param replace: overwrite an existing object; without it an existing key fails the task.
    :param encoding: for str data (``utf-8`` by default).
    :param compression: ``"gzip"`` to compress str data.
    :param metadata: user metadata (``x-obs-meta-*``).
    :param content_type: the object's Content-Type; guessed from the key's extension by default.
    """

    template_fields: Sequence[str] = ("obs_bucket", "obs_key", "data", "metadata")

    operator_extra_links = (OBSObjectLink(),)

    def __init__(
        self,
        *,
        obs_key: str | Asset,
        data: str | bytes,
        obs_bucket: str | None = None,
        replace: bool = False,
        encoding: str | None = None,
        compression: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.obs_bucket = obs_bucket
        self.obs_key = key_or_asset(self, obs_key)
        self.data = data
        self.replace = replace
        self.encoding = encoding
        self.compression = compression
        self.metadata = metadata
        self.content_type = content_type

    def execute(self, context: Context) -> str:
        bucket, key = get_obs_bucket_key(self.obs_bucket, self.obs_key, "obs_bucket", "obs_key")
        OBSObjectLink.persist(context, self, self.hook.session, bucket=bucket, key=key)
        if isinstance(self.data, str):
            self.hook.load_string(
                self.data,
                key,
                bucket,
                replace=self.replace,
                encoding=self.encoding,
                compression=self.compression,
                metadata=self.metadata,
                content_type=self.content_type,
            )
        else:
            if self.compression is not None or self.encoding is not None:
                raise AirflowException("encoding and compression apply to str data only")
            self.hook.load_bytes(
                bytes(self.data),
                key,
                bucket,
                replace=self.replace,
                metadata=self.metadata,
                content_type=self.content_type,
            )
        return f"obs://{bucket}/{key}"

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        return lineage(outputs=[obs_dataset(*get_obs_bucket_key(self.obs_bucket, self.obs_key))])


class OBSCopyObjectOperator(_OBSOperator):
    """Copy an object server-side; returns the copy's ``obs://`` URL.

    :param source_bucket_key: the source key, or ``obs://bucket/key``. (templated)
    :param dest_bucket_key: the destination key, ``obs://bucket/key``, or an ``obs://`` asset (an outlet
        of the task). (templated)
    :param source_bucket_name: the source bucket, when ``source_bucket_key`` is relative. (templated)
    :param dest_bucket_name: the destination bucket, when ``dest_bucket_key`` is relative. (templated)
    :param metadata: user metadata for the copy instead of the source's.
    """

    template_fields: Sequence[str] = (
        "source_bucket_key",
        "dest_bucket_key",
        "source_bucket_name",
        "dest_bucket_name",
    )
    operator_extra_links = (OBSObjectLink(),)

    def __init__(
        self,
        *,
        source_bucket_key: str,
        dest_bucket_key: str | Asset,
        source_bucket_name: str | None = None,
        dest_bucket_name: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.source_bucket_key = source_bucket_key
        self.dest_bucket_key = key_or_asset(self, dest_bucket_key)
        self.source_bucket_name = source_bucket_name
        self.dest_bucket_name = dest_bucket_name
        self.metadata = metadata

    def execute(self, context: Context) -> str:
        dest_bucket, dest_key = get_obs_bucket_key(
            self.dest_bucket_name, self.dest_bucket_key, "dest_bucket_name", "dest_bucket_key"
        )
        OBSObjectLink.persist(context, self, self.hook.session, bucket=dest_bucket, key=dest_key)
        self.hook.copy_object(
            self.source_bucket_key,
            dest_key,
            self.source_bucket_name,
            dest_bucket,
            metadata=self.metadata,
        )
        return f"obs://{dest_bucket}/{dest_key}"

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        source = get_obs_bucket_key(self.source_bucket_name, self.source_bucket_key)
        dest = get_obs_bucket_key(self.dest_bucket_name, self.dest_bucket_key)
        return lineage(inputs=[obs_dataset(*source)], outputs=[obs_dataset(*dest)])


class OBSGetObjectOperator(_OBSOperator):
    """Return an object's content as text, or write it to the local file ``download_path`` and return that
    path.

    Text goes to XCom, so it is refused (before it is downloaded) for an object larger than ``max_bytes``;
    give ``download_path`` for large or binary objects.

    :param object_key: the key, or ``obs://bucket/key``. (templated)
    :param bucket_name: the bucket, when ``object_key`` is relative. (templated)
    :param download_path: write the object to this file (replacing it) instead of returning it; the
        file appears only complete. (templated)
    :param encoding: of the text (``utf-8`` by default).
    :param max_bytes: the largest object returned as text (1 MiB by default).
    """

    template_fields: Sequence[str] = ("object_key", "bucket_name", "download_path")
    operator_extra_links = (OBSObjectLink(),)

    def __init__(
        self,
        *,
        object_key: str,
        bucket_name: str | None = None,
        download_path: str | None = None,
        encoding: str = "utf-8",
        max_bytes: int = 1 << 20,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.object_key = object_key
        self.bucket_name = bucket_name
        self.download_path = download_path
        self.encoding = encoding
        self.max_bytes = max_bytes

    def execute(self, context: Context) -> str:
        bucket, key = get_obs_bucket_key(self.bucket_name, self.object_key, "bucket_name", "object_key")
        OBSObjectLink.persist(context, self, self.hook.session, bucket=bucket, key=key)
        if self.download_path:
            return self.hook.download_file(key, bucket, filename=self.download_path)
        self._refuse_above_limit(bucket, key, self.hook.get_key(key, bucket).size)
        data = self.hook.get_bytes(key, bucket)
        self._refuse_above_limit(bucket, key, len(data))  # it may have grown since the HEAD
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError as error:
            raise AirflowException(
                f"obs://{bucket}/{key} is not {self.encoding} text ({error}): "
                "give download_path to write it to a file"
            ) from None

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        source = obs_dataset(*get_obs_bucket_key(self.bucket_name, self.object_key))
        return lineage(
            inputs=[source], outputs=[file_dataset(self.download_path)] if self.download_path else []
        )

    def _refuse_above_limit(self, bucket: str, key: str, size: int) -> None:
        if size > self.max_bytes:
            raise AirflowException(
                f"obs://{bucket}/{key} has {size} bytes, more than max_bytes={self.max_bytes} allowed into "
                "XCom: give download_path to write it to a file, or raise max_bytes"
            )


class OBSMoveObjectOperator(_OBSOperator):
    """Move an object: copy it server-side (above 5 GiB in parts), verify the copy, then delete the source;
    returns the destination's ``obs://`` URL.

    The source is deleted only when the copy has its size and content (see :meth:`OBSHook.move`); if not,
    the task fails with ``MoveNotVerified`` and leaves both objects. A rerun after a move that completed
    fails with ``NoSuchKey`` on the source. Across buckets of one region only, as a server-side copy.

    :param source_object_key: the source key, or ``obs://bucket/key``. (templated)
    :param dest_object_key: the destination key, ``obs://bucket/key``, or an ``obs://`` asset (an outlet
        of the task). (templated)
    :param dest_bucket_name: the destination bucket, when ``dest_object_key`` is relative. (templated)
    :param source_bucket_name: the source bucket, when ``source_object_key`` is relative; the
        destination bucket by default. (templated)
    """

    template_fields: Sequence[str] = (
        "source_object_key",
        "dest_object_key",
        "source_bucket_name",
        "dest_bucket_name",
    )
    operator_extra_links = (OBSObjectLink(),)

    def __init__(
        self,
        *,
        source_object_key: str,
        dest_object_key: str | Asset,
        dest_bucket_name: str | None = None,
        source_bucket_name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.source_object_key = source_object_key
        self.dest_object_key = key_or_asset(self, dest_object_key)
        self.dest_bucket_name = dest_bucket_name
        self.source_bucket_name = source_bucket_name

    def _locations(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """``(source bucket, key), (destination bucket, key)``."""
        dest_bucket, dest_key = get_obs_bucket_key(
            self.dest_bucket_name, self.dest_object_key, "dest_bucket_name", "dest_object_key"
        )
        source_is_url = self.source_object_key[:6].lower() == "obs://"
        source = get_obs_bucket_key(
            self.source_bucket_name or (None if source_is_url else dest_bucket),
            self.source_object_key,
            "source_bucket_name",
            "source_object_key",
        )
        return source, (dest_bucket, dest_key)

    def execute(self, context: Context) -> str:
        (source_bucket, source_key), (dest_bucket, dest_key) = self._locations()
        OBSObjectLink.persist(context, self, self.hook.session, bucket=dest_bucket, key=dest_key)
        self.hook.move(source_key, dest_key, source_bucket, dest_bucket)
        self.log.info("Moved obs://%s/%s to obs://%s/%s", source_bucket, source_key, dest_bucket, dest_key)
        return f"obs://{dest_bucket}/{dest_key}"

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The source is renamed to the destination: its name is the destination's previous one."""
        source, dest = self._locations()
        return lineage(
            inputs=[obs_dataset(*source)],
            outputs=[changed(obs_dataset(*dest), RENAME, previous=obs_dataset(*source))],
        )


def _as_datetime(value: datetime | str | None, name: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise AirflowException(f"{name} {value!r} is not an ISO 8601 date and time") from None


class OBSDeleteObjectOperator(_OBSOperator):
    """Delete one object; returns True if it existed, False if there was nothing to delete (which is not an
    error, so the task can be rerun). A missing bucket is an error (``NoSuchBucket``).

    :param object_key: the key, or ``obs://bucket/key``. (templated)
    :param bucket_name: the bucket, when ``object_key`` is relative. (templated)
    """

    template_fields: Sequence[str] = ("object_key", "bucket_name")

    def __init__(self, *, object_key: str, bucket_name: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.object_key = object_key
        self.bucket_name = bucket_name

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        return lineage(
            inputs=[changed(obs_dataset(*get_obs_bucket_key(self.bucket_name, self.object_key)), DROP)]
        )

    def execute(self, context: Context) -> bool:
        bucket, key = get_obs_bucket_key(self.bucket_name, self.object_key, "bucket_name", "object_key")
        existed = self.hook.check_for_key(key, bucket)
        if existed:
            self.hook.delete_objects(bucket, [key])
            self.log.info("Deleted obs://%s/%s", bucket, key)
        else:
            self.log.info("obs://%s/%s does not exist: nothing to delete", bucket, key)
        return existed


class OBSDeleteObjectsOperator(_OBSOperator):
    """Delete the given keys, or every object under a prefix (optionally last modified within
    ``[from_datetime, to_datetime)``), in batches of 1,000 per request; returns how many were deleted.

    Give either ``keys`` or at least one of ``prefix``, ``from_datetime``, ``to_datetime``. Deleting
    keys that do not exist succeeds (the task can be rerun).

    :param bucket: the bucket. (templated)
    :param keys: one key or a list of keys. (templated)
    :param prefix: delete every object under it (``""``: the whole bucket). (templated)
    :param from_datetime: only objects last modified at or after it (datetime or ISO string). (templated)
    :param to_datetime: only objects last modified before it (datetime or ISO string). (templated)
    """

    template_fields: Sequence[str] = ("bucket", "keys", "prefix", "from_datetime", "to_datetime")

    def __init__(
        self,
        *,
        bucket: str,
        keys: str | list[str] | None = None,
        prefix: str | None = None,
        from_datetime: datetime | str | None = None,
        to_datetime: datetime | str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.bucket = bucket
        self.keys = keys
        self.prefix = prefix
        self.from_datetime = from_datetime
        self.to_datetime = to_datetime
        self._check_arguments()

    def _check_arguments(self) -> None:
        by_listing = any(v is not None for v in (self.prefix, self.from_datetime, self.to_datetime))
        if (self.keys is not None) == by_listing:
            raise AirflowException(
                "Either keys or at least one of prefix, from_datetime, to_datetime should be set."
            )

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The keys dropped, or the prefix whose objects are (those in the time window, when one is
        given)."""
        keys = [self.keys] if isinstance(self.keys, str) else self.keys
        names = keys if keys is not None else [self.prefix or ""]
        return lineage(inputs=[changed(obs_dataset(self.bucket, name), DROP) for name in names])

    def execute(self, context: Context) -> int:
        self._check_arguments()  # again: a templated value may have rendered to None
        if self.keys is not None:
            if not self.keys:
                return 0
            return self.hook.delete_objects(self.bucket, self.keys)
        keys = self.hook.iter_keys(
            self.bucket,
            self.prefix or "",
            from_datetime=_as_datetime(self.from_datetime, "from_datetime"),
            to_datetime=_as_datetime(self.to_datetime, "to_datetime"),
        )
        return self.hook.delete_objects(self.bucket, keys)


class OBSListOperator(_OBSOperator):
    """Return the keys under ``prefix`` (without those under a common prefix, with ``delimiter``).

    :param bucket: the bucket. (templated)
    :param prefix: the key prefix. (templated)
    :param delimiter: e.g. ``/`` to list one "folder" level. (templated)
    :param apply_wildcard: treat ``*``, ``?`` and ``[...]`` in ``prefix`` as wildcards.
    """

    template_fields: Sequence[str] = ("bucket", "prefix", "delimiter")
    ui_color = "#ffe5e5"

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        apply_wildcard: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.apply_wildcard = apply_wildcard

    def execute(self, context: Context) -> list[str]:
        self.log.info("Listing obs://%s/%s (delimiter %r)", self.bucket, self.prefix, self.delimiter)
        return self.hook.list_keys(
            self.bucket, prefix=self.prefix, delimiter=self.delimiter, apply_wildcard=self.apply_wildcard
        )


class OBSListPrefixesOperator(_OBSOperator):
    """Return the common prefixes ("sub-folders") one ``delimiter`` level under ``prefix``.

    :param bucket: the bucket. (templated)
    :param prefix: the key prefix. (templated)
    :param delimiter: the level separator, e.g. ``/``. (templated)
    """

    template_fields: Sequence[str] = ("bucket", "prefix", "delimiter")
    ui_color = "#ffe5e5"

    def __init__(self, *, bucket: str, prefix: str, delimiter: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter

    def execute(self, context: Context) -> list[str]:
        return self.hook.list_prefixes(self.bucket, prefix=self.prefix, delimiter=self.delimiter)


class OBSFileTransformOperator(_OBSOperator):
    """Download an object to a temporary file, run ``transform_script <source> <dest> [script_args]``
    and upload ``<dest>`` as the destination object; returns its ``obs://`` URL.

    The script's output goes to the task log. Nothing is uploaded unless the script exits with 0, and the
    upload itself is atomic (a single PUT, or a multipart upload completed only when every part is in),
    so a failure never leaves a half-written destination. Killing the task kills the script.

    :param source_obs_key: the source, ``obs://bucket/key`` (or a key of ``source_bucket_name``).
        (templated)
    :param dest_obs_key: the destination, ``obs://bucket/key`` (or a key of ``dest_bucket_name``, or an
        ``obs://`` asset: an outlet of the task). (templated)
    :param transform_script: an executable, or a command as a list (e.g. ``[sys.executable,
        "transform.py"]``); the two paths and ``script_args`` are appended.
    :param script_args: more arguments for the script. (templated)
    :param replace: overwrite an existing destination object.
    :param source_huaweicloud_conn_id: connection for the source (default: ``huaweicloud_conn_id``).
    :param dest_huaweicloud_conn_id: connection for the destination (default: ``huaweicloud_conn_id``).
    """

    template_fields: Sequence[str] = (
        "source_obs_key",
        "dest_obs_key",
        "source_bucket_name",
        "dest_bucket_name",
        "script_args",
    )
    template_ext: Sequence[str] = ()
    ui_color = "#f9c915"
    operator_extra_links = (OBSObjectLink(),)

    def __init__(
        self,
        *,
        source_obs_key: str,
        dest_obs_key: str | Asset,
        transform_script: str | Sequence[str],
        script_args: Sequence[str] | None = None,
        source_bucket_name: str | None = None,
        dest_bucket_name: str | None = None,
        replace: bool = False,
        source_huaweicloud_conn_id: str | None = None,
        dest_huaweicloud_conn_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.source_obs_key = source_obs_key
        self.dest_obs_key = key_or_asset(self, dest_obs_key)
        self.transform_script = transform_script
        self.script_args = list(script_args or [])
        self.source_bucket_name = source_bucket_name
        self.dest_bucket_name = dest_bucket_name
        self.replace = replace
        self.source_huaweicloud_conn_id = source_huaweicloud_conn_id
        self.dest_huaweicloud_conn_id = dest_huaweicloud_conn_id
        self._hooks: list[OBSHook] = []
        self._process: subprocess.Popen[bytes] | None = None

    def _make_hook(self, conn_id: str | None) -> OBSHook:
        hook = OBSHook(
            huaweicloud_conn_id=conn_id or self.huaweicloud_conn_id,
            region=self.region,
            transfer_config=self.transfer_config,
        )
        self._hooks.append(hook)
        return hook

    def _locations(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """``(source bucket, key), (destination bucket, key)``."""
        source = get_obs_bucket_key(
            self.source_bucket_name, self.source_obs_key, "source_bucket_name", "source_obs_key"
        )
        dest = get_obs_bucket_key(
            self.dest_bucket_name, self.dest_obs_key, "dest_bucket_name", "dest_obs_key"
        )
        return source, dest

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        source, dest = self._locations()
        return lineage(inputs=[obs_dataset(*source)], outputs=[obs_dataset(*dest)])

    def execute(self, context: Context) -> str:
        (source_bucket, source_key), (dest_bucket, dest_key) = self._locations()
        source = self._make_hook(self.source_huaweicloud_conn_id)
        dest = self._make_hook(self.dest_huaweicloud_conn_id)
        OBSObjectLink.persist(context, self, dest.session, bucket=dest_bucket, key=dest_key)
        if not self.replace and dest.check_for_key(dest_key, dest_bucket):
            raise AirflowException(f"The key {dest_key} already exists in {dest_bucket}.")
        command = (
            [self.transform_script]
            if isinstance(self.transform_script, str)
            else [str(part) for part in self.transform_script]
        )
        with tempfile.TemporaryDirectory(prefix="airflow-obs-transform-") as scratch:
            source_path = os.path.join(scratch, "source")
            dest_path = os.path.join(scratch, "dest")
            self.log.info("Downloading obs://%s/%s", source_bucket, source_key)
            source.download_file(source_key, source_bucket, filename=source_path)
            self._run([*command, source_path, dest_path, *map(str, self.script_args)])
            if not os.path.exists(dest_path):
                raise AirflowException(f"The transform script wrote no output file ({dest_path})")
            self.log.info("Uploading the output to obs://%s/%s", dest_bucket, dest_key)
            dest.load_file(dest_path, dest_key, dest_bucket, replace=self.replace)
        return f"obs://{dest_bucket}/{dest_key}"

    def _run(self, command: list[str]) -> None:
        self.log.info("Running %s", command)
        with subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            close_fds=True,
            start_new_session=True,  # on_kill signals the script's whole process group
        ) as process:
            self._process = process
            assert process.stdout is not None
            for line in iter(process.stdout.readline, b""):
                self.log.info("%s", line.decode(sys.getdefaultencoding(), "replace").rstrip())
            process.wait()
        self._process = None
        if process.returncode:
            raise AirflowException(f"Transform script failed with exit code {process.returncode}")

    def on_kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for hook in self._hooks:
            hook.cancel_transfers()
