"""What Slack sends, checked at the edge before bolt or Steward reads it: the body parsed the way bolt parses it, its
shape validated with pydantic models (every field bolt's context builder, its matchers and Steward's listeners read
must have the type they expect), its timestamps checked, and the request routed: to bolt when a listener of
Steward's will take it, else acknowledged and dropped.

A body that cannot be parsed (not JSON, not a JSON object) is answered 400; a body that parses but has the wrong
shape is answered 200 and dropped (Slack retries anything that is not 2xx, and a retry would be just as wrong).
Either way the rejection is counted (``steward_slack_payload_rejected_total{kind,reason}``) and logged
(``slack_payload_rejected``) with the fields at fault, never the body.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from slack_bolt.request.internals import parse_body

__all__ = ["EARLIEST", "FUTURE_SLACK", "Checked", "Unparseable", "check", "kind_of", "parse", "sane_time", "slack_ts"]

EARLIEST = 1_356_998_400.0  # 2013-01-01: no Slack timestamp is older
FUTURE_SLACK = 86_400.0  # a timestamp more than a day ahead of the receive time is not believed

Kind = Literal[
    "events_api", "url_verification", "block_actions", "view_submission", "interactive", "slash_command", "unknown"
]

Id = Annotated[StrictStr, Field(max_length=255)]
Text = Annotated[StrictStr, Field(max_length=100_000)]
Url = Annotated[StrictStr, Field(max_length=2_000, pattern=r"^https?://[^\s]+$")]
Number = StrictStr | StrictInt | StrictFloat  # a time as Slack writes it: "1700000000.000100" or 1700000000
_UNION_MEMBERS = frozenset({"constrained-str", "str", "int", "float", "bool", "list", "dict"})
TS_FORMAT = re.compile(r"^\d{1,12}(\.\d{1,9})?$")
EVENT_TYPE = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
# Event types Steward translates: their user and channel must be plain ids (some other types carry objects there).
TRANSLATED = frozenset({"message", "app_mention", "reaction_added", "member_joined_channel", "member_left_channel"})
# Times only (not an identity): a bad one is replaced by the receive time and counted.
TIME_FIELDS = ("event_time", "event.event_ts", "actions.action_ts")
# Timestamps that name a message: a bad one makes the payload unusable.
IDENTITY_FIELDS = ("event.ts", "event.deleted_ts", "event.thread_ts", "event.message.ts", "event.item.ts")


class Unparseable(ValueError):
    """The body is neither a JSON object nor a form (or its ``payload`` is not a JSON object)."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class IdObject(_Loose):
    id: Id | None = None
    team_id: Id | None = None
    enterprise_id: Id | None = None
    name: Text | None = None


IdOrObject = Id | IdObject


class Authorization(_Loose):
    enterprise_id: Id | None = None
    team_id: Id | None = None
    user_id: Id | None = None
    is_enterprise_install: StrictBool | None = None


class Message(_Loose):
    type: Id | None = None
    subtype: Id | None = None
    user: IdOrObject | None = None
    bot_id: Id | None = None
    username: Text | None = None
    text: Text | None = None
    ts: Number | None = None
    thread_ts: Number | None = None


class Item(_Loose):
    type: Id | None = None
    channel: IdOrObject | None = None
    ts: Number | None = None


class Event(Message):
    type: Id
    channel: IdOrObject | None = None
    channel_type: Id | None = None
    team: IdOrObject | None = None
    user_team: Id | None = None
    event_ts: Number | None = None
    deleted_ts: Number | None = None
    parent_user_id: Id | None = None
    bot_profile: IdObject | None = None
    message: Message | None = None
    previous_message: Message | None = None
    item: Item | None = None
    item_user: Id | None = None
    reaction: Text | None = None
    function_execution_id: Id | None = None
    bot_access_token: Id | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not EVENT_TYPE.match(value):
            raise ValueError("not an event type")
        return value

    @model_validator(mode="after")
    def _plain_ids(self) -> Event:
        if self.type in TRANSLATED and not all(isinstance(v, str | None) for v in (self.user, self.channel)):
            raise ValueError(f"a {self.type} event names its user and channel by id")
        return self


class Action(_Loose):
    action_id: Id | None = None
    block_id: Id | None = None
    type: Id | None = None
    value: Text | None = None
    action_ts: Number | None = None


class Container(_Loose):
    type: Id | None = None
    channel_id: Id | None = None
    message_ts: Number | None = None


class View(_Loose):
    id: Id | None = None
    callback_id: Id | None = None
    team_id: Id | None = None
    app_installed_team_id: Id | None = None


class ResponseUrl(_Loose):
    response_url: Url | None = None


