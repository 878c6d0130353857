"""API keys: random secrets shown once, stored as SHA-256 with a role (viewer < editor < admin)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

ROLES = ("viewer", "editor", "admin")
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class ApiKey:
    """A stored API key: its id, name and role."""

    id: int
    name: str
    role: str

    def allows(self, role: str) -> bool:
        """Whether this key's role is ``role`` or above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(engine: Engine, name: str, role: str) -> tuple[ApiKey, str]:
    """A new key; the secret is returned once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    secret = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        key_id = conn.execute(
            text("INSERT INTO meta.api_key (name, role, prefix, secret_sha256) VALUES (:n, :r, :p, :s) RETURNING id"),
            {"n": name, "r": role, "p": secret[:PREFIX_LENGTH], "s": _digest(secret)},
        ).scalar_one()
    return ApiKey(int(key_id), name, role), secret


def verify(engine: Engine, secret: str) -> ApiKey | None:
    """The live key with this secret, or None (unknown, revoked, or wrong)."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, name, role, secret_sha256 FROM meta.api_key WHERE prefix = :p AND revoked_at IS NULL"),
            {"p": secret[:PREFIX_LENGTH]},
        ).first()
    if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        return None
    return ApiKey(row.id, row.name, row.role)


def listing(engine: Engine) -> list[dict[str, Any]]:
    """Every key, revoked ones included: id, name, role, prefix, creation and revocation times (never the digest)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, name, role, prefix, created_at, revoked_at FROM meta.api_key ORDER BY id")
        ).mappings()
        return [dict(r) for r in rows]


def revoke(engine: Engine, key_id: int) -> bool:
    """Revoke key ``key_id``; False when there is no such unrevoked key."""
    with engine.begin() as conn:
        result = conn.execute(
            text("UPDATE meta.api_key SET revoked_at = now() WHERE id = :i AND revoked_at IS NULL"), {"i": key_id}
        )
    return result.rowcount == 1
