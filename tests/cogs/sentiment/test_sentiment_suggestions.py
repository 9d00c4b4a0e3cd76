"""Topic suggestions: "invite X?" with a button, rate-limited per room; a click asks presence for an invitation."""

from __future__ import annotations

from bot.actions import AnswerInteraction, SendMessage, UpdatePrompt
from bot.events import AgentJoined, ButtonPressed, InvitationRequested
from bot.services import AgentDirectory
from cogs.sentiment.suggestions import RoomTopics, TopicIndex
from tests.cogs.sentiment.helpers import ALICE, BOB, ROOM, ChatRoom, Collector, register_agent

TOPICS = {"kube": ["kubernetes", "helm chart", "kubectl"], "chef": ["recipe", "baking"]}


def test_topic_index_matches_words_and_phrases():
    index = TopicIndex(TOPICS)
    assert index.match("Our Helm chart broke kubectl again") == {"kube": {"helm chart", "kubectl"}}
    assert index.match("a helmet chart") == {}
    assert index.match("baking bread") == {"chef": {"baking"}}
    assert not TopicIndex({})


def test_room_topics_need_enough_recent_matches():
    state = RoomTopics()
    kw = {"kube": {"kubernetes"}}
    assert state.observe(0.0, kw, min_matches=2, window_messages=10, window_seconds=30) == []
    # the second match comes too late (outside the 30 s window)
    assert state.observe(40.0, kw, min_matches=2, window_messages=10, window_seconds=30) == []
    [candidate] = state.observe(45.0, kw, min_matches=2, window_messages=10, window_seconds=30)
    assert candidate.agent == "kube" and candidate.keywords == ("kubernetes",)


async def suggest_app(start_app, **suggestions):
    app = await start_app(suggestions={"topics": TOPICS, **suggestions})
    await register_agent(app, "kube")
    return app


async def test_matching_conversation_gets_one_suggestion_and_a_click_invites(start_app, adapter, clock):
    app = await suggest_app(start_app)
    invitations = Collector()
    app.bus.subscribe(InvitationRequested, invitations, owner="test")
    room = ChatRoom(app)
    t0 = clock.now()
    await room.say(ALICE, "our kubernetes cluster is down", t0)
    assert adapter.of(SendMessage) == []
    await room.say(BOB, "kubectl says the helm chart is wrong", t0 + 5)
    [prompt] = adapter.of(SendMessage)
    assert prompt.room == ROOM and "Invite kube?" in prompt.text and prompt.system
    [button] = prompt.buttons
    assert button.custom_id.startswith("steward:suggest:") and button.custom_id.endswith(":invite")
    # the room keeps talking about it: rate-limited, no second prompt
    await room.say(ALICE, "kubernetes kubernetes kubernetes", t0 + 6)
    await room.say(BOB, "kubectl helm chart", t0 + 7)
    assert len(adapter.of(SendMessage)) == 1
    assert app.metrics.value("steward_sentiment_suggestions_total", outcome="room_cooldown") == 1

    await app.bus.dispatch(
        ButtonPressed(at=t0 + 9, actor=BOB, custom_id=button.custom_id, room=ROOM, message_id="p1", interaction_id="i1")
    )
    await app.bus.join()
    [invite] = invitations.events
    assert invite.agent == "kube" and invite.room == ROOM and invite.inviter == BOB
    assert "helm chart" in invite.reason and "kubernetes" in invite.reason
    [answer] = adapter.of(AnswerInteraction)
    assert answer.interaction_id == "i1" and "requested" in answer.text
    [update] = adapter.of(UpdatePrompt)
    assert update.message_id == "p1" and update.channel_id == ROOM.channel

    # a second click on the same button does not invite twice
    await app.bus.dispatch(
        ButtonPressed(at=t0 + 10, actor=ALICE, custom_id=button.custom_id, room=ROOM, interaction_id="i2")
    )
    await app.bus.join()
    assert len(invitations.events) == 1
    assert "already been invited" in adapter.of(AnswerInteraction)[-1].text


