"""An agent's settings, read on every message it posts: kept in memory, and a change is seen at once."""

from __future__ import annotations

from policy.presence import ApprovalMode, InvitationPolicy, MessageApproval
from storage.db import Database
from storage.presence.migrations import PRESENCE_COMPONENT, PRESENCE_MIGRATIONS
from storage.presence.settings import AgentSettings, SettingsRepository


def _settings(approval: MessageApproval) -> AgentSettings:
    return AgentSettings("coder", InvitationPolicy.ANY_USER, ApprovalMode.AUTO, approval, 3, 60.0, ("rust",))


async def test_a_change_of_settings_is_seen_at_once_and_reads_are_kept(tmp_path) -> None:
    async with Database(tmp_path / "steward.db") as db:
        await db.migrate(PRESENCE_COMPONENT, PRESENCE_MIGRATIONS)
        repo = SettingsRepository(db)
        assert await repo.get("coder") is None
        await repo.put(_settings(MessageApproval.OWNER_EACH_DRAFT))
        assert (await repo.get("coder")).message_approval is MessageApproval.OWNER_EACH_DRAFT  # type: ignore[union-attr]
        await repo.put(_settings(MessageApproval.NONE))
        assert (await repo.get("coder")).message_approval is MessageApproval.NONE  # type: ignore[union-attr]
        # What another Steward opening the file reads is what this one answers from memory.
        assert await SettingsRepository(db).get("coder") == await repo.get("coder")
        reads = 0
        fetchone = db.fetchone

        async def counted(sql, params=()):
            nonlocal reads
            reads += 1
            return await fetchone(sql, params)

        db.fetchone = counted  # type: ignore[method-assign]
        for _ in range(5):
            await repo.get("coder")
            await repo.get("critic")
        assert reads == 1  # "critic" once (it has none), "coder" never: the cache answers
        await repo.delete("coder")
        assert await repo.get("coder") is None
        assert await SettingsRepository(db).get("coder") is None
