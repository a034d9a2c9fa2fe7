"""``hwcloud obs cp`` and ``hwcloud obs sync``: files to objects, objects to files, objects to objects.

Uploads and downloads go through the toolkit's transfer engine (multipart and ranged, parallel, checked
by MD5); copies between buckets are server-side. Many files are sent ``--max-concurrency`` at a time
(each small one a single request); a file of at least the multipart threshold (16 MiB) is sent by
itself, its parts in parallel. The first failure stops new transfers (those in flight finish) and fails
the command.

Names follow awscli: a destination ending in ``/`` (or an existing folder) receives the source's file
name; with ``--recursive`` a folder or prefix is copied whole, each file at its relative path. ``sync``
copies only what is missing or changed (size, or a newer modification time, to the second) and with
``--delete`` removes what the source no longer has. A key that cannot be a relative file name (an
empty, ``.`` or ``..`` segment) is refused rather than written outside the target folder.
"""

from __future__ import annotations

import argparse
import functools
import os
import posixpath
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huaweicloud_toolkit.cli.args import add_command, add_filters, key_value
from huaweicloud_toolkit.cli.context import Context
from huaweicloud_toolkit.cli.exits import CliError, ExitCode
from huaweicloud_toolkit.cli.globs import PathFilter
from huaweicloud_toolkit.cli.obs import folder, raise_refused
from huaweicloud_toolkit.cli.output import Progress

STDIN = "-"


@dataclass(frozen=True)
class Place:
    """One side of a transfer: a local path (``bucket`` None) or an object key / prefix."""

    bucket: str | None
    path: str

    @classmethod
    def parse(cls, text: str) -> Place:
        from huaweicloud_toolkit.obs.urls import is_obs_url, parse_obs_url

        if is_obs_url(text):
            bucket, key = parse_obs_url(text)
            return cls(bucket, key)
        return cls(None, text)

    @property
    def local(self) -> bool:
        return self.bucket is None

    @property
    def url(self) -> str:
        return self.path if self.bucket is None else f"obs://{self.bucket}/{self.path}"

    def child(self, relative: str) -> Place:
        """The file or object at ``relative`` (``/``-separated) under this folder or prefix."""
        if self.bucket is not None:
            return Place(self.bucket, folder(self.path) + relative)
        parts = relative.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise CliError(
                f"{relative!r} cannot be written under {self.path}: it is not a relative file name"
            )
        return Place(None, os.path.join(self.path, *parts))

    def for_file(self, name: str) -> Place:
        """Where a single file called ``name`` goes: into this folder, or to this very name."""
        if self.bucket is not None:
            return Place(self.bucket, self.path + name if folder(self.path) == self.path else self.path)
        if self.path.endswith(("/", os.sep)) or os.path.isdir(self.path):
            return Place(None, os.path.join(self.path, name))
        return self


@dataclass(frozen=True)
class Entry:
    """A file or object of a folder: its size and modification time (seconds since the epoch)."""

    size: int
    mtime: float


@dataclass(frozen=True)
class Transfer:
    source: Place
    destination: Place
    size: int  # -1: not known (standard input)
    mtime: float | None = None  # the object's time, given to the file it is downloaded to


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    cp = add_command(
        commands, "cp", copy_command, common, "copy files to objects, objects to files or objects"
    )
    cp.add_argument("source", help="a local path, - (standard input) or obs://bucket/key")
    cp.add_argument("destination", help="a local path or obs://bucket/key (ending in /: a folder)")
    cp.add_argument("--recursive", action="store_true", help="copy a folder or prefix whole")
    cp.add_argument(
        "--no-overwrite", action="store_true", help="fail (exit 6) if a destination exists already"
    )
    _transfer_options(cp)

    sync = add_command(commands, "sync", sync_command, common, "copy only what is missing or changed")
    sync.add_argument("source", help="a local folder or obs://bucket/prefix")
    sync.add_argument("destination", help="a local folder or obs://bucket/prefix")
    sync.add_argument("--delete", action="store_true", help="delete what the source does not have")
    _transfer_options(sync)


def _transfer_options(parser: argparse.ArgumentParser) -> None:
    add_filters(parser, "files")
    parser.add_argument("--content-type", help="Content-Type of uploaded objects")
    parser.add_argument(
        "--metadata",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="user metadata of uploaded or copied objects (repeatable)",
    )
    parser.add_argument(
        "--max-concurrency", type=int, default=10, help="files, or parts of one file, in flight (default 10)"
    )


# Commands ----------------------------------------------------------------------------------------


def copy_command(ctx: Context) -> dict[str, Any]:
    source, destination = _sides(ctx.args.source, ctx.args.destination, "cp")
    transfers = plan_copy(ctx, source, destination)
    if ctx.args.no_overwrite:
        _refuse_existing(ctx, transfers)
    results = execute(ctx, transfers)
    return {"transferred": results, "bytes": sum(r["size"] for r in results)}


