"""Run a PySpark program on DLI's serverless Spark as a batch job, reading and writing OBS.

* `upload_job_and_input` puts the program (its code is below, in this file) at
  `obs://<bucket>/jobs/word_count.py` and two text files under `obs://<bucket>/input/`.
* `word_count` (DLISparkBatchOperator) runs it: it reads `obs://<bucket>/input/` and writes the count of
  each word as JSON lines under `obs://<bucket>/output/word_counts/`. The task waits for the job (in the
  triggerer: `deferrable=True`); its XCom is the batch job's record.
* `check_word_counts` reads what the job wrote from OBS and returns the three most frequent words.

Trigger it with `{"bad_record": true}` as the run's conf and the upload adds a record the program
refuses: it raises, the batch job ends `dead`, and `word_count` fails with the last lines of the job's
log -- the Python traceback -- in its error.

Runs as is against the local emulator or the cloud: only the `huaweicloud_default` connection differs
(on the cloud, set `queue_name` to a general-purpose queue).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from airflow_huaweicloud.operators.dli import DLISparkBatchOperator

BUCKET = "airflow-example-dli-spark"

# [START howto_dli_spark_program]
WORD_COUNT = """\
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(source: str, target: str) -> None:
    spark = SparkSession.builder.appName("word-count").getOrCreate()
    lines = spark.read.text(source)
    bad = lines.filter(F.col("value").startswith("#ERROR")).collect()
    if bad:
        raise ValueError(f"bad record in {source}: {bad[0].value}")
    words = lines.select(F.explode(F.split(F.lower("value"), "[^a-z]+")).alias("word")).filter("word != ''")
    counts = words.groupBy("word").count()
    counts.write.mode("overwrite").json(target)
    print(f"counted {counts.count()} distinct words of {source} into {target}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
"""
# [END howto_dli_spark_program]

INPUT = {
    "input/part-1.txt": "The data lake\nholds the raw data\n",
    "input/part-2.txt": "and the lake house serves it\n",
}
BAD_RECORD = {"input/part-3.txt": "#ERROR truncated upload\n"}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    params={"bad_record": False},
    tags=["huaweicloud", "dli", "spark", "example"],
)
def huaweicloud_dli_spark_batch():
    @task
    def upload_job_and_input(params: dict | None = None) -> list[str]:
        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        hook.create_bucket(BUCKET)
        hook.load_string(WORD_COUNT, "jobs/word_count.py", BUCKET, replace=True)
        stale = hook.list_keys(BUCKET, prefix="input/")
        if stale:
            hook.delete_objects(BUCKET, stale)
        objects = {**INPUT, **(BAD_RECORD if (params or {}).get("bad_record") else {})}
        for key, text in objects.items():
            hook.load_string(text, key, BUCKET, replace=True)
        return sorted(objects)

    # [START howto_dli_spark_batch_operator]
    word_count = DLISparkBatchOperator(
        task_id="word_count",
        name="word-count",
        file=f"obs://{BUCKET}/jobs/word_count.py",
        args=[f"obs://{BUCKET}/input/", f"obs://{BUCKET}/output/word_counts"],
        conf={"spark.sql.shuffle.partitions": 2},
        driver_memory="1G",
        deferrable=True,
        poll_interval=1,
    )
    # [END howto_dli_spark_batch_operator]

    @task
    def check_word_counts() -> dict[str, int]:
        import json

        from airflow_huaweicloud.hooks.obs import OBSHook

        hook = OBSHook()
        counts: dict[str, int] = {}
        for key in hook.list_keys(BUCKET, prefix="output/word_counts/"):
            if key.rsplit("/", 1)[-1].startswith("part-"):
                for line in hook.read_key(key, BUCKET).splitlines():
                    row = json.loads(line)
                    counts[row["word"]] = row["count"]
        assert sum(counts.values()) == 13, counts
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:3]
        return dict(top)

    upload_job_and_input() >> word_count >> check_word_counts()


huaweicloud_dli_spark_batch()
