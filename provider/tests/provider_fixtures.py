"""Shared by the provider's tests: connections to an emulator, and a throwaway Airflow home."""

from __future__ import annotations

from airflow_huaweicloud.testing import connection_env
from huaweicloud_emulator.process import EmulatorProcess

REGION = "cn-north-4"


def emulator_connection(
    emulator: EmulatorProcess, conn_id: str = "huaweicloud_default", **extra
) -> dict[str, str]:
    settings = {
        "access_key": emulator.access_key,
        "secret_key": emulator.secret_key,
        "region": REGION,
        "endpoint": emulator.base_url,
        **extra,
    }
    return connection_env(conn_id, **settings)
