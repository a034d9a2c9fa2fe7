"""What differs between the Airflow 3 releases the provider supports (3.0 to 3.3), in one place.

Airflow 3.1's Task SDK took over ``BaseHook``, ``AirflowException``, ``TaskDeferred`` (what an operator's
``defer`` raises) and ``conf`` (``airflow.sdk``, ``airflow.sdk.exceptions``, ``airflow.sdk.configuration``)
and added ``BaseHook.aget_connection``; on 3.0 they come from Airflow core. Every other Airflow name the
provider uses is in ``airflow.sdk`` on 3.0 already. Airflow 3.0 also holds SQLAlchemy below 2.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

try:
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 3.0
    from airflow.hooks.base import BaseHook  # type: ignore[attr-defined,no-redef]

try:
    from airflow.sdk.exceptions import AirflowException, TaskDeferred
except ImportError:  # Airflow 3.0
    from airflow.exceptions import AirflowException, TaskDeferred  # type: ignore[no-redef]

try:
    from airflow.sdk.configuration import conf
except ImportError:  # Airflow 3.0
    from airflow.configuration import conf

if TYPE_CHECKING:
    from airflow.sdk import Connection

__all__ = ["AirflowException", "BaseHook", "TaskDeferred", "aget_connection", "conf", "sqlalchemy_2"]


def sqlalchemy_2() -> bool:
    """Whether SQLAlchemy is 2 or later (never on Airflow 3.0): its psycopg 3 dialect came with 2.
    (Imported when asked, not with this module: DAG files do not need SQLAlchemy.)"""
    import sqlalchemy

    return int(sqlalchemy.__version__.split(".")[0]) >= 2


async def aget_connection(conn_id: str) -> Connection:
    """A connection read from a triggerer's event loop: with the async API where Airflow has it (3.1 and
    later), else with the synchronous one in a worker thread (it cannot run inside the loop)."""
    if hasattr(BaseHook, "aget_connection"):
        return await BaseHook.aget_connection(conn_id)
    return await asyncio.to_thread(BaseHook.get_connection, conn_id)