def sync_command(ctx: Context) -> dict[str, Any]:
    source, destination = _sides(ctx.args.source, ctx.args.destination, "sync")
    if source.local and source.path == STDIN:
        raise CliError("obs sync takes folders, not standard input")
    selected = PathFilter(ctx.args.filters)
    have = inventory(ctx, source, selected, role="source")
    present = inventory(ctx, destination, selected, role="destination")
    transfers = [
        Transfer(source.child(rel), destination.child(rel), entry.size, entry.mtime)
        for rel, entry in have.items()
        if _changed(entry, present.get(rel))
    ]
    stale = sorted(set(present) - set(have)) if ctx.args.delete else []
    results = execute(ctx, transfers)
    deleted = _delete(ctx, destination, stale)
    return {
        "transferred": results,
        "deleted": deleted,
        "unchanged": len(have) - len(transfers),
        "bytes": sum(r["size"] for r in results),
    }


def _sides(source_text: str, destination_text: str, command: str) -> tuple[Place, Place]:
    from huaweicloud_toolkit.errors import ConfigurationError

    try:
        source, destination = Place.parse(source_text), Place.parse(destination_text)
    except ConfigurationError as error:
        raise CliError(str(error)) from None
    if source.local and destination.local:
        raise CliError(f"obs {command}: one side must be an obs:// URL")
    if destination.local and destination.path == STDIN:
        raise CliError(f"obs {command}: cannot write objects to standard output")
    if source.local and source.path == STDIN and folder(destination.path) == destination.path:
        raise CliError(f"obs {command} -: the destination must be a full key, obs://bucket/key")
    return source, destination


# Plans -------------------------------------------------------------------------------------------


def plan_copy(ctx: Context, source: Place, destination: Place) -> list[Transfer]:
    """The transfers one ``cp`` makes, with their sizes (nothing is sent yet)."""
    from huaweicloud_toolkit.obs import head_object

    args = ctx.args
    selected = PathFilter(args.filters)
    if source.local and source.path == STDIN:
        return [Transfer(source, destination, -1)]
    if source.local:
        path = Path(source.path)
        if not path.exists():
            raise CliError(f"{path} does not exist", ExitCode.NOT_FOUND)
        if path.is_dir():
            if not args.recursive:
                raise CliError(f"{path} is a folder: add --recursive to copy it whole")
            return _from_inventory(inventory(ctx, source, selected, role="source"), source, destination)
        if not selected(path.name):
            return []
        return [Transfer(source, destination.for_file(path.name), path.stat().st_size)]
    assert source.bucket is not None
    if args.recursive:
        return _from_inventory(inventory(ctx, source, selected, role="source"), source, destination)
    if not source.path:
        raise CliError("obs cp needs obs://bucket/key (or --recursive to copy a whole prefix)")
    name = posixpath.basename(source.path)
    found = head_object(ctx.session, source.bucket, source.path)
    if found is None:
        raise CliError(f"{source.url} does not exist", ExitCode.NOT_FOUND)
    if not selected(name):
        return []
    mtime = found.last_modified.timestamp() if found.last_modified else None
    return [Transfer(source, destination.for_file(name), found.size, mtime)]


def _from_inventory(entries: dict[str, Entry], source: Place, destination: Place) -> list[Transfer]:
    return [
        Transfer(source.child(rel), destination.child(rel), entry.size, entry.mtime)
        for rel, entry in entries.items()
    ]


def inventory(ctx: Context, place: Place, selected: PathFilter, *, role: str) -> dict[str, Entry]:
    """The files under a local folder, or the objects under a prefix, by relative path. A source that
    does not exist is an error; a destination that does not exist is empty."""
    if place.bucket is None:
        return _local_inventory(ctx, Path(place.path), selected, required=role == "source")
    from huaweicloud_toolkit.obs import iter_objects

    prefix = folder(place.path)
    entries = {}
    for summary in iter_objects(ctx.session, place.bucket, prefix):
        relative = summary.key[len(prefix) :]
        if relative and not relative.endswith("/") and selected(relative):  # "folder/" markers hold nothing
            mtime = summary.last_modified.timestamp() if summary.last_modified else 0.0
            entries[relative] = Entry(summary.size, mtime)
    return entries


def _local_inventory(ctx: Context, root: Path, selected: PathFilter, *, required: bool) -> dict[str, Entry]:
    if not root.exists():
        if required:
            raise CliError(f"{root} does not exist", ExitCode.NOT_FOUND)
        return {}
    if not root.is_dir():
        raise CliError(f"{root} is a file, not a folder")
    entries = {}
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            if not selected(relative):
                continue
            try:
                stat = os.stat(path)
            except FileNotFoundError:  # a dangling symbolic link
                ctx.stderr.write(f"hwcloud: warning: skipping {path}: it points to nothing\n")
                continue
            entries[relative] = Entry(stat.st_size, stat.st_mtime)
    return entries


