"""The conversation moderator in a running Steward: each signal, each action, debounce and cooldown, the gate and
the review holder, commands, the audit trail, its own notices fed back to it, eviction and restarts."""

from __future__ import annotations

from bot.commands import CommandInvocation
from bot.events import (
    AgentJoined,
    AgentRemovalRequested,
    InvitationRequested,
    MessageCreated,
    MessageScored,
    TrendShifted,
)
from bot.services import DraftReview
from cogs.conversation.cog import COMMAND_TIMER
from domain import SYSTEM_ACTOR, Actor, ActorKind
from policy.conversation import Mode, SetModeProposal, Signal, SignalKind
from tests.cogs.conversation.conftest import ROOM, Chat


def inv(chat: Chat, line: str, *, who: str = "alice", admin: bool = True) -> CommandInvocation:
    return CommandInvocation.parse(line, actor=chat.human(who), room=ROOM, is_admin=admin)


async def run(chat: Chat, line: str, **kw):
    return await chat.app.commands.invoke(inv(chat, line, **kw))


async def agents_take_over(chat: Chat) -> None:
    """One human line, then two agents alternate: agents' share climbs past the 0.7 threshold."""
    await chat.say("alice", "morning all")
    for i in range(6):
        result = await chat.agent("helper" if i % 2 == 0 else "critic", f"thought number {i}")
        assert result.posted, result


async def score(chat: Chat, message_id: str, author: str, value: float, kind: ActorKind = ActorKind.HUMAN) -> None:
    await chat.app.bus.dispatch(
        MessageScored(
            at=chat.clock.now(),
            room=ROOM,
            message_id=message_id,
            author=Actor("test", author, kind, author),
            scores={"toxicity": value, "insult": value / 2},
        )
    )
    await chat.app.bus.join()


# --- agent dominance: focused mode and back, with debounce ------------------------------------------------------


async def test_agents_dominating_switch_the_room_to_focused_after_the_debounce(chat):
    await chat.say("alice", "morning all")
    for i in range(5):
        await chat.agent("helper" if i % 2 == 0 else "critic", f"thought number {i}")
    # Six messages, five by agents: the condition holds once; the debounce wants it twice.
    assert chat.cog.mode_of(ROOM) is Mode.OPEN
    assert chat.metric("steward_conversation_suppressed_total", action="any", reason="debounce") >= 1
    await chat.agent("critic", "thought number 5")
    assert chat.cog.mode_of(ROOM) is Mode.FOCUSED
    [notice] = chat.notices()
    assert notice.startswith("Steward switched this channel to focused mode because agents wrote 6 of the last 7")
    assert "only when someone addresses them by name or replies to them" in notice
    [entry] = await chat.audit()
    assert (entry.actor, entry.source, entry.action) == ("moderator", "moderator", "set_mode")
    assert entry.signal == "agent_dominance"
    assert entry.params["mode"] == "focused" and entry.evidence["agent_share"] > 0.7
    assert entry.notice_message_id is not None and entry.outcome == "done"


async def test_in_focused_mode_agents_speak_only_when_addressed(chat):
    await agents_take_over(chat)
    assert chat.cog.mode_of(ROOM) is Mode.FOCUSED
    unasked = await chat.agent("helper", "one more thing")
    assert not unasked.posted
    assert unasked.decision.rule == "conversation.mode"
    assert "focused mode" in unasked.decision.reason and "nobody addressed helper" in unasked.decision.reason
    assert "set by Steward because agents wrote" in unasked.decision.reason

    await chat.say("bob", "helper, can you sum up where we are?")
    answer = await chat.agent("helper", "Summary: three ideas, none decided.")
    assert answer.posted
    # Being addressed allows an answer, not a monologue.
    again = await chat.agent("helper", "And another thing")
    assert not again.posted and again.decision.rule == "conversation.mode"
    # A reply to the agent's message addresses it too; the other agent stays quiet.
    await chat.say("bob", "thanks, which one do you prefer", reply_to=answer.message_id)
    assert (await chat.agent("helper", "The second.")).posted
    assert not (await chat.agent("critic", "I disagree")).posted
    rejected = chat.metric("steward_conversation_gate_rejections_total", rule="conversation.mode")
    assert rejected == 3


