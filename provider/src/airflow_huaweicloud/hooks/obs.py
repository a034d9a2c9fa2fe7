"""OBSHook: Huawei Cloud Object Storage Service for Airflow, on the toolkit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow_huaweicloud.hooks.base import HuaweiCloudBaseHook
from huaweicloud_toolkit.errors import from_obs_result


class OBSHook(HuaweiCloudBaseHook):
    """Buckets and objects in OBS. Every failed call raises ``HuaweiCloudError`` with the OBS error code,
    message and request id."""

    hook_name = "Huawei Cloud OBS"

    @property
    def client(self) -> Any:
        return self.session.obs_client()

    def _call(self, operation: str, fn: Any, ok: Any = range(200, 300)) -> Any:
        return self.session.call_obs(fn, operation=operation, ok_statuses=ok)

    def check_for_bucket(self, bucket_name: str) -> bool:
        return self._call("headBucket", lambda: self.client.headBucket(bucket_name), (200, 404)).status == 200

    def create_bucket(self, bucket_name: str, region: str | None = None) -> None:
        """Create the bucket in ``region`` (default: the connection's); a bucket we own already is fine."""
        location = region or self.session.region
        result = self._call(
            "createBucket", lambda: self.client.createBucket(bucket_name, location=location), (200, 409)
        )
        if result.status == 409 and result.errorCode != "BucketAlreadyOwnedByYou":
            raise from_obs_result(result, operation="createBucket")

    def load_bytes(self, data: bytes, key: str, bucket_name: str) -> str:
        """Upload ``data`` as ``key``; returns the object's ETag."""
        result = self._call("putContent", lambda: self.client.putContent(bucket_name, key, data))
        return str(result.body.etag).strip('"')

    def load_string(self, string_data: str, key: str, bucket_name: str, encoding: str = "utf-8") -> str:
        return self.load_bytes(string_data.encode(encoding), key, bucket_name)

    def get_bytes(self, key: str, bucket_name: str) -> bytes:
        result = self._call(
            "getObject", lambda: self.client.getObject(bucket_name, key, loadStreamInMemory=True)
        )
        return bytes(result.body.buffer)

    def read_key(self, key: str, bucket_name: str, encoding: str = "utf-8") -> str:
        return self.get_bytes(key, bucket_name).decode(encoding)

    def check_for_key(self, key: str, bucket_name: str) -> bool:
        result = self._call(
            "getObjectMetadata", lambda: self.client.getObjectMetadata(bucket_name, key), (200, 404)
        )
        return result.status == 200

    def iter_keys(self, bucket_name: str, prefix: str = "") -> Iterator[str]:
        from huaweicloud_toolkit.obs import iter_objects

        return (summary.key for summary in iter_objects(self.session, bucket_name, prefix))

    def list_keys(self, bucket_name: str, prefix: str = "") -> list[str]:
        return list(self.iter_keys(bucket_name, prefix))
