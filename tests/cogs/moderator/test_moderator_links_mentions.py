"""The links and mentions rules in the running moderator: agents are refused before posting, people are acted on
after the fact with the warning ladder, per room as configured, with the usual decision, case and counters."""

from __future__ import annotations

from bot.actions import DeleteMessage, PostAsAgent, SendDirectMessage
from bot.events import ModerationDecision
from bot.publisher import Verdict
from domain import Room

from .conftest import ROOM, MakeHarness

PINGS_20 = "standup now " + " ".join(f"<@{100 + i}>" for i in range(20))


async def test_an_agents_disguised_or_masked_link_is_rejected_before_it_is_posted(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.agent("alpha")
    slack_style = await h.submit("alpha", "Docs: <https://evil.example/login|docs.python.org>")
    assert slack_style.decision.verdict is Verdict.REJECT and slack_style.decision.rule == "links"
    assert slack_style.decision.reason == "disguised link: shows docs.python.org, goes to evil.example"
    masked = await h.submit("alpha", "read [docs](https://evil.example)")
    assert masked.decision.rule == "links" and "goes to evil.example" in masked.decision.reason
    honest = await h.submit("alpha", "read https://docs.python.org/3/ for details")
    assert honest.posted
    assert [p.text for p in h.adapter.of(PostAsAgent)] == ["read https://docs.python.org/3/ for details"]
    events = [e for e in await h.settle() if isinstance(e, ModerationDecision)]
    assert [(e.verdict, e.rule) for e in events] == [("reject", "links"), ("reject", "links")]
    assert h.app.metrics.value("steward_decisions_total", verdict="reject", rule="links") == 2
    assert (
        h.app.metrics.value(
            "steward_moderation_cases_total", target="agent", verdict="reject", rule="links", log_only="false"
        )
        == 2
    )


async def test_an_agent_pinging_many_people_is_rejected(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.agent("alpha")
    result = await h.submit("alpha", PINGS_20)
    assert result.decision.rule == "mentions"
    assert result.decision.reason == "mention spam: pings 20 people in one message (at most 5 here)"
    assert (await h.submit("alpha", "thanks <@101> and <@102>")).posted


async def test_a_person_s_disguised_link_is_deleted_and_warned_about(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.human("free nitro [discord.com/gifts](https://dlscord-gift.example/claim)", user="mallory")
    [deleted] = h.adapter.of(DeleteMessage)
    assert deleted.message_id == "h1" and deleted.reason.startswith("links: disguised link: shows discord.com")
    [warning] = h.adapter.of(SendDirectMessage)
    assert "disguised link: shows discord.com, goes to dlscord-gift.example" in warning.text
    await h.human("the docs are at [the tutorial](https://docs.python.org/3/tutorial/)", user="carol")
    assert len(h.adapter.of(DeleteMessage)) == 1
    case = (await h.command("case 1")).text
    assert "links" in case and "mallory" in case


async def test_a_person_pinging_twenty_users_goes_to_the_ladder(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.human(PINGS_20, user="spammer")
    [deleted] = h.adapter.of(DeleteMessage)
    assert "mention spam: pings 20 people" in deleted.reason
    await h.human(" ".join(f"<@{i}>" for i in range(10)), user="organiser")  # ten is allowed
    assert len(h.adapter.of(DeleteMessage)) == 1
    assert h.app.metrics.value("steward_moderation_human_actions_total", action="delete") == 1


async def test_lists_and_limits_are_configurable_per_channel(make_harness: MakeHarness) -> None:
    lab = Room("test", "s1", "lab")
    h = await make_harness(
        moderator={"links": {"deny": ["evil.example"]}},
        servers={"s1": {"channels": {"lab": {"moderator": {"links": {"deny": []}, "mentions": {"max_mentions": 0}}}}}},
    )
    await h.agent("alpha")
    assert (await h.submit("alpha", "see https://evil.example/a")).decision.rule == "links"
    assert (await h.submit("alpha", "see https://evil.example/a", room=lab)).posted
    assert (await h.submit("alpha", PINGS_20, room=lab)).posted
    await h.human("see https://sub.evil.example", user="dan", room=ROOM)
    await h.human("see https://sub.evil.example", user="dan", room=lab)
    assert [d.room for d in h.adapter.of(DeleteMessage)] == [ROOM]
