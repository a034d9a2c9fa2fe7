"""`make demo`: start the emulator, run the example DAG on it with `airflow dags test`, summarise, stop."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from airflow_huaweicloud.testing import AirflowSandbox, connection_env
from huaweicloud_emulator.process import EmulatorProcess

DAG_ID = "huaweicloud_obs_round_trip"
EXAMPLES = Path(__file__).resolve().parent


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="huaweicloud-demo-") as tmp:
        print("Starting the Huawei Cloud emulator ...", flush=True)
        with EmulatorProcess(Path(tmp) / "emulator-data") as emulator:
            print(f"  emulator at {emulator.base_url} (data in a temporary directory)")
            connection = connection_env(
                access_key=emulator.access_key,
                secret_key=emulator.secret_key,
                region="cn-north-4",
                endpoint=emulator.base_url,
            )
            sandbox = AirflowSandbox(Path(tmp) / "airflow", EXAMPLES / "dags", env=connection)
            print("Preparing a throwaway Airflow home (airflow db migrate) ...", flush=True)
            sandbox.migrate()
            print(f"Running `airflow dags test {DAG_ID}` ...", flush=True)
            result = sandbox.dags_test(DAG_ID)
        print()
        print(f"DAG {DAG_ID}: {'succeeded' if result.succeeded else 'FAILED'}")
        for task_id, state in sorted(result.task_states.items()):
            print(f"  {task_id:<15} {state}")
        sizes = result.xcoms.get("verify") or {}
        if sizes:
            print(
                f"  {len(sizes)} objects written to obs://airflow-demo/reports/, listed and read back intact "
                f"({sum(sizes.values())} bytes)"
            )
        if not result.succeeded:
            print("\nLast lines of the run's output:\n" + "\n".join(result.output.splitlines()[-40:]))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
