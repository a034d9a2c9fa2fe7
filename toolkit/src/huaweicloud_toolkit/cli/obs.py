"""``hwcloud obs``: buckets (``mb``, ``rb``, ``ls``) and objects (``ls``, ``rm``, ``exists``, ``presign``);
``cp`` and ``sync`` live in :mod:`.obs_transfers`. Objects are named by ``obs://bucket/key`` URLs.

A recursive command takes its URL's key as a folder: ``obs://b/logs`` means everything under
``logs/`` (never ``logs2/``). ``ls`` lists the prefix as given, one level at a time unless
``--recursive``.
"""

from __future__ import annotations

import argparse
import functools
import itertools
from collections.abc import Iterator
from typing import Any

from huaweicloud_toolkit.cli.args import add_command, add_filters, add_group
from huaweicloud_toolkit.cli.context import Context
from huaweicloud_toolkit.cli.exits import CliError
from huaweicloud_toolkit.cli.globs import PathFilter
from huaweicloud_toolkit.cli.output import emit_streaming

PRESIGN_METHODS = ("GET", "PUT", "HEAD", "DELETE", "POST")


def obs_url(text: str) -> tuple[str, str]:
    """argparse type: ``obs://bucket[/key]`` -> (bucket, key)."""
    from huaweicloud_toolkit.errors import ConfigurationError
    from huaweicloud_toolkit.obs.urls import parse_obs_url

    try:
        return parse_obs_url(text)
    except ConfigurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def folder(key: str) -> str:
    """A key taken as a folder: ``logs`` -> ``logs/``; the empty key (the whole bucket) stays empty."""
    return key if not key or key.endswith("/") else f"{key}/"


def summary(entry: Any) -> dict[str, Any]:
    """An object of a listing (an ``ObjectSummary``) as JSON."""
    return {
        "key": entry.key,
        "size": entry.size,
        "etag": entry.etag,
        "last_modified": entry.last_modified,
        "storage_class": entry.storage_class,
    }


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    from huaweicloud_toolkit.cli import obs_transfers

    commands = add_group(groups, "obs", "Object Storage Service: buckets and objects (obs:// URLs)")

    ls = add_command(commands, "ls", list_command, common, "list buckets, or the objects under a URL")
    ls.add_argument("url", nargs="?", type=obs_url, help="obs://bucket[/prefix]; none: list the buckets")
    ls.add_argument("--recursive", action="store_true", help="every object under the prefix, not one level")
    add_filters(ls, "objects")

    mb = add_command(commands, "mb", make_bucket, common, "create a bucket")
    mb.add_argument("url", type=obs_url, help="obs://bucket")
    mb.add_argument("--location", help="the bucket's region (default: --region)")

    rb = add_command(commands, "rb", remove_bucket, common, "delete a bucket")
    rb.add_argument("url", type=obs_url, help="obs://bucket")
    rb.add_argument("--force", action="store_true", help="empty it first (objects and unfinished uploads)")

    rm = add_command(commands, "rm", remove, common, "delete an object, or with --recursive a whole folder")
    rm.add_argument("url", type=obs_url, help="obs://bucket/key (with --recursive: obs://bucket/folder)")
    rm.add_argument("--recursive", action="store_true", help="every object under the folder, 1,000 a request")
    add_filters(rm, "objects")

    exists = add_command(
        commands, "exists", exists_command, common, "whether an object exists (exit 0 both ways)"
    )
    exists.add_argument("url", type=obs_url, help="obs://bucket/key")

    presign = add_command(commands, "presign", presign_command, common, "a URL that grants one request")
    presign.add_argument("url", type=obs_url, help="obs://bucket/key")
    presign.add_argument(
        "--expires-in", type=int, default=3600, help="seconds the URL is valid (default 3600)"
    )
    presign.add_argument("--method", choices=PRESIGN_METHODS, default="GET", type=str.upper)

    obs_transfers.register(commands, common)


def list_command(ctx: Context) -> None:
    from huaweicloud_toolkit.obs import iter_pages

    if ctx.args.url is None:
        ctx.emit({"buckets": list_buckets(ctx)})
        return
    bucket, prefix = ctx.args.url
    selected = PathFilter(ctx.args.filters)
    pages = iter_pages(ctx.session, bucket, prefix, delimiter=None if ctx.args.recursive else "/")
    first = next(pages)  # before anything is written: a missing bucket fails with an empty stdout
    prefixes: list[str] = []

    def objects() -> Iterator[dict[str, Any]]:
        for page in itertools.chain([first], pages):
            prefixes.extend(page.prefixes)
            yield from (summary(o) for o in page.objects if selected(o.key[len(prefix) :]))

    # The prefixes are written after the objects, once the pages that carry them have been read.
    emit_streaming(
        ctx.stdout, {"bucket": bucket, "prefix": prefix}, "objects", objects(), {"prefixes": prefixes}
    )


