"""The presence tables and their forward migrations (append new ones; never edit an applied one)."""

from __future__ import annotations

from storage.db import Migration

PRESENCE_COMPONENT = "presence"

PRESENCE_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "agent and room settings, presence, invitations, drafts, suspensions, api tokens",
        """
        CREATE TABLE agent_settings (
            agent TEXT PRIMARY KEY,
            invitation_policy TEXT NOT NULL,
            approval_mode TEXT NOT NULL,
            message_approval TEXT NOT NULL,
            max_rooms INTEGER NOT NULL,
            join_cooldown_seconds REAL NOT NULL,
            topics TEXT NOT NULL DEFAULT '[]',
            updated_at REAL NOT NULL
        );
        CREATE TABLE room_settings (
            room TEXT PRIMARY KEY,
            accept_agents INTEGER NOT NULL,
            updated_by TEXT NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE presence (
            agent TEXT NOT NULL,
            room TEXT NOT NULL,
            since REAL NOT NULL,
            invitation_id INTEGER,
            PRIMARY KEY (agent, room)
        );
        CREATE TABLE presence_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            room TEXT NOT NULL,
            joined_at REAL NOT NULL,
            left_at REAL NOT NULL,
            reason TEXT NOT NULL,
            forced INTEGER NOT NULL
        );
        CREATE INDEX presence_history_agent ON presence_history (agent, left_at);
        CREATE TABLE invitations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            room TEXT NOT NULL,
            inviter_platform TEXT NOT NULL,
            inviter_id TEXT NOT NULL,
            inviter_kind TEXT NOT NULL,
            inviter_name TEXT NOT NULL DEFAULT '',
            origin_room TEXT,
            request_reason TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            status TEXT NOT NULL,
            rule TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
            retry_at REAL,
            decided_at REAL,
            decided_by TEXT,
            prompt_platform TEXT,
            prompt_channel TEXT,
            prompt_message TEXT,
            prompt_note TEXT
        );
        CREATE UNIQUE INDEX invitations_one_open ON invitations (agent, room) WHERE status IN ('pending', 'deferred');
        CREATE INDEX invitations_inviter ON invitations (inviter_platform, inviter_id, created_at);
        CREATE INDEX invitations_status ON invitations (status);
        CREATE TABLE drafts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            room TEXT NOT NULL,
            decision_id INTEGER NOT NULL,
            text TEXT,
            text_hash TEXT NOT NULL,
            reply_to TEXT,
            thread_id TEXT,
            submitted_at REAL NOT NULL,
            verdict TEXT NOT NULL,
            rule TEXT NOT NULL,
            reason TEXT NOT NULL,
            scores TEXT NOT NULL DEFAULT '{}',
            source TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            outcome TEXT NOT NULL DEFAULT '',
            decided_at REAL,
            decided_by TEXT,
            message_id TEXT,
            prompt_platform TEXT,
            prompt_channel TEXT,
            prompt_message TEXT,
            prompt_note TEXT
        );
        CREATE INDEX drafts_status ON drafts (status, agent);
        CREATE TABLE suspensions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            platform TEXT NOT NULL,
            server TEXT NOT NULL,
            room TEXT,
            until REAL NOT NULL,
            reason TEXT NOT NULL,
            created_at REAL NOT NULL,
            lifted_at REAL
        );
        CREATE INDEX suspensions_agent ON suspensions (agent, until);
        CREATE TABLE api_tokens (
            token_id TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            created_by TEXT NOT NULL,
            revoked_at REAL
        );
        CREATE INDEX api_tokens_agent ON api_tokens (agent);
        CREATE TABLE api_webhooks (
            agent TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "drop the suspensions mirror: the core's agent_suspensions is the one record",
        "DROP TABLE IF EXISTS suspensions",  # its index goes with it,
    ),
]
