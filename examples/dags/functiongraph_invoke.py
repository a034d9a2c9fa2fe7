"""Invoke Huawei Cloud FunctionGraph functions from Airflow, and see how each outcome surfaces.

`create_functions` deploys three small Python functions (their code is below, in this file): one that
returns a summary of the orders it is sent, one that raises, one that outlives its 3 s timeout. Then:

* `invoke_returns` succeeds; the function's result is the task's XCom (JSON decoded).
* `invoke_raises` fails with the function's error (`ValueError: ...`) and the tail of its log.
* `invoke_times_out` fails with FunctionGraph's timeout error.
* `invoke_async` queues an asynchronous invocation and waits for it in the triggerer (deferrable);
  its XCom is the invocation's record (`status` SUCCESS, start and end time).

The three invocations depend only on `create_functions`, so a failing one does not keep the others
from running; the run as a whole ends failed, as two of its tasks do. Runs as is against the local
emulator or the cloud: only the `huaweicloud_default` connection differs.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.functiongraph import FunctionGraphInvokeOperator

RETURNS = "airflow-example-returns"
RAISES = "airflow-example-raises"
TIMES_OUT = "airflow-example-times-out"

# [START howto_functiongraph_handlers]
RETURNS_CODE = """\
def handler(event, context):
    orders = event["orders"]
    print(f"summing {len(orders)} orders")
    return {"orders": len(orders), "total": round(sum(o["qty"] * o["price"] for o in orders), 2)}
"""

RAISES_CODE = """\
def handler(event, context):
    for order in event["orders"]:
        print(f"checking order {order['id']}")
        if order["qty"] < 0:
            raise ValueError(f"order {order['id']} has a negative quantity")
    return "all orders valid"
"""
# [END howto_functiongraph_handlers]

TIMES_OUT_CODE = """\
import time

def handler(event, context):
    print("starting a job that takes a minute")
    time.sleep(60)
    return "done"
"""

ORDERS = {
    "orders": [
        {"id": 15, "qty": 2, "price": 9.5},
        {"id": 16, "qty": 1, "price": 23.5},
        {"id": 17, "qty": -3, "price": 4.0},
    ]
}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["huaweicloud", "functiongraph", "example"],
)
def huaweicloud_functiongraph_invoke():
    # [START howto_functiongraph_create_functions]
    @task
    def create_functions() -> list[str]:
        from airflow_huaweicloud.hooks.functiongraph import FunctionGraphHook

        hook = FunctionGraphHook()
        return [
            hook.create_function(RETURNS, RETURNS_CODE, timeout=10, replace=True),
            hook.create_function(RAISES, RAISES_CODE, timeout=10, replace=True),
            hook.create_function(TIMES_OUT, TIMES_OUT_CODE, timeout=3, replace=True),
        ]

    # [END howto_functiongraph_create_functions]

    # [START howto_functiongraph_invoke_operator]
    valid_orders = {"orders": ORDERS["orders"][:2]}
    invocations = [
        FunctionGraphInvokeOperator(task_id="invoke_returns", function_name=RETURNS, payload=valid_orders),
        FunctionGraphInvokeOperator(task_id="invoke_raises", function_name=RAISES, payload=ORDERS),
        FunctionGraphInvokeOperator(task_id="invoke_times_out", function_name=TIMES_OUT, payload={}),
        FunctionGraphInvokeOperator(
            task_id="invoke_async",
            function_name=RETURNS,
            payload=valid_orders,
            invocation_type="async",
            deferrable=True,
            poll_interval=1,
        ),
    ]
    create_functions() >> invocations
    # [END howto_functiongraph_invoke_operator]


huaweicloud_functiongraph_invoke()
