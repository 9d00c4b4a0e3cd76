"""Every branch of the invitation policy, as tables."""

from __future__ import annotations

from dataclasses import replace

import pytest

from policy.presence import (
    APPROVED,
    ASK_OWNER,
    CHECKS,
    POLICY_ALLOWS,
    REWARDS,
    ApprovalMode,
    InvitationFacts,
    InvitationPolicy,
    InviterKind,
    Outcome,
    RewardEvent,
    classify_inviter,
    decide_approval,
    decide_invitation,
    suspension_covers,
)

NOW = 1_000_000.0
BASE = InvitationFacts(
    now=NOW, inviter_kind=InviterKind.USER, policy=InvitationPolicy.ANYONE, approval_mode=ApprovalMode.MANUAL
)

P, K = InvitationPolicy, InviterKind

# policy x inviter kind -> allowed
ALLOWED_TABLE = [
    (P.OWNER_ONLY, K.OWNER, True),
    (P.OWNER_ONLY, K.USER, False),
    (P.OWNER_ONLY, K.AGENT, False),
    (P.OWNER_ONLY, K.SYSTEM, False),
    (P.ANY_USER, K.OWNER, True),
    (P.ANY_USER, K.USER, True),
    (P.ANY_USER, K.AGENT, False),
    (P.ANY_USER, K.SYSTEM, False),
    (P.OTHER_AGENTS, K.OWNER, True),
    (P.OTHER_AGENTS, K.USER, False),
    (P.OTHER_AGENTS, K.AGENT, True),
    (P.OTHER_AGENTS, K.SYSTEM, False),
    (P.USERS_AND_AGENTS, K.OWNER, True),
    (P.USERS_AND_AGENTS, K.USER, True),
    (P.USERS_AND_AGENTS, K.AGENT, True),
    (P.USERS_AND_AGENTS, K.SYSTEM, False),
    (P.ANYONE, K.OWNER, True),
    (P.ANYONE, K.USER, True),
    (P.ANYONE, K.AGENT, True),
    (P.ANYONE, K.SYSTEM, True),
]


def test_the_allowed_table_covers_every_policy_and_inviter():
    assert {(p, k) for p, k, _ in ALLOWED_TABLE} == {(p, k) for p in P for k in K}


@pytest.mark.parametrize(("policy", "kind", "allowed"), ALLOWED_TABLE)
def test_policy_admits_inviters(policy, kind, allowed):
    assert (kind in POLICY_ALLOWS[policy]) is allowed
    verdict = decide_invitation(replace(BASE, policy=policy, inviter_kind=kind))
    if allowed:
        assert verdict.rule != "policy"
    else:
        assert (verdict.outcome, verdict.rule) == (Outcome.DECLINE, "policy")
        assert policy.value in verdict.reason


# One row per check, in order: the facts that make exactly that check fire, and the verdict expected.
DECISION_TABLE = [
    ("self_invite", dict(self_invite=True, inviter_kind=K.AGENT), Outcome.DECLINE),
    ("suspended", dict(suspended_until=NOW + 60), Outcome.DECLINE),
    ("room_refuses_agents", dict(room_accepts_agents=False), Outcome.DECLINE),
    ("already_present", dict(present_in_room=True), Outcome.DECLINE),
    ("policy", dict(policy=P.OWNER_ONLY), Outcome.DECLINE),
    ("inviter_rate", dict(inviter_recent=5, inviter_limit=5), Outcome.DECLINE),
    ("capacity", dict(rooms_in_use=3, max_rooms=3), Outcome.DECLINE),
    ("cooldown", dict(last_join_at=NOW - 10, join_cooldown=60), Outcome.DEFER),
    ("owner_invited", dict(inviter_kind=K.OWNER), Outcome.AUTO_JOIN),
    ("auto_approval", dict(approval_mode=ApprovalMode.AUTO), Outcome.AUTO_JOIN),
    ("owner_approval", {}, Outcome.ASK_OWNER),
]


def test_the_decision_table_has_a_row_for_every_check():
    assert [row[0] for row in DECISION_TABLE[:-1]] == [c.rule for c in CHECKS]


@pytest.mark.parametrize(("rule", "changes", "outcome"), DECISION_TABLE)
def test_each_check_decides(rule, changes, outcome):
    verdict = decide_invitation(replace(BASE, **changes))
    assert (verdict.rule, verdict.outcome) == (rule, outcome)
    assert verdict.reason


# Edges that must NOT fire a check.
NOT_FIRING = [
    ("suspension over", dict(suspended_until=NOW - 1)),
    ("suspension ends now", dict(suspended_until=NOW)),
    ("below capacity", dict(rooms_in_use=2, max_rooms=3)),
    ("inviter below limit", dict(inviter_recent=4, inviter_limit=5)),
    ("cooldown over", dict(last_join_at=NOW - 60, join_cooldown=60)),
    ("no cooldown set", dict(last_join_at=NOW - 1, join_cooldown=0)),
    ("never joined", dict(last_join_at=None, join_cooldown=600)),
]


