"""The Slack adapter's small parts on their own: text escaping and blocks, the bounded memories, the installation
store on a real SQLite file, and the import rule of the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from slack_sdk.oauth.installation_store import Installation

from adapters.slack.blocks import escape_text, mentioned_users, message_blocks, section_blocks, unescape_text
from adapters.slack.config import DEFAULT_BOT_SCOPES, SlackSettings
from adapters.slack.memory import EventDeduper, Interaction, InteractionStore, UserDirectory
from adapters.slack.oauth import SQLiteInstallationStore, SQLiteOAuthStateStore
from bot.actions import Button, ButtonStyle
from storage.db import Database
from storage.slack import SLACK_MIGRATIONS, OAuthStateRepository, SlackInstallationRepository

ROOT = Path(__file__).resolve().parents[3]


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_outbound_text_cannot_ping_everyone_or_hide_links_but_can_mention_users():
    assert escape_text("<!here> <!subteam^S1> <https://evil|safe> a&b <@U123ABC>") == (
        "&lt;!here&gt; &lt;!subteam^S1&gt; &lt;https://evil|safe&gt; a&amp;b <@U123ABC>"
    )
    assert unescape_text("a &lt;b&gt; &amp;amp;") == "a <b> &amp;"
    # A plain channel link shows the channel's name; one with its own label could dress it up, so it is escaped.
    assert escape_text("in <#C0GENERAL> not <#C0EVIL|general>") == "in <#C0GENERAL> not &lt;#C0EVIL|general&gt;"
    assert mentioned_users("<@U1AA> hi <@W2BB|bob> <@U1AA> <#C1>") == ("U1AA", "W2BB")


def test_blocks_split_long_text_and_style_buttons():
    assert len(section_blocks("x" * 7000)) == 3
    assert message_blocks("hi") is None
    blocks = message_blocks(
        "hi",
        (
            Button("Yes", "steward:invite:1:approve", ButtonStyle.SUCCESS),
            Button("Later", "steward:invite:1:later"),
            Button("No", "steward:invite:1:decline", ButtonStyle.DANGER),
        ),
    )
    assert blocks is not None
    elements = blocks[-1]["elements"]
    assert [e.get("style") for e in elements] == ["primary", None, "danger"]
    assert [e["value"] for e in elements] == [e["action_id"] for e in elements]


def test_the_deduper_forgets_after_its_ttl_and_stays_bounded():
    clock = FakeTime()
    seen = EventDeduper(ttl=60, max_entries=100, now=clock)
    assert seen.first_time("Ev1") and not seen.first_time("Ev1")
    clock.now += 61
    assert seen.first_time("Ev1")
    for i in range(500):
        seen.first_time(f"Ev{i + 2}")
    assert len(seen) <= 100


def test_pending_interactions_expire_and_are_bounded():
    clock = FakeTime()
    store = InteractionStore(ttl=1800, max_entries=2, now=clock)
    first = store.put(Interaction("T1", "D1", "U1", "http://r/1", "1.0"))
    second = store.put(Interaction("T1", "D1", "U2", "http://r/2", "1.0"))
    third = store.put(Interaction("T1", "D1", "U3", "http://r/3", "1.0"))
    assert store.get(first) is None  # evicted: the store keeps two
    assert store.get(second) is not None
    clock.now += 1801
    assert store.get(third) is None


async def test_user_lookups_are_cached_and_failures_retried_later():
    calls: list[str] = []
    answers = {"U1": {"id": "U1", "is_admin": True, "profile": {"display_name": "Ann"}}}

    async def fetch(team: str, user: str):
        calls.append(user)
        return answers.get(user)

    clock = FakeTime()
    users = UserDirectory(fetch, ttl=600, now=clock)
    first = await users.get("T1", "U1")
    assert first is not None and first.name == "Ann" and first.roles == frozenset({"admin"})
    assert await users.get("T1", "U1") == first
    assert await users.get("T1", "U2") is None
    assert await users.get("T1", "U2") is None
    assert calls == ["U1", "U2"]
    clock.now += UserDirectory.FAILURE_TTL + 1
    await users.get("T1", "U2")
    assert calls == ["U1", "U2", "U2"]


async def test_installations_round_trip_through_sqlite(tmp_path):
    async with Database(tmp_path / "steward.db") as db:
        await db.migrate("slack", SLACK_MIGRATIONS)
        store = SQLiteInstallationStore(SlackInstallationRepository(db, "1111.2222"))
        other_app = SQLiteInstallationStore(SlackInstallationRepository(db, "9999.0000"))
        await store.async_save(
            Installation(
                app_id="A1",
                team_id="T1",
                team_name="One",
                bot_token="xoxb-old",
                bot_id="B1",
                bot_user_id="UB1",
                bot_scopes=["chat:write"],
                user_id="U1",
                user_token="xoxp-1",
                installed_at=100.0,
            )
        )
        await store.async_save(
            Installation(app_id="A1", team_id="T1", bot_token="xoxb-new", bot_id="B1", user_id="U2", installed_at=200.0)
        )

        bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
        assert bot is not None and bot.bot_token == "xoxb-new" and bot.bot_user_id is None
        mine = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
        # The installing user's own token, with the workspace's newest bot token.
        assert mine is not None and mine.user_token == "xoxp-1" and mine.bot_token == "xoxb-new"
        assert await other_app.async_find_bot(enterprise_id=None, team_id="T1") is None
        assert await store.repository.teams() == ["T1"]

        await store.async_delete_all(enterprise_id=None, team_id="T1")
        assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
        assert await store.async_find_installation(enterprise_id=None, team_id="T1") is None


async def test_oauth_states_are_single_use(tmp_path):
    async with Database(tmp_path / "steward.db") as db:
        await db.migrate("slack", SLACK_MIGRATIONS)
        states = SQLiteOAuthStateStore(OAuthStateRepository(db), expiration_seconds=600)
        state = await states.async_issue()
        assert await states.async_consume(state)
        assert not await states.async_consume(state)
        assert not await states.async_consume("never-issued")
        expired = SQLiteOAuthStateStore(OAuthStateRepository(db), expiration_seconds=-1)
        assert not await expired.async_consume(await expired.async_issue())


def test_importing_the_package_loads_no_slack_library():
    code = (
        "import sys, adapters.slack, adapters.slack.config; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('slack_bolt', 'slack_sdk', 'slack')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_the_manifest_asks_for_the_scopes_and_events_the_adapter_uses():
    manifest = yaml.safe_load((ROOT / "adapters" / "slack" / "manifest.yaml").read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(DEFAULT_BOT_SCOPES)
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"message.channels", "message.im", "reaction_added", "member_joined_channel"} <= events
    assert manifest["features"]["slash_commands"][0]["command"] == SlackSettings().command
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_the_guide_documents_every_configuration_key():
    guide = (ROOT / "docs" / "slack.md").read_text()
    missing = [
        name
        for name in SlackSettings.model_fields
        if f"`{name}`" not in guide and f"STEWARD_SLACK__{name.upper()}" not in guide
    ]
    assert not missing


def test_times_slack_could_not_have_sent_are_not_believed():
    from adapters.slack.payloads import sane_time, slack_ts

    now = 1_700_000_000.0
    assert sane_time("1699999999.000100", now) == 1699999999.0001
    assert sane_time(now + 3600, now) == now + 3600  # clocks differ a little
    for bad in (float("nan"), float("inf"), -1, 0, 10**12, now + 2 * 86400, 1_300_000_000, "NaN", "x", True, None, [1]):
        assert sane_time(bad, now) is None, bad
    assert slack_ts("1699999999.000100", now)
    assert not any(slack_ts(v, now) for v in ("1e9", "NaN", "-1.0", 1699999999, "999999999999.000001", " 1699999999.1"))
