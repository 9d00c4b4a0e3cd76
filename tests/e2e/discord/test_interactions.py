"""Buttons and slash commands: approval prompts that survive a restart, only the intended user's click counts,
and the platform-neutral commands run as ``/steward`` subcommands."""

from __future__ import annotations

import asyncio
import copy

from bot.actions import ActionResult, AnswerInteraction, SendApprovalPrompt, SendMessage, UpdatePrompt
from bot.cog import Cog, listener
from bot.commands import Command, CommandInvocation, CommandReply, command
from bot.events import ButtonPressed, MessageCreated
from bot.interactions import Click
from storage.core import AgentRecord
from storage.db import Migration
from tests.e2e.discord.conftest import eventually, probe

EPHEMERAL = 64
DEFERRED_UPDATE = 6
DEFERRED_THINKING = 5


class TrialPrompts(Cog):
    """A small real cog that owns 'trial' prompts the way the presence cog owns invitations: it stores who may
    answer, refuses anyone else, and answers a second click with 'already decided'."""

    name = "trial_prompts"

    async def cog_load(self) -> None:
        await self.ctx.db.migrate(
            "trial_prompts",
            [Migration(1, "prompts", "CREATE TABLE trial_prompts (key TEXT PRIMARY KEY, owner TEXT, outcome TEXT)")],
        )
        self.ctx.add_interaction("trial", self.on_button)

    async def ask(self, owner_id: str, key: str, text: str) -> ActionResult:
        await self.ctx.db.execute("INSERT INTO trial_prompts (key, owner) VALUES (?, ?)", (key, owner_id))
        prompt = SendApprovalPrompt(target_platform="discord", user_id=owner_id, text=text, kind="trial", key=key)
        return await self.ctx.router.perform(prompt)

    async def on_button(self, click: Click):
        event, key, choice = click.press, click.key, click.choice
        if event.interaction_id is None:
            return None

        def answer(text: str) -> AnswerInteraction:
            return AnswerInteraction(target_platform="discord", interaction_id=event.interaction_id, text=text)

        row = await self.ctx.db.fetchone("SELECT owner, outcome FROM trial_prompts WHERE key = ?", (key,))
        if row is None:
            return answer("This prompt is unknown.")
        if event.actor.id != row["owner"]:
            return answer("Only the agent's owner can answer this.")
        if row["outcome"]:
            return answer(f"Already decided: {row['outcome']}.")
        await self.ctx.db.execute("UPDATE trial_prompts SET outcome = ? WHERE key = ?", (choice, key))
        assert event.room is not None and event.message_id is not None
        return [
            UpdatePrompt(
                target_platform="discord",
                channel_id=event.room.channel,
                message_id=event.message_id,
                text=f"Decided: {choice} (by <@{event.actor.id}>)",
            ),
            answer(f"Recorded: {choice}."),
        ]

    @command("echo", "repeat the arguments", usage="<words...>")
    async def echo(self, inv: CommandInvocation) -> str:
        return "args=" + "|".join(inv.args)

    @command("greet", "greet someone", options=[("who", "who to greet"), ("how", "how to greet")])
    async def greet(self, inv: CommandInvocation) -> str:
        return "greet=" + "|".join(inv.args)

    @command("announce", "post a notice in this room", usage="<text>")
    async def announce(self, inv: CommandInvocation) -> CommandReply:
        assert inv.room is not None
        notice = SendMessage(room=inv.room, text=inv.raw, system=True)
        return CommandReply("announced", actions=(notice,))

    @command("wipe", "an admin-only command", admin_only=True)
    async def wipe(self, inv: CommandInvocation) -> str:
        return f"wiped by {inv.actor.id} in {inv.room.key if inv.room else 'a DM'}"


def prompts(app) -> TrialPrompts:
    return app.cogs.cogs["trial_prompts"]  # type: ignore[return-value]


def answers_to(world, interaction: dict) -> list[dict]:
    return [r for r in world.fake.interaction_responses if r["token"] == interaction["token"]]


