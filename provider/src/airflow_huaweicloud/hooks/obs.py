"""OBSHook: Huawei Cloud Object Storage Service for Airflow, on the toolkit.

Method and parameter names mirror the Amazon provider's ``S3Hook`` where the concept is the same, so a
DAG moves from S3 to OBS by renaming classes. Every failed call raises ``HuaweiCloudError`` (re-exported
by ``airflow_huaweicloud.exceptions``) with the OBS error code, message and request id.

Wherever a bucket and a key are taken, the key may be a full ``obs://bucket/key`` URL with the bucket
left out. Nothing here reads a connection or imports an SDK before a method is called.
"""

from __future__ import annotations

import fnmatch
import functools
import gzip as gz
import inspect
import io
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ParamSpec, TypeVar
from uuid import uuid4

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook

if TYPE_CHECKING:
    from huaweicloud_toolkit.obs import ObjectMetadata, ObjectSummary, TransferConfig, UploadResult

P = ParamSpec("P")
R = TypeVar("R")

_WILDCARD = re.compile(r"[*?\[]")
MAX_KEY_BYTES = 1024  # OBS's limit on an object key, in bytes of UTF-8


def get_obs_bucket_key(
    bucket: str | None, key: str, bucket_param_name: str = "bucket_name", key_param_name: str = "key"
) -> tuple[str, str]:
    """``(bucket, key)`` from a bucket name and a relative key, or from a full ``obs://bucket/key`` URL in
    ``key`` with the bucket left out. The error names the arguments at fault."""
    is_url = isinstance(key, str) and key[:6].lower() == "obs://"
    if bucket is None or bucket == "":
        if not is_url:
            raise ValueError(
                f"{bucket_param_name} is not given and {key_param_name} {key!r} "
                "is not an obs://bucket/key URL"
            )
        from huaweicloud_toolkit.obs import parse_obs_url

        return parse_obs_url(key, field=key_param_name)
    if is_url:
        raise ValueError(
            f"{key_param_name} {key!r} is a full obs:// URL while {bucket_param_name} {bucket!r} "
            f"is given too: give either the URL alone or {bucket_param_name} with a key relative to it"
        )
    return bucket, key


def unify_bucket_name_and_key(func: Callable[P, R]) -> Callable[P, R]:
    """Let a method taking ``key`` (or ``wildcard_key``) and ``bucket_name`` be called with an
    ``obs://bucket/key`` URL as the key and no bucket name."""
    signature = inspect.signature(func)
    key_name = "wildcard_key" if "wildcard_key" in signature.parameters else "key"
    if key_name not in signature.parameters or "bucket_name" not in signature.parameters:
        raise TypeError(f"{func.__name__} needs parameters {key_name!r} and 'bucket_name'")

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind(*args, **kwargs)
        bucket, key = get_obs_bucket_key(
            bound.arguments.get("bucket_name"), bound.arguments[key_name], "bucket_name", key_name
        )
        bound.arguments["bucket_name"] = bucket
        bound.arguments[key_name] = _object_key(key, key_name)
        return func(*bound.args, **bound.kwargs)

    return wrapper


def _object_key(key: str, param: str) -> str:
    """``key``, unless it cannot name an object (OBS would take an empty key for the bucket itself)."""
    if not key:
        raise ValueError(f"{param} {key!r} names no object (the key is empty)")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"{param} is {len(key.encode())} bytes long: an OBS key is at most {MAX_KEY_BYTES}")
    return key


