"""Fault injection, per service, for reliability tests of the clients.

A fault is set at start-up (``--fault obs:error_rate=0.2,status=503``) or at run time through the
admin endpoint (``PUT /_emulator/faults/obs``). ``fail_next`` makes the next N requests fail, which is
what deterministic retry tests want; the rates are for soak tests.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass, fields
from typing import Any

from .http import ApiError


class DropConnection(Exception):
    """Raised after response headers are sent so that the connection breaks mid-response."""


@dataclass
class Fault:
    error_rate: float = 0.0  # share of requests answered with `status`
    status: int = 503
    code: str = ""  # error code in the body; defaults to the service's code for `status`
    latency: float = 0.0  # seconds added before every request is handled
    drop_rate: float = 0.0  # share of requests whose connection is dropped
    fail_next: int = 0  # the next N requests fail with `status`, whatever the rates

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Fault:
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown fault setting(s) {sorted(unknown)}; known: {sorted(known)}")
        fault = cls()
        for name, value in values.items():
            caster = {"float": float, "int": int, "str": str}[str(known[name])]
            try:
                setattr(fault, name, caster(value))
            except ValueError:
                raise ValueError(f"fault setting {name}={value!r} is not a {known[name]}") from None
        for rate in ("error_rate", "drop_rate"):
            if not 0.0 <= getattr(fault, rate) <= 1.0:
                raise ValueError(f"fault setting {rate} must be between 0 and 1")
        if not 400 <= fault.status <= 599:
            raise ValueError("fault setting status must be an HTTP error status (400-599)")
        return fault

    @classmethod
    def parse(cls, spec: str) -> tuple[str, Fault]:
        """Parse ``service:key=value,key=value`` as given on the command line."""
        service, sep, settings = spec.partition(":")
        if not sep or not service:
            raise ValueError(f"fault {spec!r} is not of the form service:key=value,...")
        pairs = dict(item.split("=", 1) for item in settings.split(",") if "=" in item)
        return service.strip(), cls.from_mapping(pairs)


class FaultInjector:
    def __init__(self, initial: dict[str, Fault] | None = None, rng: random.Random | None = None):
        self._faults: dict[str, Fault] = dict(initial or {})
        self._rng = rng or random.Random()

    def set(self, service: str, fault: Fault) -> None:
        self._faults[service] = fault

    def clear(self, service: str | None = None) -> None:
        if service is None:
            self._faults.clear()
        else:
            self._faults.pop(service, None)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {name: asdict(fault) for name, fault in self._faults.items()}

    async def apply(self, service: str) -> None:
        """Delay, fail or drop this request as the service's fault says; otherwise return."""
        fault = self._faults.get(service)
        if fault is None:
            return
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.fail_next > 0:
            fault.fail_next -= 1
            raise self._error(service, fault)
        if fault.drop_rate and self._rng.random() < fault.drop_rate:
            raise DropConnection()
        if fault.error_rate and self._rng.random() < fault.error_rate:
            raise self._error(service, fault)

    @staticmethod
    def _error(service: str, fault: Fault) -> ApiError:
        code = fault.code or {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(
            fault.status, "InternalError"
        )
        return ApiError(fault.status, code, f"fault injected into {service} (status {fault.status})")
