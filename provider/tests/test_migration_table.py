"""docs/migration.md covers the old provider class by class, and what it names here exists.

The old provider (apache-airflow-providers-huawei 1.7.0) is not installed in CI, so its classes are
listed below, relative to ``airflow.providers.huawei.cloud``: this list is the spec of what it had.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

MIGRATION_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "migration.md"

OLD_CLASSES = [
    "hooks.base_huawei_cloud.HuaweiBaseHook",
    "hooks.cdm.CDMHook",
    "hooks.dataarts.DataArtsHook",
    "hooks.dli.DLIHook",
    "hooks.dli.DLIAsyncHook",
    "hooks.dws.DWSHook",
    "hooks.dws_sql.DWSSqlHook",
    "hooks.huawei_obs.OBSHook",
    "hooks.modelarts.ModelArtsHook",
    "hooks.mrs.MRSHook",
    "hooks.mrs.MRSAsyncHook",
    "hooks.smn.SMNHook",
    "operators.cdm.CDMCreateJobOperator",
    "operators.cdm.CDMCreateAndExecuteJobOperator",
    "operators.cdm.CDMStartJobOperator",
    "operators.cdm.CDMDeleteJobOperator",
    "operators.cdm.CDMStopJobOperator",
    "operators.dataarts.DataArtsDLFStartJobOperator",
    "operators.dli.DLICreateQueueOperator",
    "operators.dli.DLIUpdateQueueCidrOperator",
    "operators.dli.DLIDeleteQueueOperator",
    "operators.dli.DLIListQueuesOperator",
    "operators.dli.DLISparkCreateBatchJobOperator",
    "operators.dli.DLIUploadFilesOperator",
    "operators.dli.DLIRunSqlJobOperator",
    "operators.dli.DLIGetSqlJobResultOperator",
    "operators.dli.DLICreateElasticResourcePoolOperator",
    "operators.dli.DLIListElasticResourcePoolsOperator",
    "operators.dli.DLIListElasticResourcePoolQueuesOperator",
    "operators.dli.DLIDeleteElasticResourcePoolOperator",
    "operators.dli.DLIListEnhancedConnectionsOperator",
    "operators.dli.DLIAssociatePoolToEnhancedConnectionOperator",
    "operators.dli.DLIDisassociatePoolFromEnhancedConnectionOperator",
    "operators.dli.DLICreateEnhancedConnectionOperator",
    "operators.dli.DLIDeleteEnhancedConnectionOperator",
    "operators.dli.DLICreateRouteToEnhancedConnectionOperator",
    "operators.dli.DLIDeleteRouteFromEnhancedConnectionOperator",
    "operators.dli.DLIShowAddressConnectivityOfQueueOperator",
    "operators.dws.DWSCreateClusterOperator",
    "operators.dws.DWSCreateClusterSnapshotOperator",
    "operators.dws.DWSDeleteClusterSnapshotOperator",
    "operators.dws.DWSRestoreClusterOperator",
    "operators.dws.DWSDeleteClusterBasedOnSnapshotOperator",
    "operators.dws.DWSDeleteClusterOperator",
    "operators.dws.DWSExecuteQueryOperator",
    "operators.huawei_obs.OBSCreateBucketOperator",
    "operators.huawei_obs.OBSListBucketOperator",
    "operators.huawei_obs.OBSDeleteBucketOperator",
    "operators.huawei_obs.OBSListObjectsOperator",
    "operators.huawei_obs.OBSGetBucketTaggingOperator",
    "operators.huawei_obs.OBSSetBucketTaggingOperator",
    "operators.huawei_obs.OBSDeleteBucketTaggingOperator",
    "operators.huawei_obs.OBSCreateObjectOperator",
    "operators.huawei_obs.OBSGetObjectOperator",
    "operators.huawei_obs.OBSCopyObjectOperator",
    "operators.huawei_obs.OBSDeleteObjectOperator",
    "operators.huawei_obs.OBSDeleteBatchObjectOperator",
    "operators.huawei_obs.OBSMoveObjectOperator",
    "operators.modelarts.ModelArtsCreateDatasetOperator",
    "operators.modelarts.ModelArtsCreateDatasetVersionOperator",
    "operators.modelarts.ModelArtsUpdateDatasetOperator",
    "operators.modelarts.ModelArtsDeleteDatasetVersionOperator",
    "operators.modelarts.ModelArtsDeleteDatasetOperator",
    "operators.modelarts.ModelArtsCreateAlgorithmOperator",
    "operators.modelarts.ModelArtsDeleteAlgorithmOperator",
    "operators.modelarts.ModelArtsChangeAlgorithmOperator",
    "operators.modelarts.ModelArtsCreateTrainingJobOperator",
    "operators.modelarts.ModelArtsDeleteTrainingJobOperator",
    "operators.modelarts.ModelArtsStopTrainingJobOperator",
    "operators.modelarts.ModelArtsCreateServiceOperator",
    "operators.modelarts.ModelArtsDeleteServiceOperator",
    "operators.modelarts.ModelArtsUpdateServiceOperator",
    "operators.modelarts.ModelArtsCreateModelOperator",
    "operators.modelarts.ModelArtsDeleteModelOperator",
    "operators.mrs.MRSCreateClusterOperator",
    "operators.mrs.MRSCreateClusterRunJobOperator",
    "operators.mrs.MRSDeleteClusterOperator",
    "operators.mrs.MRSCreateExecuteJobOperator",
    "operators.smn.SMNPublishMessageTemplateOperator",
    "operators.smn.SMNPublishTextMessageOperator",
    "operators.smn.SMNPublishJsonMessageOperator",
    "sensors.cdm.CDMShowJobStatusSensor",
    "sensors.dataarts.DataArtsDLFShowJobStatusSensor",
    "sensors.dli.DLISparkShowBatchStateSensor",
    "sensors.dli.DLISqlShowJobStatusSensor",
    "sensors.dli.DLIShowElasticResourcePoolStatusSensor",
    "sensors.dli.DLIShowEnhancedConnectionSensor",
    "sensors.dws.DWSClusterSensor",
    "sensors.dws.DWSSnapshotSensor",
    "sensors.huawei_obs_key.OBSObjectKeySensor",
    "sensors.modelarts.ModelArtsDatasetSensor",
    "sensors.modelarts.ModelArtsDatasetVersionSensor",
    "sensors.modelarts.ModelArtsTrainingJobSensor",
    "sensors.modelarts.ModelArtsServiceJobSensor",
    "sensors.modelarts.ModelArtsModelSensor",
    "sensors.mrs.MRSShowClusterStateSensor",
    "sensors.mrs.MRSShowJobResultSensor",
    "triggers.dli.DLIRunSqlJobTrigger",
    "triggers.dli.DLISparkCreateBatchJobTrigger",
    "triggers.dli.DLICreateElasticResourcePoolTrigger",
    "triggers.mrs.MRSCreateExecuteJobTrigger",
    "triggers.mrs.MRSCreateClusterTrigger",
    "utils.signer.HttpRequest",
    "utils.signer.Signer",
]

# Old classes deliberately left without a counterpart (the official SDKs sign every request).
NO_COUNTERPART = {"utils.signer.HttpRequest", "utils.signer.Signer"}

# Not built yet, by module: the issue the guide names as building them (none at present).
PLANNED_IN: dict[str, str] = {}

DOTTED_NAME = re.compile(r"`([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+)`")


def migration_rows() -> dict[str, str]:
    """Old class -> the "here" cell, from every table of the guide whose first column is "old"."""
    rows: dict[str, str] = {}
    in_table = False
    for line in MIGRATION_GUIDE.read_text().splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == "old":
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            for old in DOTTED_NAME.findall(cells[0]):
                assert old not in rows, f"{old} has two rows"
                rows[old] = cells[1]
    return rows


def test_the_old_class_list_has_no_duplicates() -> None:
    assert len(OLD_CLASSES) == len(set(OLD_CLASSES)) == 104


def test_every_old_class_has_a_row() -> None:
    rows = migration_rows()
    assert sorted(set(OLD_CLASSES) - set(rows)) == []
    assert sorted(set(rows) - set(OLD_CLASSES)) == []  # no row for a class the old provider did not have


def test_every_counterpart_is_importable_or_planned() -> None:
    for old, here in migration_rows().items():
        if here.startswith("planned"):
            assert here == PLANNED_IN.get(old.split(".")[1]), f"{old}: {here}"
            continue
        if here == "none":
            assert old in NO_COUNTERPART, f"{old} has no counterpart: add one, or plan it"
            continue
        names = DOTTED_NAME.findall(here)
        assert names, f"{old}: the 'here' cell {here!r} names no class"
        for name in names:
            module, _, attribute = name.rpartition(".")
            found = getattr(importlib.import_module(f"airflow_huaweicloud.{module}"), attribute, None)
            assert isinstance(found, type), f"{old} -> airflow_huaweicloud.{name} is not a class"


def test_the_counterparts_keep_the_old_names_where_the_guide_says_same() -> None:
    """Where only the module path changes, the class name is the old one."""
    renamed = {
        "hooks.base_huawei_cloud.HuaweiBaseHook": "HuaweiCloudBaseHook",
        "hooks.dli.DLIAsyncHook": "DLIHook",
        "hooks.mrs.MRSAsyncHook": "MRSHook",
        "operators.dli.DLIRunSqlJobOperator": "DLISqlOperator",
        "operators.dli.DLISparkCreateBatchJobOperator": "DLISparkBatchOperator",
        "operators.huawei_obs.OBSListBucketOperator": "OBSListBucketsOperator",
        "operators.huawei_obs.OBSListObjectsOperator": "OBSListOperator",
        "operators.huawei_obs.OBSSetBucketTaggingOperator": "OBSPutBucketTaggingOperator",
        "operators.huawei_obs.OBSDeleteBatchObjectOperator": "OBSDeleteObjectsOperator",
        "sensors.huawei_obs_key.OBSObjectKeySensor": "OBSKeySensor",
    }
    for old, here in migration_rows().items():
        names = [name.rpartition(".")[2] for name in DOTTED_NAME.findall(here)]
        if names:
            assert names[0] == renamed.get(old, old.rpartition(".")[2]), old
