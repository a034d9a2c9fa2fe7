"""``[operators] default_deferrable`` is the default of every ``deferrable`` parameter of the provider.

The operators read it when their module is imported (it is a parameter's default), so each setting is
tried in a fresh interpreter with ``AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE`` set: every operator and
sensor class with a ``deferrable`` parameter is found by walking the provider's packages (so one added
later is checked too), and two of them, built without ``deferrable``, are run against the emulator and
defer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from typing import Any

from provider_fixtures import emulator_connection

from airflow_huaweicloud.hooks.functiongraph import FunctionGraphHook
from airflow_huaweicloud.hooks.obs import OBSHook
from huaweicloud_emulator.process import EmulatorProcess

_PROBE = textwrap.dedent(
    """
    import importlib, inspect, json, pkgutil, sys
    from airflow.sdk import BaseOperator
    from airflow_huaweicloud.version_compat import TaskDeferred

    bucket, function_urn = sys.argv[1:]
    defaults = {}
    for package in ("operators", "sensors", "transfers"):
        root = importlib.import_module(f"airflow_huaweicloud.{package}")
        for info in pkgutil.iter_modules(root.__path__):
            module = importlib.import_module(f"{root.__name__}.{info.name}")
            for name, cls in sorted(vars(module).items()):
                ours = isinstance(cls, type) and cls.__module__ == module.__name__
                if ours and issubclass(cls, BaseOperator):
                    # The first __init__ up the MRO with the parameter: a subclass may pass it on in **kwargs.
                    for klass in cls.__mro__:
                        parameter = inspect.signature(klass.__init__).parameters.get("deferrable")
                        if parameter is not None:
                            defaults[f"{module.__name__}.{name}"] = parameter.default
                            break

    class TaskInstance:
        def xcom_push(self, key, value):
            pass

    from airflow_huaweicloud.operators.functiongraph import FunctionGraphInvokeOperator
    from airflow_huaweicloud.sensors.obs import OBSKeySensor

    # What each did: the trigger it deferred to, else what it returned or raised in the worker.
    outcomes = {}
    for task in (
        OBSKeySensor(task_id="sense", bucket_key=f"obs://{bucket}/not-yet", timeout=1, poke_interval=0.2),
        FunctionGraphInvokeOperator(
            task_id="invoke", function_urn=function_urn, invocation_type="async", poll_interval=0.2
        ),
    ):
        try:
            outcome = type(task.execute({"ti": TaskInstance(), "task_instance": TaskInstance()})).__name__
        except TaskDeferred as deferral:
            outcome = f"deferred to {type(deferral.trigger).__name__}"
        except Exception as error:
            outcome = type(error).__name__
        outcomes[task.task_id] = outcome
    print(json.dumps({"defaults": defaults, "outcomes": outcomes}))
    """
)


def probe(setting: str, emulator: EmulatorProcess, bucket: str, function_urn: str) -> dict[str, Any]:
    environment = {
        **os.environ,
        **emulator_connection(emulator),
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": setting,
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, bucket, function_urn],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_every_deferrable_parameter_defaults_to_the_setting(
    hook: OBSHook, bucket: str, emulator: EmulatorProcess
) -> None:
    functions = FunctionGraphHook()  # on the connection the ``hook`` fixture set up
    function_urn = functions.create_function(
        f"deferred-{uuid.uuid4().hex[:8]}", "def handler(event, context):\n    return 'ok'\n"
    )
    on = probe("true", emulator, bucket, function_urn)
    off = probe("false", emulator, bucket, function_urn)

    assert set(on["defaults"]) == set(off["defaults"])
    assert {
        "airflow_huaweicloud.operators.functiongraph.FunctionGraphInvokeOperator",
        "airflow_huaweicloud.sensors.obs.OBSKeySensor",
        "airflow_huaweicloud.operators.dli.DLISqlOperator",
        "airflow_huaweicloud.sensors.mrs.MRSShowJobResultSensor",
    } <= set(on["defaults"])
    assert set(on["defaults"].values()) == {True}
    assert set(off["defaults"].values()) == {False}
    assert on["outcomes"] == {
        "sense": "deferred to OBSKeyTrigger",
        "invoke": "deferred to FunctionGraphInvocationTrigger",
    }
    assert off["outcomes"] == {"sense": "AirflowSensorTimeout", "invoke": "dict"}  # waited in the worker
