"""CDM links and jobs on the wire: what a request may carry, and the documents the API answers.

Both carry their settings as Sqoop's *config values*: ``{"configs": [{"name": "linkConfig", "inputs":
[{"name": "linkConfig.host", "value": "..."}, ...]}]}``. Here they are flat maps, input name -> value (a
string: booleans as ``true`` / ``false``), and go back to that shape in answers.

Connectors the emulator runs: ``obs-connector`` (OBS: the emulator's own, the link's access key checked
against the account) and ``generic-jdbc-connector`` with ``linkConfig.databaseType`` ``POSTGRESQL`` or
``DWS`` (any PostgreSQL server the link's host and port reach: a DWS cluster's endpoint). CDM has no
local file-system connector. A link's secrets (``linkConfig.password``, ``linkConfig.securityKey``) are
kept to run jobs and never answered: a link's document lists them without a value, as the cloud does, and
an update that leaves one out (or empty) keeps the stored one. A job's ``${name}`` placeholders take the
values of the variables it is started with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...http import ApiError
from .state import NO_SUCH_CONFIG, NO_SUCH_CONNECTOR, NO_SUCH_LINK, Job, Link, illegal

OBS_CONNECTOR, JDBC_CONNECTOR = "obs-connector", "generic-jdbc-connector"
CONNECTORS = (OBS_CONNECTOR, JDBC_CONNECTOR)
DATABASE_TYPES = ("POSTGRESQL", "DWS")
SENSITIVE = frozenset({"linkConfig.password", "linkConfig.securityKey"})
REQUIRED_LINK_INPUTS = {
    OBS_CONNECTOR: ("server", "port", "accessKey", "securityKey"),
    JDBC_CONNECTOR: ("databaseType", "host", "port", "database", "username", "password"),
}
INPUT_FORMATS = ("CSV_FILE", "JSON_FILE", "PARQUET_FILE", "BINARY_FILE")
OUTPUT_FORMATS = ("CSV_FILE", "BINARY_FILE")
TABLE_PREPARATIONS = ("DO_NOTHING", "CREATE_WHEN_NOT_EXIST", "DROP_AND_CREATE")
DUPLICATE_FILE_OPS = ("REPLACE", "SKIP", "ABANDON")
JOB_TYPES = ("NORMAL_JOB", "BATCH_JOB", "SCENARIO_JOB")
NAME = re.compile(r"^[A-Za-z0-9_-]{1,240}$")
VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise illegal(f"{what} must be an object")
    return value


def _text(value: Any) -> str:
    """An input's value as CDM keeps it: a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value)


def read_config_values(document: Any, groups: tuple[str, ...], what: str) -> dict[str, str]:
    """A ``ConfigValues`` object as input name -> value; an input outside ``groups`` (``fromJobConfig``,
    ...) raises Cdm.0089 (an empty ``groups``: any group)."""
    if document is None:
        return {}
    configs = _object(document, what).get("configs") or []
    if not isinstance(configs, list):
        raise illegal(f"{what}.configs must be a list")
    values: dict[str, str] = {}
    for config in configs:
        for item in _object(config, f"each of {what}.configs").get("inputs") or []:
            name = _object(item, "each input").get("name")
            if not isinstance(name, str) or "." not in name:
                raise illegal(f"an input of {what} has no name of the form group.item")
            if groups and name.partition(".")[0] not in groups:
                raise ApiError(400, NO_SUCH_CONFIG, f"The configuration item [{name}] does not exist.")
            if item.get("value") is not None:
                values[name] = _text(item["value"])
    return values


