"""Agent API credentials: bearer tokens (only their secret's sha256 is stored) and agents' webhook callbacks."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from storage.db import Database


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Webhook:
    agent: str
    url: str
    secret: str


class TokenRepository:
    """Bearer tokens look like ``<token_id>.<secret>``: the id finds the row, the secret's sha256 is compared in
    constant time. Only the hash is stored; the token is shown once, when it is issued."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def issue(self, agent: str, *, by: str, at: float) -> str:
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE agent = ? AND revoked_at IS NULL", (at, agent)
            )
            await conn.execute(
                "INSERT INTO api_tokens (token_id, agent, secret_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                (token_id, agent, _hash_secret(secret), at, by),
            )
        return f"{token_id}.{secret}"

    async def revoke(self, agent: str, *, at: float) -> int:
        return await self.db.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE agent = ? AND revoked_at IS NULL", (at, agent)
        )

    async def verify(self, token: str) -> str | None:
        """The agent the token belongs to, or None."""
        token_id, dot, secret = token.partition(".")
        if not dot or not token_id or not secret or len(token) > 200:
            return None
        row = await self.db.fetchone(
            "SELECT agent, secret_hash FROM api_tokens WHERE token_id = ? AND revoked_at IS NULL", (token_id,)
        )
        # Hash even when the id is unknown, so both failures cost the same.
        expected = row["secret_hash"] if row else "0" * 64
        matches = hmac.compare_digest(_hash_secret(secret), expected)
        return row["agent"] if row and matches else None

    async def agents_with_tokens(self) -> set[str]:
        rows = await self.db.fetchall("SELECT DISTINCT agent FROM api_tokens WHERE revoked_at IS NULL")
        return {r["agent"] for r in rows}

    async def set_webhook(self, agent: str, url: str, *, at: float) -> Webhook:
        secret = secrets.token_urlsafe(24)
        await self.db.execute(
            "INSERT INTO api_webhooks (agent, url, secret, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(agent) DO UPDATE SET url = excluded.url, secret = excluded.secret, "
            "created_at = excluded.created_at",
            (agent, url, secret, at),
        )
        return Webhook(agent, url, secret)

    async def delete_webhook(self, agent: str) -> bool:
        return await self.db.execute("DELETE FROM api_webhooks WHERE agent = ?", (agent,)) > 0

    async def webhooks(self) -> dict[str, Webhook]:
        rows = await self.db.fetchall("SELECT * FROM api_webhooks")
        return {r["agent"]: Webhook(r["agent"], r["url"], r["secret"]) for r in rows}