def _changed(source: Entry, destination: Entry | None) -> bool:
    # Whole seconds: OBS keeps an object's time to the second, and a download gets the object's time.
    return (
        destination is None or source.size != destination.size or int(source.mtime) > int(destination.mtime)
    )


def _refuse_existing(ctx: Context, transfers: list[Transfer]) -> None:
    from huaweicloud_toolkit.obs import head_object

    for transfer in transfers:
        target = transfer.destination
        exists = (
            os.path.exists(target.path)
            if target.bucket is None
            else head_object(ctx.session, target.bucket, target.path) is not None
        )
        if exists:
            raise CliError(
                f"{target.url} exists already (and overwriting was not asked for)", ExitCode.CONFLICT
            )


# Execution ---------------------------------------------------------------------------------------


def execute(ctx: Context, transfers: list[Transfer]) -> list[dict[str, Any]]:
    """Run the transfers; their results in the order given."""
    from huaweicloud_toolkit.obs import TransferConfig
    from huaweicloud_toolkit.obs.transfer import run_bounded

    config = TransferConfig(max_concurrency=ctx.args.max_concurrency)
    progress = ctx.progress(files=len(transfers), size=sum(max(t.size, 0) for t in transfers))
    results: list[dict[str, Any]] = [{} for _ in transfers]

    def run(index: int) -> None:
        results[index] = perform(ctx, transfers[index], config, progress)

    single = [i for i, t in enumerate(transfers) if _one_request(t, config)]
    in_parts = [i for i, t in enumerate(transfers) if not _one_request(t, config)]
    try:
        run_bounded((functools.partial(run, i) for i in single), config.max_concurrency, None)
        for index in in_parts:  # one at a time: each sends its parts max_concurrency at a time
            run(index)
    finally:
        progress.close()
    return results


def _one_request(transfer: Transfer, config: Any) -> bool:
    """Whether the transfer is one request (many run at once) rather than parts: a server-side copy up to
    ``multipart_copy_threshold`` (5 GiB), an upload or download below ``multipart_threshold``."""
    if transfer.size < 0:  # standard input: streamed in parts
        return False
    if transfer.source.bucket is not None and transfer.destination.bucket is not None:
        return transfer.size <= config.multipart_copy_threshold
    return transfer.size < config.multipart_threshold


def perform(ctx: Context, transfer: Transfer, config: Any, progress: Progress) -> dict[str, Any]:
    from huaweicloud_toolkit.obs import copy_object, download_file, upload_file, upload_fileobj

    session, source, target = ctx.session, transfer.source, transfer.destination
    metadata = dict(ctx.args.metadata)
    counted = 0  # bytes already reported part by part

    def on_part(number: int, size: int) -> None:
        nonlocal counted
        counted += size
        progress.advance(nbytes=size)

    if source.bucket is None:
        assert target.bucket is not None
        upload: Callable[..., Any] = (
            functools.partial(upload_fileobj, session, sys.stdin.buffer)
            if source.path == STDIN
            else functools.partial(upload_file, session, source.path)
        )
        uploaded = upload(
            target.bucket,
            target.path,
            config=config,
            metadata=metadata,
            content_type=ctx.args.content_type,
            on_part=on_part,
        )
        size, etag = uploaded.size, uploaded.etag
    elif target.bucket is None:
        downloaded = download_file(session, source.bucket, source.path, target.path, config=config)
        if transfer.mtime is not None:
            os.utime(downloaded.filename, (transfer.mtime, transfer.mtime))
        size, etag = downloaded.size, downloaded.etag
    else:
        # Server side; in parts above 5 GiB. With metadata, the copy has it instead of the source's.
        copied = copy_object(
            session,
            source.bucket,
            source.path,
            target.bucket,
            target.path,
            metadata=metadata or None,
            config=config,
            on_part=on_part,
        )
        size, etag = copied.size, copied.etag
    progress.advance(files=1, nbytes=size - counted)
    return {"source": source.url, "destination": target.url, "size": size, "etag": etag}


def _delete(ctx: Context, destination: Place, stale: list[str]) -> list[str]:
    """Delete what ``sync --delete`` found only at the destination; their paths or URLs."""
    from huaweicloud_toolkit.obs import delete_objects

    places = [destination.child(rel) for rel in stale]
    if destination.bucket is None:
        for place in places:
            os.remove(place.path)
    elif places:
        raise_refused(
            destination.bucket, delete_objects(ctx.session, destination.bucket, [p.path for p in places])
        )
    return [place.url for place in places]
