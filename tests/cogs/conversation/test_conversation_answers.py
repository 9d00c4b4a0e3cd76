"""Answering people is not over-talking: with the default rules an agent answering three people's questions a
minute is never held back, while an agent posting unprompted is still limited; each person's message earns one
answer, so replying to the same message again does not buy more. Who set a mode is shown as a mention, not an id."""

from __future__ import annotations

from bot.commands import CommandInvocation
from domain import Actor, ActorKind, Room
from tests.cogs.conversation.conftest import ROOM
from tests.cogs.conversation.test_conversation_cog import run  # the command helper of the cog's tests
from tests.support import RecordingAdapter

DEFAULTS = {"window_messages": 20, "dominance_min_messages": 8}  # the shipped values, where the tests' differ


async def test_an_agent_answering_three_people_a_minute_is_never_rejected(start_chat):
    chat = await start_chat(**DEFAULTS)
    rejected = []
    for minute in range(10):
        for person, how in (("alice", "reply"), ("bob", "mention"), ("carol", "question")):
            if how == "mention":
                asked = await chat.say(person, "helper, which port does staging use", advance=6, mentions=("helper",))
            else:
                asked = await chat.say(person, f"how do I rotate key {minute}?", advance=6)
            result = await chat.agent("helper", f"answer {minute} for {person}", reply_to=asked, advance=14)
            if not result.posted:
                rejected.append((minute, person, result.decision.rule))
    assert rejected == []
    assert chat.cog.agent_style(ROOM.key, "helper") is None  # never held to brief replies or a rate
    assert [e for e in await chat.audit() if e.signal in ("agent_monopoly", "agent_dominance")] == []


async def test_answers_in_the_three_ways_people_ask_pass_a_rate_that_stops_unprompted_posts(start_chat):
    chat = await start_chat(**DEFAULTS)
    # The rate the moderator gives an over-talking agent: 2 unprompted messages a minute.
    assert (await run(chat, "agentstyle helper normal 2")).ok
    assert (await chat.agent("helper", "did you know", advance=61)).posted
    assert (await chat.agent("helper", "also", advance=1)).posted
    spam = await chat.agent("helper", "and another thing", advance=1)
    assert not spam.posted and spam.decision.rule == "conversation.rate"
    assert "at most 2 message(s) a minute in this channel unprompted" in spam.decision.reason
    # Three people ask within that same minute, each in one way: a reply, a mention, a question just before.
    q1 = await chat.say("alice", "helper where are the logs", advance=1)
    assert (await chat.agent("helper", "in /var/log", reply_to=q1, advance=1)).posted
    await chat.say("bob", "can you check the build, helper", advance=1, mentions=("helper",))
    assert (await chat.agent("helper", "build is green", advance=1)).posted
    await chat.say("carol", "what is the on-call number?", advance=1)
    assert (await chat.agent("helper", "call 555-0100", advance=1)).posted
    # Replying to an already answered message is not a new answer: it is unprompted, and those are used up.
    again = await chat.agent("helper", "also, logs rotate daily", reply_to=q1, advance=1)
    assert not again.posted and again.decision.rule == "conversation.rate"
    # Answers have a budget too (2 / reply_weight 0.5 = 4 a minute): a fifth answer within the minute waits.
    for person in ("dave", "erin"):
        asked = await chat.say(person, "helper, one more question?", advance=1, mentions=("helper",))
        last = await chat.agent("helper", f"sure, {person}", reply_to=asked, advance=1)
    assert not last.posted and "may answer people at most 4 time(s) a minute" in last.decision.reason


async def test_an_agent_posting_unprompted_is_still_held_to_brief_replies_and_a_rate(start_chat):
    chat = await start_chat(**DEFAULTS)
    for name in ("alice", "bob", "carol", "dave"):
        await chat.say(name, f"{name} here")
    for i in range(8):
        await chat.agent("helper", f"point {i}", advance=2)
    style = chat.cog.agent_style(ROOM.key, "helper")
    assert style is not None and style.style == "brief" and style.max_per_minute == 2
    flood = [await chat.agent("helper", f"more {i}", advance=5) for i in range(6)]
    assert sum(1 for r in flood if not r.posted) >= 3


async def test_an_agent_reply_to_another_agent_is_not_an_answer_to_a_person(start_chat):
    chat = await start_chat(**DEFAULTS)
    assert (await run(chat, "agentstyle helper normal 1")).ok  # answers: 2 a minute, unprompted: 1
    asks = [await chat.agent("critic", f"helper, what do you think of {i}?", advance=31) for i in range(2)]
    assert all(a.posted and chat.authors[a.message_id].kind is ActorKind.AGENT for a in asks)
    assert (await chat.agent("helper", "I think yes", reply_to=asks[0].message_id, advance=1)).posted
    second = await chat.agent("helper", "and no", reply_to=asks[1].message_id, advance=1)
    assert not second.posted and "at most 1 message(s) a minute in this channel unprompted" in second.decision.reason


async def test_who_set_a_mode_is_named_with_a_mention_on_discord_not_an_id(start_chat):
    chat = await start_chat(adapter=RecordingAdapter("discord"))
    room = Room("discord", "1577739139355246000", "1577739139355246111")
    admin = Actor("discord", "1577739139355246596", ActorKind.HUMAN, "Ada")

    async def run_here(line: str) -> str:
        invocation = CommandInvocation.parse(line, actor=admin, room=room, is_admin=True)
        return (await chat.app.commands.invoke(invocation)).text

    assert (await run_here("mode focused calm down")) == "Mode set to focused."
    shown = await run_here("mode")
    assert shown.startswith("This channel is in focused mode, set by <@1577739139355246596> ")
    assert "<@1577739139355246596> (command) set_mode" in await run_here("audit")
