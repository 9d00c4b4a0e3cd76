"""After-the-fact moderation: humans, and agents that post around the gate."""

from __future__ import annotations

from bot.actions import ActionResult, DeleteMessage, SendDirectMessage, TimeoutMember
from bot.events import MessageScored, ModerationDecision
from domain import ActorKind, Room

from .conftest import ROOM, MakeHarness, WordScorer

FILTERS = {"filters": {"words": ["darn"]}}


async def test_warning_ladder_warn_then_timeouts(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={**FILTERS, "humans": {"decay_points_per_hour": 0}})
    for _ in range(5):
        await h.human("darn it", user="carol", gap=60)
    deletes = h.adapter.of(DeleteMessage)
    assert len(deletes) == 5 and deletes[0].message_id == "h1"
    notices = h.adapter.of(SendDirectMessage)
    assert len(notices) == 5 and notices[0].user_id == "carol" and "darn" in notices[0].text
    assert ["timed out" in n.text for n in notices] == [False, False, True, True, True]
    assert "timed out for 1 day" in notices[4].text and "5.0 warning point(s)" in notices[4].text
    timeouts = h.adapter.of(TimeoutMember)
    assert [t.seconds for t in timeouts] == [600, 600, 86400]
    cases = (await h.command("cases carol")).text.splitlines()
    assert len(cases) == 5 and all("carol" in line for line in cases)


async def test_three_violations_a_minute_apart_on_the_default_ladder_time_out(make_harness: MakeHarness) -> None:
    # Default decay (0.25 a hour): two minutes fade 0.008 of the first points, which must not dodge the step at 3.
    h = await make_harness(moderator=FILTERS)
    for _ in range(3):
        await h.human("darn it", user="kim", gap=60)
    assert [t.seconds for t in h.adapter.of(TimeoutMember)] == [600]
    notices = [n.text for n in h.adapter.of(SendDirectMessage)]
    assert "1.0 warning point(s)" in notices[0] and "2.0 warning point(s)" in notices[1]
    assert "was removed. You have 3.0 warning point(s) and are timed out for 10 minutes" in notices[2]
    assert "action: delete+timeout 600s" in (await h.command("case 3")).text


async def test_warning_points_decay(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={**FILTERS, "humans": {"decay_points_per_hour": 1.0}})
    await h.human("darn", user="dave")
    await h.human("darn", user="dave", gap=60)
    assert len(h.adapter.of(SendDirectMessage)) == 2  # 1 point, then ~2 points: still warnings
    # Two hours later the points have faded: the third offence is a warning again, not a timeout.
    await h.human("darn", user="dave", gap=7200)
    assert not h.adapter.of(TimeoutMember)
    assert len(h.adapter.of(SendDirectMessage)) == 3


async def test_exempt_roles_and_users(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={**FILTERS, "humans": {"exempt_roles": ["mods"], "exempt_users": ["boss"]}})
    await h.human("darn", user="erin", roles=frozenset({"mods"}))
    await h.human("darn", user="boss")
    assert not h.adapter.performed
    assert h.app.metrics.value("steward_moderation_exempt_total") == 2.0
    await h.human("darn", user="frank")
    assert len(h.adapter.of(DeleteMessage)) == 1


async def test_log_only_records_would_be_actions(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={**FILTERS, "log_only": True})
    await h.human("darn", user="gina")
    assert not h.adapter.performed
    events = [e for e in await h.settle() if isinstance(e, ModerationDecision)]
    assert len(events) == 1 and events[0].log_only and events[0].message_id == "h1"
    case = (await h.command("case 1")).text
    assert "[log-only]" in case and "action: delete+warn" in case


async def test_per_channel_log_only(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator=FILTERS, servers={"s1": {"channels": {"lab": {"moderator": {"log_only": True}}}}})
    await h.human("darn", user="hal", room=Room("test", "s1", "lab"))
    assert not h.adapter.performed
    await h.human("darn", user="hal")
    assert len(h.adapter.of(DeleteMessage)) == 1


async def test_toxic_human_message_is_deleted_and_scored(make_harness: MakeHarness) -> None:
    h = await make_harness(scorer=WordScorer())
    await h.human("what an idiot", user="ivan")
    await h.human("nice work", user="ivan")
    assert [d.message_id for d in h.adapter.of(DeleteMessage)] == ["h1"]
    await h.settle()
    assert sorted(e.message_id for e in h.of(MessageScored)) == ["h1", "h2"]
    decision = h.of(ModerationDecision)[0]
    assert decision.rule == "toxicity" and decision.scores["toxicity"] > 0.9


