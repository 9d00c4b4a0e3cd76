"""After-the-fact moderation: humans, and agents that post around the gate."""

from __future__ import annotations

from bot.actions import DeleteMessage, SendDirectMessage, TimeoutMember
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
    warnings = h.adapter.of(SendDirectMessage)
    assert len(warnings) == 2 and warnings[0].user_id == "carol" and "darn" in warnings[0].text
    timeouts = h.adapter.of(TimeoutMember)
    assert [t.seconds for t in timeouts] == [600, 600, 86400]
    cases = (await h.command("cases carol")).text.splitlines()
    assert len(cases) == 5 and all("carol" in line for line in cases)


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
