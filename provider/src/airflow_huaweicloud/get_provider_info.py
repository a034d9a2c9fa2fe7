"""What Airflow's ProvidersManager reads about this provider, without importing any hook."""

from __future__ import annotations

from typing import Any

CONNECTION_TYPE = "huaweicloud"


def _field(label: str, description: str, kind: str = "string", **schema: Any) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": [kind, "null"], **schema}}


# The connection's extra fields: one place for the UI form and the documentation.
CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "region": _field("Region", "Region id, e.g. cn-north-4 or eu-west-101."),
    "project_id": _field("Project ID", "Project of the region; looked up through IAM when empty."),
    "domain_id": _field("Domain ID", "Account (domain) id, for global services such as IAM."),
    "security_token": _field("Security token", "Token of a temporary access key.", format="password"),
    "endpoint": _field("Endpoint", "One base URL for every service, e.g. a local emulator."),
    "endpoints": _field("Endpoints", 'Per-service URLs, e.g. {"obs": "https://obs.example"}.', "object"),
    "verify_ssl": _field("Verify SSL", "Verify TLS certificates.", "boolean", default=True),
    "retries": _field("Retries", "Attempts after a throttled, failed (5xx) or dropped request.", "integer"),
    "timeout": _field("Timeout", "Seconds to wait for a response.", "number"),
    "proxy": _field("Proxy", "Proxy URL, e.g. http://user:password@proxy:3128."),
    "agency_name": _field("Agency name", "Assume this IAM agency (temporary keys) with the keys above."),
    "agency_domain": _field("Agency domain", "Account (domain) name that owns the agency."),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "port"],
    "relabeling": {"login": "Access Key ID (AK)", "password": "Secret Access Key (SK)"},
    "placeholders": {
        "login": "empty: environment, then the ECS metadata service",
        "password": "secret access key",
        "region": "cn-north-4",
        "endpoint": "http://127.0.0.1:9000 (emulator) or empty for the cloud",
        "endpoints": '{"obs": "https://obs.cn-north-4.myhuaweicloud.com"}',
        "extra": '{"region": "cn-north-4", "project_id": "..."}',
    },
}

# The ``dws`` connection (DWSSqlHook): a database on a GaussDB(DWS) cluster.
DWS_CONNECTION_TYPE = "dws"
DWS_CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "cluster_name": _field(
        "Cluster name", "Take host and port from this DWS cluster's endpoint (through the Huawei Cloud API)."
    ),
    "huaweicloud_conn_id": _field(
        "Huawei Cloud connection", "The huaweicloud connection for that look-up (huaweicloud_default)."
    ),
    "public_endpoint": _field("Public endpoint", "Use the cluster's public address.", "boolean"),
}
DWS_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": [],
    "relabeling": {"login": "User", "schema": "Database"},
    "placeholders": {
        "host": "empty when the cluster name is given",
        "port": "8000",
        "login": "dbadmin",
        "schema": "gaussdb",
        "extra": '{"sslmode": "require", "connect_timeout": 10}',
    },
}


INTEGRATIONS = {
    "Huawei Cloud": "https://www.huaweicloud.com/intl/en-us/",
    "Huawei Cloud OBS": "https://support.huaweicloud.com/intl/en-us/obs/",
    "Huawei Cloud SMN": "https://support.huaweicloud.com/intl/en-us/smn/",
    "Huawei Cloud CSMS": "https://support.huaweicloud.com/intl/en-us/dew/",
    "Huawei Cloud FunctionGraph": "https://support.huaweicloud.com/intl/en-us/functiongraph/",
    "Huawei Cloud DLI": "https://support.huaweicloud.com/intl/en-us/dli/",
    "Huawei Cloud DWS": "https://support.huaweicloud.com/intl/en-us/dws/",
    "Huawei Cloud MRS": "https://support.huaweicloud.com/intl/en-us/mrs/",
    "Huawei Cloud CDM": "https://support.huaweicloud.com/intl/en-us/cdm/",
    "Huawei Cloud ModelArts": "https://support.huaweicloud.com/intl/en-us/modelarts/",
    "Huawei Cloud DataArts Studio": "https://support.huaweicloud.com/intl/en-us/dataartsstudio/",
}