async def test_an_approval_button_in_a_dm_is_understood_after_a_restart(world, start_steward):
    app, _adapter = await start_steward(cogs={"trial_prompts": TrialPrompts})
    sent = await prompts(app).ask(world.alice["id"], "k1", "Let Helper join #general?")
    assert sent.ok and sent.note is None
    dm_channel = world.fake.dm_channels[world.alice["id"]]
    assert sent.channel_id == dm_channel["id"]
    await app.stop()

    app2, adapter2 = await start_steward(cogs={"trial_prompts": TrialPrompts})
    click = await world.fake.click(sent.message_id, "steward:trial:k1:approve", world.alice)

    responses = await eventually(lambda: len(answers_to(world, click)) >= 2 and answers_to(world, click))
    callback, followup = responses[0], responses[1]
    assert callback["kind"] == "callback" and callback["body"]["type"] == DEFERRED_UPDATE  # answered at once
    assert followup["kind"] == "followup" and followup["body"]["content"] == "Recorded: approve."
    assert followup["body"]["flags"] & EPHEMERAL
    await eventually(lambda: world.fake.messages[sent.message_id]["content"].startswith("Decided: approve"))
    assert world.fake.messages[sent.message_id]["components"] == []  # the buttons are gone
    [pressed] = probe(app2).of(ButtonPressed)
    assert pressed.actor.id == world.alice["id"] and pressed.room is not None and pressed.room.server == ""
    assert pressed.message_id == sent.message_id and pressed.interaction_id == click["id"]
    assert adapter2.health()["pending_interactions"] == 1


async def test_only_the_intended_user_counts_and_a_second_click_is_already_decided(world, start_steward):
    app, _adapter = await start_steward(
        cogs={"trial_prompts": TrialPrompts}, dm_fallback_channels={world.guild["id"]: world.fallback["id"]}
    )
    world.fake.dm_blocked.add(world.alice["id"])  # so the prompt lands in a channel where anyone can click
    sent = await prompts(app).ask(world.alice["id"], "k2", "Let Helper join #general?")
    assert sent.note == "dm_failed_fallback"

    intruder = await world.fake.click(sent.message_id, "steward:trial:k2:approve", world.bob)
    refusal = await eventually(lambda: [r for r in answers_to(world, intruder) if r["kind"] == "followup"])
    assert refusal[0]["body"]["content"] == "Only the agent's owner can answer this."
    assert refusal[0]["body"]["flags"] & EPHEMERAL
    assert world.fake.messages[sent.message_id]["components"]  # still open

    with_buttons = copy.deepcopy(world.fake.messages[sent.message_id])
    owner = await world.fake.click(sent.message_id, "steward:trial:k2:decline", world.alice)
    await eventually(lambda: [r for r in answers_to(world, owner) if r["kind"] == "followup"])
    # A second click that raced the edit removing the buttons.
    again = await world.fake.click(sent.message_id, "steward:trial:k2:approve", world.alice, as_seen=with_buttons)
    late = await eventually(lambda: [r for r in answers_to(world, again) if r["kind"] == "followup"])
    assert late[0]["body"]["content"] == "Already decided: decline."
    assert world.fake.messages[sent.message_id]["content"].startswith("Decided: decline")


async def test_an_answer_for_an_unknown_interaction_fails_clearly(world, start_steward):
    app, _adapter = await start_steward()
    result = await app.router.perform(AnswerInteraction(target_platform="discord", interaction_id="1", text="hi"))
    assert not result.ok and "unknown or expired" in result.error


async def test_slash_commands_are_synced_and_status_runs(world, start_steward):
    _app, _adapter = await start_steward(cogs={"trial_prompts": TrialPrompts})
    synced = {c["name"]: c for c in world.fake.commands["global"]}
    assert set(synced) == {"steward", "steward-admin"}
    assert {o["name"] for o in synced["steward"]["options"]} >= {"help", "status", "echo", "greet"}
    admin_names = {o["name"] for o in synced["steward-admin"]["options"]}
    assert "wipe" in admin_names and not admin_names & {"help", "status", "echo", "greet"}
    assert str(synced["steward-admin"]["default_member_permissions"]) == "32"  # Manage Server

    interaction = await world.fake.slash(world.general["id"], world.alice, "steward", "status")

    responses = await eventually(lambda: len(answers_to(world, interaction)) >= 2 and answers_to(world, interaction))
    assert responses[0]["body"]["type"] == DEFERRED_THINKING and responses[0]["body"]["data"]["flags"] & EPHEMERAL
    text = responses[1]["body"]["content"]
    assert text.startswith("status: ") and "adapters: discord (up)" in text and "trial_prompts" in text


