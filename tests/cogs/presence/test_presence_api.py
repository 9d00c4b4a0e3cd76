"""The agent API on Steward's real HTTP server (port 0), called with a real aiohttp client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.actions import PostAsAgent
from bot.app import StewardApp
from bot.events import MessageCreated
from domain import Actor, ActorKind

from .conftest import ALICE, BOB, OTHER_ROOM, ROOM, last_prompt, register, run


@pytest.fixture
async def api_app(make_settings, adapter, clock) -> AsyncIterator[StewardApp]:
    settings = make_settings(
        cogs={"enabled": ["presence"]},
        # The webhook test's receiver listens on loopback: allowed here, as an operator would allow an internal host.
        http={"enabled": True, "port": 0, "egress_allow": ["127.0.0.1"]},
        presence={"default_join_cooldown_seconds": 0, "api_burst": 5, "api_rate_per_minute": 60},
    )
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
async def http(api_app) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=api_app.http.url) as session:
        yield session


async def token_for(app: StewardApp, name: str = "helper", *settings: str) -> str:
    await register(app, name, *settings)
    reply = await run(app, f"agent token {name}")
    assert reply.ok and reply.ephemeral
    return reply.text.splitlines()[-1]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer nonsense",
        "Bearer deadbeefdeadbeef.wrong-secret",
    ],
)
async def test_a_wrong_token_gets_401_and_learns_nothing(api_app, http, header):
    real = await token_for(api_app)
    headers = {"Authorization": header} if header else {}
    for method, path in [("GET", "/api/v1/rooms"), ("POST", "/api/v1/messages"), ("GET", "/api/v1/events")]:
        async with http.request(method, path, headers=headers, json={"room": ROOM.key, "text": "hi"}) as resp:
            assert resp.status == 401
            assert await resp.json() == {"error": "unauthorized"}
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    # A right id with a wrong secret is the same 401.
    token_id = real.split(".")[0]
    async with http.get("/api/v1/rooms", headers=auth(f"{token_id}.not-the-secret")) as resp:
        assert resp.status == 401 and await resp.json() == {"error": "unauthorized"}
    assert api_app.metrics.value("steward_agent_api_auth_failures_total") >= 4


async def test_tokens_are_stored_hashed_and_can_be_revoked_or_replaced(api_app, http):
    token = await token_for(api_app)
    row = await api_app.db.fetchone("SELECT * FROM api_tokens WHERE agent = 'helper'")
    assert token.split(".")[1] not in json.dumps(dict(row))
    assert row["secret_hash"] == hashlib.sha256(token.split(".")[1].encode()).hexdigest()
    async with http.get("/api/v1/me", headers=auth(token)) as resp:
        assert resp.status == 200 and (await resp.json())["agent"] == "helper"
    newer = (await run(api_app, "agent token helper")).text.splitlines()[-1]
    async with http.get("/api/v1/me", headers=auth(token)) as resp:
        assert resp.status == 401  # replaced
    assert not (await run(api_app, "agent token helper", actor=BOB)).ok  # only the owner
    await run(api_app, "agent revoke helper")
    async with http.get("/api/v1/me", headers=auth(newer)) as resp:
        assert resp.status == 401


async def test_submit_goes_through_the_publisher_in_rooms_the_agent_joined(api_app, http, adapter):
    token = await token_for(api_app)
    body = {"room": ROOM.key, "text": "hello from outside"}
    async with http.post("/api/v1/messages", headers=auth(token), json=body) as resp:
        assert resp.status == 403
        assert "invited" in (await resp.json())["error"]
    await run(api_app, "invite helper")
    async with http.post("/api/v1/messages", headers=auth(token), json=body) as resp:
        assert resp.status == 200
        decision = await resp.json()
    assert decision["verdict"] == "approve" and decision["posted"] is True and decision["message_id"]
    assert decision["decision_id"] >= 1 and decision["held"] is None
    assert [p.text for p in adapter.of(PostAsAgent)] == ["hello from outside"]
    async with http.get("/api/v1/rooms", headers=auth(token)) as resp:
        rooms = (await resp.json())["rooms"]
    assert [r["room"] for r in rooms] == [ROOM.key]


async def test_a_held_draft_is_reported_as_held(api_app, http, adapter):
    token = await token_for(api_app, "helper", "messages=owner_each_draft")
    await run(api_app, "invite helper")
    async with http.post("/api/v1/messages", headers=auth(token), json={"room": ROOM.key, "text": "x"}) as resp:
        decision = await resp.json()
    assert decision["held"] == "draft:1" and decision["posted"] is False
    assert last_prompt(adapter, "draft").user_id == "alice"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"not json", "(body)"),
        (json.dumps({"room": "nonsense", "text": "x"}).encode(), "room"),
        (json.dumps({"room": ROOM.key}).encode(), "text"),
        (json.dumps({"room": ROOM.key, "text": ""}).encode(), "text"),
        (json.dumps({"room": ROOM.key, "text": "x", "extra": 1}).encode(), "extra"),
        (json.dumps({"room": ROOM.key, "text": "x" * 4001}).encode(), "text"),
    ],
)
async def test_bad_bodies_get_422_naming_the_problem(api_app, http, body, where):
    token = await token_for(api_app)
    await run(api_app, "invite helper")
    headers = {**auth(token), "Content-Type": "application/json"}
    async with http.post("/api/v1/messages", headers=headers, data=body) as resp:
        assert resp.status == 422
        problems = (await resp.json())["problems"]
    assert where in [p["loc"] for p in problems]


async def test_big_bodies_get_413(api_app, http):
    token = await token_for(api_app)
    big = json.dumps({"room": ROOM.key, "text": "x" * 20_000}).encode()
    async with http.post("/api/v1/messages", headers=auth(token), data=big) as resp:
        assert resp.status == 413

    async def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(20):
            yield b"x" * 1024

    async with http.post("/api/v1/messages", headers=auth(token), data=chunks()) as resp:
        assert resp.status == 413


async def test_each_agent_is_rate_limited(api_app, http, clock):
    token = await token_for(api_app)
    other = await token_for(api_app, "other")
    statuses = []
    for _ in range(7):
        async with http.get("/api/v1/rooms", headers=auth(token)) as resp:
            statuses.append(resp.status)
            if resp.status == 429:
                assert int(resp.headers["Retry-After"]) >= 1
    assert statuses == [200] * 5 + [429] * 2
    async with http.get("/api/v1/rooms", headers=auth(other)) as resp:
        assert resp.status == 200  # another agent has its own bucket
    clock.advance(2)
    async with http.get("/api/v1/rooms", headers=auth(token)) as resp:
        assert resp.status == 200


async def test_an_agent_invites_another_agent(api_app, http, adapter):
    token = await token_for(api_app, "helper")
    await register(api_app, "expert", "policy=other_agents")
    await register(api_app, "loner", "policy=owner_only")
    async with http.post(
        "/api/v1/invitations", headers=auth(token), json={"agent": "expert", "room": ROOM.key, "reason": "SQL"}
    ) as resp:
        assert resp.status == 201
        result = await resp.json()
    assert result["outcome"] == "asked_owner" and result["status"] == "pending"
    assert "helper (agent)" in last_prompt(adapter).text
    async with http.post("/api/v1/invitations", headers=auth(token), json={"agent": "loner", "room": ROOM.key}) as resp:
        result = await resp.json()
    assert result["outcome"] == "declined" and "owner_only" in result["reason"]
    async with http.post("/api/v1/invitations", headers=auth(token), json={"agent": "ghost", "room": ROOM.key}) as resp:
        assert resp.status == 422

    # The inviting agent hears the outcome on its event stream.
    await run(api_app, "approve 1")
    async with http.get("/api/v1/events", headers=auth(token)) as resp:
        events = (await resp.json())["events"]
    outcomes = [e["data"].get("status") for e in events if e["type"] == "invitation_sent"]
    assert outcomes == ["accepted"]


async def test_long_poll_delivers_room_messages_and_own_invitations(api_app, http, clock):
    token = await token_for(api_app)
    await run(api_app, "invite helper", actor=BOB)

    async def poll(after: int, wait: float = 5):
        async with http.get(f"/api/v1/events?after={after}&timeout={wait}", headers=auth(token)) as resp:
            assert resp.status == 200
            return await resp.json()

    waiting = asyncio.create_task(poll(0))
    await asyncio.sleep(0.05)
    await run(api_app, "approve 1")
    first = await waiting
    assert first["events"] and first["events"][0]["type"] in ("joined", "invitation")
    bob = Actor("test", "bob", ActorKind.HUMAN, "Bob")
    await api_app.bus.publish(MessageCreated(room=ROOM, message_id="m1", author=bob, text="hi helper"))
    await api_app.bus.publish(MessageCreated(room=OTHER_ROOM, message_id="m2", author=bob, text="elsewhere"))
    await api_app.bus.join()
    later = await poll(first["next"], wait=0)
    messages = [e["data"] for e in later["events"] if e["type"] == "message"]
    assert [(m["text"], m["author"]["id"]) for m in messages] == [("hi helper", "bob")]
    empty = await poll(later["next"], wait=0)
    assert empty["events"] == [] and empty["next"] == later["next"]
    async with http.get("/api/v1/events?timeout=abc", headers=auth(token)) as resp:
        assert resp.status == 422
    # A client still holding ids from before a restart (ahead of the queue) starts over instead of waiting forever.
    clock.advance(10)  # refill the rate limiter
    stale = await poll(later["next"] + 1000, wait=0)
    assert stale["reset"] is True and stale["events"][0]["id"] == 1
    assert (await poll(stale["next"], wait=0))["reset"] is False


async def test_the_inbox_is_bounded_and_counts_what_it_dropped(make_settings, adapter, clock):
    settings = make_settings(
        cogs={"enabled": ["presence"]},
        http={"enabled": True, "port": 0},
        presence={"default_join_cooldown_seconds": 0, "api_event_queue_size": 3},
    )
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    try:
        token = await token_for(app)
        await run(app, "invite helper")
        for n in range(10):
            await app.bus.publish(MessageCreated(room=ROOM, message_id=f"m{n}", author=BOB, text=str(n)))
        await app.bus.join()
        async with (
            aiohttp.ClientSession(base_url=app.http.url) as http,
            http.get("/api/v1/events", headers=auth(token)) as resp,
        ):
            body = await resp.json()
        assert [e["data"]["text"] for e in body["events"]] == ["7", "8", "9"]
        assert body["dropped"] >= 7
        assert app.metrics.value("steward_agent_api_events_dropped_total") >= 7
    finally:
        await app.stop()


async def test_webhook_deliveries_are_signed(api_app, http):
    received: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers["X-Steward-Signature"]))
        return web.Response(status=204)

    peer = web.Application()
    peer.router.add_post("/hook", hook)
    runner = web.AppRunner(peer)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        token = await token_for(api_app)
        async with http.put("/api/v1/webhook", headers=auth(token), json={"url": "ftp://x"}) as resp:
            assert resp.status == 422
        async with http.put(
            "/api/v1/webhook", headers=auth(token), json={"url": f"http://127.0.0.1:{port}/hook"}
        ) as resp:
            secret = (await resp.json())["secret"]
        await run(api_app, "invite helper")
        await api_app.cogs.cogs["presence"].api.drain()
        assert received
        body, signature = received[0]
        assert signature == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert json.loads(body)["agent"] == "helper"
        async with http.delete("/api/v1/webhook", headers=auth(token)) as resp:
            assert (await resp.json())["removed"] is True
    finally:
        await runner.cleanup()


async def test_http_disabled_means_no_routes_but_the_cog_runs(papp):
    assert papp.http is None
    assert "presence" in papp.cogs.cogs
    assert (await run(papp, "agent register helper")).ok
    assert ALICE.id == (await papp.agents.get("helper")).owner_id
