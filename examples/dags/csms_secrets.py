"""Connections and variables from Huawei Cloud CSMS: nothing here, nothing in Airflow's database.

Configure the secrets backend (see docs/csms.md), for example through the environment::

    AIRFLOW__SECRETS__BACKEND=airflow_huaweicloud.secrets.csms.CSMSBackend
    AIRFLOW__SECRETS__BACKEND_KWARGS='{"region": "cn-north-4"}'

and store two secrets in CSMS:

* ``airflow-connections-warehouse``: the ``warehouse`` connection, as a URI
  (``postgresql://etl:...@warehouse.internal:5432/analytics?sslmode=require``) or as JSON;
* ``airflow-variables-report_owner``: the value of the ``report_owner`` variable.

The tasks read them the usual way (``BaseHook.get_connection``, ``Variable.get``) and pass on what
they learnt, never the password.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Variable, dag, task

from airflow_huaweicloud.version_compat import BaseHook  # where the running Airflow has it


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["huaweicloud", "csms", "example"],
)
def huaweicloud_csms_secrets():
    # [START howto_csms_connection]
    @task
    def describe_warehouse() -> dict[str, object]:
        connection = BaseHook.get_connection("warehouse")
        return {
            "conn_type": connection.conn_type,
            "host": connection.host,
            "port": connection.port,
            "schema": connection.schema,
            "login": connection.login,
            "has_password": bool(connection.password),
            "sslmode": connection.extra_dejson.get("sslmode"),
        }

    # [END howto_csms_connection]

    # [START howto_csms_variable]
    @task
    def report_owner() -> str:
        return Variable.get("report_owner")

    # [END howto_csms_variable]

    @task
    def summary(warehouse: dict[str, object], owner: str) -> str:
        return f"{owner} reports from {warehouse['schema']} on {warehouse['host']}:{warehouse['port']}"

    summary(describe_warehouse(), report_owner())


huaweicloud_csms_secrets()
