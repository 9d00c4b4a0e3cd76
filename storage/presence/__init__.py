"""Presence storage: agent and room settings, who is where, invitations, drafts, and agent API credentials.

The rules that must hold under concurrency live in the database, not in the callers:

- one open (pending or deferred) invitation per agent and room: a unique partial index;
- an invitation or a draft is decided once: ``UPDATE ... WHERE status IN (open states)`` and a rowcount check;
- an agent is in a room once and in at most ``max_rooms`` rooms: the join checks and inserts in one transaction.

Suspensions are not kept here: the core's ``agent_suspensions`` (``storage/suspensions.py``) is the one record.
``PresenceStore`` (``store.py``) gathers the repositories; the modules each hold one table family.
"""

from storage.presence.drafts import DraftRecord, DraftRepository, DraftStatus
from storage.presence.invitations import (
    OPEN_STATUSES,
    DuplicateInvitation,
    InvitationRecord,
    InvitationRepository,
    InvitationStatus,
    NewInvitation,
)
from storage.presence.migrations import PRESENCE_COMPONENT, PRESENCE_MIGRATIONS
from storage.presence.settings import AgentSettings, SettingsRepository
from storage.presence.stays import JOIN_REASONS, JoinResult, PresenceRecord, PresenceRepository
from storage.presence.store import PresenceStore, RoomFacts
from storage.presence.tokens import TokenRepository, Webhook

__all__ = [
    "JOIN_REASONS",
    "OPEN_STATUSES",
    "PRESENCE_COMPONENT",
    "PRESENCE_MIGRATIONS",
    "AgentSettings",
    "DraftRecord",
    "DraftRepository",
    "DraftStatus",
    "DuplicateInvitation",
    "InvitationRecord",
    "InvitationRepository",
    "InvitationStatus",
    "JoinResult",
    "NewInvitation",
    "PresenceRecord",
    "PresenceRepository",
    "PresenceStore",
    "RoomFacts",
    "SettingsRepository",
    "TokenRepository",
    "Webhook",
]
