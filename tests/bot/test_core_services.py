"""The core's seams: gates run in their declared order, clicks reach only the cog that owns their prefix,
services are found by Protocol, and the one token bucket limits by event time."""

from __future__ import annotations

from typing import Protocol

import pytest

from bot.actions import AnswerInteraction, SendMessage
from bot.app import StewardApp
from bot.cog import Cog
from bot.events import ButtonPressed
from bot.interactions import Click
from bot.publisher import AgentSubmission, Decision, GateOrder, Verdict
from bot.ratelimit import RateLimiter
from domain import Actor, Room
from policy.ratelimit import TokenBucket, take
from storage.core import AgentRecord

ROOM = Room("test", "g", "c")
CLICKER = Actor("test", "u1", display_name="Uma")


class Recorder:
    def __init__(self, name: str, seen: list[str], *, reject: bool = False) -> None:
        self.name, self.seen, self.reject = name, seen, reject

    async def evaluate(self, submission: AgentSubmission) -> Decision:
        self.seen.append(self.name)
        if self.reject:
            return Decision(Verdict.REJECT, self.name, f"{self.name} said no", submission.text)
        return Decision.approve(submission.text)


@pytest.fixture
async def bare(make_settings, adapter, clock):
    app = StewardApp(make_settings(cogs={"enabled": []}), adapters=[adapter], clock=clock, http=False)
    await app.start()
    await app.agents.register(AgentRecord("alpha", "test", "owner"))
    try:
        yield app
    finally:
        await app.stop()


async def test_gates_run_cheapest_first_whatever_order_they_were_added_in(bare, adapter) -> None:
    seen: list[str] = []
    bare.publisher.add_gate(Recorder("model", seen), owner="a", order=GateOrder.MODEL)
    bare.publisher.add_gate(Recorder("rules", seen), owner="b", order=GateOrder.RULES)
    bare.publisher.add_gate(Recorder("mode", seen), owner="c", order=GateOrder.ROOM_MODE)
    bare.publisher.add_gate(Recorder("suspension", seen), owner="d", order=GateOrder.SUSPENSION)
    assert (await bare.publisher.submit("alpha", ROOM, "hello")).posted
    assert seen == ["suspension", "mode", "rules", "model"]


async def test_a_rejection_stops_the_chain_before_the_model_runs(bare, adapter) -> None:
    seen: list[str] = []
    bare.publisher.add_gate(Recorder("model", seen), owner="a", order=GateOrder.MODEL)
    bare.publisher.add_gate(Recorder("mode", seen, reject=True), owner="c", order=GateOrder.ROOM_MODE)
    result = await bare.publisher.submit("alpha", ROOM, "hello")
    assert not result.posted and result.decision.rule == "mode"
    assert seen == ["mode"]


class Clicks(Cog):
    name = "clicks"

    async def cog_load(self) -> None:
        self.heard: list[Click] = []
        self.ctx.add_interaction("vote", self.on_vote)

    async def on_vote(self, click: Click) -> list[SendMessage]:
        self.heard.append(click)
        return [SendMessage(room=ROOM, text=f"{click.press.actor.name} voted {click.choice} on {click.key}")]


class Other(Cog):
    name = "other"

    async def cog_load(self) -> None:
        self.ctx.add_interaction("vote", self.on_vote)

    async def on_vote(self, click: Click) -> None:
        raise AssertionError("a second owner must never be registered")


def press(custom_id: str) -> ButtonPressed:
    return ButtonPressed(actor=CLICKER, custom_id=custom_id, room=ROOM, interaction_id="i1")


async def test_a_click_reaches_only_the_cog_that_owns_its_prefix(bare, adapter) -> None:
    assert (await bare.cogs.load("clicks", Clicks)).loaded
    clicks = bare.cogs.cogs["clicks"]
    await bare.bus.dispatch(press("steward:vote:42:yes"))
    assert [(c.kind, c.key, c.choice) for c in clicks.heard] == [("vote", "42", "yes")]
    assert [a.text for a in adapter.of(SendMessage)] == ["Uma voted yes on 42"]

    report = await bare.cogs.load("other", Other)
    assert not report.loaded and "already owned by 'clicks'" in (report.error or "")


async def test_a_click_nobody_owns_is_answered_and_counted(bare, adapter) -> None:
    await bare.bus.dispatch(press("steward:gone:1:yes"))
    await bare.bus.dispatch(press("not-even-ours"))
    answers = adapter.of(AnswerInteraction)
    assert [a.text for a in answers] == ["This button is no longer active."] * 2
    assert bare.metrics.value("steward_rejected_input_total", source="interaction", reason="unowned_prefix") == 1
    assert bare.metrics.value("steward_rejected_input_total", source="interaction", reason="malformed_id") == 1


async def test_an_unloaded_cog_no_longer_owns_its_buttons(bare, adapter) -> None:
    assert (await bare.cogs.load("clicks", Clicks)).loaded
    await bare.cogs.unload("clicks")
    await bare.bus.dispatch(press("steward:vote:42:yes"))
    assert [a.text for a in adapter.of(AnswerInteraction)] == ["This button is no longer active."]


class Greeting(Protocol):
    def greet(self) -> str: ...


class English:
    def greet(self) -> str:
        return "hello"


class Offers(Cog):
    name = "offers"

    async def cog_load(self) -> None:
        self.ctx.provide(Greeting, English())


async def test_services_are_found_by_their_protocol_and_leave_with_their_cog(bare) -> None:
    assert bare.services.get(Greeting) is None
    assert (await bare.cogs.load("offers", Offers)).loaded
    found = bare.services.get(Greeting)
    assert found is not None and found.greet() == "hello"
    assert bare.services.owners() == {"Greeting": "offers"}
    with pytest.raises(ValueError, match="already provided by 'offers'"):
        bare.services.provide(Greeting, English(), owner="someone")
    await bare.cogs.unload("offers")
    assert Greeting not in bare.services


def test_the_token_bucket_refills_by_event_time() -> None:
    first = take(None, now=100.0, rate=0.5, capacity=2)
    second = take(first.bucket, now=100.0, rate=0.5, capacity=2)
    third = take(second.bucket, now=100.0, rate=0.5, capacity=2)
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert third.retry_after == pytest.approx(2.0)
    later = take(third.bucket, now=102.0, rate=0.5, capacity=2)
    assert later.allowed
    # An event that arrives late (older than the last update) refills nothing and does not move the clock back.
    late = take(later.bucket, now=90.0, rate=0.5, capacity=2)
    assert not late.allowed and late.bucket.at == 102.0
    assert TokenBucket.full(3, 5.0).level(now=1000.0, rate=1.0, capacity=3) == 3.0


def test_a_keyed_limiter_forgets_idle_keys_without_changing_an_answer() -> None:
    limiter = RateLimiter(rate=1.0, capacity=2)  # idle after 2 s of event time: the bucket would be full again
    assert [limiter.take("a", 0.0).allowed for _ in range(3)] == [True, True, False]
    assert limiter.peek("a", 0.0) == 0.0
    limiter.take("b", 10.0)  # event time moves on; "a" has been idle for 10 s and is dropped
    assert len(limiter) == 1
    assert [limiter.take("a", 10.0).allowed for _ in range(3)] == [True, True, False]