async def test_command_arguments_reach_the_command(world, start_steward):
    await start_steward(cogs={"trial_prompts": TrialPrompts})
    echo = await world.fake.slash(world.general["id"], world.alice, "steward", "echo", {"args": 'one "two three"'})
    greet = await world.fake.slash(world.general["id"], world.alice, "steward", "greet", {"who": "bob"})

    echoed = await eventually(lambda: [r for r in answers_to(world, echo) if r["kind"] == "followup"])
    greeted = await eventually(lambda: [r for r in answers_to(world, greet) if r["kind"] == "followup"])
    assert echoed[0]["body"]["content"] == "args=one|two three"

    announce = await world.fake.slash(world.general["id"], world.alice, "steward", "announce", {"args": "tea at 5"})
    done = await eventually(lambda: [r for r in answers_to(world, announce) if r["kind"] == "followup"])
    assert done[0]["body"]["content"] == "announced"
    notices = await eventually(
        lambda: [m for m in world.fake.messages.values() if m["content"] == "tea at 5"]
    )  # the reply's actions ran
    assert notices[0]["channel_id"] == world.general["id"]
    assert greeted[0]["body"]["content"] == "greet=bob"


async def test_admin_commands_need_manage_server(world, start_steward):
    await start_steward(cogs={"trial_prompts": TrialPrompts})
    member = await world.fake.slash(world.general["id"], world.bob, "steward-admin", "wipe")
    admin = await world.fake.slash(world.general["id"], world.admin, "steward-admin", "wipe")

    refused = await eventually(lambda: [r for r in answers_to(world, member) if r["kind"] == "followup"])
    allowed = await eventually(lambda: [r for r in answers_to(world, admin) if r["kind"] == "followup"])
    assert refused[0]["body"]["content"] == "'wipe' is for server admins"
    [everyone] = [c for c in world.fake.commands["global"] if c["name"] == "steward"]
    assert "wipe" not in {o["name"] for o in everyone["options"]}  # not among everyone's commands
    assert (
        allowed[0]["body"]["content"]
        == f"wiped by {world.admin['id']} in discord:{world.guild['id']}:" + (world.general["id"])
    )


async def test_a_presence_invitation_is_approved_with_the_dm_button_after_a_restart(world, start_steward):
    """The real presence cog end to end: /steward invite -> owner's DM prompt -> restart -> owner clicks approve
    -> the agent's bot user is let into the channel; a bystander's click is refused."""
    app, _adapter = await start_steward()
    if "presence" not in app.cogs.cogs:
        raise AssertionError(f"the presence cog did not load: {app.cogs.failed}")
    await app.agents.register(
        AgentRecord(
            name="helper",
            platform="discord",
            owner_id=world.alice["id"],
            kind="bot_user",
            platform_user_id=world.agent_bot["id"],
        )
    )
    invite = await world.fake.slash(world.general["id"], world.bob, "steward", "invite", {"args": "helper"})
    [told] = await eventually(lambda: [r for r in answers_to(world, invite) if r["kind"] == "followup"])
    assert "asked the owner" in told["body"]["content"]
    dm = world.fake.dm_channels[world.alice["id"]]
    [prompt] = [m for m in world.fake.messages.values() if m["channel_id"] == dm["id"]]
    approve = next(c["custom_id"] for c in prompt["components"][0]["components"] if c["custom_id"].endswith("approve"))
    await app.stop()

    await start_steward()
    bystander = await world.fake.click(prompt["id"], approve, world.bob)
    owner = await world.fake.click(prompt["id"], approve, world.alice)

    [refused] = await eventually(lambda: [r for r in answers_to(world, bystander) if r["kind"] == "followup"])
    assert refused["body"]["content"].startswith(f"Only <@{world.alice['id']}> can decide")
    await eventually(lambda: [r for r in answers_to(world, owner) if r["kind"] == "followup"])
    overwrites = await eventually(lambda: world.fake.channels[world.general["id"]]["permission_overwrites"])
    assert overwrites[0]["id"] == world.agent_bot["id"] and int(overwrites[0]["allow"]) & (1 << 11)


