"""Credentials the verifiers check requests against."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Principal:
    """An access key pair, possibly temporary.

    A temporary key (``security_token`` set) is only accepted when the request presents exactly that
    token; ``expires_at`` (epoch seconds) bounds its life.  ``expires_at=None`` means permanent.
    """

    access_key: str
    secret_key: str
    security_token: str | None = None
    expires_at: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class KeyStore(Protocol):
    def find(self, access_key: str) -> Principal | None: ...


class StaticKeyStore:
    """A trivial in-memory :class:`KeyStore` (handy for tests and fixed configurations)."""

    def __init__(self, principals: Iterable[Principal] | Mapping[str, Principal] = ()):
        values = principals.values() if isinstance(principals, Mapping) else principals
        self._by_key: dict[str, Principal] = {p.access_key: p for p in values}

    def add(self, principal: Principal) -> None:
        self._by_key[principal.access_key] = principal

    def remove(self, access_key: str) -> None:
        self._by_key.pop(access_key, None)

    def find(self, access_key: str) -> Principal | None:
        return self._by_key.get(access_key)
