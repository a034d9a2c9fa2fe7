"""Upload a local file to OBS: ``LocalFilesystemToOBSOperator``, the analog of the Amazon provider's
``LocalFilesystemToS3Operator`` (same parameter names). Large files go as parallel multipart uploads
through the hook's transfer engine; the SDK is imported only when the task runs."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_huaweicloud.assets.obs import key_or_asset
from airflow_huaweicloud.hooks.obs import get_obs_bucket_key
from airflow_huaweicloud.lineage import file_dataset, lineage, obs_dataset
from airflow_huaweicloud.links import OBSObjectLink
from airflow_huaweicloud.operators.obs import _OBSOperator

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Asset, Context


class LocalFilesystemToOBSOperator(_OBSOperator):
    """Upload a local file to OBS; returns the object's ``obs://`` URL.

    A file at least ``multipart_threshold`` long (see ``transfer_config``) goes as a multipart upload
    with parallel parts, streamed from the file; no partial object is ever visible, and a failed upload
    is aborted — or, with ``resumable=True``, kept with a checkpoint next to the file so that the task's
    retry sends only the missing parts.

    :param filename: the local file. (templated)
    :param dest_key: the key, or a full ``obs://bucket/key`` URL with ``dest_bucket`` left out, or an
        ``obs://`` asset (an outlet of the task). (templated)
    :param dest_bucket: the bucket, when ``dest_key`` is relative. (templated)
    :param replace: overwrite an existing object; without it an existing key fails the task.
    :param gzip: compress the file (to a temporary copy) before uploading it.
    :param metadata: user metadata (``x-obs-meta-*``). (templated)
    :param content_type: the object's Content-Type; guessed from the key's extension by default.
    :param resumable: keep a checkpoint (``<filename>.obs-checkpoint``; the file's directory must be
        writable) so that a failed or killed multipart upload is resumed by the next try.
    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    :param transfer_config: ``multipart_threshold``, ``part_size``, ``max_concurrency``, ...
    """

    template_fields: Sequence[str] = ("filename", "dest_key", "dest_bucket", "metadata")
    ui_color = "#e4f0e8"
    operator_extra_links = (OBSObjectLink(),)

    def __init__(
        self,
        *,
        filename: str | os.PathLike[str],
        dest_key: str | Asset,
        dest_bucket: str | None = None,
        replace: bool = False,
        gzip: bool = False,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        resumable: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.filename = filename
        self.dest_key = key_or_asset(self, dest_key)
        self.dest_bucket = dest_bucket
        self.replace = replace
        self.gzip = gzip
        self.metadata = metadata
        self.content_type = content_type
        self.resumable = resumable

    def execute(self, context: Context) -> str:
        bucket, key = get_obs_bucket_key(self.dest_bucket, self.dest_key, "dest_bucket", "dest_key")
        if not key:
            raise ValueError(f"dest_key {self.dest_key!r} names no object (the key is empty)")
        filename = os.fspath(self.filename) if self.filename is not None else ""
        if not filename:
            raise ValueError("filename is required")
        if not os.path.exists(filename):
            raise FileNotFoundError(f"filename {filename!r}: no such file")
        if not os.path.isfile(filename):
            raise ValueError(f"filename {filename!r} is not a regular file")
        OBSObjectLink.persist(context, self, self.hook.session, bucket=bucket, key=key)
        self.hook.load_file(
            filename,
            key,
            bucket,
            replace=self.replace,
            gzip=self.gzip,
            metadata=self.metadata,
            content_type=self.content_type,
            resumable=self.resumable,
        )
        return f"obs://{bucket}/{key}"

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        dest = obs_dataset(*get_obs_bucket_key(self.dest_bucket, self.dest_key))
        return lineage(inputs=[file_dataset(self.filename)], outputs=[dest])