async def test_when_humans_take_the_room_back_focus_is_lifted_after_the_cooldown(chat):
    await agents_take_over(chat)
    assert chat.cog.mode_of(ROOM) is Mode.FOCUSED
    for i in range(7):
        await chat.say("bob" if i % 2 else "carol", f"human line {i}", advance=60)
    assert chat.cog.mode_of(ROOM) is Mode.OPEN
    notices = chat.notices()
    assert len(notices) == 2
    assert notices[1].startswith("Steward switched this channel to open mode because agents now write")
    assert notices[1].endswith("Agents may speak freely again.")
    entries = await chat.audit()
    assert [(e.action, e.params["mode"], e.signal) for e in entries] == [
        ("set_mode", "focused", "agent_dominance"),
        ("set_mode", "open", "agents_balanced"),
    ]


async def test_a_looser_mode_waits_for_the_cooldown(chat):
    await agents_take_over(chat)
    for i in range(7):
        await chat.say("bob" if i % 2 else "carol", f"human line {i}", advance=5)
    # Balanced again, but the focus is only seconds old: the switch back waits.
    assert chat.cog.mode_of(ROOM) is Mode.FOCUSED
    assert chat.metric("steward_conversation_suppressed_total", action="set_mode", reason="cooldown") >= 1
    await chat.say("bob", "still here", advance=300)
    assert chat.cog.mode_of(ROOM) is Mode.OPEN


# --- one agent talking too much: style and rate ------------------------------------------------------------------


async def test_an_agent_writing_most_messages_is_held_to_brief_replies_and_a_rate(chat):
    for name in ("alice", "bob", "carol"):
        await chat.say(name, f"{name} here")
    for i in range(4):
        assert (await chat.agent("helper", f"point {i}", advance=2)).posted
    style = chat.cog.agent_style(ROOM.key, "helper")
    assert style is not None and style.style == "brief" and style.max_per_minute == 2
    [notice] = chat.notices()
    assert notice == (
        "Steward asked helper to keep its replies brief (at most 280 characters) and limited helper to 2 message(s) "
        "a minute in this channel because helper wrote 4 of the last 7 messages."
    )
    too_fast = await chat.agent("helper", "short", advance=1)
    assert not too_fast.posted and too_fast.decision.rule == "conversation.rate"
    assert "at most 2 message(s) a minute" in too_fast.decision.reason
    too_long = await chat.agent("helper", "x" * 281, advance=61)
    assert not too_long.posted and too_long.decision.rule == "conversation.style"
    assert (await chat.agent("helper", "short and sweet", advance=1)).posted
    [entry] = await chat.audit()
    assert entry.action == "set_agent_style" and entry.signal == "agent_monopoly"
    assert entry.params == {"agent": "helper", "style": "brief", "max_per_minute": 2, "kind": "set_agent_style"}


# --- conflict ------------------------------------------------------------------------------------------------------


