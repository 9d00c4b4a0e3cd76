"""A local mock of the Slack platform for end-to-end tests: the Web API (``/api/<method>``), ``response_url``
endpoints, Socket Mode websockets, and the signing of the requests Slack sends to an app.

It checks tokens the way Slack does (``invalid_auth``), keeps the messages posted so that deletions follow Slack's
rule (a bot token deletes only the bot's own messages), and records every call for the tests to inspect.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TEAM = "T0TEAM1"
BOT_USER = "U0STEWARD"
BOT_ID = "B0STEWARD"
BOT_TOKEN = "xoxb-steward-test"
APP_TOKEN = "xapp-steward-test"
ADMIN_TOKEN = "xoxp-admin-test"
ADMIN_USER = "U0ADMIN"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    token: str | None


@dataclass
class Workspace:
    team_id: str
    bot_token: str
    bot_user_id: str
    bot_id: str


@dataclass
class MockSlack:
    host: str = "127.0.0.1"
    calls: list[ApiCall] = field(default_factory=list)
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    dm_blocked: set[str] = field(default_factory=set)
    fail: dict[str, str] = field(default_factory=dict)  # method -> error Slack answers
    fail_next: dict[str, list[str]] = field(default_factory=dict)  # method -> errors answered once each, in order
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    user_tokens: dict[str, str] = field(default_factory=dict)  # user token -> team
    oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> oauth.v2.access answer
    # what conversations.list answers, id -> name, a page of ``limit`` at a time
    channels: dict[str, str] = field(default_factory=lambda: {"C0GENERAL": "general", "C0RANDOM": "random"})

    def __post_init__(self) -> None:
        self._web = web.Application()
        self._web.router.add_route("*", "/api/{method}", self._api)
        self._web.router.add_post("/response/{key}", self._response_url)
        self._web.router.add_get("/socket", self._socket)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._ts = itertools.count(1)
        self._messages: dict[tuple[str, str], str] = {}  # (channel, ts) -> poster (user or bot user id)
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self.add_workspace(Workspace(TEAM, BOT_TOKEN, BOT_USER, BOT_ID))
        self.user_tokens[ADMIN_TOKEN] = TEAM
        self.users[ADMIN_USER] = {"id": ADMIN_USER, "name": "ada", "is_admin": True, "profile": {"display_name": "Ada"}}

    def add_workspace(self, workspace: Workspace) -> None:
        self.workspaces[workspace.bot_token] = workspace

    # --- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> MockSlack:
        self._runner = web.AppRunner(self._web, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/response/{key}"

    # --- inspection -------------------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def post_message(self, channel: str, poster: str) -> str:
        """A message someone else posted (so a bot token may not delete it); returns its ts."""
        ts = self._next_ts()
        self._messages[(channel, ts)] = poster
        return ts

    def posted_in(self, channel: str) -> list[str]:
        """The ts of the messages in ``channel`` that still exist, oldest first."""
        return [ts for (ch, ts) in self._messages if ch == channel]

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    # --- Web API ---------------------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        for key in ("blocks", "attachments"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or params.pop("token", None) or None
        self.calls.append(ApiCall(method, params, token))
        failure = self._failure(method)
        if failure is not None:
            return _json({"ok": False, "error": failure})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _json({"ok": False, "error": "unknown_method"})
        if method == "oauth.v2.access":
            return _json(handler(params, None))
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return _json({"ok": False, "error": "invalid_auth"})
            return _json(handler(params, None))
        workspace = self.workspaces.get(token or "")
        if workspace is None and token not in self.user_tokens:
            return _json({"ok": False, "error": "not_authed" if not token else "invalid_auth"})
        return _json(handler(params, workspace))

    def _failure(self, method: str) -> str | None:
        """The error the test asked ``method`` to answer: always (``fail``) or once each (``fail_next``)."""
        if method in self.fail:
            return self.fail[method]
        queued = self.fail_next.get(method)
        return queued.pop(0) if queued else None

    def _m_auth_test(self, params: dict, ws: Workspace | None) -> dict:
        if ws is None:
            return {"ok": True, "user_id": ADMIN_USER, "team_id": TEAM}
        return {"ok": True, "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": ws.bot_id, "team": "Test"}

    def _m_chat_postMessage(self, params: dict, ws: Workspace | None) -> dict:
        channel = params.get("channel")
        if not channel or not (params.get("text") or params.get("blocks")):
            return {"ok": False, "error": "no_text" if channel else "channel_not_found"}
        ts = self._next_ts()
        poster = ws.bot_user_id if ws else ADMIN_USER
        self._messages[(channel, ts)] = poster
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text"), "ts": ts}}

    def _m_chat_postEphemeral(self, params: dict, ws: Workspace | None) -> dict:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, params: dict, ws: Workspace | None) -> dict:
        key = (params.get("channel"), params.get("ts"))
        if key not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        if ws is not None and self._messages[key] != ws.bot_user_id:
            return {"ok": False, "error": "cant_update_message"}
        return {"ok": True, "channel": key[0], "ts": key[1], "text": params.get("text")}

    def _m_chat_delete(self, params: dict, ws: Workspace | None) -> dict:
        key = (params.get("channel"), params.get("ts"))
        if key not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        if ws is not None and self._messages[key] != ws.bot_user_id:
            return {"ok": False, "error": "cant_delete_message"}
        del self._messages[key]
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _m_conversations_open(self, params: dict, ws: Workspace | None) -> dict:
        user = params.get("users", "")
        if user in self.dm_blocked:
            return {"ok": False, "error": "cannot_dm_bot"}
        return {"ok": True, "channel": {"id": "D" + user.lstrip("U")}}

    def _m_conversations_list(self, params: dict, ws: Workspace | None) -> dict:
        ids = sorted(self.channels)
        start = int(params.get("cursor") or 0)
        end = start + int(params.get("limit") or 100)
        page = [{"id": cid, "name": self.channels[cid], "is_channel": True} for cid in ids[start:end]]
        cursor = str(end) if end < len(ids) else ""
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}

    def _m_conversations_invite(self, params: dict, ws: Workspace | None) -> dict:
        return {"ok": True, "channel": {"id": params.get("channel")}}

    def _m_conversations_kick(self, params: dict, ws: Workspace | None) -> dict:
        return {"ok": True}

    def _m_users_info(self, params: dict, ws: Workspace | None) -> dict:
        user_id = params.get("user", "")
        user = self.users.get(user_id)
        if user is not None and ws is not None and user.get("team_id", ws.team_id) != ws.team_id:
            return {"ok": False, "error": "user_not_found"}
        if user is None:
            user = {"id": user_id, "name": user_id.lower(), "profile": {"display_name": f"name-{user_id}"}}
        return {"ok": True, "user": user}

    def _m_apps_connections_open(self, params: dict, ws: Workspace | None) -> dict:
        return {"ok": True, "url": f"ws://{self.host}:{self.port}/socket"}

    def _m_oauth_v2_access(self, params: dict, ws: Workspace | None) -> dict:
        answer = self.oauth_codes.pop(str(params.get("code")), None)
        return answer if answer is not None else {"ok": False, "error": "invalid_code"}

    # --- response_url and Socket Mode ---------------------------------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.setdefault(request.match_info["key"], []).append(await request.json())
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "mock"}}))
        self._socket_connected.set()
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self.socket_acks.append(json.loads(message.data))
        finally:
            self._sockets.remove(ws)
        return ws

    async def drop_sockets(self) -> None:
        """Close every Socket Mode connection from Slack's side (what a Slack restart looks like)."""
        self._socket_connected.clear()
        for ws in list(self._sockets):
            await ws.close()

    async def send_envelope(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Deliver a Socket Mode envelope (``events_api``, ``interactive``, ``slash_commands``) to the app."""
        await asyncio.wait_for(self._socket_connected.wait(), 5)
        envelope_id = f"env-{next(self._ts)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id


def _json(data: dict[str, Any]) -> web.Response:
    return web.Response(text=json.dumps(data), content_type="application/json")


# --- what Slack sends to an app -------------------------------------------------------------------------------------


async def _params(request: web.Request) -> dict[str, Any]:
    """A Web API call's arguments: its query, then its JSON or form body."""
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update(dict(await request.post()))
    return params


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature headers for ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


_event_ids = itertools.count(1)


def event_body(event: dict[str, Any], *, team: str = TEAM, event_id: str | None = None) -> dict[str, Any]:
    """An Events API ``event_callback`` envelope around ``event``."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0STEWARD",
        "event": {"event_ts": event.get("ts", f"{time.time():.6f}"), **event},
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
    }


def message_event(channel: str, user: str, text: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "channel_type": "channel",
        **extra,
    }


def block_actions_body(
    *, user: str, action_id: str, channel: str, message_ts: str, response_url: str, team: str = TEAM
) -> str:
    """The form-encoded body of a button click (``payload=<json>``)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A0STEWARD",
        "team": {"id": team, "domain": "test"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{time.time():.0f}.trigger",
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": message_ts, "text": "prompt"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "value": action_id,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return "payload=" + urllib.parse.quote(json.dumps(payload))


def command_body(*, user: str, text: str, channel: str, response_url: str, team: str = TEAM) -> str:
    return urllib.parse.urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/steward",
            "text": text,
            "api_app_id": "A0STEWARD",
            "response_url": response_url,
            "trigger_id": f"{time.time():.0f}.trigger",
        }
    )


async def wait_for(predicate: Callable[[], Any], limit: float = 5.0) -> Any:
    """Poll until ``predicate()`` is truthy (the app works asynchronously after acking); fail after ``limit`` s."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def eventually(check: Callable[[], Awaitable[Any]], limit: float = 5.0) -> Any:
    """Like ``wait_for`` for an async check."""
    deadline = time.monotonic() + limit
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