class Body(_Loose):
    """Every field of a payload that bolt or Steward reads, with the type they read it as."""

    type: Id | None = None
    token: Id | None = None
    api_app_id: Id | None = None
    team_id: Id | None = None
    enterprise_id: Id | None = None
    user_id: Id | None = None
    channel_id: Id | None = None
    team: IdOrObject | None = None
    enterprise: IdOrObject | None = None
    user: IdOrObject | None = None
    channel: IdOrObject | None = None
    authorizations: list[Authorization] | None = None
    is_enterprise_install: StrictBool | Id | None = None
    is_ext_shared_channel: StrictBool | None = None
    event: Event | None = None
    event_id: Id | None = None
    event_time: Number | None = None
    message: Message | None = None
    previous_message: Message | None = None
    item: Item | None = None
    container: Container | None = None
    actions: list[Action] | None = None
    view: View | None = None
    callback_id: Id | None = None
    action_id: Id | None = None
    response_url: Url | None = None
    response_urls: list[ResponseUrl] | None = None
    thread_ts: Number | None = None
    function_execution_id: Id | None = None
    function_data: _Loose | None = None
    bot_access_token: Id | None = None
    command: Id | None = None
    text: Text | None = None
    user_name: Text | None = None
    trigger_id: Id | None = None
    challenge: Id | None = None

    @model_validator(mode="before")
    @classmethod
    def _present_means_object(cls, data: Any) -> Any:
        # bolt reads ``body.get("event", {}).get(...)``: a present ``event`` must be an object, not null.
        if isinstance(data, dict) and "event" in data and not isinstance(data["event"], dict):
            raise ValueError("event must be an object")
        return data


@dataclass(frozen=True, slots=True)
class Checked:
    """A parsed payload's verdict: its kind, whether a listener of Steward's takes it, and what was wrong."""

    kind: Kind
    handled: bool = False
    reason: str | None = None  # set: the payload is dropped (acknowledged) for this reason
    fields: tuple[str, ...] = ()  # the fields at fault (of a rejection, or the bad times that were replaced)


def parse(body: str, content_type: str | None) -> dict[str, Any]:
    """The body as bolt will read it (bolt's own parser), which must be an object: else ``Unparseable``."""
    try:
        parsed = parse_body(body, content_type)
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
        raise Unparseable(type(exc).__name__) from None
    if not isinstance(parsed, dict):
        raise Unparseable(f"a JSON {type(parsed).__name__}, not an object")
    return parsed


def sane_time(value: object, now: float) -> float | None:
    """``value`` as an epoch time when it is one Slack could have sent (finite, after 2013, at most a day ahead of
    ``now``), else None. Booleans are not times."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(seconds) or not EARLIEST <= seconds <= now + FUTURE_SLACK:
        return None
    return seconds


def slack_ts(value: object, now: float) -> bool:
    """True when ``value`` is a message timestamp as Slack writes them ("1700000000.000100") at a sane time."""
    return isinstance(value, str) and TS_FORMAT.match(value) is not None and sane_time(value, now) is not None


def kind_of(body: dict[str, Any]) -> Kind:
    """What a parsed payload is, as the ``kind`` label of the counters."""
    kind = body.get("type")
    if kind == "event_callback":
        return "events_api"
    if kind in ("url_verification", "block_actions", "view_submission"):
        return kind  # type: ignore[return-value]
    if "command" in body:
        return "slash_command"
    if isinstance(kind, str) and ("trigger_id" in body or "response_url" in body or "view" in body):
        return "interactive"
    return "unknown"


def _field(loc: tuple[int | str, ...]) -> str:
    # pydantic's location names the union member tried ("constrained-str", "IdObject"): keep the payload's keys.
    keys = [p for p in loc if isinstance(p, str) and p not in _UNION_MEMBERS and not p[:1].isupper()]
    return ".".join(keys) or "body"


def _fields(error: ValidationError) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_field(e["loc"]) for e in error.errors()))[:10]


def _lookup(body: dict[str, Any], path: str) -> list[object]:
    """The values at a dotted ``path`` (a list along the way is walked element by element)."""
    values: list[object] = [body]
    for key in path.split("."):
        step: list[object] = []
        for value in values:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and key in item:
                    step.append(item[key])
        values = step
    return values


def _bad(body: dict[str, Any], paths: tuple[str, ...], good: Any) -> tuple[str, ...]:
    return tuple(path for path in paths if any(not good(v) for v in _lookup(body, path)))


def _missing(kind: Kind, body: Body) -> tuple[str, ...]:
    """Fields without which a payload of ``kind`` cannot be used (bolt indexes ``actions[0]``; a slash command is
    answered through its ``response_url``)."""
    if kind == "block_actions" and not body.actions:
        return ("actions",)
    if kind == "slash_command" and not body.response_url:
        return ("response_url",)
    return ()


def _handled(kind: Kind, body: Body, command: str) -> bool:
    if kind == "events_api":
        return body.event is not None
    if kind == "url_verification":
        return body.challenge is not None
    if kind == "block_actions":
        first = body.actions[0].action_id if body.actions else None
        return bool(first and first.startswith("steward:"))
    return kind == "slash_command" and body.command == command


def check(body: dict[str, Any], *, command: str, now: float) -> Checked:
    """Validate a parsed payload's shape and timestamps and say whether a listener of Steward's takes it."""
    kind = kind_of(body)
    try:
        model = Body.model_validate(body)
    except ValidationError as exc:
        return Checked(kind, reason="invalid_shape", fields=_fields(exc))
    except RecursionError:
        return Checked(kind, reason="invalid_shape", fields=("body",))
    missing = _missing(kind, model)
    if missing:
        return Checked(kind, reason="invalid_shape", fields=missing)
    bad_ids = _bad(body, IDENTITY_FIELDS, lambda v: slack_ts(v, now))
    if bad_ids:
        return Checked(kind, reason="bad_timestamp", fields=bad_ids)
    bad_times = _bad(body, TIME_FIELDS, lambda v: sane_time(v, now) is not None)
    return Checked(kind, handled=_handled(kind, model, command), fields=bad_times)
