"""A local fake Discord: the REST API routes Steward calls and a gateway websocket, on 127.0.0.1.

The real discord.py client talks to it unchanged once ``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` point here. It keeps a little world (users, servers, channels,
messages, webhooks), records every REST call for assertions, and behaves like Discord where Steward depends on it:

* the gateway says HELLO, answers IDENTIFY with READY and one GUILD_CREATE per server of the shard, acknowledges
  heartbeats, and supports RESUME: events dispatched while a session is disconnected are replayed after it;
* a message created over REST (by the bot or a webhook) comes back as a MESSAGE_CREATE dispatch;
* DMs to a user in ``dm_blocked`` fail with 403 / code 50007; ``fail_next`` makes a route fail once;
* a 429 with ``retry_after`` can be injected to exercise discord.py's rate limiter;
* ``close_on_identify`` answers IDENTIFY by closing the gateway with that code (4004, 4014 ...), ``send_raw`` sends
  any frame at all (not JSON, not a dispatch), and ``restart`` takes the whole server down for a while.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1420070400000
JSON = "application/json"  # exactly: discord.py checks the content type literally
BODY = web.RequestKey("body", object)

MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # A body and an explicit header: aiohttp's ``text=`` would add "; charset=utf-8", which discord.py rejects.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": JSON, **(headers or {})}
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status)


@dataclass
class Call:
    method: str
    path: str
    json: Any
    query: dict[str, str]


@dataclass
class Session:
    session_id: str
    shard: tuple[int, int]
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    log: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, for RESUME replays


class FakeDiscord:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.bot_user = self.user("steward", bot=True)
        self.application_id = self.bot_user["id"]
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[tuple[str, str], dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.dm_channels: dict[str, dict[str, Any]] = {}  # user id -> DM channel
        self.dm_blocked: set[str] = set()
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id -> synced commands
        self.calls: list[Call] = []
        self.interaction_responses: list[dict[str, Any]] = []
        self.sessions: dict[str, Session] = {}
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.fail_next: dict[tuple[str, str], tuple[int, int, str]] = {}  # (method, path regex) -> failure
        self.rate_limit_next: dict[tuple[str, str], float] = {}
        self.token: str | None = None  # when set, the only bot token accepted
        self.close_on_identify: int | None = None  # when set, IDENTIFY is answered by closing with this code
        self._transports: dict[int, Any] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None

    # --- the world -------------------------------------------------------------------------------------------------

    def snowflake(self) -> str:
        return str(((1700000000000 - DISCORD_EPOCH_MS) << 22) + next(self._ids))

    def user(self, name: str, *, bot: bool = False) -> dict[str, Any]:
        return {
            "id": self.snowflake(),
            "username": name,
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "flags": 0,
            "public_flags": 0,
        }

    def add_guild(self, name: str = "guild", *, shard: tuple[int, int] | None = None) -> dict[str, Any]:
        while True:
            guild_id = self.snowflake()
            if shard is None or (int(guild_id) >> 22) % shard[1] == shard[0]:
                break
        guild = {
            "id": guild_id,
            "name": name,
            "owner_id": self.user("owner")["id"],
            "roles": [self.role(guild_id, "@everyone", position=0, id=guild_id)],
            "channels": [],
            "members": [],
            "system_channel_id": None,
        }
        self.guilds[guild_id] = guild
        self.add_member(guild_id, self.bot_user)
        return guild

    @staticmethod
    def role(guild_id: str, name: str, *, position: int = 1, id: str, permissions: int = 0) -> dict[str, Any]:
        return {
            "id": id,
            "name": name,
            "permissions": str(permissions),
            "position": position,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def add_role(self, guild_id: str, name: str, permissions: int = 0) -> dict[str, Any]:
        role = self.role(guild_id, name, id=self.snowflake(), permissions=permissions)
        self.guilds[guild_id]["roles"].append(role)
        return role

    def add_channel(self, guild_id: str, name: str = "general") -> dict[str, Any]:
        channel = {
            "id": self.snowflake(),
            "type": 0,
            "guild_id": guild_id,
            "name": name,
            "position": len(self.guilds[guild_id]["channels"]),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        self.channels[channel["id"]] = channel
        self.guilds[guild_id]["channels"].append(channel)
        if self.guilds[guild_id]["system_channel_id"] is None:
            self.guilds[guild_id]["system_channel_id"] = channel["id"]
        return channel

    def add_thread(self, parent: dict[str, Any], name: str = "thread") -> dict[str, Any]:
        thread = {
            "id": self.snowflake(),
            "type": 11,  # a public thread
            "guild_id": parent["guild_id"],
            "parent_id": parent["id"],
            "name": name,
            "owner_id": self.bot_user["id"],
            "member_count": 1,
            "message_count": 0,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2026-01-01T00:00:00+00:00",
                "locked": False,
            },
        }
        self.channels[thread["id"]] = thread
        self.guilds[parent["guild_id"]].setdefault("threads", []).append(thread)
        return thread

    def add_member(self, guild_id: str, user: dict[str, Any], roles: list[str] = ()) -> dict[str, Any]:
        member = {
            "user": user,
            "roles": list(roles),
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "communication_disabled_until": None,
        }
        self.members[(guild_id, user["id"])] = member
        self.guilds[guild_id]["members"].append(member)
        return member

    def guild_of(self, channel_id: str) -> str | None:
        channel = self.channels.get(channel_id)
        return channel.get("guild_id") if channel else None

    def member_permissions(self, guild_id: str, user_id: str) -> int:
        guild = self.guilds[guild_id]
        if guild["owner_id"] == user_id:
            return (1 << 53) - 1
        member = self.members.get((guild_id, user_id))
        held = set(member["roles"]) if member else set()
        value = 0
        for role in guild["roles"]:
            if role["id"] == guild_id or role["id"] in held:
                value |= int(role["permissions"])
        return value

    def _message(
        self,
        channel_id: str,
        author: dict[str, Any],
        content: str,
        *,
        components: list[Any] | None = None,
        webhook_id: str | None = None,
        reference: str | None = None,
        flags: int = 0,
    ) -> dict[str, Any]:
        guild_id = self.guild_of(channel_id)
        message: dict[str, Any] = {
            "id": self.snowflake(),
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": flags,
            "components": components or [],
        }
        if guild_id is not None:
            message["guild_id"] = guild_id
            member = self.members.get((guild_id, author["id"]))
            if member is not None and webhook_id is None:
                message["member"] = {k: v for k, v in member.items() if k != "user"}
        if webhook_id is not None:
            message["webhook_id"] = webhook_id
        if reference is not None:
            message["type"] = 19
            message["message_reference"] = {"message_id": reference, "channel_id": channel_id}
            if guild_id is not None:
                message["message_reference"]["guild_id"] = guild_id
            parent = self.messages.get(reference)
            message["referenced_message"] = parent
        self.messages[message["id"]] = message
        return message

    # --- things users do (they arrive at the bot through the gateway) ------------------------------------------

    async def user_says(
        self, channel_id: str, user: dict[str, Any], content: str, *, reply_to: str | None = None
    ) -> dict[str, Any]:
        message = self._message(channel_id, user, content, reference=reply_to)
        await self.dispatch("MESSAGE_CREATE", message, guild_id=self.guild_of(channel_id))
        return message

    async def user_edits(self, message_id: str, content: str) -> None:
        message = self.messages[message_id]
        message["content"] = content
        message["edited_timestamp"] = "2026-01-01T00:01:00+00:00"
        await self.dispatch("MESSAGE_UPDATE", message, guild_id=message.get("guild_id"))

    async def user_reacts(self, message_id: str, user: dict[str, Any], emoji: str) -> None:
        message = self.messages[message_id]
        data: dict[str, Any] = {
            "user_id": user["id"],
            "channel_id": message["channel_id"],
            "message_id": message_id,
            "emoji": {"id": None, "name": emoji},
            "message_author_id": message["author"]["id"],
            "burst": False,
            "type": 0,
        }
        guild_id = message.get("guild_id")
        if guild_id:
            data["guild_id"] = guild_id
            member = self.members.get((guild_id, user["id"]))
            if member is not None:
                data["member"] = member
        await self.dispatch("MESSAGE_REACTION_ADD", data, guild_id=guild_id)

    async def member_joins(self, guild_id: str, user: dict[str, Any]) -> None:
        member = self.add_member(guild_id, user)
        await self.dispatch("GUILD_MEMBER_ADD", {**member, "guild_id": guild_id}, guild_id=guild_id)

    async def click(
        self, message_id: str, custom_id: str, user: dict[str, Any], *, as_seen: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A button click: an INTERACTION_CREATE dispatch carrying the message and its components. ``as_seen``:
        the message as the user's screen still showed it (a click racing an edit that removed the buttons)."""
        message = as_seen or self.messages[message_id]
        interaction = self._interaction(3, user, message["channel_id"], message.get("guild_id"))
        interaction["message"] = message
        interaction["data"] = {"custom_id": custom_id, "component_type": 2}
        await self.dispatch("INTERACTION_CREATE", interaction, guild_id=interaction.get("guild_id"))
        return interaction

    async def slash(
        self,
        channel_id: str,
        user: dict[str, Any],
        group: str,
        sub: str,
        options: dict[str, str] | None = None,
        *,
        focused: str | None = None,
    ) -> dict[str, Any]:
        """A slash command: ``/<group> <sub> [options]`` as an INTERACTION_CREATE dispatch; with ``focused`` (an
        option's name), the autocomplete request Discord sends while that option is being typed."""
        guild_id = self.guild_of(channel_id)
        scope = self.commands.get(guild_id or "", []) + self.commands.get("global", [])
        command = next(c for c in scope if c["name"] == group)
        interaction = self._interaction(2 if focused is None else 4, user, channel_id, guild_id)
        sub_options = [
            {"name": k, "type": 3, "value": v} | ({"focused": True} if k == focused else {})
            for k, v in (options or {}).items()
        ]
        interaction["data"] = {
            "id": command["id"],
            "name": group,
            "type": 1,
            "options": [{"name": sub, "type": 1, "options": sub_options}],
        }
        if guild_id:
            interaction["data"]["guild_id"] = guild_id
        await self.dispatch("INTERACTION_CREATE", interaction, guild_id=guild_id)
        return interaction

    def _interaction(self, kind: int, user: dict[str, Any], channel_id: str, guild_id: str | None) -> dict[str, Any]:
        channel = self.channels.get(channel_id) or {"id": channel_id, "type": 1}
        data: dict[str, Any] = {
            "id": self.snowflake(),
            "application_id": self.application_id,
            "type": kind,
            "token": f"itoken-{next(self._ids)}",
            "version": 1,
            "channel_id": channel_id,
            "channel": {"id": channel_id, "type": channel["type"]},
            "locale": "en-US",
            "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": str((1 << 53) - 1),
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id or "0"},
            "context": 0 if guild_id else 1,
        }
        if guild_id:
            data["guild_id"] = guild_id
            data["guild_locale"] = "en-US"
            member = self.members.get((guild_id, user["id"])) or self.add_member(guild_id, user)
            data["member"] = {**member, "permissions": str(self.member_permissions(guild_id, user["id"]))}
        else:
            data["user"] = user
        return data

    # --- the gateway ----------------------------------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any], *, guild_id: str | None = None) -> None:
        """Send a dispatch to the session of the shard that owns ``guild_id`` (shard 0 for DMs); a disconnected
        session keeps it for its RESUME."""
        for session in list(self.sessions.values()):
            shard_id, count = session.shard
            owner = (int(guild_id) >> 22) % count if guild_id else 0
            if owner != shard_id:
                continue
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.log.append(frame)
            if session.ws is not None and not session.ws.closed:
                await session.ws.send_str(json.dumps(frame))

    async def drop_connections(self, code: int = 4000, *, abrupt: bool = False) -> None:
        """Close every gateway websocket from the server side, as a Discord restart would (a close frame with
        ``code``), or cut the TCP connection with no close frame at all (``abrupt``), as a network failure would."""
        for session in self.sessions.values():
            ws, session.ws = session.ws, None
            if ws is None or ws.closed:
                continue
            transport = self._transports.pop(id(ws), None)
            if abrupt and transport is not None:
                transport.abort()
            else:
                await ws.close(code=code, message=b"fake discord dropped the connection")

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as it is to every connected gateway websocket (not recorded for RESUME replays)."""
        for session in self.sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.send_str(text)

    async def restart(self, down_for: float = 0.5) -> None:
        """Take the server down (connections cut, the port closed) for ``down_for`` seconds, then serve again on
        the same port; sessions survive, so a RESUME afterwards succeeds."""
        await self.drop_connections(abrupt=True)
        if self._runner is not None:
            await self._runner.cleanup()
        await asyncio.sleep(down_for)
        await self._serve(self.port)

    def connected(self) -> int:
        return sum(1 for s in self.sessions.values() if s.ws is not None and not s.ws.closed)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._transports[id(ws)] = request.transport
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        session: Session | None = None
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, data = frame.get("op"), frame.get("d")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                session = await self._identify(ws, data)
                if session is None:
                    break
            elif op == 6:
                session = await self._resume(ws, data) or session
            elif op == 8 and session is not None:
                for guild_id in data.get("guild_id") if isinstance(data.get("guild_id"), list) else [data["guild_id"]]:
                    chunk = {"guild_id": guild_id, "members": [], "chunk_index": 0, "chunk_count": 1}
                    if data.get("nonce"):
                        chunk["nonce"] = data["nonce"]
                    await self.dispatch("GUILD_MEMBERS_CHUNK", chunk, guild_id=guild_id)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        self.identifies.append(data)
        if self.close_on_identify is not None:
            await ws.close(code=self.close_on_identify, message=b"fake discord refused the session")
            return None
        shard = tuple(data.get("shard") or (0, 1))
        session = Session(session_id=f"session-{next(self._ids)}", shard=shard)  # type: ignore[arg-type]
        session.ws = ws
        self.sessions[session.session_id] = session
        await self._send_ready(session)
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        self.resumes.append(data)
        session = self.sessions.get(data.get("session_id", ""))
        if session is None:
            await ws.send_str(json.dumps({"op": 9, "d": False}))
            return None
        session.ws = ws
        missed = [f for f in session.log if f["s"] > (data.get("seq") or 0)]
        for missed_frame in missed:
            await ws.send_str(json.dumps(missed_frame))
        session.seq += 1
        resumed = {"op": 0, "t": "RESUMED", "s": session.seq, "d": {}}
        session.log.append(resumed)
        await ws.send_str(json.dumps(resumed))
        return session

    async def _send_ready(self, session: Session) -> None:
        shard_id, count = session.shard
        mine = [g for g in self.guilds.values() if (int(g["id"]) >> 22) % count == shard_id]
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": g["id"], "unavailable": True} for g in mine],
            "session_id": session.session_id,
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/",
            "application": {"id": self.application_id, "flags": 0},
            "shard": [shard_id, count],
            "private_channels": [],
            "relationships": [],
        }
        await self.dispatch_to(session, "READY", ready)
        for guild in mine:
            payload = {
                **guild,
                "unavailable": False,
                "member_count": len(guild["members"]),
                "large": False,
                "emojis": [],
                "stickers": [],
                "features": [],
                "threads": guild.get("threads", []),
                "voice_states": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "verification_level": 0,
                "default_message_notifications": 0,
                "explicit_content_filter": 0,
                "mfa_level": 0,
                "nsfw_level": 0,
                "premium_tier": 0,
                "preferred_locale": "en-US",
            }
            await self.dispatch_to(session, "GUILD_CREATE", payload)

    async def dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.log.append(frame)
        if session.ws is not None:
            await session.ws.send_str(json.dumps(frame))

    # --- REST ----------------------------------------------------------------------------------------------------

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        regex = re.compile(pattern)
        return [c for c in self.calls if c.method == method and regex.fullmatch(c.path)]

    @web.middleware
    async def _record(self, request: web.Request, handler):
        path = request.path.removeprefix("/api/v10")
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "multipart/form-data":
                body = _payload_json_from_multipart(raw, request.headers.get("Content-Type", ""))
            elif raw:
                body = json.loads(raw)
        self.calls.append(Call(request.method, path, body, dict(request.query)))
        request[BODY] = body
        for (method, pattern), delay in list(self.rate_limit_next.items()):
            if method == request.method and re.fullmatch(pattern, path):
                del self.rate_limit_next[(method, pattern)]
                return _json(
                    {"message": "You are being rate limited.", "retry_after": delay, "global": False},
                    429,
                    {"Retry-After": str(delay), "X-RateLimit-Scope": "user", "Via": "1.1 google"},
                )
        for (method, pattern), (status, code, message) in list(self.fail_next.items()):
            if method == request.method and re.fullmatch(pattern, path):
                del self.fail_next[(method, pattern)]
                return _error(status, code, message)
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        api = "/api/v10"
        app.router.add_get("/", self._gateway)
        r = app.router
        r.add_get(api + "/users/@me", self._me)
        r.add_get(api + "/oauth2/applications/@me", self._application)
        r.add_get(api + "/gateway/bot", self._gateway_bot)
        r.add_put(api + "/applications/{app}/commands", self._sync_commands)
        r.add_put(api + "/applications/{app}/guilds/{guild}/commands", self._sync_commands)
        r.add_get(api + "/channels/{channel}", self._get_channel)
        r.add_post(api + "/channels/{channel}/messages", self._create_message)
        r.add_patch(api + "/channels/{channel}/messages/{message}", self._edit_message)
        r.add_delete(api + "/channels/{channel}/messages/{message}", self._delete_message)
        r.add_get(api + "/channels/{channel}/webhooks", self._list_webhooks)
        r.add_post(api + "/channels/{channel}/webhooks", self._create_webhook)
        r.add_put(api + "/channels/{channel}/permissions/{target}", self._set_permissions)
        r.add_post(api + "/webhooks/{webhook}/{token}", self._execute_webhook)
        r.add_patch(api + "/guilds/{guild}/members/{user}", self._edit_member)
        r.add_get(api + "/guilds/{guild}/members/{user}", self._get_member)
        r.add_post(api + "/users/@me/channels", self._open_dm)
        r.add_post(api + "/interactions/{id}/{token}/callback", self._interaction_callback)
        return app

    async def start(self) -> None:
        await self._serve(0)

    async def _serve(self, port: int) -> None:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        await self.drop_connections(1001)
        if self._runner is not None:
            await self._runner.cleanup()

    async def _me(self, request: web.Request) -> web.Response:
        if self.token is not None and request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, 0, "401: Unauthorized")
        return _json(self.bot_user)

    async def _application(self, _request: web.Request) -> web.Response:
        return _json(
            {
                "id": self.application_id,
                "name": "Steward",
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": self.user("app-owner"),
                "team": None,
                "summary": "",
                "tags": [],
            }
        )

    async def _gateway_bot(self, _request: web.Request) -> web.Response:
        return _json(
            {
                "url": f"ws://127.0.0.1:{self.port}/",
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 16},
            }
        )

    async def _sync_commands(self, request: web.Request) -> web.Response:
        scope = request.match_info.get("guild", "global")
        synced = []
        for command in request[BODY] or []:
            synced.append(
                {**command, "id": self.snowflake(), "application_id": self.application_id, "version": "1"}
                | ({"guild_id": scope} if scope != "global" else {})
            )
        self.commands[scope] = synced
        return _json(synced)

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self.channels.get(request.match_info["channel"])
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        return _json(channel)

    def _channel_exists(self, channel_id: str) -> bool:
        return channel_id in self.channels or any(c["id"] == channel_id for c in self.dm_channels.values())

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel"]
        if not self._channel_exists(channel_id):
            return _error(404, 10003, "Unknown Channel")
        for user_id, dm in self.dm_channels.items():
            if dm["id"] == channel_id and user_id in self.dm_blocked:
                return _error(403, 50007, "Cannot send messages to this user")
        body = request[BODY] or {}
        reference = (body.get("message_reference") or {}).get("message_id")
        reference = str(reference) if reference is not None else None
        message = self._message(
            channel_id, self.bot_user, body.get("content", ""), components=body.get("components"), reference=reference
        )
        await self.dispatch("MESSAGE_CREATE", message, guild_id=self.guild_of(channel_id))
        return _json(message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        message = self.messages.get(request.match_info["message"])
        if message is None:
            return _error(404, 10008, "Unknown Message")
        body = request[BODY] or {}
        if "content" in body:
            message["content"] = body["content"]
        if "components" in body:
            message["components"] = body["components"] or []
        await self.dispatch("MESSAGE_UPDATE", message, guild_id=message.get("guild_id"))
        return _json(message)

    async def _delete_message(self, request: web.Request) -> web.Response:
        message = self.messages.pop(request.match_info["message"], None)
        if message is None:
            return _error(404, 10008, "Unknown Message")
        data = {"id": message["id"], "channel_id": message["channel_id"]}
        if message.get("guild_id"):
            data["guild_id"] = message["guild_id"]
        await self.dispatch("MESSAGE_DELETE", data, guild_id=message.get("guild_id"))
        return web.Response(status=204)

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel"]
        return _json([w for w in self.webhooks.values() if w["channel_id"] == channel_id])

    async def _create_webhook(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel"]
        if channel_id not in self.channels:
            return _error(404, 10003, "Unknown Channel")
        webhook = {
            "id": self.snowflake(),
            "type": 1,
            "guild_id": self.guild_of(channel_id),
            "channel_id": channel_id,
            "name": (request[BODY] or {}).get("name", "hook"),
            "avatar": None,
            "token": f"wtoken-{next(self._ids)}",
            "application_id": None,
            "user": self.bot_user,
        }
        self.webhooks[webhook["id"]] = webhook
        return _json(webhook)

    async def _execute_webhook(self, request: web.Request) -> web.Response:
        hook_id, token = request.match_info["webhook"], request.match_info["token"]
        body = request[BODY] or {}
        if hook_id == self.application_id:  # an interaction follow-up
            self.interaction_responses.append({"kind": "followup", "token": token, "body": body})
            message = self._message("0", self.bot_user, body.get("content", ""), flags=body.get("flags", 0))
            message["webhook_id"] = hook_id
            return _json(message)
        webhook = self.webhooks.get(hook_id)
        if webhook is None or webhook["token"] != token:
            return _error(404, 10015, "Unknown Webhook")
        channel_id = request.query.get("thread_id") or webhook["channel_id"]
        author = {
            **self.user(body.get("username") or webhook["name"], bot=True),
            "id": hook_id,
            "avatar": None,
        }
        message = self._message(channel_id, author, body.get("content", ""), webhook_id=hook_id)
        message["_avatar_url"] = body.get("avatar_url")
        await self.dispatch("MESSAGE_CREATE", message, guild_id=self.guild_of(channel_id))
        return _json(message)

    async def _set_permissions(self, request: web.Request) -> web.Response:
        channel = self.channels.get(request.match_info["channel"])
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        body = request[BODY] or {}
        overwrite = {**body, "id": request.match_info["target"]}
        channel["permission_overwrites"] = [
            o for o in channel["permission_overwrites"] if o["id"] != overwrite["id"]
        ] + [overwrite]
        return web.Response(status=204)

    async def _edit_member(self, request: web.Request) -> web.Response:
        member = self.members.get((request.match_info["guild"], request.match_info["user"]))
        if member is None:
            return _error(404, 10007, "Unknown Member")
        member.update(request[BODY] or {})
        return _json(member)

    async def _get_member(self, request: web.Request) -> web.Response:
        member = self.members.get((request.match_info["guild"], request.match_info["user"]))
        if member is None:
            return _error(404, 10007, "Unknown Member")
        return _json(member)

    async def _open_dm(self, request: web.Request) -> web.Response:
        user_id = str((request[BODY] or {}).get("recipient_id"))
        channel = self.dm_channels.get(user_id)
        if channel is None:
            user = next(
                (m["user"] for (_g, u), m in self.members.items() if u == user_id),
                {**self.user("someone"), "id": user_id},
            )
            channel = {"id": self.snowflake(), "type": 1, "recipients": [user], "last_message_id": None, "flags": 0}
            self.dm_channels[user_id] = channel
        return _json(channel)

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        body = request[BODY] or {}
        self.interaction_responses.append(
            {"kind": "callback", "id": request.match_info["id"], "token": request.match_info["token"], "body": body}
        )
        data = body.get("data") or {}
        return _json(
            {
                "interaction": {
                    "id": request.match_info["id"],
                    "type": 3,
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": bool(data.get("flags", 0) & 64),
                }
            }
        )


def _payload_json_from_multipart(raw: bytes, content_type: str) -> Any:
    """discord.py sends message bodies with files as multipart; the JSON part is named ``payload_json``."""
    boundary = content_type.split("boundary=", 1)[-1].strip('"').encode()
    for part in raw.split(b"--" + boundary):
        if b'name="payload_json"' in part:
            body = part.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
            return json.loads(body)
    return None