async def test_a_conflict_between_humans_switches_to_review_and_a_scheduled_command_switches_back(chat):
    m1 = await chat.say("alice", "the release plan is fine")
    m2 = await chat.say("bob", "your plan is garbage", reply_to=m1)
    await score(chat, m2, "bob", 0.82)
    assert chat.cog.mode_of(ROOM) is Mode.OPEN  # one hot message is not a conflict
    m3 = await chat.say("alice", "you are an idiot", reply_to=m2)
    await score(chat, m3, "alice", 0.91)
    assert chat.cog.mode_of(ROOM) is Mode.REVIEW
    switch, scheduled = chat.notices()
    assert switch.startswith(
        "Steward switched this channel to review mode because the exchange between alice and bob is getting heated "
        "(toxicity up to 0.91)."
    )
    assert "need their owner's approval" in switch
    assert scheduled.startswith("Steward scheduled `mode open` to run here in 15 minutes because review mode is meant")
    [timer] = [t for t in await chat.app.scheduler.timers.all() if t.kind == COMMAND_TIMER]
    assert timer.payload["command"] == "mode open" and timer.due_at == chat.clock.now() + 900

    # Without the presence cog's drafts service, review mode cannot hold a message: it is not posted.
    held = await chat.agent("helper", "let's all calm down")
    assert not held.posted and held.decision.rule == "conversation.mode"
    assert "no drafts service is running" in held.decision.reason

    chat.clock.advance(901)
    assert await chat.app.scheduler.fire_due() == 1
    assert chat.cog.mode_of(ROOM) is Mode.OPEN
    assert chat.notices()[-1] == (
        "Steward switched this channel to open mode because review mode is meant as a pause, not a new normal "
        "(scheduled 15 minutes ago). Agents may speak freely again."
    )
    entries = await chat.audit()
    assert [(e.action, e.signal, e.actor) for e in entries] == [
        ("set_mode", "conflict", "moderator"),
        ("schedule_command", "conflict", "moderator"),
        ("set_mode", "scheduled", "moderator"),
    ]
    assert entries[0].evidence["hot_messages"] == 2


async def test_a_souring_trend_while_two_people_argue_is_a_conflict(chat):
    m1 = await chat.say("alice", "we should ship")
    m2 = await chat.say("bob", "no", reply_to=m1)
    await chat.say("alice", "yes", reply_to=m2)
    await chat.app.bus.dispatch(
        TrendShifted(at=chat.clock.now(), room=ROOM, metric="sentiment", before=0.4, after=-0.3)
    )
    assert chat.cog.mode_of(ROOM) is Mode.REVIEW
    assert "mood turned sharply while alice and bob go back and forth" in chat.notices()[0]


async def test_a_conflict_with_an_agent_asks_the_presence_coordinator_to_remove_it(chat):
    m1 = await chat.say("alice", "that answer was wrong")
    reply = await chat.agent("critic", "you clearly can't read", reply_to=m1)
    await score(chat, reply.message_id, "critic", 0.8, ActorKind.AGENT)
    m3 = await chat.say("alice", "shut up, bot", reply_to=reply.message_id)
    await score(chat, m3, "alice", 0.7)
    [request] = chat.of(AgentRemovalRequested)
    assert request.agent == "critic" and request.room == ROOM
    assert request.requested_by.id == "moderator" and request.requested_by.kind is ActorKind.SYSTEM
    assert "between alice and critic is getting heated" in request.reason
    assert chat.cog.mode_of(ROOM) is Mode.OPEN  # the humans are not paused for an agent's conflict
    assert chat.notices() == [f"Steward asked for critic to leave this channel because {request.reason}."]
    # The same conflict seen again within the cooldown does not ask twice.
    await score(chat, m3, "alice", 0.75)
    assert len(chat.of(AgentRemovalRequested)) == 1


# --- topics, questions, action items, idle -----------------------------------------------------------------------


async def test_a_topic_an_absent_agent_covers_invites_it_through_the_presence_coordinator(chat):
    await chat.say("alice", "the deploy failed again")
    assert chat.of(InvitationRequested) == []
    await chat.say("bob", "should we rollback?")
    [invite] = chat.of(InvitationRequested)
    assert invite.agent == "ops" and invite.inviter.id == "moderator" and invite.inviter.kind is ActorKind.SYSTEM
    assert "deploy, rollback" in invite.reason and "ops is not here" in invite.reason
    assert chat.notices()[0].startswith("Steward asked for ops to join this channel (its owner decides) because")
    await chat.say("carol", "the outage is still on", advance=400)
    assert len(chat.of(InvitationRequested)) == 1  # invited already: no second request within the invite cooldown
    await chat.app.bus.dispatch(AgentJoined(at=chat.clock.now(), room=ROOM, agent="ops"))
    await chat.say("alice", "deploy deploy", advance=4000)
    await chat.say("bob", "rollback rollback")
    assert len(chat.of(InvitationRequested)) == 1  # present now


