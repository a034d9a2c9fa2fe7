"""Alert through Huawei Cloud SMN when a task fails.

`load_orders` fails on purpose; its `on_failure_callback`, an `SMNNotifier`, publishes an alert naming
the DAG, the task, the run, the try, the exception and the log URL to the topic whose URN is in the
Airflow Variable `smn_alert_topic_urn` (e.g. `AIRFLOW_VAR_SMN_ALERT_TOPIC_URN=urn:smn:...`). Every
confirmed subscription of the topic -- e-mail, SMS, an HTTP(S) webhook -- receives it.

Runs as is against the local emulator or the cloud: only the `huaweicloud_default` connection differs.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from airflow_huaweicloud.notifications.smn import SMNNotifier

# [START smn_notifier]
alert_on_failure = SMNNotifier(topic_urn="{{ var.value.smn_alert_topic_urn }}")
# [END smn_notifier]


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["huaweicloud", "smn", "example"],
)
def huaweicloud_smn_failure_alert():
    # [START smn_on_failure_callback]
    @task(retries=0, on_failure_callback=alert_on_failure)
    def load_orders() -> int:
        raise RuntimeError("the orders feed is empty: nothing to load")

    # [END smn_on_failure_callback]

    load_orders()


huaweicloud_smn_failure_alert()