# Links from a task to the console page of what it touched (airflow_huaweicloud.links).
EXTRA_LINKS = [
    f"airflow_huaweicloud.links.{name}"
    for name in (
        "OBSObjectLink",
        "OBSBucketLink",
        "DLISqlJobLink",
        "DLISparkJobLink",
        "DWSClusterLink",
        "MRSClusterLink",
        "FunctionGraphFunctionLink",
        "SMNTopicLink",
    )
]


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-huaweicloud",
        "name": "Huawei Cloud",
        "description": "Huawei Cloud (OBS, SMN, CSMS, DLI, FunctionGraph, ...) for Apache Airflow 3.",
        "versions": ["0.1.0"],
        "integrations": [
            {"integration-name": name, "external-doc-url": url, "tags": ["service"]}
            for name, url in INTEGRATIONS.items()
        ],
        "hooks": [
            {"integration-name": "Huawei Cloud", "python-modules": ["airflow_huaweicloud.hooks.base"]},
            {"integration-name": "Huawei Cloud OBS", "python-modules": ["airflow_huaweicloud.hooks.obs"]},
            {"integration-name": "Huawei Cloud SMN", "python-modules": ["airflow_huaweicloud.hooks.smn"]},
            {"integration-name": "Huawei Cloud CSMS", "python-modules": ["airflow_huaweicloud.hooks.csms"]},
            {
                "integration-name": "Huawei Cloud FunctionGraph",
                "python-modules": ["airflow_huaweicloud.hooks.functiongraph"],
            },
            {"integration-name": "Huawei Cloud DLI", "python-modules": ["airflow_huaweicloud.hooks.dli"]},
            {
                "integration-name": "Huawei Cloud DWS",
                "python-modules": ["airflow_huaweicloud.hooks.dws", "airflow_huaweicloud.hooks.dws_sql"],
            },
            {"integration-name": "Huawei Cloud MRS", "python-modules": ["airflow_huaweicloud.hooks.mrs"]},
            {"integration-name": "Huawei Cloud CDM", "python-modules": ["airflow_huaweicloud.hooks.cdm"]},
            {
                "integration-name": "Huawei Cloud ModelArts",
                "python-modules": ["airflow_huaweicloud.hooks.modelarts"],
            },
            {
                "integration-name": "Huawei Cloud DataArts Studio",
                "python-modules": ["airflow_huaweicloud.hooks.dataarts"],
            },
        ],
        "operators": [
            {"integration-name": "Huawei Cloud OBS", "python-modules": ["airflow_huaweicloud.operators.obs"]},
            {"integration-name": "Huawei Cloud SMN", "python-modules": ["airflow_huaweicloud.operators.smn"]},
            {
                "integration-name": "Huawei Cloud FunctionGraph",
                "python-modules": ["airflow_huaweicloud.operators.functiongraph"],
            },
            {"integration-name": "Huawei Cloud DLI", "python-modules": ["airflow_huaweicloud.operators.dli"]},
            {"integration-name": "Huawei Cloud DWS", "python-modules": ["airflow_huaweicloud.operators.dws"]},
            {"integration-name": "Huawei Cloud MRS", "python-modules": ["airflow_huaweicloud.operators.mrs"]},
            {"integration-name": "Huawei Cloud CDM", "python-modules": ["airflow_huaweicloud.operators.cdm"]},
            {
                "integration-name": "Huawei Cloud ModelArts",
                "python-modules": ["airflow_huaweicloud.operators.modelarts"],
            },
            {
                "integration-name": "Huawei Cloud DataArts Studio",
                "python-modules": ["airflow_huaweicloud.operators.dataarts"],
            },
        ],
        "sensors": [
            {"integration-name": "Huawei Cloud OBS", "python-modules": ["airflow_huaweicloud.sensors.obs"]},
            {"integration-name": "Huawei Cloud DLI", "python-modules": ["airflow_huaweicloud.sensors.dli"]},
            {"integration-name": "Huawei Cloud DWS", "python-modules": ["airflow_huaweicloud.sensors.dws"]},
            {"integration-name": "Huawei Cloud MRS", "python-modules": ["airflow_huaweicloud.sensors.mrs"]},
            {"integration-name": "Huawei Cloud CDM", "python-modules": ["airflow_huaweicloud.sensors.cdm"]},
            {
                "integration-name": "Huawei Cloud ModelArts",
                "python-modules": ["airflow_huaweicloud.sensors.modelarts"],
            },
            {
                "integration-name": "Huawei Cloud DataArts Studio",
                "python-modules": ["airflow_huaweicloud.sensors.dataarts"],
            },
        ],
        "triggers": [
            {"integration-name": "Huawei Cloud OBS", "python-modules": ["airflow_huaweicloud.triggers.obs"]},
            {
                "integration-name": "Huawei Cloud FunctionGraph",
                "python-modules": ["airflow_huaweicloud.triggers.functiongraph"],
            },
            {"integration-name": "Huawei Cloud DLI", "python-modules": ["airflow_huaweicloud.triggers.dli"]},
            {"integration-name": "Huawei Cloud DWS", "python-modules": ["airflow_huaweicloud.triggers.dws"]},
            {"integration-name": "Huawei Cloud MRS", "python-modules": ["airflow_huaweicloud.triggers.mrs"]},
            {"integration-name": "Huawei Cloud CDM", "python-modules": ["airflow_huaweicloud.triggers.cdm"]},
            {
                "integration-name": "Huawei Cloud ModelArts",
                "python-modules": ["airflow_huaweicloud.triggers.modelarts"],
            },
            {
                "integration-name": "Huawei Cloud DataArts Studio",
                "python-modules": ["airflow_huaweicloud.triggers.dataarts"],
            },
        ],
        "transfers": [
            {
                "source-integration-name": source,
                "target-integration-name": target,
                "python-module": f"airflow_huaweicloud.transfers.{module}",
                "how-to-guide": "/docs/obs-transfers.md",
            }
            for source, target, module in (
                ("Local", "Huawei Cloud OBS", "local_to_obs"),
                ("Huawei Cloud OBS", "Local", "obs_to_local"),
                ("Amazon Simple Storage Service (S3)", "Huawei Cloud OBS", "s3_to_obs"),
                ("Common SQL", "Huawei Cloud OBS", "sql_to_obs"),
            )
        ]
        + [
            {
                "source-integration-name": source,
                "target-integration-name": target,
                "python-module": f"airflow_huaweicloud.transfers.{module}",
                "how-to-guide": "/docs/dws.md",
            }
            for source, target, module in (
                ("Huawei Cloud OBS", "Huawei Cloud DWS", "obs_to_dws"),
                ("Huawei Cloud DWS", "Huawei Cloud OBS", "dws_to_obs"),
            )
        ],
        "filesystems": ["airflow_huaweicloud.fs.obs"],
        "remote-logging": [
            {"scheme": "obs", "classpath": "airflow_huaweicloud.log.obs_task_handler.OBSRemoteLogIO"},
        ],
        "asset-uris": [
            {
                "schemes": ["obs"],
                "handler": "airflow_huaweicloud.assets.obs.sanitize_uri",
                "factory": "airflow_huaweicloud.assets.obs.create_asset",
            }
        ],
        "extra-links": EXTRA_LINKS,
        "notifications": ["airflow_huaweicloud.notifications.smn.SMNNotifier"],
        "secrets-backends": ["airflow_huaweicloud.secrets.csms.CSMSBackend"],
        "connection-types": [
            {
                "connection-type": CONNECTION_TYPE,
                "hook-class-name": "airflow_huaweicloud.hooks.base.HuaweiCloudBaseHook",
                "hook-name": "Huawei Cloud",
                "conn-fields": CONNECTION_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            },
            {
                "connection-type": DWS_CONNECTION_TYPE,
                "hook-class-name": "airflow_huaweicloud.hooks.dws_sql.DWSSqlHook",
                "hook-name": "Huawei Cloud DWS (SQL)",
                "conn-fields": DWS_CONNECTION_FIELDS,
                "ui-field-behaviour": DWS_UI_FIELD_BEHAVIOUR,
            },
        ],
    }
