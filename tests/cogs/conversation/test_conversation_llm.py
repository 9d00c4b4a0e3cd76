"""The optional LLM policy against a local server that plays an OpenAI-compatible endpoint: valid proposals are
done like the rules' actions, anything invalid is rejected, logged and counted, and nothing is done for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.config import ConfigError, load_settings
from policy.conversation import Mode
from tests.cogs.conversation.conftest import ROOM

SECRET_TEXT = "the launch code is swordfish"


@dataclass
class FakeEndpoint:
    """Answers POST /v1/chat/completions with the queued contents (or raw responses), recording each request."""

    answers: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        self.headers.append(dict(request.headers))
        answer = self.answers.pop(0) if self.answers else {"actions": []}
        if isinstance(answer, web.StreamResponse):
            return answer
        content = answer if isinstance(answer, str) else json.dumps(answer)
        return web.json_response(
            {"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "message": {"content": content}}]}
        )


@pytest.fixture
async def endpoint() -> AsyncIterator[FakeEndpoint]:
    fake = FakeEndpoint()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    fake.url = f"http://127.0.0.1:{port}/v1"
    yield fake
    await runner.cleanup()


@pytest.fixture
async def llm_chat(start_chat, endpoint, monkeypatch):
    monkeypatch.setenv("STEWARD_CONVERSATION__LLM__API_KEY", "sk-local-test")
    return await start_chat(
        llm={"enabled": True, "base_url": endpoint.url, "model": "moderator-1", "every_messages": 3}
    )


def rejected(chat, reason: str) -> float:
    return chat.metric("steward_conversation_llm_rejected_total", reason=reason)


async def test_a_valid_proposal_is_done_audited_and_announced(llm_chat, endpoint):
    chat = llm_chat
    await chat.say("alice", SECRET_TEXT)
    endpoint.answers.append(
        {"actions": [{"kind": "set_mode", "mode": "quiet", "reason": "the humans need room to decide"}]}
    )
    assert await chat.cog.consult_llm(ROOM) == 1
    assert chat.cog.mode_of(ROOM) is Mode.QUIET
    assert chat.notices() == [
        "Steward switched this channel to quiet mode because the humans need room to decide. "
        "Agents are silent here until the mode changes."
    ]
    [entry] = await chat.audit()
    assert (entry.actor, entry.source, entry.signal) == ("moderator", "moderator", "llm")
    # What the endpoint was told: the model, the key from the environment, features; never the messages' text.
    [request] = endpoint.requests
    assert request["model"] == "moderator-1"
    assert endpoint.headers[0]["Authorization"] == "Bearer sk-local-test"
    assert SECRET_TEXT not in json.dumps(request)
    features = json.loads(request["messages"][1]["content"])
    assert features["mode"] == "open" and features["speakers"]["alice"]["messages"] == 1
    assert '"set_mode"' in request["messages"][0]["content"]  # the schema travels with the prompt


async def test_an_answer_that_is_not_json_is_rejected(llm_chat, endpoint):
    endpoint.answers.append("I think you should switch to quiet mode.")
    assert await llm_chat.cog.consult_llm(ROOM) == 0
    assert rejected(llm_chat, "not_json") == 1
    assert llm_chat.notices() == [] and await llm_chat.audit() == []


async def test_each_invalid_action_is_rejected_and_the_valid_ones_are_done(llm_chat, endpoint):
    chat = llm_chat
    endpoint.answers.append(
        "```json\n"
        + json.dumps(
            {
                "actions": [
                    {"kind": "ban_everyone", "reason": "chaos"},
                    {"kind": "set_mode", "mode": "quiet"},
                    {"kind": "set_agent_style", "agent": "nobody", "style": "brief", "reason": "too chatty"},
                    {"kind": "schedule_command", "command": "status", "delay_seconds": 60, "reason": "check"},
                    {"kind": "post_message", "text": "Let's get back to the agenda", "reason": "the talk drifted"},
                ]
            }
        )
        + "\n```"
    )
    done = await chat.cog.consult_llm(ROOM)
    # max_actions is 3: the last two are dropped unread, of the first three two break the schema
    assert done == 0
    assert rejected(chat, "schema") == 2 and rejected(chat, "too_many") == 2
    assert rejected(chat, "invalid_target") == 1
    assert chat.notices() == []

    endpoint.answers.append(
        {
            "actions": [
                {"kind": "schedule_command", "command": "status", "delay_seconds": 60, "reason": "check"},
                {"kind": "post_message", "text": "Let's get back to the agenda", "reason": "the talk drifted"},
            ]
        }
    )
    assert await chat.cog.consult_llm(ROOM) == 1
    assert rejected(chat, "invalid_target") == 2  # 'status' is not a schedulable command
    assert chat.notices() == ["Let's get back to the agenda, because the talk drifted."]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (web.Response(status=500, text="upstream exploded"), "http_error"),
        (web.Response(status=200, text="<html>", content_type="text/html"), "bad_response"),
        (web.json_response({"choices": []}), "bad_response"),
        ('{"actions": "quiet please"}', "schema"),
        ('{"actions": [], "chain_of_thought": "..."}', "schema"),
    ],
)
async def test_a_broken_answer_is_rejected_with_its_reason(llm_chat, endpoint, answer, reason):
    endpoint.answers.append(answer)
    assert await llm_chat.cog.consult_llm(ROOM) == 0
    assert rejected(llm_chat, reason) == 1
    assert llm_chat.cog.mode_of(ROOM) is Mode.OPEN


async def test_an_unreachable_endpoint_is_rejected_not_fatal(start_chat):
    chat = await start_chat(llm={"enabled": True, "base_url": "http://127.0.0.1:9/v1", "model": "m"})
    assert await chat.cog.consult_llm(ROOM) == 0
    assert rejected(chat, "unreachable") == 1


async def test_the_endpoint_is_consulted_every_n_messages_in_the_background(llm_chat, endpoint):
    chat = llm_chat
    endpoint.answers.append(
        {"actions": [{"kind": "post_message", "text": "A gentle reminder to stay on topic", "reason": "drift"}]}
    )
    await chat.say("alice", "one")
    await chat.say("bob", "two")
    await chat.cog.drain()
    assert endpoint.requests == []
    await chat.say("alice", "three")
    await chat.cog.drain()
    assert len(endpoint.requests) == 1
    assert chat.notices() == ["A gentle reminder to stay on topic, because drift."]


async def test_the_llm_cannot_override_a_human_mode(llm_chat, endpoint):
    from bot.commands import CommandInvocation

    chat = llm_chat
    await chat.app.commands.invoke(
        CommandInvocation.parse("mode focused", actor=chat.human("alice"), room=ROOM, is_admin=True)
    )
    endpoint.answers.append({"actions": [{"kind": "set_mode", "mode": "open", "reason": "be free"}]})
    assert await chat.cog.consult_llm(ROOM) == 0
    assert chat.cog.mode_of(ROOM) is Mode.FOCUSED
    assert chat.metric("steward_conversation_suppressed_total", action="set_mode", reason="human_override") == 1


def test_an_enabled_llm_without_an_endpoint_is_a_config_error():
    with pytest.raises(ConfigError, match=r"conversation\.llm.*base_url"):
        load_settings(data={"conversation": {"llm": {"enabled": True}}})
