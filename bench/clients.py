"""boto3 as every benchmark drives it: one configuration for all servers, so only the server differs.

Path-style addressing and SigV4 (our emulator and moto both take them); otherwise boto3's defaults, as
a user gets them (s3transfer's 8 MiB parts and 10 threads, botocore's default checksums). No retries:
an error must show, not be hidden in a slower figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

BUCKET = "bench"


def server_spec(server: Any) -> dict[str, str]:
    """What a worker process needs to reach a server (plain values, JSON-able)."""
    fields = ("name", "base_url", "region", "access_key", "secret_key")
    return {name: getattr(server, name) for name in fields}


def s3_client(spec: Mapping[str, str], pool: int = 10) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=spec["base_url"],
        region_name=spec["region"],
        aws_access_key_id=spec["access_key"],
        aws_secret_access_key=spec["secret_key"],
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            max_pool_connections=pool,
        ),
    )


def ensure_bucket(client: Any, spec: Mapping[str, str], bucket: str = BUCKET) -> None:
    from botocore.exceptions import ClientError

    extra = (
        {}
        if spec["region"] == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": spec["region"]}}
    )
    try:
        client.create_bucket(Bucket=bucket, **extra)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def presign(
    client: Any, method: str, keys: Iterable[str], bucket: str = BUCKET, expires: int = 6 * 3600
) -> list[str]:
    """Presigned URLs (SigV4 query string, unsigned payload), made by botocore without a request each."""
    operation = {"GET": "get_object", "PUT": "put_object", "HEAD": "head_object"}[method]
    return [
        client.generate_presigned_url(operation, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)
        for key in keys
    ]


def connection_env(spec: Mapping[str, str]) -> dict[str, str]:
    """``AIRFLOW_CONN_HUAWEICLOUD_DEFAULT`` pointing at the emulator, for OBSHook in a worker."""
    document = {
        "conn_type": "huaweicloud",
        "login": spec["access_key"],
        "password": spec["secret_key"],
        "extra": {"region": spec["region"], "endpoint": spec["base_url"]},
    }
    return {"AIRFLOW_CONN_HUAWEICLOUD_DEFAULT": json.dumps(document)}
