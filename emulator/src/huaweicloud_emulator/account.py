"""The emulated account: its domain, its projects (one per region) and its access keys.

The permanent key pair comes from the command line; temporary keys (issued by IAM for an agency, or by
the ECS metadata service) are stored durably so that they keep working across restarts until they
expire, as on the cloud.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from .auth import Principal
from .storage import Storage

DEFAULT_ACCESS_KEY = "EMULATORACCESSKEY001"
DEFAULT_SECRET_KEY = "emulator-secret-key-not-for-production"
DEFAULT_DOMAIN_NAME = "emulator"
# Region ids of the public cloud; a project lookup for any other name finds nothing, as on the cloud.
DEFAULT_REGIONS = (
    "cn-north-1",
    "cn-north-4",
    "cn-north-9",
    "cn-east-2",
    "cn-east-3",
    "cn-south-1",
    "cn-southwest-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "af-south-1",
    "la-north-2",
    "la-south-2",
    "sa-brazil-1",
    "na-mexico-1",
    "me-east-1",
    "tr-west-1",
    "eu-west-0",
    "eu-west-101",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS temporary_keys (
    access_key TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL,
    security_token TEXT NOT NULL,
    expires_at REAL NOT NULL,
    issued_for TEXT NOT NULL
);
"""


def _stable_id(*parts: str) -> str:
    """A 32-hex-digit id, the shape of the cloud's ids, stable for the same account and name."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    domain_id: str


class Account:
    def __init__(
        self,
        storage: Storage,
        *,
        access_key: str = DEFAULT_ACCESS_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        domain_name: str = DEFAULT_DOMAIN_NAME,
        regions: tuple[str, ...] = DEFAULT_REGIONS,
    ):
        self._storage = storage
        self.root = Principal(access_key=access_key, secret_key=secret_key)
        self.domain_name = domain_name
        self.domain_id = _stable_id("domain", domain_name)
        self.projects = {
            name: Project(_stable_id("project", domain_name, name), name, self.domain_id) for name in regions
        }
        storage.meta.register_schema("account", _SCHEMA)

    def find(self, access_key: str) -> Principal | None:
        """The KeyStore the signature checks use: the permanent key or a stored temporary one."""
        if access_key == self.root.access_key:
            return self.root
        rows = self._storage.meta.query(
            "SELECT access_key, secret_key, security_token, expires_at FROM temporary_keys"
            " WHERE access_key = ?",
            (access_key,),
        )
        if not rows:
            return None
        row = rows[0]
        return Principal(row["access_key"], row["secret_key"], row["security_token"], row["expires_at"])

    def issue_temporary_key(self, issued_for: str, duration_seconds: int) -> Principal:
        principal = Principal(
            access_key="TMP" + secrets.token_hex(9).upper(),
            secret_key=secrets.token_urlsafe(30),
            security_token=secrets.token_urlsafe(96),
            expires_at=time.time() + duration_seconds,
        )
        with self._storage.meta.transaction() as db:
            # Expired keys are of no use to anybody: drop them while we are writing anyway.
            db.execute("DELETE FROM temporary_keys WHERE expires_at < ?", (time.time() - 3600,))
            db.execute(
                "INSERT INTO temporary_keys VALUES (?, ?, ?, ?, ?)",
                (
                    principal.access_key,
                    principal.secret_key,
                    principal.security_token,
                    principal.expires_at,
                    issued_for,
                ),
            )
        return principal

    def project_by_id(self, project_id: str) -> Project | None:
        return next((p for p in self.projects.values() if p.id == project_id), None)
