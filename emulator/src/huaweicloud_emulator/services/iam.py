"""IAM: what the SDKs and the toolkit ask of it — project lookup and temporary keys by agency."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..account import Account
from ..http import ApiError, Request, Response
from .base import Context, RestService, operation

# The cloud allows temporary credentials from 15 minutes to 24 hours.
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 900, 86400, 900


def expiry_text(epoch: float) -> str:
    """Time stamps as IAM writes them (UTC, milliseconds, trailing Z)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}000Z"


def credential_document(principal: Any) -> dict[str, Any]:
    return {
        "credential": {
            "access": principal.access_key,
            "secret": principal.secret_key,
            "securitytoken": principal.security_token,
            "expires_at": expiry_text(principal.expires_at),
        }
    }


class IamService(RestService):
    name = "iam"

    def __init__(self, account: Account):
        super().__init__(account)
        self._account = account

    @operation("GET", "/v3/projects")
    async def list_projects(self, request: Request, ctx: Context) -> Response:
        wanted = request.query.get("name")
        projects = [p for p in self._account.projects.values() if wanted is None or p.name == wanted]
        base = f"http://{request.host}/v3/projects"
        return Response.json(
            {
                "links": {"self": base, "previous": None, "next": None},
                "projects": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "domain_id": p.domain_id,
                        "parent_id": p.domain_id,
                        "is_domain": False,
                        "enabled": True,
                        "description": "",
                        "links": {"self": f"{base}/{p.id}"},
                    }
                    for p in projects
                ],
            }
        )

    @operation("POST", "/v3.0/OS-CREDENTIAL/securitytokens")
    async def create_temporary_keys(self, request: Request, ctx: Context) -> Response:
        identity = _require(ctx.json_object("IAM.0007"), "auth", "identity")
        methods = identity.get("methods")
        if methods != ["assume_role"]:
            raise ApiError(400, "IAM.0007", f"auth.identity.methods must be ['assume_role'], got {methods!r}")
        role = _require(identity, "assume_role")
        agency = role.get("agency_name")
        if not agency:
            raise ApiError(400, "IAM.0007", "auth.identity.assume_role.agency_name is required")
        domain_name, domain_id = role.get("domain_name"), role.get("domain_id")
        if not domain_name and not domain_id:
            raise ApiError(400, "IAM.0007", "auth.identity.assume_role needs domain_name or domain_id")
        if (domain_name and domain_name != self._account.domain_name) or (
            domain_id and domain_id != self._account.domain_id
        ):
            raise ApiError(
                403, "IAM.0002", f"agency {agency!r} not found in domain {domain_name or domain_id!r}"
            )
        duration = role.get("duration_seconds", DEFAULT_DURATION)
        if not isinstance(duration, int) or not MIN_DURATION <= duration <= MAX_DURATION:
            raise ApiError(
                400, "IAM.0007", f"duration_seconds must be an integer from {MIN_DURATION} to {MAX_DURATION}"
            )
        principal = await asyncio.to_thread(
            self._account.issue_temporary_key, f"agency:{self._account.domain_name}/{agency}", duration
        )
        return Response.json(credential_document(principal), 201)


def _require(document: dict[str, Any], *path: str) -> dict[str, Any]:
    node: Any = document
    for depth, key in enumerate(path):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ApiError(400, "IAM.0007", f"request body lacks {'.'.join(path[: depth + 1])}")
    return node