async def test_cooldowns_expire_and_survive_a_restart(start_app, adapter, clock):
    app = await suggest_app(start_app, cooldown_seconds=100, agent_cooldown_seconds=1000)
    await register_agent(app, "chef")
    room = ChatRoom(app)
    t0 = clock.now()
    await room.say(ALICE, "kubernetes", t0)
    await room.say(BOB, "kubernetes", t0 + 1)
    assert len(adapter.of(SendMessage)) == 1
    await app.stop()
    # after a restart the room's cooldown still holds (it is read from the database)
    app2 = await start_app(suggestions={"topics": TOPICS, "cooldown_seconds": 100, "agent_cooldown_seconds": 1000})
    room2 = ChatRoom(app2)
    await room2.say(ALICE, "any baking recipe?", t0 + 50)
    await room2.say(BOB, "baking is fun", t0 + 51)
    assert len(adapter.of(SendMessage)) == 1
    # after the room cooldown another agent may be suggested, but kube not again yet
    await room2.say(ALICE, "baking recipe", t0 + 150)
    await room2.say(BOB, "kubernetes", t0 + 151)
    await room2.say(BOB, "kubectl", t0 + 152)
    assert len(adapter.of(SendMessage)) == 1
    assert app2.metrics.value("steward_sentiment_suggestions_total", outcome="agent_cooldown") == 1
    await room2.say(ALICE, "more baking", t0 + 153)
    prompts = adapter.of(SendMessage)
    assert len(prompts) == 2 and "Invite chef?" in prompts[1].text


async def test_agents_already_present_or_unregistered_are_not_suggested(start_app, adapter, clock):
    app = await suggest_app(start_app)  # "chef" is in the topics but not registered
    room = ChatRoom(app)
    t0 = clock.now()
    await app.bus.dispatch(AgentJoined(at=t0, agent="kube", room=ROOM))
    for i, text in enumerate(["kubernetes", "kubectl", "baking", "recipe"]):
        await room.say(ALICE, text, t0 + i)
    assert adapter.of(SendMessage) == []
    assert app.metrics.value("steward_sentiment_suggestions_total", outcome="unknown_agent") == 1


class Directory:
    def __init__(self, topics):
        self.calls = 0
        self._topics = topics

    async def topics(self):
        self.calls += 1
        return self._topics


async def test_topics_come_from_the_agent_directory_when_there_is_one(start_app, adapter, clock):
    app = await start_app()  # no topics in the config
    await register_agent(app, "kube")
    directory = Directory({"kube": ["postgres"]})
    app.services.provide(AgentDirectory, directory, owner="test")
    room = ChatRoom(app)
    t0 = clock.now()
    await room.say(ALICE, "postgres is slow", t0)
    await room.say(BOB, "postgres vacuum?", t0 + 1)
    [prompt] = adapter.of(SendMessage)
    assert "postgres" in prompt.text
    assert directory.calls == 1  # cached between messages
    assert app.health()["components"]["sentiment"]["topics"] == "directory"


async def test_unknown_suggestion_buttons_are_answered(sapp, adapter, clock):
    for custom_id in ("steward:suggest:999:invite", "steward:suggest:abc:invite"):
        await sapp.bus.dispatch(ButtonPressed(at=clock.now(), actor=ALICE, custom_id=custom_id, interaction_id="i"))
    texts = [a.text for a in adapter.of(AnswerInteraction)]
    assert texts == ["This suggestion is no longer known.", "This button is not one Steward knows."]
    assert sapp.metrics.value("steward_rejected_input_total", source="sentiment.button", reason="bad_custom_id") == 1


async def test_an_agent_that_just_spoke_here_or_left_is_handled(start_app, adapter, clock):
    from bot.events import AgentLeft
    from domain import Actor, ActorKind

    app = await suggest_app(start_app)
    room = ChatRoom(app)
    t0 = clock.now()
    await room.say(Actor("test", "kube", ActorKind.AGENT), "I can help with clusters.", t0)
    await room.say(ALICE, "kubernetes", t0 + 1)
    await room.say(BOB, "kubectl", t0 + 2)
    assert adapter.of(SendMessage) == []  # it is already talking here
    other = ChatRoom(app, room=ROOM.__class__("test", "g1", "c2"))
    await app.bus.dispatch(AgentJoined(at=t0, agent="kube", room=other.room))
    await app.bus.dispatch(AgentLeft(at=t0 + 1, agent="kube", room=other.room, reason="done"))
    await other.say(ALICE, "kubernetes", t0 + 3)
    await other.say(BOB, "kubectl", t0 + 4)
    [prompt] = adapter.of(SendMessage)  # it left that room: it may be suggested there
    assert prompt.room == other.room