async def test_an_unanswered_question_is_pointed_out_once(chat):
    await chat.say("alice", "how do we rotate the API keys?")
    await chat.say("alice", "anyone?")
    chat.clock.advance(700)
    await chat.cog.sweep()
    notices = chat.notices()
    assert len(notices) == 1
    assert notices[0] == (
        "A question here is still waiting for an answer, because alice asked a question 12 minutes ago that no one "
        "has answered."
    )
    chat.clock.advance(60)
    await chat.cog.sweep()
    assert len(chat.notices()) == 1
    [entry] = await chat.audit()
    assert entry.action == "post_message" and entry.signal == "unresolved_question"
    # The notice's text is Steward's own, but like any text it is stored as a hash unless the setting asks.
    assert entry.params["text"] is None and len(entry.params["text_hash"]) == 64


async def test_an_answered_question_is_not_pointed_out(chat):
    q = await chat.say("alice", "how do we rotate the API keys?")
    await chat.say("carol", "unrelated: lunch?")
    await chat.say("bob", "settings, security, rotate", reply_to=q)
    chat.clock.advance(700)
    await chat.cog.sweep()
    # carol's question was answered by the next speaker; alice's by bob's reply.
    assert chat.notices() == []


async def test_action_items_are_acknowledged_with_a_cooldown(chat):
    await chat.say("alice", "TODO: write the migration")
    await chat.say("bob", "I'll take the rollback plan")
    assert chat.notices() == [
        "Noted an action item, because alice raised an action item (1 in this conversation so far)."
    ]
    assert chat.metric("steward_conversation_suppressed_total", action="post_message", reason="cooldown") == 1
    await chat.say("carol", "we need to update the runbook", advance=301)
    assert chat.notices()[-1] == (
        "Noted an action item, because carol raised an action item (3 in this conversation so far)."
    )


async def test_an_idle_stretch_lifts_a_moderator_mode_reminds_of_action_items_and_then_evicts(chat):
    await chat.say("alice", "TODO: write the migration")
    signal = Signal(SignalKind.AGENT_DOMINANCE, "agents wrote most messages")
    done = await chat.cog.execute(
        ROOM, SetModeProposal(mode=Mode.FOCUSED, reason=signal.because), signal, now=chat.clock.now()
    )
    assert done and chat.cog.mode_of(ROOM) is Mode.FOCUSED
    chat.clock.advance(1900)
    await chat.cog.sweep()
    assert chat.cog.mode_of(ROOM) is Mode.OPEN
    assert chat.notices()[-2:] == [
        "Steward switched this channel to open mode because the channel has been idle for 32 minutes. "
        "Agents may speak freely again.",
        "Reminder: 1 action item(s) were raised here (by alice), because the channel has been idle for 32 minutes.",
    ]
    await chat.cog.sweep()
    assert len(chat.notices()) == 4  # the same idle stretch is acted on once
    assert ROOM.key in chat.cog.states
    chat.clock.advance(2000)
    await chat.cog.sweep()
    assert ROOM.key not in chat.cog.states
    assert chat.metric("steward_conversation_rooms") == 0


async def test_idle_detected_when_the_next_message_arrives_after_the_stretch(chat):
    signal = Signal(SignalKind.CONFLICT, "a test conflict")
    await chat.say("alice", "hello")
    await chat.cog.execute(ROOM, SetModeProposal(mode=Mode.QUIET, reason="a test"), signal, now=chat.clock.now())
    await chat.say("bob", "anyone around?", advance=2000)
    assert chat.cog.mode_of(ROOM) is Mode.OPEN


# --- commands, human override, the audit trail -----------------------------------------------------------------