class ManyCommands(Cog):
    """More commands than Discord's 25 subcommands a group."""

    name = "many_commands"

    def commands(self) -> list[Command]:
        async def handler(inv: CommandInvocation) -> str:
            return f"{inv.name} ran with {list(inv.args)}"

        return [Command(f"extra{i:02d}", f"extra command {i}", handler, owner=self.name) for i in range(30)]


async def test_commands_beyond_discords_25_a_group_are_reached_through_more(world, start_steward):
    await start_steward(cogs={"many_commands": ManyCommands})
    [steward] = [c for c in world.fake.commands["global"] if c["name"] == "steward"]
    subcommands = [o["name"] for o in steward["options"]]
    assert len(subcommands) == 25 and "more" in subcommands and {"help", "status"} <= set(subcommands)

    typing = await world.fake.slash(
        world.general["id"], world.alice, "steward", "more", {"command": "extra2"}, focused="command"
    )
    [suggested] = await eventually(lambda: answers_to(world, typing))
    assert suggested["body"]["type"] == 8  # autocomplete result
    assert [c["value"] for c in suggested["body"]["data"]["choices"]][:3] == ["extra20", "extra21", "extra22"]

    run = await world.fake.slash(
        world.general["id"], world.alice, "steward", "more", {"command": "extra29", "args": "a b"}
    )
    [reply] = await eventually(lambda: [r for r in answers_to(world, run) if r["kind"] == "followup"])
    assert reply["body"]["content"] == "extra29 ran with ['a', 'b']"


async def test_commands_work_in_a_direct_message_too(world, start_steward):
    await start_steward(cogs={"trial_prompts": TrialPrompts})
    dm = {"id": world.fake.snowflake(), "type": 1, "recipients": [world.alice], "last_message_id": None, "flags": 0}
    world.fake.dm_channels[world.alice["id"]] = dm

    interaction = await world.fake.slash(dm["id"], world.alice, "steward", "echo", {"args": "from a DM"})

    [reply] = await eventually(lambda: [r for r in answers_to(world, interaction) if r["kind"] == "followup"])
    assert reply["body"]["content"] == "args=from|a|DM"


class SlowPrompts(Cog):
    """Owns 'slow' prompts whose decision takes as long as the test wants; its message listener keeps the bot busy
    the same way."""

    name = "slow_prompts"

    async def cog_load(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.finished = False
        self.ctx.add_interaction("slow", self.on_button)

    async def on_button(self, click: Click):
        self.started.set()
        await self.release.wait()
        await asyncio.sleep(0.2)  # and then it takes its time
        self.finished = True
        interaction_id = click.press.interaction_id
        assert interaction_id is not None
        return AnswerInteraction(target_platform="discord", interaction_id=interaction_id, text="decided, slowly")

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> None:
        await self.release.wait()


async def test_a_click_is_acknowledged_before_a_slow_owner_decides(world, start_steward):
    app, _adapter = await start_steward(cogs={"slow_prompts": SlowPrompts})
    slow: SlowPrompts = app.cogs.cogs["slow_prompts"]  # type: ignore[assignment]
    prompt = SendApprovalPrompt(
        target_platform="discord", user_id=world.alice["id"], text="Slow?", kind="slow", key="s1"
    )
    sent = await app.router.perform(prompt)
    assert sent.ok
    for n in range(5):  # the bot is busy with messages its listener has not finished
        await world.fake.user_says(world.general["id"], world.bob, f"busy {n}")

    click = await world.fake.click(sent.message_id, "steward:slow:s1:approve", world.alice)

    # Discord has its acknowledgement while the busy bot has not decided (nor perhaps even begun to).
    [ack] = await eventually(lambda: answers_to(world, click))
    assert not slow.finished
    assert ack["kind"] == "callback" and ack["body"]["type"] == DEFERRED_UPDATE
    slow.release.set()
    responses = await eventually(lambda: len(answers_to(world, click)) == 2 and answers_to(world, click))
    assert [r["kind"] for r in responses] == ["callback", "followup"]
    assert responses[1]["body"]["content"] == "decided, slowly" and slow.finished and slow.started.is_set()
