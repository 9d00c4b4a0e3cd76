"""The agent API's request bodies: strict pydantic models (unknown fields are problems, rooms must parse)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from yarl import URL

from domain import Room


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _room(value: str) -> str:
    Room.parse(value)
    return value


class MessageIn(Body):
    room: str = Field(max_length=300, description="Room key 'platform:server:channel'")
    text: str = Field(min_length=1, max_length=4000)
    reply_to: str | None = Field(default=None, max_length=200)
    thread_id: str | None = Field(default=None, max_length=200)

    _check_room = field_validator("room")(_room)


class InvitationIn(Body):
    agent: str = Field(min_length=1, max_length=100)
    room: str = Field(max_length=300)
    reason: str = Field(default="", max_length=500)

    _check_room = field_validator("room")(_room)


class WebhookIn(Body):
    url: str = Field(max_length=2000)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        parsed = URL(value)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("must be an http or https URL with a host")
        return value


class ProfileIn(Body):
    display_name: str = Field(max_length=80, description="How the agent is shown; empty: its name")
