"""The OBS paths ModelArts requests carry, and what is under them.

ModelArts writes an OBS path as ``/bucket/key`` (``work_path``, ``code_dir``, ``obs_url``, ...); models
also take a bucket's URL (``https://bucket.obs.<region>.myhuaweicloud.com/key``) and ``obs://bucket/key``
is accepted everywhere. :func:`obs_url` turns any of them into the ``obs://`` form of the compute layer's
staging; :func:`objects_under` lists the objects under one, for the sizes and sample counts the records
carry; :func:`stage_tree` lays what is under one out as local files, keys as relative paths (a training
job's code and inputs, a service's model).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from ...compute.staging import ObsPath, Staging, StagingError
from ...services.obs.state import ObjectRecord, ObsState, key_bytes, prefix_end
from .state import invalid

_PAGE = 1000


def obs_url(path: object, field: str) -> str:
    """``path`` (``/bucket/key``, ``obs://bucket/key`` or a bucket's https URL) as ``obs://bucket/key``;
    anything else is the API's 400 naming ``field``."""
    if not isinstance(path, str) or not path.strip():
        raise invalid(f"{field} must be an OBS path such as /bucket/folder/")
    text = path.strip()
    if text.startswith("https://") and ".obs." in text:
        parts = urlsplit(text)
        text = f"obs://{parts.hostname.split('.obs.')[0] if parts.hostname else ''}{parts.path}"
    elif text.startswith("/"):
        text = f"obs:/{text}"
    try:
        return ObsPath.parse(text).url
    except StagingError:
        raise invalid(f"{field} must be an OBS path such as /bucket/folder/, not {path!r}") from None


def objects_under(obs: ObsState, url: str) -> list[ObjectRecord]:
    """The objects under ``url`` as a folder (not folder markers), in key order; none if the bucket is
    missing. Blocks."""
    target = ObsPath.parse(url)
    if obs.bucket(target.bucket) is None:
        return []
    lower, inclusive = key_bytes(target.folder), True
    upper = prefix_end(lower)
    found: list[ObjectRecord] = []
    while True:
        page = obs.object_page(target.bucket, lower, inclusive, upper, _PAGE)
        found.extend(record for record in page if not record.key.endswith("/"))
        if len(page) < _PAGE:
            return found
        lower, inclusive = key_bytes(page[-1].key), False


def stage_tree(staging: Staging, url: str, directory: Path) -> list[Path]:
    """Hard-link the objects under ``url`` into ``directory``, pinned (a concurrent overwrite cannot tear
    them) and laid out as their keys below ``url``; an object whose key is ``url`` itself lands there
    under its name. Every object counts, ``__init__.py`` and ``.hidden`` ones too (code, not data). The
    files, in key order; StagingError if the bucket is missing. Blocks."""
    target = ObsPath.parse(url)
    if staging.obs.bucket(target.bucket) is None:
        raise StagingError(f"Path does not exist: {target.url} (no bucket {target.bucket!r})")
    exact = (
        staging.obs.get_object(target.bucket, target.key)
        if target.key and not target.key.endswith("/")
        else None
    )
    records = [exact] if exact is not None else objects_under(staging.obs, url)
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for record in records:
        relative = record.key.rsplit("/", 1)[-1] if exact is not None else record.key[len(target.folder) :]
        pinned = [p for p in staging.pin(f"obs://{record.bucket}/{record.key}") if p.key == record.key]
        if not pinned:  # deleted since it was listed
            continue
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        os.link(pinned[0].path, path)
        files.append(path)
    return files