async def test_agent_posting_around_the_gate_is_moderated_after(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.human("daily digest: 3 new issues", user="rogue", kind=ActorKind.AGENT)
    await h.human("daily digest: 3 new issues", user="rogue", kind=ActorKind.AGENT)
    deletes = h.adapter.of(DeleteMessage)
    assert [d.message_id for d in deletes] == ["h2"] and deletes[0].reason.startswith("duplicate")
    assert "agent rogue" in (await h.command("cases rogue")).text


async def test_plain_bots_are_not_moderated(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator=FILTERS)
    await h.human("darn", user="ci-bot", kind=ActorKind.BOT)
    assert not h.adapter.performed


async def test_disabled_moderation(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={**FILTERS, "enabled": False})
    await h.human("darn", user="jo", room=ROOM)
    assert not h.adapter.performed


async def test_an_edit_that_adds_a_filtered_word_is_moderated(make_harness: MakeHarness) -> None:
    from bot.events import MessageEdited
    from domain import Actor

    h = await make_harness(moderator=FILTERS)
    message_id = await h.human("all good here", user="lee")
    assert not h.adapter.performed
    await h.app.bus.dispatch(
        MessageEdited(at=h.clock.now(), room=ROOM, message_id=message_id, author=Actor("test", "lee"), text="darn")
    )
    assert [d.message_id for d in h.adapter.of(DeleteMessage)] == [message_id]


async def test_long_messages_are_moderated_whole_though_normalised_off_the_loop(make_harness: MakeHarness) -> None:
    # Past 4,000 characters the text is normalised on a worker thread: what it finds must not change.
    h = await make_harness(moderator=FILTERS)
    await h.human("ｌｏｎｇ ｍｅｓｓａｇｅ " * 700 + "ＤＡＲＮ", user="erin")
    await h.human("daily digest " * 800, user="rogue", kind=ActorKind.AGENT)
    await h.human("daily digest " * 800, user="rogue", kind=ActorKind.AGENT)
    deletes = h.adapter.of(DeleteMessage)
    assert [d.message_id for d in deletes] == ["h1", "h3"]
    assert "darn" in deletes[0].reason and deletes[1].reason.startswith("duplicate")


CANT_DELETE = ActionResult.failed(
    "Slack lets a bot delete only its own messages",
    code="cant_delete_message",
    fix="Slack cannot delete people's messages without a user token with chat:write; set slack.admin_token",
)


async def test_a_refused_delete_is_recorded_as_refused_and_not_claimed(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator=FILTERS)
    h.adapter.fail[DeleteMessage] = CANT_DELETE
    await h.human("darn", user="lou")
    [notice] = h.adapter.of(SendDirectMessage)
    assert "removed" not in notice.text and "1.0 warning point(s)" in notice.text
    assert "action: delete_failed: cant_delete_message+warn" in (await h.command("case 1")).text
    metric = h.app.metrics.value(
        "steward_moderation_action_failures_total", action="DeleteMessage", platform="test", code="cant_delete_message"
    )
    assert metric == 1.0
    assert h.app.metrics.value("steward_moderation_human_actions_total", action="delete_failed") == 1.0
    health = h.app.health()
    assert any("set slack.admin_token" in note for note in health["notes"]) and health["status"] == "ok"
    # Once the platform deletes again (the token was set), the note goes.
    del h.adapter.fail[DeleteMessage]
    await h.human("darn", user="lou")
    assert "was removed" in h.adapter.of(SendDirectMessage)[1].text
    assert not any("admin_token" in note for note in h.app.health()["notes"])


async def test_a_refused_timeout_is_not_announced_as_one(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator=FILTERS)
    h.adapter.fail[TimeoutMember] = ActionResult.failed("Discord refused (50013): Missing Permissions", code="50013")
    for _ in range(3):
        await h.human("darn", user="max", gap=30)
    third = h.adapter.of(SendDirectMessage)[2].text
    assert "timed out" not in third and "was removed. You have 3.0 warning point(s)" in third
    assert "action: delete+timeout_failed: 50013+warn" in (await h.command("case 3")).text


async def test_an_agent_posting_around_the_gate_whose_delete_is_refused(make_harness: MakeHarness) -> None:
    h = await make_harness()
    h.adapter.fail[DeleteMessage] = CANT_DELETE
    await h.human("daily digest: 3 new issues", user="rogue", kind=ActorKind.AGENT)
    await h.human("daily digest: 3 new issues", user="rogue", kind=ActorKind.AGENT)
    assert "action: delete_failed: cant_delete_message" in (await h.command("case 1")).text