async def test_a_human_sets_the_mode_by_command_and_the_gate_enforces_it(chat):
    reply = await run(chat, "mode quiet")
    assert reply.ok and reply.text == "Mode set to quiet."
    assert chat.notices() == [
        "alice switched this channel to quiet mode. Agents are silent here until the mode changes."
    ]
    result = await chat.agent("helper", "hello?")
    assert not result.posted and result.decision.rule == "conversation.mode"
    assert result.decision.reason == "this channel is in quiet mode: agents are silent (set by alice)"
    shown = await run(chat, "mode", admin=False)
    assert shown.text.startswith("This channel is in quiet mode, set by alice")
    denied = await run(chat, "mode open", who="mallory", admin=False)
    assert not denied.ok and "only server admins" in denied.text
    bad = await run(chat, "mode loud")
    assert not bad.ok and "unknown mode 'loud'" in bad.text
    [entry] = await chat.audit()
    assert (entry.actor, entry.source, entry.action) == ("alice", "command", "set_mode")
    assert entry.params == {"mode": "quiet", "previous": "open"}
    await run(chat, "mode focused the demo starts, agents answer questions only")
    assert chat.notices()[-1] == (
        "alice switched this channel to focused mode because the demo starts, agents answer questions only. "
        "Agents now speak only when someone addresses them by name or replies to them."
    )
    assert (await chat.audit())[-1].reason == "the demo starts, agents answer questions only"


async def test_a_mode_a_human_set_is_left_alone_by_the_moderator(chat):
    await run(chat, "mode open")
    await agents_take_over(chat)
    assert chat.cog.mode_of(ROOM) is Mode.OPEN
    assert all(e.source == "command" for e in await chat.audit())


async def test_the_audit_command_separates_the_moderator_from_humans(chat):
    await run(chat, "mode review")
    await chat.say("alice", "TODO: ship it")
    everything = (await run(chat, "audit")).text.splitlines()
    assert len(everything) == 2
    assert "Steward (moderator) post_message" in everything[0] and "on action_item" in everything[0]
    assert "alice (command) set_mode mode=review, previous=open" in everything[1]
    only_moderator = (await run(chat, "audit moderator")).text.splitlines()
    assert len(only_moderator) == 1 and "Steward (moderator)" in only_moderator[0]
    assert "alice (command)" in (await run(chat, "audit command 5")).text
    assert not (await run(chat, "audit everything")).ok
    assert (await run(chat, "audit", who="bob", admin=False)).ok


async def test_review_mode_hands_agents_messages_to_the_drafts_service(chat):
    held: list[tuple[str, str, int]] = []

    class Drafts:
        async def hold_for_review(self, submission, decision, decision_id):
            held.append((submission.agent.name, submission.text, decision_id))
            return 41

    chat.app.services.provide(DraftReview, Drafts(), owner="test")
    await run(chat, "mode review")
    result = await chat.agent("helper", "a considered reply")
    assert result.held == "41" and not result.posted
    assert held == [("helper", "a considered reply", result.decision_id)]
    assert chat.metric("steward_conversation_review_holds_total") == 1
    await run(chat, "mode open")
    assert (await chat.agent("helper", "now freely")).posted


# --- no loops ----------------------------------------------------------------------------------------------------