def config_values(values: Mapping[str, str], masked: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Input name -> value as a ``ConfigValues`` object, one config per group, in the inputs' order; the
    inputs named in ``masked`` without their value."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for name, value in values.items():
        item: dict[str, Any] = {"name": name} if name in masked else {"name": name, "value": value}
        groups.setdefault(name.partition(".")[0], []).append(item)
    return {"configs": [{"name": group, "inputs": inputs} for group, inputs in groups.items()]}


def short(values: Mapping[str, str], group: str) -> dict[str, str]:
    """The inputs of ``group`` by their short names: ``fromJobConfig.bucketName`` -> ``bucketName``."""
    prefix = f"{group}."
    return {name.removeprefix(prefix): value for name, value in values.items() if name.startswith(prefix)}


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise illegal(f"{what} must be 1 to 240 letters, digits, '_' or '-'")
    return value


def _connector(value: Any) -> str:
    if value not in CONNECTORS:
        raise ApiError(400, NO_SUCH_CONNECTOR, f"Connector [{value}] doesn't exist.")
    return str(value)


def _check_choice(values: Mapping[str, str], key: str, choices: tuple[str, ...], default: str) -> None:
    """``values[key]`` is one of ``choices`` -- unless it holds a ``${variable}``, checked once started."""
    value = values.get(key, default)
    if not VARIABLE.search(value) and value not in choices:
        raise illegal(f"{key} must be one of {', '.join(choices)}, not {value!r}")


# Links -------------------------------------------------------------------------------------------------


def parse_link(body: Any, stored: Link | None = None) -> dict[str, Any]:
    """One link of a create or update request (``{"links": [link]}``): name, connector, config,
    enabled. An update's secrets left out keep the ``stored`` link's."""
    links = _object(body, "the request body").get("links")
    if not isinstance(links, list) or len(links) != 1:
        raise illegal("links must hold exactly one link")
    link = _object(links[0], "the link")
    connector = _connector(link.get("connector-name"))
    config = read_config_values(link.get("link-config-values"), ("linkConfig",), "link-config-values")
    if stored is not None:
        for secret in SENSITIVE & set(stored.config):
            if not config.get(secret):
                config[secret] = stored.config[secret]
    missing = [
        f"linkConfig.{key}" for key in REQUIRED_LINK_INPUTS[connector] if not config.get(f"linkConfig.{key}")
    ]
    if missing:
        raise illegal(f"the {connector} link needs {', '.join(missing)}")
    if connector == JDBC_CONNECTOR and config["linkConfig.databaseType"].upper() not in DATABASE_TYPES:
        raise illegal(
            f"linkConfig.databaseType {config['linkConfig.databaseType']!r}: the emulator links "
            f"{' and '.join(DATABASE_TYPES)} databases (PostgreSQL servers) only"
        )
    if connector == OBS_CONNECTOR and config.get("linkConfig.storageType", "OBS") != "OBS":
        raise illegal("linkConfig.storageType must be OBS")
    enabled = link.get("enabled", True)
    return {
        "name": _name(link.get("name"), "the link name"),
        "connector": connector,
        "config": config,
        "enabled": enabled is not False,
    }


def link_document(link: Link) -> dict[str, Any]:
    """A link as ``Links`` has it, its secrets without a value."""
    return {
        "id": link.id,
        "name": link.name,
        "connector-name": link.connector,
        "link-config-values": config_values(link.config, SENSITIVE),
        "enabled": bool(link.enabled),
        "creation-user": link.creation_user,
        "creation-date": link.created,
        "update-user": link.creation_user,
        "update-date": link.updated,
    }


# Jobs --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobDefinition:
    """What a job moves: from a link through its connector to another, with each side's job config
    (short names, e.g. ``bucketName``) and the driver's (throttling, scheduling: kept and echoed)."""

    from_link: str
    from_connector: str
    from_config: dict[str, str]
    to_link: str
    to_connector: str
    to_config: dict[str, str]
    driver: dict[str, str]

    @classmethod
    def from_record(cls, job: Job) -> JobDefinition:
        return cls(**job.definition)

    def with_variables(self, variables: Mapping[str, str]) -> JobDefinition:
        """The definition with its ``${name}`` placeholders replaced by ``variables`` (others stay)."""

        def fill(values: dict[str, str]) -> dict[str, str]:
            return {
                key: VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
                for key, value in values.items()
            }

        return JobDefinition(
            self.from_link,
            self.from_connector,
            fill(self.from_config),
            self.to_link,
            self.to_connector,
            fill(self.to_config),
            self.driver,
        )


def parse_job(item: Any, links: Mapping[str, Link]) -> dict[str, Any]:
    """One ``Job`` of a create or update request, checked against the cluster's ``links``: name,
    job_type and definition (a :class:`JobDefinition` as a dict)."""
    job = _object(item, "each job")
    name = _name(job.get("name"), "the job name")
    job_type = job.get("job_type") or "NORMAL_JOB"
    if job_type not in JOB_TYPES:
        raise illegal(f"job_type must be one of {', '.join(JOB_TYPES)}")
    if job_type != "NORMAL_JOB":
        raise illegal(f"{job_type}: the emulator runs table/file migrations (NORMAL_JOB) only")
    sides = {}
    for side, group in (("from", "fromJobConfig"), ("to", "toJobConfig")):
        connector = _connector(job.get(f"{side}-connector-name"))
        link_name = job.get(f"{side}-link-name")
        link = links.get(str(link_name))
        if link is None:
            raise ApiError(400, NO_SUCH_LINK, f"Link [{link_name}] doesn't exist.")
        if link.connector != connector:
            raise illegal(f"{side}-connector-name {connector} is not the connector of link {link.name}")
        values = read_config_values(job.get(f"{side}-config-values"), (group,), f"{side}-config-values")
        sides[side] = (link.name, connector, short(values, group))
    driver = read_config_values(job.get("driver-config-values"), (), "driver-config-values")
    definition = JobDefinition(*sides["from"], *sides["to"], driver)
    check_job(definition)
    return {"name": name, "job_type": job_type, "definition": definition.__dict__}


def check_job(job: JobDefinition) -> None:
    """What each side needs; choices are checked unless a ``${variable}`` stands for them."""
    source, target = job.from_config, job.to_config
    if job.from_connector == OBS_CONNECTOR:
        _require(source, "fromJobConfig", ("bucketName", "inputDirectory", "inputFormat"))
        _check_choice(source, "inputFormat", INPUT_FORMATS, "")
    elif source.get("useSql", "false") == "true":
        _require(source, "fromJobConfig", ("sql",))
    else:
        _require(source, "fromJobConfig", ("tableName",))
    if job.to_connector == OBS_CONNECTOR:
        _require(target, "toJobConfig", ("bucketName", "outputDirectory", "outputFormat"))
        _check_choice(target, "outputFormat", OUTPUT_FORMATS, "")
        _check_choice(target, "duplicateFileOpType", DUPLICATE_FILE_OPS, "REPLACE")
    else:
        _require(target, "toJobConfig", ("tableName",))
        _check_choice(target, "tablePreparation", TABLE_PREPARATIONS, "DO_NOTHING")
    binary = [source.get("inputFormat") == "BINARY_FILE", target.get("outputFormat") == "BINARY_FILE"]
    if any(binary) and not all(binary):
        raise illegal("BINARY_FILE moves files as they are: both sides must be OBS in BINARY_FILE")


def _require(values: Mapping[str, str], group: str, keys: tuple[str, ...]) -> None:
    missing = [f"{group}.{key}" for key in keys if not values.get(key)]
    if missing:
        raise illegal(f"the job needs {', '.join(missing)}")


def job_document(job: Job, status: str, counters: Mapping[str, int] | None) -> dict[str, Any]:
    """A job as ``Job`` has it: its definition, and its last run's status and counters."""
    definition = JobDefinition.from_record(job)
    counters = counters or {}
    return {
        "id": job.id,
        "name": job.name,
        "job_type": job.job_type,
        "type": job.job_type,
        "from-link-name": definition.from_link,
        "from-connector-name": definition.from_connector,
        "from-config-values": config_values(
            {f"fromJobConfig.{key}": value for key, value in definition.from_config.items()}
        ),
        "to-link-name": definition.to_link,
        "to-connector-name": definition.to_connector,
        "to-config-values": config_values(
            {f"toJobConfig.{key}": value for key, value in definition.to_config.items()}
        ),
        "driver-config-values": config_values(definition.driver),
        "creation-user": job.creation_user,
        "creation-date": job.created,
        "update-user": job.creation_user,
        "update-date": job.updated,
        "enabled": True,
        "is_incre_job": False,
        "is_incrementing": False,
        "is_use_sql": definition.from_config.get("useSql") == "true",
        "group_name": definition.driver.get("groupJobConfig.groupName", "DEFAULT"),
        "status": status,
        "rows_read": counters.get("ROWS_READ", 0),
        "rows_written": counters.get("ROWS_WRITTEN", 0),
        "write_rows": counters.get("ROWS_WRITTEN", 0),
        "bytes_read": counters.get("BYTES_READ", 0),
        "bytes_written": counters.get("BYTES_WRITTEN", 0),
        "files_read": counters.get("FILES_READ", 0),
        "files_written": counters.get("FILES_WRITTEN", 0),
        "update_rows": 0,
        "delete_rows": 0,
    }
