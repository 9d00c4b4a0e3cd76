"""The cogs together, as a server runs them: a room's talk leads to a suggestion, a click to an invitation, the
owner's approval to a join, and the agent's messages then pass the gate."""

from __future__ import annotations

from bot.actions import AddAgentToChannel, PostAsAgent, SendApprovalPrompt, SendMessage
from bot.app import StewardApp
from bot.commands import CommandInvocation
from bot.events import ButtonPressed, MessageCreated
from domain import Actor, ActorKind, Room

ROOM = Room("test", "guild", "db-help")
OLIVE = Actor("test", "olive", ActorKind.HUMAN, "Olive")
USERS = [Actor("test", f"u{n}", ActorKind.HUMAN, f"User {n}") for n in range(3)]


async def command(app: StewardApp, line: str, actor: Actor = OLIVE) -> str:
    reply = await app.commands.invoke(CommandInvocation.parse(line, actor=actor, room=ROOM, is_admin=True))
    for action in reply.actions:
        await app.router.perform(action)
    assert reply.ok, reply.text
    return reply.text


async def test_from_talk_to_suggestion_to_invitation_to_join_to_gated_speech(make_settings, adapter, clock) -> None:
    app = StewardApp(make_settings(), adapters=[adapter], clock=clock)
    await app.start()
    try:
        await command(app, "agent register dbhelper DB Helper")
        await command(app, "agent set dbhelper topics postgres,index,vacuum")
        await command(app, "agent set dbhelper policy anyone")
        await command(app, "agent set dbhelper cooldown 0")

        # People keep talking about the agent's topics.
        lines = ["our postgres is slow again", "did anyone check the index on orders?", "postgres vacuum never ran"]
        for n, (user, text) in enumerate(zip(USERS, lines, strict=True)):
            clock.advance(5)
            await app.publish(MessageCreated(at=clock.now(), room=ROOM, message_id=f"h{n}", author=user, text=text))
            await app.bus.join()
        suggestions = [m for m in adapter.of(SendMessage) if m.buttons and "dbhelper" in m.text.lower()]
        assert len(suggestions) == 1, [m.text for m in adapter.of(SendMessage)]

        # A person clicks "Invite": the presence coordinator asks the owner in a DM.
        await app.publish(
            ButtonPressed(
                at=clock.now(),
                actor=USERS[0],
                custom_id=suggestions[0].buttons[0].custom_id,
                room=ROOM,
                interaction_id="i1",
            )
        )
        await app.bus.join()
        prompts = adapter.of(SendApprovalPrompt)
        assert [p.user_id for p in prompts] == ["olive"] and prompts[0].kind == "invite"

        # The owner approves with the DM button: the agent joins the channel.
        approve = next(b for b in prompts[0].buttons if b.custom_id.endswith(":approve"))
        await app.publish(ButtonPressed(at=clock.now(), actor=OLIVE, custom_id=approve.custom_id, interaction_id="i2"))
        await app.bus.join()
        assert [a.agent.name for a in adapter.of(AddAgentToChannel)] == ["dbhelper"]

        # Now it speaks through the gate: an answer is posted, the same answer again is not.
        first = await app.publisher.submit(
            "dbhelper", ROOM, "Run VACUUM ANALYZE orders; then check pg_stat_user_tables."
        )
        again = await app.publisher.submit(
            "dbhelper", ROOM, "Run VACUUM ANALYZE orders; then check pg_stat_user_tables."
        )
        assert first.posted and not again.posted and again.decision.rule == "duplicate"
        assert len(adapter.of(PostAsAgent)) == 1
    finally:
        await app.stop()
