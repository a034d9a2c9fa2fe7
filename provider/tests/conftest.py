from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_huaweicloud.testing import AirflowSandbox

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "examples" / "dags"


@pytest.fixture(scope="session")
def airflow_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowSandbox]:
    """One migrated Airflow home over the example DAGs; each test passes its own connection env."""
    sandbox = AirflowSandbox(tmp_path_factory.mktemp("airflow-home"), EXAMPLE_DAGS)
    sandbox.migrate()
    yield sandbox