async def test_the_moderator_never_reacts_to_its_own_notices(chat):
    await agents_take_over(chat)
    await chat.say("alice", "TODO: look at this", advance=400)
    notices = chat.notices()
    assert len(notices) == 2
    turns_before = len(chat.cog.states[ROOM.key].turns)
    audit_before = len(await chat.audit())
    # Feed every notice back as a platform would echo it: as Steward, as a bot user, and even as a human author.
    for i, text in enumerate(notices * 3):
        author = [SYSTEM_ACTOR, Actor("test", "steward-bot", ActorKind.BOT), chat.human("alice")][i // len(notices)]
        await chat.app.bus.dispatch(
            MessageCreated(at=chat.clock.now(), room=ROOM, message_id=f"echo{i}", author=author, text=text)
        )
    await chat.app.bus.join()
    assert chat.notices() == notices
    assert len(chat.cog.states[ROOM.key].turns) == turns_before
    assert len(await chat.audit()) == audit_before
    assert chat.metric("steward_conversation_ignored_total", reason="steward_notice") == 2
    assert chat.metric("steward_conversation_ignored_total", reason="own_notice_echo") == 4


# --- persistence -------------------------------------------------------------------------------------------------


async def test_modes_and_styles_survive_a_restart(start_chat):
    first = await start_chat()
    await run(first, "mode focused")
    await first.app.stop()
    second = await start_chat()
    assert second.cog.mode_of(ROOM) is Mode.FOCUSED
    assert not (await second.agent("helper", "am I allowed?")).posted
    assert len(await second.audit()) == 1


async def test_a_moderator_mode_from_before_a_restart_still_lapses_when_idle(start_chat, clock):
    first = await start_chat()
    signal = Signal(SignalKind.CONFLICT, "a heated exchange")
    proposal = SetModeProposal(mode=Mode.REVIEW, reason="a heated exchange")
    await first.cog.execute(ROOM, proposal, signal, now=clock.now())
    await first.app.stop()
    second = await start_chat()
    clock.advance(1900)
    await second.cog.sweep()
    assert second.cog.mode_of(ROOM) is Mode.OPEN


async def test_a_broken_scheduled_command_is_counted_not_crashed(chat):
    await chat.app.scheduler.schedule_at(COMMAND_TIMER, "broken", chat.clock.now(), {"command": "mode open"})
    await chat.app.scheduler.schedule_at(
        COMMAND_TIMER, "forbidden", chat.clock.now(), {"room": ROOM.key, "command": "status"}
    )
    assert await chat.app.scheduler.fire_due() == 2
    assert chat.metric("steward_rejected_input_total", source="conversation_timer", reason="bad_payload") == 1
    assert chat.notices() == ["Steward did not run the scheduled `status`: it is no longer allowed here."]


async def test_auto_actions_off_keeps_enforcing_modes_but_takes_no_action(start_chat):
    chat = await start_chat(auto_actions=False)
    await agents_take_over(chat)
    assert chat.cog.mode_of(ROOM) is Mode.OPEN and chat.notices() == []
    await run(chat, "mode quiet")
    assert not (await chat.agent("helper", "hi")).posted


async def test_a_deleted_message_no_longer_counts(chat):
    from bot.events import MessageDeleted

    await chat.say("alice", "morning all")
    posted = [await chat.agent("helper" if i % 2 == 0 else "critic", f"thought number {i}") for i in range(5)]
    # Two agent posts are deleted (say the moderator removed them): the window is too short to judge again.
    for result in posted[-2:]:
        await chat.app.bus.dispatch(MessageDeleted(at=chat.clock.now(), room=ROOM, message_id=result.message_id))
    assert len(chat.cog.states[ROOM.key].turns) == 4
    await chat.agent("critic", "thought number 5")
    assert chat.cog.mode_of(ROOM) is Mode.OPEN
    await chat.agent("helper", "thought number 6")
    await chat.agent("critic", "thought number 7")
    assert chat.cog.mode_of(ROOM) is Mode.FOCUSED


async def test_limits_the_moderator_set_lapse_when_the_room_goes_idle(chat):
    for name in ("alice", "bob", "carol"):
        await chat.say(name, f"{name} here")
    for i in range(4):
        await chat.agent("helper", f"point {i}", advance=2)
    assert chat.cog.agent_style(ROOM.key, "helper").max_per_minute == 2
    chat.clock.advance(1900)
    await chat.cog.sweep()
    assert chat.notices()[-1] == (
        "Steward set helper's reply style back to normal and lifted helper's rate limit in this channel because the "
        "channel has been idle for 32 minutes."
    )
    style = chat.cog.agent_style(ROOM.key, "helper")
    assert style.style == "normal" and style.max_per_minute is None
    assert (await chat.agent("helper", "x" * 400)).posted


async def test_an_admin_sets_and_reads_an_agents_style_by_command(chat):
    assert (await run(chat, "agentstyle helper", admin=False)).text == (
        "helper has no style or rate limit in this channel."
    )
    reply = await run(chat, "agentstyle helper brief 1")
    assert reply.ok, reply.text
    assert chat.notices()[-1] == (
        "alice asked helper to keep its replies brief (at most 280 characters) and limited helper to 1 message(s) a "
        "minute in this channel."
    )
    assert (await run(chat, "agentstyle helper", admin=False)).text.startswith(
        "helper in this channel: brief replies (at most 280 characters), at most 1 message(s) a minute; set by alice"
    )
    assert (await chat.agent("helper", "ok")).posted
    assert (await chat.agent("helper", "again", advance=1)).decision.rule == "conversation.rate"
    assert not (await run(chat, "agentstyle helper normal", who="mallory", admin=False)).ok
    assert "no agent named 'ghost'" in (await run(chat, "agentstyle ghost brief")).text
    assert "neither a style" in (await run(chat, "agentstyle helper loud")).text
    assert (await run(chat, "agentstyle helper 0")).ok
    assert (await chat.agent("helper", "free again", advance=1)).posted
    entries = await chat.audit(source="command")
    assert [e.params for e in entries] == [
        {"agent": "helper", "style": "brief", "max_per_minute": 1},
        {"agent": "helper", "style": None, "max_per_minute": 0},
    ]
    # Limits a human set are theirs: an idle room does not lift them.
    await run(chat, "agentstyle helper brief")
    chat.clock.advance(4000)
    await chat.cog.sweep()
    assert chat.cog.agent_style(ROOM.key, "helper").style == "brief"


async def test_a_reply_to_an_agents_old_message_addresses_it(chat):
    await run(chat, "mode focused")
    await chat.app.bus.dispatch(
        MessageCreated(
            at=chat.clock.now(),
            room=ROOM,
            message_id="late1",
            author=chat.human("bob"),
            text="about what you said yesterday",
            reply_to="yesterday-42",
            reply_to_author=Actor("test", "critic", ActorKind.AGENT, "critic"),
        )
    )
    assert (await chat.agent("critic", "I stand by it")).posted
    assert not (await chat.agent("helper", "me too")).posted


async def test_scores_that_are_not_probabilities_are_counted_and_ignored(chat):
    m1 = await chat.say("alice", "hi")
    for scores in ({"toxicity": float("nan")}, {"toxicity": 7.0}, {"toxicity": "high"}):
        await chat.app.bus.dispatch(
            MessageScored(at=chat.clock.now(), room=ROOM, message_id=m1, author=chat.human("alice"), scores=scores)
        )
    assert chat.metric("steward_rejected_input_total", source="conversation_scores", reason="not_a_probability") == 3
    assert chat.metric("steward_listener_errors_total", cog="conversation", listener="conversation.on_scored") == 0
    assert chat.cog.states[ROOM.key].toxicity == {}


async def test_a_sweep_skips_rooms_with_nothing_due_and_still_finds_an_overdue_question(chat, monkeypatch):
    """The periodic sweep costs a comparison for a room where nothing can be idle, overdue or old enough to forget
    yet, so many quiet rooms do not slow it down; what comes due is still found on time."""
    await chat.say("alice", "how do we rotate the API keys?")
    await chat.cog.sweep()  # looked at once: nothing due, its next look is worked out
    looked: list[str] = []
    real_cfg = chat.cog.rooms.cfg

    def counted(room):
        looked.append(room.key)
        return real_cfg(room)

    monkeypatch.setattr(chat.cog.rooms, "cfg", counted)
    chat.clock.advance(60)
    await chat.cog.sweep()
    assert looked == [] and chat.notices() == []  # the question has not waited its timeout yet: not looked at
    chat.clock.advance(600)
    await chat.cog.sweep()
    assert ROOM.key in looked
    assert chat.notices() == [
        "A question here is still waiting for an answer, because alice asked a question 11 minutes ago that no one "
        "has answered."
    ]
    await chat.say("bob", "is anyone around?")  # a message asks for a look at the next sweep
    looked.clear()
    await chat.cog.sweep()
    assert ROOM.key in looked
