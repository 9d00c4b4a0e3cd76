"""The conversation moderator's pure rules: features, signals, proposals and the action schema."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from policy.conversation import (
    ACTION_ADAPTER,
    DEFAULT_ACTION_ITEM_PATTERNS,
    AddParticipantProposal,
    AgentName,
    AuthorKind,
    Mode,
    OpenQuestion,
    PostMessageProposal,
    ProposalBatch,
    RemoveParticipantProposal,
    RoomView,
    ScheduleCommandProposal,
    SetAgentStyleProposal,
    SetModeProposal,
    SignalKind,
    TextFeatures,
    Thresholds,
    Trend,
    Turn,
    compile_patterns,
    conflict_signals,
    detect_signals,
    dominance_signals,
    extract_features,
    idle_signal,
    propose,
    question_signals,
    topic_signals,
)

PATTERNS = compile_patterns(DEFAULT_ACTION_ITEM_PATTERNS)
TH = Thresholds(window_messages=10, dominance_min_messages=6)
NOW = 10_000.0


def turn(i: int, author: str, kind: AuthorKind = AuthorKind.HUMAN, *, at: float | None = None, **kw) -> Turn:
    return Turn(at=at if at is not None else NOW - 100 + i, message_id=f"m{i}", author=author, author_kind=kind, **kw)


def view(turns, **kw) -> RoomView:
    defaults = dict(
        now=NOW,
        mode=Mode.OPEN,
        mode_set_by="default",
        mode_signal="",
        turns=tuple(turns),
        last_activity=max((t.at for t in turns), default=NOW),
    )
    defaults.update(kw)
    return RoomView(**defaults)


# --- features ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("how do I rotate the keys?", True),
        ("Is the deploy done", False),  # no question mark: not sure enough
        ("the deploy is done.", False),
        ("anyone seen the logs? they were here", True),
    ],
)
def test_questions_are_recognised(text, question):
    assert extract_features(text).is_question is question


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("TODO: write the migration", True),
        ("I'll take the rollback plan", True),
        ("we need to update the runbook by friday", True),
        ("can someone please look into the flaky test", True),
        ("that was a nice demo", False),
    ],
)
def test_action_items_are_recognised(text, item):
    assert extract_features(text, action_patterns=PATTERNS).action_item is item


def test_agents_are_addressed_by_name_display_name_or_platform_mention():
    agents = [AgentName("helper", ("Helper Bot",)), AgentName("critic", ("U77",))]
    assert extract_features("helper, what do you think?", agents=agents).mentioned_agents == {"helper"}
    assert extract_features("ask Helper Bot", agents=agents).mentioned_agents == {"helper"}
    assert extract_features("hey", agents=agents, mentions=("U77",)).mentioned_agents == {"critic"}
    # A name inside another word is not a mention.
    assert extract_features("the helpers are off", agents=agents).mentioned_agents == frozenset()


def test_topic_keywords_are_matched_per_agent():
    features = extract_features(
        "the deploy failed, we need a rollback", topics={"ops": ["deploy", "rollback", "on call"], "poet": ["rhyme"]}
    )
    assert features.topic_hits == {"ops": frozenset({"deploy", "rollback"})}
    assert extract_features("who is on call tonight", topics={"ops": ["on call"]}).topic_hits == {
        "ops": frozenset({"on call"})
    }


def test_a_bad_action_item_pattern_is_named():
    with pytest.raises(ValueError, match=r"\(unclosed"):
        compile_patterns(["(unclosed"])


# --- signals -----------------------------------------------------------------------------------------------------


def test_agents_dominating_the_window_is_a_signal_and_needs_enough_messages():
    few = [turn(i, "helper", AuthorKind.AGENT) for i in range(5)]
    assert dominance_signals(view(few), TH) == []
    many = [turn(0, "alice"), turn(1, "bob")] + [
        turn(i, "helper" if i % 2 else "critic", AuthorKind.AGENT) for i in range(2, 10)
    ]
    kinds = {s.kind for s in dominance_signals(view(many), TH)}
    assert SignalKind.AGENT_DOMINANCE in kinds
    assert SignalKind.AGENT_MONOPOLY not in kinds  # two agents share the load: neither alone has half


def test_one_agent_writing_most_messages_is_a_monopoly():
    turns = [turn(0, "alice"), turn(1, "bob"), turn(2, "carol")] + [
        turn(i, "helper", AuthorKind.AGENT) for i in range(3, 9)
    ]
    monopoly = [s for s in dominance_signals(view(turns), TH) if s.kind is SignalKind.AGENT_MONOPOLY]
    assert len(monopoly) == 1 and monopoly[0].subject == "helper"
    assert "helper wrote 6 of the last 9 messages" in monopoly[0].because


def test_balance_is_signalled_only_to_end_a_dominance_driven_focus():
    humans = [turn(i, "alice" if i % 2 else "bob") for i in range(8)] + [turn(9, "helper", AuthorKind.AGENT)]
    assert dominance_signals(view(humans), TH) == []
    focused = view(humans, mode=Mode.FOCUSED, mode_set_by="moderator", mode_signal="agent_dominance")
    assert [s.kind for s in dominance_signals(focused, TH)] == [SignalKind.AGENTS_BALANCED]
    # Focused by a human, or for another reason: balance is no reason to lift it.
    by_human = view(humans, mode=Mode.FOCUSED, mode_set_by="alice", mode_signal="")
    assert dominance_signals(by_human, TH) == []


def test_hysteresis_between_the_enter_and_release_shares():
    # 5 of 10 agent messages: neither dominant (0.7) nor balanced (0.4).
    turns = [
        turn(i, "alice" if i % 2 else "helper", AuthorKind.HUMAN if i % 2 else AuthorKind.AGENT) for i in range(10)
    ]
    focused = view(turns, mode=Mode.FOCUSED, mode_set_by="moderator", mode_signal="agent_dominance")
    assert [s for s in dominance_signals(focused, TH) if s.kind is not SignalKind.AGENT_MONOPOLY] == []


def test_two_speakers_trading_hot_messages_is_a_conflict():
    turns = [
        turn(0, "alice", at=NOW - 60),
        turn(1, "bob", at=NOW - 50, reply_to="m0", reply_to_author="alice"),
        turn(2, "alice", at=NOW - 40, reply_to="m1", reply_to_author="bob"),
        turn(3, "carol", at=NOW - 30),
    ]
    calm = view(turns, toxicity={"m1": 0.9})
    assert conflict_signals(calm, TH) == []  # one hot message is not a conflict
    hot = view(turns, toxicity={"m1": 0.9, "m2": 0.75, "m3": 0.1})
    [signal] = conflict_signals(hot, TH)
    assert signal.kind is SignalKind.CONFLICT and signal.subject == "alice|bob"
    assert "between alice and bob" in signal.because and "0.90" in signal.because
    assert "agents" not in signal.evidence


def test_old_hot_messages_are_not_a_conflict_now():
    turns = [turn(0, "alice", at=NOW - 1000), turn(1, "bob", at=NOW - 990), turn(2, "alice", at=NOW - 980)]
    assert conflict_signals(view(turns, toxicity={"m1": 0.9, "m2": 0.9}), TH) == []


def test_a_souring_mood_while_two_speakers_go_back_and_forth_is_a_conflict():
    turns = [turn(i, "alice" if i % 2 else "bob", at=NOW - 50 + i) for i in range(4)]
    trend = Trend(NOW - 10, "sentiment", 0.3, -0.4)
    [signal] = conflict_signals(view(turns, trends=(trend,)), TH)
    assert "mood turned sharply" in signal.because
    small = Trend(NOW - 10, "sentiment", 0.3, 0.1)
    assert conflict_signals(view(turns, trends=(small,)), TH) == []
    rising_anger = Trend(NOW - 10, "anger", 0.1, 0.7)
    assert len(conflict_signals(view(turns, trends=(rising_anger,)), TH)) == 1


def test_a_conflict_with_an_agent_proposes_its_removal_not_a_mode():
    turns = [
        turn(0, "alice", at=NOW - 30),
        turn(1, "critic", AuthorKind.AGENT, at=NOW - 20),
        turn(2, "alice", at=NOW - 10),
    ]
    v = view(turns, toxicity={"m1": 0.8, "m2": 0.7})
    signals = conflict_signals(v, TH)
    assert signals[0].evidence["agents"] == "critic"
    [proposal] = propose(signals, v, TH)
    assert isinstance(proposal.action, RemoveParticipantProposal) and proposal.action.agent == "critic"


def test_a_conflict_between_humans_pauses_agents_and_schedules_the_way_back():
    turns = [turn(i, "alice" if i % 2 else "bob", at=NOW - 20 + i) for i in range(3)]
    v = view(turns, toxicity={"m1": 0.8, "m2": 0.7})
    actions = [p.action for p in propose(conflict_signals(v, TH), v, TH)]
    assert isinstance(actions[0], SetModeProposal) and actions[0].mode is Mode.REVIEW
    assert isinstance(actions[1], ScheduleCommandProposal) and actions[1].command == "mode open"
    assert actions[1].delay_seconds == TH.revert_after_seconds
    # Already in review: nothing more to do.
    assert propose(conflict_signals(v, TH), view(turns, mode=Mode.REVIEW, toxicity=v.toxicity), TH) == []


def test_a_topic_an_absent_agent_covers_invites_it():
    hits = TextFeatures(topic_hits={"ops": frozenset({"deploy"})})
    turns = [turn(0, "alice", features=hits), turn(1, "bob"), turn(2, "bob", features=hits)]
    v = view(turns, topics={"ops": ("deploy",)})
    [signal] = topic_signals(v, TH)
    assert signal.subject == "ops" and "deploy" in signal.because
    [proposal] = propose([signal], v, TH)
    assert isinstance(proposal.action, AddParticipantProposal) and proposal.action.agent == "ops"
    assert topic_signals(view(turns, topics={"ops": ("deploy",)}, present_agents=frozenset({"ops"})), TH) == []
    assert topic_signals(view(turns[:2], topics={"ops": ("deploy",)}), TH) == []  # one message is not a topic


def test_a_question_left_unanswered_past_the_timeout_is_a_signal():
    q = OpenQuestion("m1", "alice", NOW - 700)
    [signal] = question_signals(view([], open_questions=(q,)), TH)
    assert "alice asked a question 12 minutes ago" in signal.because
    fresh = OpenQuestion("m2", "bob", NOW - 100)
    assert question_signals(view([], open_questions=(fresh,)), TH) == []


def test_idle_stretches_revert_a_moderator_mode_and_remind_of_action_items():
    v = view([], last_activity=NOW - 2000, mode=Mode.FOCUSED, mode_set_by="moderator", action_items=("alice", "bob"))
    signal = idle_signal(v, TH)
    assert signal is not None and "idle for 33 minutes" in signal.because
    actions = [p.action for p in propose([signal], v, TH)]
    assert isinstance(actions[0], SetModeProposal) and actions[0].mode is Mode.OPEN
    assert isinstance(actions[1], PostMessageProposal) and "by alice, bob" in actions[1].text
    assert idle_signal(view([], last_activity=NOW - 100), TH) is None
    # A mode a human set is theirs: idleness does not undo it.
    human = view([], last_activity=NOW - 2000, mode=Mode.QUIET, mode_set_by="alice")
    assert propose([idle_signal(human, TH)], human, TH) == []


def test_a_human_override_keeps_the_rules_off_the_mode_but_not_off_other_actions():
    turns = [turn(i, "helper", AuthorKind.AGENT) for i in range(10)]
    v = view(turns, human_override=True)
    actions = [p.action for p in propose(dominance_signals(v, TH), v, TH)]
    assert not any(isinstance(a, SetModeProposal) for a in actions)
    assert any(isinstance(a, SetAgentStyleProposal) for a in actions)


def test_detect_signals_reports_an_action_item_for_the_new_turn():
    t = turn(1, "alice", features=TextFeatures(action_item=True))
    v = view([t], action_items=("alice",))
    signals = detect_signals(v, TH, turn=t)
    assert [s.kind for s in signals] == [SignalKind.ACTION_ITEM]
    assert signals[0].subject == "m1"


# --- the action schema ------------------------------------------------------------------------------------------


def test_the_action_schema_accepts_each_kind():
    for data in (
        {"kind": "set_mode", "mode": "quiet", "reason": "r"},
        {"kind": "set_agent_style", "agent": "a", "style": "brief", "reason": "r"},
        {"kind": "set_agent_style", "agent": "a", "max_per_minute": 0, "reason": "r"},
        {"kind": "add_participant", "agent": "a", "reason": "r"},
        {"kind": "remove_participant", "agent": "a", "reason": "r"},
        {"kind": "schedule_command", "command": "mode open", "delay_seconds": 60, "reason": "r"},
        {"kind": "post_message", "text": "hello", "reason": "r"},
    ):
        assert ACTION_ADAPTER.validate_python(data).kind == data["kind"]


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "ban_everyone", "reason": "r"},
        {"kind": "set_mode", "mode": "chaos", "reason": "r"},
        {"kind": "set_mode", "mode": "quiet"},  # no reason
        {"kind": "set_mode", "mode": "quiet", "reason": "r", "extra": 1},
        {"kind": "schedule_command", "command": "mode open", "delay_seconds": 0, "reason": "r"},
        {"kind": "set_agent_style", "agent": "a", "max_per_minute": -1, "reason": "r"},
        {"kind": "post_message", "text": "x" * 501, "reason": "r"},
    ],
)
def test_the_action_schema_rejects_what_it_does_not_describe(data):
    with pytest.raises(ValidationError):
        ACTION_ADAPTER.validate_python(data)


def test_a_batch_is_an_object_with_a_list_of_actions():
    batch = ProposalBatch.model_validate({"actions": [{"kind": "set_mode", "mode": "open", "reason": "calm"}]})
    assert batch.actions[0].mode is Mode.OPEN
    with pytest.raises(ValidationError):
        ProposalBatch.model_validate({"actions": [], "thoughts": "..."})


# --- no flapping, whatever the conversation ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=80))
def test_the_mode_never_flips_back_on_the_next_message(agent_flags):
    """Replays any sequence of human (False) / agent (True) messages through the dominance rules with the debounce
    the cog applies: the mode changes at most once per two messages, and focus is lifted only after it was set."""
    turns: list[Turn] = []
    mode, signal_of_mode = Mode.OPEN, ""
    streaks: dict[str, int] = {}
    changes: list[int] = []
    for i, is_agent in enumerate(agent_flags):
        turns.append(turn(i, "helper" if is_agent else "alice", AuthorKind.AGENT if is_agent else AuthorKind.HUMAN))
        v = view(turns[-TH.window_messages :], mode=mode, mode_set_by="moderator", mode_signal=signal_of_mode)
        signals = [s for s in dominance_signals(v, TH) if s.kind is not SignalKind.AGENT_MONOPOLY]
        kinds = {s.kind for s in signals}
        assert not {SignalKind.AGENT_DOMINANCE, SignalKind.AGENTS_BALANCED} <= kinds
        streaks = {s.key: streaks.get(s.key, 0) + 1 for s in signals}
        ready = [s for s in signals if streaks[s.key] >= 2]
        for p in propose(ready, v, TH):
            assert isinstance(p.action, SetModeProposal)
            if p.action.mode is not mode:
                mode, signal_of_mode = p.action.mode, p.signal.kind.value
                changes.append((i, mode))
                streaks.clear()
    assert all(b[0] - a[0] >= 2 for a, b in itertools.pairwise(changes))
    # focused, open, focused, ...: focus is lifted only after dominance set it, and set only from open
    assert [m for _, m in changes] == [Mode.FOCUSED, Mode.OPEN] * (len(changes) // 2) + [Mode.FOCUSED] * (
        len(changes) % 2
    )


def test_an_idle_stretch_lifts_the_limits_the_moderator_set_on_agents():
    v = view([], last_activity=NOW - 2000, styled_agents=frozenset({"helper"}))
    [proposal] = propose([idle_signal(v, TH)], v, TH)
    assert isinstance(proposal.action, SetAgentStyleProposal)
    assert proposal.action.style == "normal" and proposal.action.max_per_minute == 0
