"""OBS through Airflow's ObjectStoragePath: paths like pathlib's, on `obs://bucket/key`.

Writes a day of CSV reports, lists and reads them back, archives one with a server-side copy, and
hands a summary to the next task by XCom. Runs as is against the local emulator or the cloud: only the
`huaweicloud_default` connection differs. The snippets of docs/obs-filesystem-and-logs.md are cut from
this file.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import ObjectStoragePath, dag, task

BUCKET = "airflow-object-storage"
DAY = "2026-01-05"
SHOPS = {"north": [120, 80], "south": [95], "west": [40, 41, 42]}

# [START howto_obs_path]
# The connection goes before the bucket (or as conn_id=...): nothing is read or sent until first use.
base = ObjectStoragePath(f"obs://huaweicloud_default@{BUCKET}/reports/")
# [END howto_obs_path]


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["huaweicloud", "obs", "example"],
)
def huaweicloud_obs_object_storage():
    @task
    def create_bucket() -> str:
        # [START howto_obs_path_mkdir]
        base.mkdir(parents=True, exist_ok=True)  # creates the bucket; "folders" need no creating
        # [END howto_obs_path_mkdir]
        return base.bucket

    @task
    def write_reports() -> list[str]:
        # [START howto_obs_path_write]
        day = base / DAY
        for shop, orders in SHOPS.items():
            report = day / f"{shop}.csv"
            report.write_text("order,amount\n" + "".join(f"{n},{a}\n" for n, a in enumerate(orders)))
            print(f"Wrote {report} ({report.stat().st_size} bytes)")
        # Streamed: parts go up while the file is written, the object appears on close (and not at all
        # if the block fails).
        with (day / "_SUCCESS").open("w") as marker:
            marker.write(f"{len(SHOPS)} reports\n")
        # [END howto_obs_path_write]
        return sorted(path.name for path in day.iterdir())

    @task
    def summarize(names: list[str]) -> dict:
        # [START howto_obs_path_read]
        day = base / DAY
        rows, size = 0, 0
        for report in sorted(day.glob("*.csv")):
            with report.open() as f:
                rows += len(f.readlines()) - 1  # minus the header
            size += report.stat().st_size
        # [END howto_obs_path_read]
        # [START howto_obs_path_copy]
        archive = ObjectStoragePath(f"obs://huaweicloud_default@{BUCKET}/archive/{DAY}/")
        (day / "north.csv").copy(archive / "north.csv")  # same store: a server-side copy
        # [END howto_obs_path_copy]
        archived = sorted(path.name for path in archive.iterdir())
        summary = {"files": names, "rows": rows, "bytes": size, "archived": archived}
        print(f"Summary of {day}: {summary}")
        return summary

    names = write_reports()
    create_bucket() >> names
    summarize(names)


huaweicloud_obs_object_storage()
