"""Presence records its own actions on agents as cases in the core's ``cases`` (``ctx.cases``): a forced leave
(a suspension, a removal request) and an admin's removal; voluntary leaves are not cases."""

from __future__ import annotations

from bot.actions import ActionResult, RemoveAgentFromChannel, SendMessage
from bot.events import AgentRemovalRequested, FeedbackRecorded, ModerationDecision
from domain import SYSTEM_ACTOR

from .conftest import ADMIN, ALICE, OTHER_ROOM, ROOM, collect, register, run


async def cases_of(app, agent: str = "helper"):
    return list(reversed(await app.cases.list(ROOM.server_key, target=agent, limit=50)))


async def test_an_admin_removal_is_recorded_as_a_case(papp):
    decisions = collect(papp, ModerationDecision)
    await register(papp)
    await run(papp, "invite helper")
    await run(papp, "leave helper")  # voluntary: no case
    await run(papp, "invite helper")
    assert (await run(papp, "remove helper spamming", actor=ADMIN, admin=True)).ok

    [case] = await cases_of(papp)
    assert (case.number, case.room, case.target_kind, case.target_id) == (1, ROOM.key, "agent", "helper")
    assert (case.verdict, case.rule, case.reason) == ("remove", "presence.removed", "spamming")
    assert case.action == f"removed from {ROOM.key} (by {ADMIN.key})" and not case.log_only
    # The case is announced like the moderator's, and presence does not take it for a blocked message.
    assert [(d.case_id, d.verdict, d.rule) for d in decisions] == [(1, "remove", "presence.removed")]


async def test_a_removal_request_is_recorded_as_a_forced_leave_case(papp):
    await register(papp)
    await run(papp, "invite helper")
    await run(papp, f"invite helper {OTHER_ROOM.key}")
    # The owner taking their agent out is a voluntary leave: no case.
    await papp.bus.publish(AgentRemovalRequested(agent="helper", room=OTHER_ROOM, reason="", requested_by=ALICE))
    await papp.bus.join()
    assert await cases_of(papp) == []
    await papp.bus.publish(
        AgentRemovalRequested(agent="helper", room=ROOM, reason="off topic", requested_by=SYSTEM_ACTOR)
    )
    await papp.bus.join()
    [case] = await cases_of(papp)
    assert (case.verdict, case.rule, case.reason) == ("remove", "presence.forced_leave", "off topic")
    assert case.room == ROOM.key
    assert SYSTEM_ACTOR.key in case.action


async def test_a_forced_leave_for_a_suspension_is_recorded_as_a_case(papp):
    rewards = collect(papp, FeedbackRecorded)
    await register(papp)
    await run(papp, "invite helper")
    await run(papp, f"invite helper {OTHER_ROOM.key}")
    await papp.suspensions.suspend(
        agent="helper",
        room=ROOM,
        whole_server=False,
        at=papp.clock.now(),
        seconds=600,
        reason="3 rejections",
        case_number=None,
    )
    await papp.bus.join()
    [case] = await cases_of(papp)  # only the suspended room
    assert (case.verdict, case.rule, case.room) == ("remove", "presence.forced_leave", ROOM.key)
    assert case.reason == "suspended: 3 rejections" and "presence.suspension" in case.action
    assert sorted(r.source for r in rewards) == ["presence.forced_leave", "presence.suspension"]


async def test_a_removal_the_platform_refuses_is_not_announced_as_done(papp, adapter):
    """Slack refuses to kick from a channel without the right scope: the room is not told the agent "was removed",
    and the case says it was barred with the platform's reason, so an admin knows to take it out by hand."""
    adapter.fail[RemoveAgentFromChannel] = ActionResult.failed("not allowed", code="missing_scope")
    await register(papp)
    await run(papp, "invite helper")
    assert (await run(papp, "remove helper spamming", actor=ADMIN, admin=True)).ok

    notice = [m.text for m in adapter.of(SendMessage) if m.system][-1]
    assert "was removed" not in notice
    assert notice.startswith("helper may no longer post here: spamming.") and "missing_scope" in notice
    [case] = await cases_of(papp)
    assert case.action == f"barred from {ROOM.key} (by {ADMIN.key}); removal_failed:missing_scope"
    # Still out of the room as far as Steward goes: a second removal finds nothing to remove.
    assert (await run(papp, "remove helper again", actor=ADMIN, admin=True)).text == "helper is not in #general (g1)."