def _bucket(bucket_name: str | None, param: str = "bucket_name") -> str:
    """A bucket name, also accepted as ``obs://bucket``."""
    if not bucket_name:
        raise ValueError(f"{param} is required")
    if bucket_name[:6].lower() == "obs://":
        bucket, key = get_obs_bucket_key(None, bucket_name, param, param)
        if key.strip("/"):
            raise ValueError(f"{param} {bucket_name!r} names an object, not a bucket")
        return bucket
    return bucket_name


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class OBSHook(HuaweiCloudBaseHook):
    """Buckets and objects in Huawei Cloud OBS.

    :param huaweicloud_conn_id: the ``huaweicloud`` connection.
    :param transfer_config: settings of the transfer engine (``multipart_threshold``, ``part_size``,
        ``max_concurrency``, ``chunk_size``, ``checksum``; see
        :class:`huaweicloud_toolkit.obs.TransferConfig`): uploads at least ``multipart_threshold`` long go
        as multipart uploads with parallel parts, downloads as parallel ranged GETs.
    """

    hook_name = "Huawei Cloud OBS"

    def __init__(
        self,
        huaweicloud_conn_id: str | None = HuaweiCloudBaseHook.default_conn_name,
        region: str | None = None,
        project_id: str | None = None,
        transfer_config: Mapping[str, Any] | TransferConfig | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            huaweicloud_conn_id=huaweicloud_conn_id, region=region, project_id=project_id, **kwargs
        )
        self._transfer_config = transfer_config
        self._cancel = threading.Event()
        self.last_upload: UploadResult | None = None

    # Plumbing ----------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The esdk-obs ``ObsClient`` of the connection (cached by the session)."""
        return self.session.obs_client()

    @property
    def transfer_config(self) -> TransferConfig:
        from huaweicloud_toolkit.obs import DEFAULT_CONFIG, TransferConfig

        config = self._transfer_config
        if config is None:
            return DEFAULT_CONFIG
        if isinstance(config, TransferConfig):
            return config
        return TransferConfig(**dict(config))

    def _call(self, operation: str, fn: Callable[[], Any], ok: Any = range(200, 300)) -> Any:
        return self.session.call_obs(fn, operation=operation, ok_statuses=ok)

    def cancel_transfers(self) -> None:
        """Stop running transfers after their parts in flight (for ``on_kill``). A resumable upload
        keeps its checkpoint; any other is aborted. The hook stays cancelled: make a new one to go on."""
        self._cancel.set()

    @staticmethod
    def parse_obs_url(obs_url: str) -> tuple[str, str]:
        """``obs://bucket/key`` -> ``(bucket, key)``."""
        from huaweicloud_toolkit.obs import parse_obs_url

        return parse_obs_url(obs_url)

    get_obs_bucket_key = staticmethod(get_obs_bucket_key)

    # Buckets -----------------------------------------------------------------------------------

    def check_for_bucket(self, bucket_name: str) -> bool:
        bucket = _bucket(bucket_name)
        return self._call("headBucket", lambda: self.client.headBucket(bucket), (200, 404)).status == 200

    def create_bucket(self, bucket_name: str, region_name: str | None = None) -> None:
        """Create the bucket in ``region_name`` (default: the connection's region). A bucket this account
        owns already is left as it is."""
        from huaweicloud_toolkit.errors import from_obs_result

        bucket = _bucket(bucket_name)
        location = region_name or self.session.region
        result = self._call(
            "createBucket", lambda: self.client.createBucket(bucket, location=location), (200, 409)
        )
        if result.status == 409 and result.errorCode != "BucketAlreadyOwnedByYou":
            raise from_obs_result(result, operation="createBucket")

    def delete_bucket(self, bucket_name: str, force_delete: bool = False, max_retries: int = 5) -> None:
        """Delete the bucket. With ``force_delete`` first empty it: abort its unfinished multipart
        uploads and delete every object (in batches of 1,000) — in a bucket that keeps versions, every
        version and delete marker — retrying while objects still arrive."""
        from huaweicloud_toolkit.errors import HuaweiCloudError
        from huaweicloud_toolkit.obs import abort_multipart_uploads, delete_prefix, delete_versions

        bucket = _bucket(bucket_name)
        attempts = max(1, max_retries) if force_delete else 1
        for attempt in range(attempts):
            if force_delete:
                aborted = abort_multipart_uploads(self.session, bucket)
                versioned = self.get_bucket_versioning(bucket) is not None  # Enabled, or Suspended
                report = (
                    delete_versions(self.session, bucket)
                    if versioned
                    else delete_prefix(self.session, bucket, "")
                )
                self._raise_delete_errors(bucket, report)
                self.log.info(
                    "Emptied bucket %s: %d objects deleted, %d uploads aborted",
                    bucket,
                    report.deleted,
                    aborted,
                )
            try:
                self._call("deleteBucket", lambda: self.client.deleteBucket(bucket))
                return
            except HuaweiCloudError as error:
                if not force_delete or error.code != "BucketNotEmpty" or attempt == attempts - 1:
                    raise
                time.sleep(min(2**attempt, 10))  # objects arrived meanwhile: empty it again

    def list_buckets(self) -> list[dict[str, Any]]:
        """Every bucket of the account: ``[{"Name": ..., "CreationDate": datetime, "Location": ...}]``."""
        from huaweicloud_toolkit.obs import parse_obs_time

        body = self._call("listBuckets", lambda: self.client.listBuckets(isQueryLocation=True)).body
        return [
            {"Name": b.name, "CreationDate": parse_obs_time(b.create_date), "Location": b.location}
            for b in body.buckets or []
        ]

    def get_bucket_tagging(self, bucket_name: str) -> list[dict[str, str]]:
        """The bucket's tags as ``[{"Key": ..., "Value": ...}]``; empty when it has none."""
        bucket = _bucket(bucket_name)
        result = self._call("getBucketTagging", lambda: self.client.getBucketTagging(bucket), (200, 404))
        if result.status == 404:
            if result.errorCode == "NoSuchTagSet":
                return []
            from huaweicloud_toolkit.errors import from_obs_result

            raise from_obs_result(result, operation="getBucketTagging")
        return [{"Key": tag.key, "Value": tag.value} for tag in result.body.tagSet or []]

    def put_bucket_tagging(
        self,
        tag_set: Mapping[str, str] | list[dict[str, str]] | None = None,
        key: str | None = None,
        value: str | None = None,
        bucket_name: str | None = None,
    ) -> None:
        """Replace the bucket's tags with ``tag_set`` (a mapping, or ``[{"Key":..,"Value":..}]``), or with
        the one tag ``key``/``value``."""
        from obs import TagInfo

        bucket = _bucket(bucket_name)
        if tag_set is None:
            if key is None or value is None:
                raise ValueError("give tag_set, or both key and value")
            pairs = [(key, value)]
        elif key is not None or value is not None:
            raise ValueError("give tag_set, or key and value, not both")
        elif isinstance(tag_set, Mapping):
            pairs = [(str(k), str(v)) for k, v in tag_set.items()]
        else:
            pairs = [(str(tag["Key"]), str(tag["Value"])) for tag in tag_set]
        info = TagInfo()
        for tag_key, tag_value in pairs:
            info.addTag(tag_key, tag_value)
        self._call("setBucketTagging", lambda: self.client.setBucketTagging(bucket, info))

    def delete_bucket_tagging(self, bucket_name: str) -> None:
        bucket = _bucket(bucket_name)
        self._call("deleteBucketTagging", lambda: self.client.deleteBucketTagging(bucket))

    def get_bucket_versioning(self, bucket_name: str) -> str | None:
        """``Enabled`` or ``Suspended``; None while versioning was never configured for the bucket."""
        bucket = _bucket(bucket_name)
        status = self._call("getBucketVersioning", lambda: self.client.getBucketVersioning(bucket)).body
        return str(status) if status else None

    def put_bucket_versioning(self, bucket_name: str, status: str) -> None:
        """Enable (``Enabled``) or suspend (``Suspended``) versioning of the bucket."""
        bucket = _bucket(bucket_name)
        self._call("setBucketVersioning", lambda: self.client.setBucketVersioning(bucket, status))

    def get_bucket_policy(self, bucket_name: str) -> str | None:
        """The bucket policy's JSON document; None when the bucket has none."""
        from huaweicloud_toolkit.obs import bucket_config

        return bucket_config.get_bucket_policy(self.session, _bucket(bucket_name))

    def put_bucket_policy(self, bucket_name: str, policy: str | Mapping[str, Any]) -> None:
        """Set the bucket policy: a JSON document, or the dict it is made of."""
        from huaweicloud_toolkit.obs import bucket_config

        bucket_config.put_bucket_policy(self.session, _bucket(bucket_name), policy)

    def delete_bucket_policy(self, bucket_name: str) -> None:
        from huaweicloud_toolkit.obs import bucket_config

        bucket_config.delete_bucket_policy(self.session, _bucket(bucket_name))

    def get_bucket_cors(self, bucket_name: str) -> list[dict[str, Any]]:
        """The bucket's CORS rules, as boto3's ``get_bucket_cors`` gives ``CORSRules`` (``AllowedMethods``,
        ``AllowedOrigins``, ``AllowedHeaders``, ``ExposeHeaders``, ``MaxAgeSeconds``, ``ID``); empty
        when it has none."""
        from huaweicloud_toolkit.obs import bucket_config

        return bucket_config.get_bucket_cors(self.session, _bucket(bucket_name))

    def put_bucket_cors(self, bucket_name: str, cors_rules: list[dict[str, Any]]) -> None:
        """Replace the bucket's CORS rules (the shape :meth:`get_bucket_cors` returns)."""
        from huaweicloud_toolkit.obs import bucket_config

        bucket_config.put_bucket_cors(self.session, _bucket(bucket_name), cors_rules)

    def delete_bucket_cors(self, bucket_name: str) -> None:
        from huaweicloud_toolkit.obs import bucket_config

        bucket_config.delete_bucket_cors(self.session, _bucket(bucket_name))

    def get_bucket_lifecycle(self, bucket_name: str) -> list[dict[str, Any]]:
        """The bucket's lifecycle rules, as boto3's ``get_bucket_lifecycle_configuration`` gives
        ``Rules`` (``ID``, ``Prefix``, ``Status``, ``Expiration``, ``Transitions``,
        ``NoncurrentVersionExpiration``, ``NoncurrentVersionTransitions``,
        ``AbortIncompleteMultipartUpload``); empty when it has none."""
        from huaweicloud_toolkit.obs import bucket_config

        return bucket_config.get_bucket_lifecycle(self.session, _bucket(bucket_name))

    def put_bucket_lifecycle(self, bucket_name: str, rules: list[dict[str, Any]]) -> None:
        """Replace the bucket's lifecycle rules (the shape :meth:`get_bucket_lifecycle` returns; a rule
        without ``Prefix`` covers the whole bucket)."""
        from huaweicloud_toolkit.obs import bucket_config

        bucket_config.put_bucket_lifecycle(self.session, _bucket(bucket_name), rules)

    def delete_bucket_lifecycle(self, bucket_name: str) -> None:
        from huaweicloud_toolkit.obs import bucket_config

        bucket_config.delete_bucket_lifecycle(self.session, _bucket(bucket_name))

    # Listing -----------------------------------------------------------------------------------

    def iter_objects(
        self,
        bucket_name: str,
        prefix: str = "",
        delimiter: str = "",
        *,
        wildcard_match: bool = False,
        use_regex: bool = False,
        start_after_key: str | None = None,
        from_datetime: datetime | None = None,
        to_datetime: datetime | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> Iterator[ObjectSummary]:
        """Objects under ``prefix``, a listing page at a time as the caller consumes them.

        :param wildcard_match: ``prefix`` is a Unix wildcard pattern (``*``, ``?``, ``[...]``) matched
            against whole keys; only the part before the first wildcard is sent as the listing prefix.
        :param use_regex: ``prefix`` is a regular expression matched (``re.match``) against whole keys;
            the whole bucket is listed.
        :param from_datetime: only objects last modified at or after this moment (naive = UTC).
        :param to_datetime: only objects last modified before this moment (naive = UTC).
        :param max_items: stop after this many matching objects.
        """
        from huaweicloud_toolkit.obs import PAGE_SIZE, iter_objects

        if wildcard_match and use_regex:
            raise ValueError("wildcard_match and use_regex exclude each other")
        bucket = _bucket(bucket_name)
        prefix = prefix or ""
        match: Callable[[str], bool] | None = None
        list_prefix = prefix
        if wildcard_match and _WILDCARD.search(prefix):
            list_prefix = _WILDCARD.split(prefix, 1)[0]
            match = functools.partial(_fnmatch, pattern=prefix)
        elif use_regex:
            list_prefix = ""
            match = functools.partial(_regex_match, re.compile(prefix))
        start, end = _utc(from_datetime), _utc(to_datetime)
        count = 0
        for summary in iter_objects(
            self.session,
            bucket,
            list_prefix,
            delimiter=delimiter or None,
            start_after=start_after_key,
            page_size=page_size or PAGE_SIZE,
        ):
            if match is not None and not match(summary.key):
                continue
            modified = summary.last_modified
            if start is not None and (modified is None or modified < start):
                continue
            if end is not None and (modified is None or modified >= end):
                continue
            yield summary
            count += 1
            if max_items is not None and count >= max_items:
                return

    def iter_keys(
        self,
        bucket_name: str,
        prefix: str = "",
        delimiter: str = "",
        *,
        wildcard_match: bool = False,
        use_regex: bool = False,
        start_after_key: str | None = None,
        from_datetime: datetime | None = None,
        to_datetime: datetime | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> Iterator[str]:
        """Keys under ``prefix``, lazily; the filters are those of :meth:`iter_objects`."""
        for summary in self.iter_objects(
            bucket_name,
            prefix,
            delimiter,
            wildcard_match=wildcard_match,
            use_regex=use_regex,
            start_after_key=start_after_key,
            from_datetime=from_datetime,
            to_datetime=to_datetime,
            page_size=page_size,
            max_items=max_items,
        ):
            yield summary.key

    def list_keys(
        self,
        bucket_name: str,
        prefix: str | None = None,
        delimiter: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
        start_after_key: str | None = None,
        from_datetime: datetime | None = None,
        to_datetime: datetime | None = None,
        object_filter: Callable[..., list[str]] | None = None,
        apply_wildcard: bool = False,
    ) -> list[str]:
        """The keys under ``prefix`` (without those under a common prefix when ``delimiter`` is given).

        ``apply_wildcard`` treats ``*`` (and ``?``, ``[...]``) in ``prefix`` as wildcards.
        ``object_filter(objects, from_datetime, to_datetime)``, if given, receives the listed objects
        as dicts (``Key``, ``Size``, ``ETag``, ``LastModified``) and returns the keys to keep.
        """
        if object_filter is not None:
            listed = [
                summary.as_dict()
                for summary in self.iter_objects(
                    bucket_name,
                    prefix or "",
                    delimiter or "",
                    wildcard_match=apply_wildcard,
                    start_after_key=start_after_key,
                    page_size=page_size,
                    max_items=max_items,
                )
            ]
            return list(object_filter(listed, from_datetime, to_datetime))
        return list(
            self.iter_keys(
                bucket_name,
                prefix or "",
                delimiter or "",
                wildcard_match=apply_wildcard,
                start_after_key=start_after_key,
                from_datetime=from_datetime,
                to_datetime=to_datetime,
                page_size=page_size,
                max_items=max_items,
            )
        )

    def iter_file_metadata(
        self, prefix: str, bucket_name: str, page_size: int | None = None, max_items: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Listing entries under ``prefix`` as dicts (``Key``, ``Size``, ``ETag``, ``LastModified``)."""
        for summary in self.iter_objects(bucket_name, prefix, page_size=page_size, max_items=max_items):
            yield summary.as_dict()

    def list_prefixes(
        self,
        bucket_name: str,
        prefix: str | None = None,
        delimiter: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> list[str]:
        """The common prefixes ("sub-folders") one ``delimiter`` level under ``prefix``."""
        from huaweicloud_toolkit.obs import PAGE_SIZE, iter_prefixes

        prefixes = iter_prefixes(
            self.session,
            _bucket(bucket_name),
            prefix or "",
            delimiter=delimiter or "/",
            page_size=page_size or PAGE_SIZE,
        )
        found: list[str] = []
        for entry in prefixes:
            found.append(entry)
            if max_items is not None and len(found) >= max_items:
                break
        return found

    def check_for_prefix(self, prefix: str, delimiter: str, bucket_name: str) -> bool:
        """Whether any object lies under ``prefix`` (taken as a "folder": ``delimiter`` is appended)."""
        if not prefix.endswith(delimiter):
            prefix += delimiter
        return next(iter(self.iter_keys(bucket_name, prefix, max_items=1)), None) is not None

    # Objects: metadata -------------------------------------------------------------------------

    @unify_bucket_name_and_key
    def head_object(
        self, key: str, bucket_name: str | None = None, version_id: str | None = None
    ) -> dict[str, Any] | None:
        """The object's metadata under the S3 names (``ContentLength``, ``ETag``, ``LastModified``,
        ``ContentType``, ``Metadata``, ``VersionId``, ...), or None when there is no such object. With
        ``version_id``, of that version of it (in a bucket with versioning)."""
        meta = self._head(key, bucket_name, version_id)
        return meta.as_dict() if meta is not None else None

    def _head(
        self, key: str, bucket_name: str | None, version_id: str | None = None
    ) -> ObjectMetadata | None:
        from huaweicloud_toolkit.obs import head_object

        assert bucket_name is not None
        return head_object(self.session, bucket_name, key, version_id)

    @unify_bucket_name_and_key
    def get_key(
        self, key: str, bucket_name: str | None = None, version_id: str | None = None
    ) -> ObjectMetadata:
        """The object's metadata (:class:`huaweicloud_toolkit.obs.ObjectMetadata`), or with ``version_id``
        that version's; raises ``HuaweiCloudError`` (404, ``NoSuchKey`` / ``NoSuchVersion``) when there
        is no such object or version."""
        meta = self._head(key, bucket_name, version_id)
        if meta is None:
            from huaweicloud_toolkit.errors import HuaweiCloudError

            version = f" version {version_id}" if version_id is not None else ""
            raise HuaweiCloudError(
                f"obs://{bucket_name}/{key}{version} does not exist",
                status=404,
                code="NoSuchKey" if version_id is None else "NoSuchVersion",
                service="obs",
                operation="getObjectMetadata",
            )
        return meta

    @unify_bucket_name_and_key
    def check_for_key(self, key: str, bucket_name: str | None = None) -> bool:
        return self._head(key, bucket_name) is not None

    @unify_bucket_name_and_key
    def check_for_wildcard_key(
        self, wildcard_key: str, bucket_name: str | None = None, delimiter: str = ""
    ) -> bool:
        assert bucket_name is not None
        return self.get_wildcard_key(wildcard_key, bucket_name, delimiter) is not None

    @unify_bucket_name_and_key
    def get_wildcard_key(
        self, wildcard_key: str, bucket_name: str | None = None, delimiter: str = ""
    ) -> str | None:
        """The first key matching the Unix wildcard pattern, or None."""
        assert bucket_name is not None
        return next(
            self.iter_keys(bucket_name, wildcard_key, delimiter, wildcard_match=True, max_items=1), None
        )

    def get_file_metadata_for_keys(
        self,
        bucket_keys: Iterable[str],
        bucket_name: str | None = None,
        *,
        wildcard_match: bool = False,
        use_regex: bool = False,
        metadata_keys: Iterable[str] | None = None,
        all_matches: bool = False,
    ) -> list[dict[str, Any]] | None:
        """What the key sensors wait for: the metadata of the objects matching each of ``bucket_keys``,
        or None as soon as one of them matches nothing. Only the first match of a key is fetched unless
        ``all_matches`` (a ``check_fn`` needs them all)."""
        files: list[dict[str, Any]] = []
        for key in bucket_keys:
            found = self.get_file_metadata_for_key(
                key,
                bucket_name,
                wildcard_match=wildcard_match,
                use_regex=use_regex,
                metadata_keys=metadata_keys,
                max_items=None if all_matches else 1,
            )
            if not found:
                return None
            files.extend(found)
        return files

    def get_file_metadata_for_key(
        self,
        bucket_key: str,
        bucket_name: str | None = None,
        *,
        wildcard_match: bool = False,
        use_regex: bool = False,
        metadata_keys: Iterable[str] | None = None,
        max_items: int | None = None,
    ) -> list[dict[str, Any]]:
        """Metadata of the objects ``bucket_key`` names: the one key, or every key matching it as a Unix
        wildcard pattern (``wildcard_match``) or a regular expression (``use_regex``). Empty when none.

        Each entry holds the ``metadata_keys`` asked for (default ``Size`` and ``Key``; ``*`` for all
        that ``HEAD`` says): ``Key``, ``Size``, ``ETag``, ``LastModified`` come from the listing, anything
        else (``ContentType``, ``Metadata``, ...) from a ``HEAD`` of the object.
        """
        bucket, key = get_obs_bucket_key(bucket_name, bucket_key, "bucket_name", "bucket_key")
        _object_key(key, "bucket_key")
        wanted = list(metadata_keys or ("Size", "Key"))
        listed_names = {"Key", "Size", "ETag", "LastModified", "StorageClass"}
        if not wildcard_match and not use_regex:
            meta = self._head(key, bucket)
            if meta is None:
                return []
            head = {**meta.as_dict(), "Size": meta.size}
            return [head if "*" in wanted else {name: head.get(name) for name in wanted}]
        if wildcard_match and use_regex:
            raise ValueError("wildcard_match and use_regex exclude each other")
        if wildcard_match:
            list_prefix = _WILDCARD.split(key, 1)[0]
            matches: Callable[[str], bool] = functools.partial(_fnmatch, pattern=key)
        else:
            list_prefix = ""
            matches = functools.partial(_regex_match, re.compile(key))
        found: list[dict[str, Any]] = []
        for summary in self.iter_objects(bucket, list_prefix):
            if not matches(summary.key):
                continue
            listed = summary.as_dict()
            if "*" in wanted or not listed_names.issuperset(wanted):
                head_meta = self._head(summary.key, bucket)
                if head_meta is None:  # deleted since the listing
                    continue
                listed = {**listed, **head_meta.as_dict()}
            found.append(listed if "*" in wanted else {name: listed.get(name) for name in wanted})
            if max_items is not None and len(found) >= max_items:
                break
        return found

    # Objects: reading --------------------------------------------------------------------------

    @unify_bucket_name_and_key
    def get_bytes(self, key: str, bucket_name: str | None = None, version_id: str | None = None) -> bytes:
        """The object's content (with ``version_id``, that version's), in memory (use
        :meth:`download_file` for large objects)."""
        from obs import GetObjectRequest

        request = GetObjectRequest(versionId=version_id) if version_id is not None else None
        result = self._call(
            "getObject",
            lambda: self.client.getObject(
                bucket_name, key, getObjectRequest=request, loadStreamInMemory=True
            ),
        )
        buffer = result.body.buffer
        return bytes(buffer) if buffer is not None else b""

    @unify_bucket_name_and_key
    def read_key(
        self, key: str, bucket_name: str | None = None, encoding: str = "utf-8", version_id: str | None = None
    ) -> str:
        return self.get_bytes(key, bucket_name, version_id).decode(encoding)

    @unify_bucket_name_and_key
    def download_file(
        self,
        key: str,
        bucket_name: str | None = None,
        local_path: str | None = None,
        preserve_file_name: bool = False,
        use_autogenerated_subdir: bool = True,
        filename: str | os.PathLike[str] | None = None,
    ) -> str:
        """Download the object to a local file and return its path.

        Without ``preserve_file_name`` the file gets a fresh name (``airflow_tmp_...``) in ``local_path``
        (default: the system's temporary directory); with it, it is named as the key's last segment,
        under a fresh sub-directory unless ``use_autogenerated_subdir`` is False — and an existing file
        is never overwritten. With ``filename`` the object is written to exactly that path (replacing
        a file there). Large objects come in parallel ranges; the file appears only complete.
        """
        from huaweicloud_toolkit.obs import download_file

        assert bucket_name is not None
        directory = Path(local_path or tempfile.gettempdir())
        if filename is not None:
            target = Path(filename)
        elif preserve_file_name:
            subdir = f"airflow_tmp_dir_{uuid4().hex[:8]}" if use_autogenerated_subdir else ""
            target = directory / subdir / key.rsplit("/", 1)[-1]
            if target.exists():
                raise FileExistsError(f"{target} exists already: not overwriting it")
        else:
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / f"airflow_tmp_{uuid4().hex}"
        self.log.info("Downloading obs://%s/%s to %s", bucket_name, key, target)
        result = download_file(
            self.session, bucket_name, key, target, config=self.transfer_config, cancel=self._cancel
        )
        return result.filename

    # Objects: writing --------------------------------------------------------------------------

    def _refuse_existing(self, key: str, bucket_name: str, replace: bool) -> None:
        if not replace and self._head(key, bucket_name) is not None:
            raise ValueError(f"The key {key} already exists.")

    @unify_bucket_name_and_key
    def load_bytes(
        self,
        bytes_data: bytes,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> str:
        """Upload ``bytes_data`` as the object; returns its ETag. An existing key is an error unless
        ``replace``."""
        from huaweicloud_toolkit.obs import upload_fileobj

        assert bucket_name is not None
        self._refuse_existing(key, bucket_name, replace)
        with io.BytesIO(bytes_data) as stream:
            self.last_upload = upload_fileobj(
                self.session,
                stream,
                bucket_name,
                key,
                config=self.transfer_config,
                metadata=metadata,
                content_type=content_type,
                cancel=self._cancel,
            )
        return self.last_upload.etag

    @unify_bucket_name_and_key
    def load_string(
        self,
        string_data: str,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        encoding: str | None = None,
        compression: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> str:
        """Upload ``string_data`` (encoded, ``utf-8`` by default; ``compression="gzip"`` to compress);
        returns the ETag."""
        data = string_data.encode(encoding or "utf-8")
        if compression not in (None, "gzip"):
            raise NotImplementedError(f"compression {compression!r}: only 'gzip' is supported")
        if compression == "gzip":
            data = gz.compress(data)
        return self.load_bytes(data, key, bucket_name, replace, metadata=metadata, content_type=content_type)

    @unify_bucket_name_and_key
    def load_file_obj(
        self,
        file_obj: IO[bytes],
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> str:
        """Upload what a binary file object gives, to its end, streaming: above one part it goes as a
        multipart upload holding at most ``max_concurrency`` parts in memory. Returns the ETag."""
        from huaweicloud_toolkit.obs import upload_fileobj

        assert bucket_name is not None
        self._refuse_existing(key, bucket_name, replace)
        self.last_upload = upload_fileobj(
            self.session,
            file_obj,
            bucket_name,
            key,
            config=self.transfer_config,
            metadata=metadata,
            content_type=content_type,
            cancel=self._cancel,
        )
        return self.last_upload.etag

    @unify_bucket_name_and_key
    def load_file(
        self,
        filename: Path | str,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        gzip: bool = False,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        resumable: bool = False,
    ) -> str:
        """Upload a local file; returns the ETag.

        At least ``multipart_threshold`` bytes go as a multipart upload with parallel parts. With
        ``resumable`` a failed or killed upload leaves a checkpoint next to the file
        (``<file>.obs-checkpoint``) and the next call (e.g. the task's retry) sends only the missing
        parts; without it a failed upload is aborted. Either way no partial object is ever visible.
        """
        from huaweicloud_toolkit.obs import upload_file

        assert bucket_name is not None
        self._refuse_existing(key, bucket_name, replace)
        source = str(filename)
        with tempfile.TemporaryDirectory(prefix="airflow-obs-gzip-") as scratch:
            if gzip:
                compressed = os.path.join(scratch, os.path.basename(source) + ".gz")
                with open(source, "rb") as f_in, gz.open(compressed, "wb") as f_out:
                    shutil.copyfileobj(f_in, f_out)
                source = compressed
            self.last_upload = upload_file(
                self.session,
                source,
                bucket_name,
                key,
                config=self.transfer_config,
                metadata=metadata,
                content_type=content_type,
                resumable=resumable,
                cancel=self._cancel,
            )
        self.log.info(
            "Uploaded %s to obs://%s/%s (%d bytes%s)",
            filename,
            bucket_name,
            key,
            self.last_upload.size,
            f", {self.last_upload.parts} parts" if self.last_upload.multipart else "",
        )
        return self.last_upload.etag

    def copy_object(
        self,
        source_bucket_key: str,
        dest_bucket_key: str,
        source_bucket_name: str | None = None,
        dest_bucket_name: str | None = None,
        metadata: Mapping[str, str] | None = None,
        source_version_id: str | None = None,
    ) -> str:
        """Copy an object server-side — with ``source_version_id``, that version of it; keys may be
        ``obs://`` URLs with the bucket names left out. Objects above the transfer config's
        ``multipart_copy_threshold`` (5 GiB, the most one ``CopyObject`` copies) are copied in parallel
        parts (``UploadPartCopy``); a failed one leaves nothing at the destination. The copy keeps the
        source's user metadata and content headers; with ``metadata`` it gets that user metadata
        instead. Returns the copy's ETag."""
        from huaweicloud_toolkit.obs import copy_object

        dest_bucket, dest_key = get_obs_bucket_key(
            dest_bucket_name, dest_bucket_key, "dest_bucket_name", "dest_bucket_key"
        )
        source_bucket, source_key = get_obs_bucket_key(
            source_bucket_name, source_bucket_key, "source_bucket_name", "source_bucket_key"
        )
        result = copy_object(
            self.session,
            source_bucket,
            source_key,
            dest_bucket,
            dest_key,
            source_version_id=source_version_id,
            metadata=metadata,
            config=self.transfer_config,
            cancel=self._cancel,
        )
        if result.multipart:
            self.log.info(
                "Copied obs://%s/%s to obs://%s/%s in %d parts (%d bytes)",
                source_bucket,
                source_key,
                dest_bucket,
                dest_key,
                result.parts,
                result.size,
            )
        return result.etag

    def move(
        self,
        source_bucket_key: str,
        dest_bucket_key: str,
        source_bucket_name: str | None = None,
        dest_bucket_name: str | None = None,
    ) -> str:
        """Copy the object to the destination, then delete the source; returns the copy's ETag.

        The source is deleted only once the copy is verified: the destination must have the source's
        size (and, for an object not uploaded in parts, its ETag, the content's MD5), and the source must
        still be the object that was copied (same ETag). Otherwise ``HuaweiCloudError`` (code
        ``MoveNotVerified``) is raised and both objects are left as they are. Moving an object onto
        itself does nothing.
        """
        source_bucket, source_key = get_obs_bucket_key(
            source_bucket_name, source_bucket_key, "source_bucket_name", "source_bucket_key"
        )
        dest_bucket, dest_key = get_obs_bucket_key(
            dest_bucket_name, dest_bucket_key, "dest_bucket_name", "dest_bucket_key"
        )
        source = self.get_key(source_key, source_bucket)
        if (source_bucket, source_key) == (dest_bucket, dest_key):
            return source.etag
        etag = self.copy_object(source_key, dest_key, source_bucket, dest_bucket)
        problem = _copy_problem(source, self._head(dest_key, dest_bucket))
        if problem is None:
            # A source rewritten since it was copied must not be lost with the delete.
            now = self._head(source_key, source_bucket)
            if now is not None and now.etag != source.etag:
                problem = f"the source changed meanwhile: ETag {now.etag}, copied {source.etag}"
        if problem is not None:
            raise _move_not_verified(source, problem)
        self.delete_objects(source_bucket, [source_key])
        return etag

    def delete_objects(self, bucket: str, keys: str | Iterable[str | tuple[str, str]]) -> int:
        """Delete ``keys`` (one key, or any iterable, consumed lazily) in batches of 1,000 keys per
        request; returns how many were deleted. A ``(key, version_id)`` pair deletes that version for
        good (a plain key in a versioned bucket gets a delete marker). Missing keys count as deleted.
        Keys OBS refuses are raised together, after every batch was tried."""
        from huaweicloud_toolkit.obs import delete_objects

        bucket_name = _bucket(bucket, "bucket")
        report = delete_objects(self.session, bucket_name, [keys] if isinstance(keys, str) else keys)
        self.log.info(
            "Deleted %d objects from bucket %s in %d requests", report.deleted, bucket_name, report.requests
        )
        self._raise_delete_errors(bucket_name, report)
        return report.deleted

    @staticmethod
    def _raise_delete_errors(bucket: str, report: Any) -> None:
        if report.errors:
            from huaweicloud_toolkit.errors import HuaweiCloudError

            shown = "; ".join(f"{e.key[:100]!r}: {e.code} {e.message}" for e in report.errors[:10])
            more = f" and {len(report.errors) - 10} more" if len(report.errors) > 10 else ""
            raise HuaweiCloudError(
                f"{len(report.errors)} objects of bucket {bucket} were not deleted: {shown}{more}",
                code=report.errors[0].code,
                service="obs",
                operation="deleteObjects",
            )

    @unify_bucket_name_and_key
    def generate_presigned_url(
        self,
        key: str,
        bucket_name: str | None = None,
        method: str = "GET",
        expires_in: int = 3600,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """A URL that lets whoever holds it ``GET`` (or ``PUT``, ``HEAD``, ``DELETE``) the object for
        ``expires_in`` seconds, without keys. Nothing is sent to OBS to make it."""
        from huaweicloud_toolkit.obs import presigned_url

        assert bucket_name is not None
        return presigned_url(
            self.session, bucket_name, key, method=method, expires_in=expires_in, headers=headers
        )

    def generate_presigned_post(
        self,
        bucket_name: str,
        key: str,
        fields: Mapping[str, str] | None = None,
        conditions: list[Any] | None = None,
        expires_in: int = 3600,
    ) -> dict[str, Any]:
        """A form that lets a browser upload the object ``key`` (``${filename}`` at its end: any name after
        that prefix) with a POST for ``expires_in`` seconds, without keys: ``{"url": ..., "fields": {...}}``,
        as boto3's ``generate_presigned_post``. ``conditions`` add to the policy (``["content-length-range",
        0, 10485760]``, ``["starts-with", "$Content-Type", "image/"]`` ...); each of ``fields`` no condition
        names must be sent as given. Nothing is sent to OBS to make it."""
        from huaweicloud_toolkit.obs import presigned_post

        return presigned_post(
            self.session, bucket_name, key, fields=fields, conditions=conditions, expires_in=expires_in
        )


def _copy_problem(source: ObjectMetadata, copy: ObjectMetadata | None) -> str | None:
    """What is wrong with the copy of ``source``, if anything: it must have the same size and, unless
    either was written in parts (their ETags are no content MD5s), the same ETag (content MD5)."""
    if copy is None:
        return "the copy is missing"
    if copy.size != source.size:
        return f"the copy has {copy.size} bytes, the source {source.size}"
    if not source.is_multipart and not copy.is_multipart and copy.etag != source.etag:
        return f"the copy has ETag {copy.etag}, the source {source.etag}"
    return None


def _move_not_verified(source: ObjectMetadata, problem: str) -> Exception:
    from huaweicloud_toolkit.errors import HuaweiCloudError

    return HuaweiCloudError(
        f"move of obs://{source.bucket}/{source.key} not verified ({problem}): the source was not deleted",
        code="MoveNotVerified",
        service="obs",
        operation="move",
    )


def _fnmatch(key: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(key, pattern)


def _regex_match(pattern: re.Pattern[str], key: str) -> bool:
    return pattern.match(key) is not None