@pytest.mark.parametrize(("label", "changes"), NOT_FIRING)
def test_edges_fall_through_to_the_owner(label, changes):
    assert decide_invitation(replace(BASE, **changes)) == ASK_OWNER


def test_the_owner_is_not_rate_limited_but_still_respects_capacity():
    owner = replace(BASE, inviter_kind=K.OWNER, inviter_recent=99, inviter_limit=1)
    assert decide_invitation(owner).outcome is Outcome.AUTO_JOIN
    assert decide_invitation(replace(owner, rooms_in_use=1, max_rooms=1)).rule == "capacity"


def test_cooldown_declines_when_deferring_is_off_and_says_when():
    facts = replace(BASE, last_join_at=NOW - 10, join_cooldown=60, defer_on_cooldown=False)
    verdict = decide_invitation(facts)
    assert (verdict.outcome, verdict.rule) == (Outcome.DECLINE, "cooldown")
    assert "50s" in verdict.reason
    deferred = decide_invitation(replace(facts, defer_on_cooldown=True))
    assert deferred.retry_at == NOW + 50


def test_earlier_checks_win_over_later_ones():
    everything = replace(
        BASE, suspended_until=NOW + 1, room_accepts_agents=False, rooms_in_use=9, max_rooms=1, policy=P.OWNER_ONLY
    )
    assert decide_invitation(everything).rule == "suspended"


APPROVAL_TABLE = [
    ("suspended", dict(suspended_until=NOW + 5)),
    ("room_refuses_agents", dict(room_accepts_agents=False)),
    ("already_present", dict(present_in_room=True)),
    ("capacity", dict(rooms_in_use=1, max_rooms=1)),
    # The owner's approval overrides the inviter-side checks:
    ("owner_approved", dict(policy=P.OWNER_ONLY)),
    ("owner_approved", dict(inviter_recent=50)),
    ("owner_approved", dict(last_join_at=NOW - 1, join_cooldown=600)),
    ("owner_approved", {}),
]


@pytest.mark.parametrize(("rule", "changes"), APPROVAL_TABLE)
def test_approval_rechecks_only_what_the_owner_cannot_override(rule, changes):
    verdict = decide_approval(replace(BASE, **changes))
    assert verdict.rule == rule
    assert verdict.outcome is (Outcome.AUTO_JOIN if rule == "owner_approved" else Outcome.DECLINE)
    if rule == "owner_approved":
        assert verdict == APPROVED


CLASSIFY_TABLE = [
    (dict(actor_kind="system", actor_id="steward", actor_platform="steward"), K.SYSTEM),
    (dict(actor_kind="agent", actor_id="helper", actor_platform="test"), K.AGENT),
    (dict(actor_kind="bot", actor_id="U1", actor_platform="test"), K.AGENT),
    (dict(actor_kind="human", actor_id="alice", actor_platform="test"), K.OWNER),
    (dict(actor_kind="human", actor_id="alice", actor_platform="other"), K.USER),
    (dict(actor_kind="human", actor_id="bob", actor_platform="test"), K.USER),
]


@pytest.mark.parametrize(("actor", "kind"), CLASSIFY_TABLE)
def test_classify_inviter(actor, kind):
    assert classify_inviter(**actor, owner_id="alice", agent_platform="test") is kind


SUSPENSION_TABLE = [
    (dict(platform="d", server="g1", room_key=None), ("d", "g1", "c1"), True),
    (dict(platform="d", server="g1", room_key=None), ("d", "g2", "c1"), False),
    (dict(platform="d", server="g1", room_key=None), ("s", "g1", "c1"), False),
    (dict(platform="d", server="g1", room_key="d:g1:c1"), ("d", "g1", "c1"), True),
    (dict(platform="d", server="g1", room_key="d:g1:c1"), ("d", "g1", "c2"), False),
]


@pytest.mark.parametrize(("suspension", "room", "covered"), SUSPENSION_TABLE)
def test_suspension_scope(suspension, room, covered):
    assert suspension_covers(**suspension, room=room) is covered


REWARD_TABLE = [
    (RewardEvent.FORCED_LEAVE, -1.0, "presence.forced_leave"),
    (RewardEvent.SUSPENSION, -2.0, "presence.suspension"),
    (RewardEvent.BLOCKED_MESSAGE, -0.7, "presence.blocked_message"),
    (RewardEvent.DRAFT_APPROVED, 0.5, "explicit.owner"),
    (RewardEvent.DRAFT_EDITED, -0.2, "explicit.owner"),
    (RewardEvent.DRAFT_REJECTED, -0.5, "explicit.owner"),
    (RewardEvent.INVITATION_APPROVED, 0.5, "explicit.owner"),
    (RewardEvent.INVITATION_DECLINED, -0.3, "explicit.owner"),
]


def test_every_reward_event_has_a_row():
    assert {row[0] for row in REWARD_TABLE} == set(RewardEvent) == set(REWARDS)


@pytest.mark.parametrize(("event", "reward", "source"), REWARD_TABLE)
def test_rewards(event, reward, source):
    assert (REWARDS[event].reward, REWARDS[event].source) == (reward, source)