def list_buckets(ctx: Context) -> list[dict[str, Any]]:
    from huaweicloud_toolkit.obs import parse_obs_time

    client = ctx.session.obs_client()
    body = ctx.session.call_obs(
        functools.partial(client.listBuckets, isQueryLocation=True), operation="listBuckets"
    ).body
    return [
        {"name": b.name, "creation_date": parse_obs_time(b.create_date), "location": b.location}
        for b in body.buckets or []
    ]


def make_bucket(ctx: Context) -> dict[str, Any]:
    from huaweicloud_toolkit.errors import ConfigurationError

    bucket, key = ctx.args.url
    _no_key(key, "mb")
    location = ctx.args.location
    if location is None:
        try:
            location = ctx.session.region
        except ConfigurationError:
            location = None  # OBS's default region
    client = ctx.session.obs_client()
    ctx.session.call_obs(
        functools.partial(client.createBucket, bucket, location=location), operation="createBucket"
    )
    return {"bucket": bucket, "location": location}


def remove_bucket(ctx: Context) -> dict[str, Any]:
    from huaweicloud_toolkit.obs import abort_multipart_uploads, delete_prefix

    bucket, key = ctx.args.url
    _no_key(key, "rb")
    deleted = aborted = 0
    if ctx.args.force:
        aborted = abort_multipart_uploads(ctx.session, bucket)
        report = delete_prefix(ctx.session, bucket, "")
        raise_refused(bucket, report)
        deleted = report.deleted
    client = ctx.session.obs_client()
    ctx.session.call_obs(functools.partial(client.deleteBucket, bucket), operation="deleteBucket")
    return {"bucket": bucket, "deleted_objects": deleted, "aborted_uploads": aborted}


def remove(ctx: Context) -> dict[str, Any]:
    from huaweicloud_toolkit.obs import delete_objects, iter_objects

    bucket, key = ctx.args.url
    session = ctx.session
    if ctx.args.recursive:
        prefix = folder(key)
        selected = PathFilter(ctx.args.filters)
        keys = (o.key for o in iter_objects(session, bucket, prefix) if selected(o.key[len(prefix) :]))
        report = delete_objects(session, bucket, keys)
        raise_refused(bucket, report)
        return {"bucket": bucket, "prefix": prefix, "deleted": report.deleted, "requests": report.requests}
    if not key:
        raise CliError("obs rm needs obs://bucket/key (or --recursive to delete a whole folder)")
    client = session.obs_client()
    # OBS answers 204 whether or not the key existed (a missing bucket is an error).
    session.call_obs(functools.partial(client.deleteObject, bucket, key), operation="deleteObject")
    return {"bucket": bucket, "key": key, "deleted": 1, "requests": 1}


def exists_command(ctx: Context) -> dict[str, Any]:
    from huaweicloud_toolkit.obs import head_object

    bucket, key = ctx.args.url
    if not key:
        raise CliError("obs exists needs obs://bucket/key")
    found = head_object(ctx.session, bucket, key)
    if found is None:
        return {"exists": False, "bucket": bucket, "key": key}
    return {
        "exists": True,
        "bucket": bucket,
        "key": key,
        "size": found.size,
        "etag": found.etag,
        "last_modified": found.last_modified,
        "content_type": found.content_type,
        "metadata": found.metadata,
    }


def presign_command(ctx: Context) -> dict[str, Any]:
    from huaweicloud_toolkit.obs import presigned_url

    bucket, key = ctx.args.url
    if not key:
        raise CliError("obs presign needs obs://bucket/key")
    url = presigned_url(ctx.session, bucket, key, method=ctx.args.method, expires_in=ctx.args.expires_in)
    return {"url": url, "method": ctx.args.method, "expires_in": ctx.args.expires_in}


def _no_key(key: str, command: str) -> None:
    if key:
        raise CliError(f"obs {command} takes obs://bucket, without a key")


def raise_refused(bucket: str, report: Any) -> None:
    """A batched delete in which OBS refused some keys fails the command, naming the first."""
    from huaweicloud_toolkit.errors import HuaweiCloudError

    if report.errors:
        first = report.errors[0]
        raise HuaweiCloudError(
            f"{len(report.errors)} keys of bucket {bucket} were not deleted; the first, {first.key!r}: "
            f"{first.message}",
            code=first.code,
            service="obs",
            operation="deleteObjects",
        )
