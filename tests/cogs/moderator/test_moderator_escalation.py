"""Escalation to suspensions (durable across restarts), cases numbered per server, and the commands."""

from __future__ import annotations

from bot.actions import DeleteMessage, PostAsAgent, TimeoutMember
from bot.events import AgentSuspended, AgentUnsuspended
from domain import Room

from .conftest import ROOM, Harness, MakeHarness

ESCALATE = {"escalation": {"rejections": 3, "window_seconds": 300, "suspend_seconds": 3600}}


async def _get_suspended(h: Harness, agent: str = "alpha") -> None:
    await h.submit(agent, "buy now, limited offer")
    for _ in range(3):
        result = await h.submit(agent, "buy now, limited offer")
        assert result.decision.rule == "duplicate"


async def test_repeated_rejections_suspend_the_agent_in_the_room(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator=ESCALATE)
    await h.agent("alpha")
    await _get_suspended(h)
    await h.settle()
    suspended = h.of(AgentSuspended)
    assert len(suspended) == 1
    event = suspended[0]
    assert event.agent == "alpha" and event.room == ROOM and event.until == h.clock.now() + 3600
    blocked = await h.submit("alpha", "a perfectly fine new message")
    assert blocked.decision.rule == "suspended" and "until" in blocked.decision.reason
    # Only that room: elsewhere the agent may speak.
    assert (await h.submit("alpha", "hello other room", room=Room("test", "s1", "other"))).posted
    assert "alpha in test:s1:general" in (await h.command("suspensions")).text


async def test_server_scope(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"escalation": {**ESCALATE["escalation"], "scope": "server"}})
    await h.agent("alpha")
    await _get_suspended(h)
    other = await h.submit("alpha", "hello other room", room=Room("test", "s1", "other"))
    assert other.decision.rule == "suspended"
    elsewhere = await h.submit("alpha", "hello other server", room=Room("test", "s9", "general"))
    assert elsewhere.posted


async def test_rejections_outside_the_window_do_not_add_up(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={**ESCALATE, "duplicate": {"window_seconds": 3600}})
    await h.agent("alpha")
    await h.submit("alpha", "same old line")
    for _ in range(4):
        assert (await h.submit("alpha", "same old line", gap=200)).decision.rule == "duplicate"
    await h.settle()
    assert not h.of(AgentSuspended)


async def test_suspension_survives_a_restart_and_ends_by_its_timer(make_harness: MakeHarness) -> None:
    first = await make_harness(moderator=ESCALATE)
    await first.agent("alpha")
    await _get_suspended(first)
    await first.app.stop()

    second = await make_harness(moderator=ESCALATE)
    assert (await second.submit("alpha", "I am back")).decision.rule == "suspended"
    assert not second.adapter.of(PostAsAgent)
    second.clock.advance(3600)
    assert await second.app.scheduler.fire_due() == 1
    await second.settle()
    assert [e.agent for e in second.of(AgentUnsuspended)] == ["alpha"]
    assert (await second.submit("alpha", "I am really back")).posted
    assert "no agent is suspended" in (await second.command("suspensions")).text


async def test_pardon_lifts_the_suspension(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator=ESCALATE)
    await h.agent("alpha")
    await _get_suspended(h)
    listing = (await h.command("cases alpha")).text
    assert listing.splitlines()[0].startswith("#3 ")
    detail = (await h.command("case 3")).text
    assert "suspension: until" in detail and "active" in detail
    refused = await h.command("pardon 3 false alarm", admin=False)
    assert not refused.ok and "admins" in refused.text
    reply = await h.command("pardon 3 false alarm")
    assert reply.ok and "suspension of alpha lifted" in reply.text
    assert (await h.submit("alpha", "thanks for that")).posted
    await h.settle()
    assert len(h.of(AgentUnsuspended)) == 1
    assert await h.app.scheduler.fire_due() == 0  # the timer went with the suspension
    again = await h.command("pardon 3")
    assert not again.ok and "already pardoned" in again.text
    detail = (await h.command("case 3")).text
    assert "[pardoned]" in detail and "pardoned by admin" in detail and "false alarm" in detail


async def test_pardon_removes_warning_points(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"filters": {"words": ["darn"]}, "humans": {"decay_points_per_hour": 0}})
    await h.human("darn", user="kim")
    await h.human("darn", user="kim")
    reply = await h.command("pardon 2")
    assert "1 warning point(s) removed (1.0 left)" in reply.text
    await h.human("darn", user="kim")  # back at 2 points: a warning, not the timeout at 3
    assert not h.adapter.of(TimeoutMember)
    assert len(h.adapter.of(DeleteMessage)) == 3


async def test_cases_are_numbered_per_server(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"filters": {"words": ["darn"]}})
    s2 = Room("test", "s2", "general")
    await h.human("darn", user="a1")
    await h.human("darn", user="a2", room=s2)
    await h.human("darn", user="a3")
    first = (await h.command("cases")).text.splitlines()
    second = (await h.command("cases", room=s2)).text.splitlines()
    assert [line.split()[0] for line in first] == ["#2", "#1"]
    assert [line.split()[0] for line in second] == ["#1"] and "a2" in second[0]
    missing = await h.command("case 7")
    assert not missing.ok and "no case #7" in missing.text
    bad = await h.command("case seven")
    assert not bad.ok and "not a case number" in bad.text


async def test_cases_store_text_only_when_asked(make_harness: MakeHarness) -> None:
    quiet = await make_harness(moderator={"filters": {"words": ["darn"]}})
    await quiet.human("darn this", user="a1")
    detail = (await quiet.command("case 1")).text
    assert "text sha256:" in detail and "text: darn this" not in detail
    await quiet.app.stop()
    loud = await make_harness(
        moderator={"filters": {"words": ["darn"]}},
        database={"path": str(quiet.app.settings.database.path) + "2", "store_message_text": True},
    )
    await loud.human("darn that", user="a1")
    assert "text: darn that" in (await loud.command("case 1")).text


async def test_a_case_list_names_a_discord_member_as_a_mention_not_a_bare_id(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"filters": {"words": ["darn"]}})
    room = Room("discord", "111", "222")
    await h.human("darn", user="1577739139355246596", room=room)
    [line] = (await h.command("cases", room=room)).text.splitlines()
    assert "human <@1577739139355246596>:" in line
