"""Agent names that pass for Steward, another agent or a member are refused at registration: on the console (what
a person types and reads) and on the agent API (a real HTTP request to Steward's server)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.console import ConsoleAdapter
from adapters.console.config import ConsoleSettings
from bot.app import StewardApp
from bot.events import MessageCreated

from .conftest import ALICE, BOB, ROOM, register, run


@pytest.fixture
async def console(make_settings, clock) -> AsyncIterator[tuple[StewardApp, ConsoleAdapter, io.StringIO]]:
    out = io.StringIO()
    adapter = ConsoleAdapter(ConsoleSettings(), stdin=io.StringIO(""), stdout=out)
    app = StewardApp(make_settings(cogs={"enabled": ["presence"]}), adapters=[adapter], clock=clock)
    await app.start()
    try:
        yield app, adapter, out
    finally:
        await app.stop()


async def type_line(console, line: str) -> str:
    app, adapter, out = console
    start = len(out.getvalue())
    assert await adapter.handle_line(line)
    await app.bus.join()
    return out.getvalue()[start:]


@pytest.mark.parametrize("name", ["Steward", "steward", "Stеward", "St3ward", "S.t.e.w.a.r.d", "Ste\u200bward"])
async def test_the_console_refuses_an_agent_named_like_steward(console, name):
    said = await type_line(console, f"/agent register {name}")
    assert "Registered" not in said
    assert "looks like Steward itself ('Steward')" in said or "is Steward itself ('Steward')" in said
    app = console[0]
    assert await app.agents.list() == []
    assert app.metrics.value("steward_agent_names_refused_total", against="steward") == 1


async def test_the_console_refuses_a_look_alike_of_an_agent_and_of_a_member_seen_in_the_room(console):
    assert "Registered managed agent helper" in await type_line(console, "/agent register helper")
    said = await type_line(console, "/agent register hеlper")  # a Cyrillic "е"
    assert "refused: the name 'hеlper' looks like the agent helper ('helper')" in said
    said = await type_line(console, "/agent register scout Helper")  # the display name collides
    assert "the display name 'Helper' is the agent helper ('helper')" in said

    # A member who spoke in the room: an agent shown as them is refused, an unrelated name is not.
    await type_line(console, "/user Marguerite good morning")
    said = await type_line(console, "/agent register margbot Margu3rite")
    assert "looks like a member of this server ('Marguerite')" in said
    assert "Registered managed agent margbot" in await type_line(console, "/agent register margbot Marge helper")
    assert [a.name for a in await console[0].agents.list()] == ["helper", "margbot"]


async def test_a_display_name_change_is_held_to_the_same_check(papp):
    await register(papp, "helper")
    await register(papp, "scout", owner=BOB)
    refused = await run(papp, "agent set scout display HELPER", actor=BOB)
    assert not refused.ok and "the agent helper" in refused.text
    assert (await papp.agents.get("scout")).display_name == ""
    # An agent keeping its own name as display name is no collision with itself.
    assert (await run(papp, "agent set helper display Helper")).ok
    assert (await papp.agents.get("helper")).display_name == "Helper"


async def test_an_owner_may_name_an_agent_after_themselves_but_not_after_someone_else(papp):
    await papp.bus.publish(MessageCreated(at=1.0, room=ROOM, message_id="m1", author=ALICE, text="hello"))
    await papp.bus.join()
    refused = await run(papp, "agent register bobbot Alice", actor=BOB)
    assert not refused.ok and "is a member of this server ('Alice')" in refused.text
    reply = await run(papp, "agent register alicebot Alice")
    assert reply.ok, reply.text


@pytest.fixture
async def api_app(make_settings, adapter, clock) -> AsyncIterator[StewardApp]:
    settings = make_settings(
        cogs={"enabled": ["presence"]},
        http={"enabled": True, "port": 0},
        presence={"reserved_names": ["Steward", "Modbot"]},
    )
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_the_agent_api_refuses_a_display_name_that_passes_for_another(api_app):
    await register(api_app, "helper")
    await register(api_app, "scout", owner=BOB)
    token = (await run(api_app, "agent token scout", actor=BOB)).text.splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=api_app.http.url) as http:
        for shown, against in [("Mоdbot", "Modbot"), ("he1per", "helper"), ("𝐒𝐭𝐞𝐰𝐚𝐫𝐝", "Steward")]:
            async with http.patch("/api/v1/me", headers=headers, json={"display_name": shown}) as resp:
                assert resp.status == 409
                body = await resp.json()
                assert body["collides_with"] == against
                assert f"the display name {shown!r} looks like" in body["error"]
        async with http.patch("/api/v1/me", headers=headers, json={"display_name": "Scout the Finder"}) as resp:
            assert resp.status == 200 and (await resp.json())["display_name"] == "Scout the Finder"
        async with http.get("/api/v1/me", headers=headers) as resp:
            assert (await resp.json())["display_name"] == "Scout the Finder"
    assert api_app.metrics.value("steward_agent_names_refused_total", against="agent") == 1
