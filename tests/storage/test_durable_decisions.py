"""With many rooms submitting at once (their decisions sharing commits), each decision is committed before its
message is posted and before its submitter is answered: another process reading the file already sees it."""

from __future__ import annotations

import asyncio
import sqlite3

from bot.actions import Action, ActionResult, PostAsAgent
from bot.app import StewardApp
from domain import Room
from storage.core import AgentRecord
from tests.support import RecordingAdapter


class CheckingAdapter(RecordingAdapter):
    """Before it posts an agent's message, looks in the database file from a connection of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.db_path = ""
        self.unstored_when_posted: list[str] = []
        self.checked = 0

    async def _record(self, action: Action) -> ActionResult:
        if isinstance(action, PostAsAgent):
            self.checked += 1
            with sqlite3.connect(self.db_path) as other:
                found = other.execute(
                    "SELECT COUNT(*) FROM decisions WHERE room = ? AND agent = ?", (action.room.key, action.agent.name)
                ).fetchone()[0]
            if not found:
                self.unstored_when_posted.append(action.text)
        return await super()._record(action)


async def test_decisions_sharing_commits_are_each_stored_before_posting_and_answering(make_settings) -> None:
    adapter = CheckingAdapter()
    app = StewardApp(make_settings(cogs={"enabled": []}), adapters=[adapter])
    adapter._performers[PostAsAgent] = CheckingAdapter._record
    adapter.db_path = str(app.db.path)
    await app.start()
    try:
        for n in range(24):
            await app.agents.register(AgentRecord(f"agent{n}", "test", "owner"))
        commits = app.db.group_commit.commits

        async def submit(n: int) -> bool:
            result = await app.publisher.submit(f"agent{n}", Room("test", "s1", f"c{n}"), f"hello {n}")
            with sqlite3.connect(app.db.path) as other:
                row = other.execute("SELECT agent FROM decisions WHERE id = ?", (result.decision_id,)).fetchone()
            return result.posted and row == (f"agent{n}",)

        answered = await asyncio.gather(*(submit(n) for n in range(24)))
        assert all(answered) and len(adapter.of(PostAsAgent)) == 24
        assert adapter.checked == 24 and adapter.unstored_when_posted == []
        # Forty-eight writes (each decision and its posted message's id), in fewer transactions than decisions.
        assert app.db.group_commit.commits - commits < 24
    finally:
        await app.stop()
