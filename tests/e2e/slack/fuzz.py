"""Seeded, deterministic mutations of the payloads Slack sends an app (events, clicks, modal submissions, slash
commands, URL verification): dropped keys, wrong types, nulls, huge strings, nested garbage, bad timestamps (NaN
and Infinity as JSON tokens too), non-JSON, wrong content types and retry headers. Shared by the fuzz test and
``benchmarks/slack_fuzz.py``; each case is the raw body, its content type and extra headers, to be signed and posted.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import random
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.slack.mock_slack import TEAM, event_body, message_event

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
CHANNEL = "C0FUZZ"
# Values that are no time Slack could send: NaN and Infinity are written as JSON tokens (Python's json reads them).
BAD_TIMES: list[Any] = [float("nan"), float("inf"), float("-inf"), -1, 0, 10**12, 1e308, "1e12", "NaN", "x", True]
GARBAGE: list[Any] = [None, 0, -1, 1.5, True, "", "x" * 5000, [], [1, [2, [3]]], {}, {"id": {"id": None}}]


@dataclass(frozen=True)
class Case:
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    what: str = ""


def _ts(n: int) -> str:
    return f"{int(time.time()) - 60}.{n:06d}"


def _bases(n: int, response_url: str) -> list[tuple[str, dict[str, Any]]]:
    """Valid payloads to mutate: (how it is sent, payload)."""
    message = event_body(message_event(CHANNEL, "U0FUZZ", "hello there", _ts(n)))
    mention = event_body(
        {"type": "app_mention", "user": "U0FUZZ", "channel": CHANNEL, "text": "<@U0STEWARD> hi", "ts": _ts(n)}
    )
    edit = event_body(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": CHANNEL,
            "ts": _ts(n),
            "message": {"user": "U0FUZZ", "text": "new", "ts": _ts(n)},
            "previous_message": {"user": "U0FUZZ", "text": "old", "ts": _ts(n)},
        }
    )
    reaction = event_body(
        {"type": "reaction_added", "user": "U0FUZZ", "reaction": "x", "item": {"type": "message", "channel": CHANNEL}}
    )
    click = {
        "type": "block_actions",
        "user": {"id": "U0FUZZ", "team_id": TEAM},
        "team": {"id": TEAM},
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": _ts(n), "channel_id": CHANNEL},
        "message": {"ts": _ts(n), "text": "prompt"},
        "response_url": response_url,
        "actions": [{"action_id": "steward:fuzz:1:approve", "type": "button", "action_ts": _ts(n)}],
    }
    view = {
        "type": "view_submission",
        "team": {"id": TEAM},
        "user": {"id": "U0FUZZ"},
        "view": {"id": "V0FUZZ", "callback_id": "steward:modal", "state": {"values": {}}},
    }
    command = {
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "user_id": "U0FUZZ",
        "user_name": "fuzz",
        "command": "/steward",
        "text": "help",
        "response_url": response_url,
        "trigger_id": "1.trigger",
    }
    verification = {"token": "legacy", "challenge": "c" * 20, "type": "url_verification"}
    return [
        ("json", message),
        ("json", mention),
        ("json", edit),
        ("json", reaction),
        ("payload", click),
        ("payload", view),
        ("form", command),
        ("json", command),
        ("json", verification),
    ]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from _paths(inner, (*prefix, index))


def _parent(payload: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        payload = payload[step]
    return payload


def _garbage(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(GARBAGE))  # a copy: later mutations must not reach the shared list


def _nested(rng: random.Random, depth: int) -> Any:
    if depth <= 0:
        return _garbage(rng)
    inner = _nested(rng, depth - 1)
    return rng.choice(([inner], {"event": inner}, {"a": inner}))


def _mutate(rng: random.Random, payload: dict[str, Any]) -> str:
    """Mutate ``payload`` in place (one to three times); returns what was done."""
    done = []
    for _ in range(rng.randint(1, 3)):
        paths = list(_paths(payload))
        if not paths:
            break
        path = rng.choice(paths)
        parent, key = _parent(payload, path), path[-1]
        how = rng.choice(("drop", "garbage", "garbage", "time", "huge", "nested", "type"))
        if how == "drop":
            del parent[key]
        elif how == "garbage":
            parent[key] = _garbage(rng)
        elif how == "time":
            parent[rng.choice(("event_time", "ts", "event_ts", "action_ts")) if isinstance(parent, dict) else key] = (
                rng.choice(BAD_TIMES)
            )
        elif how == "huge":
            parent[key] = "y" * rng.choice((300, 20_000, 50_000))
        elif how == "nested":
            parent[key] = _nested(rng, rng.randint(1, 60))
        else:
            parent[key] = rng.choice(("event_callback", "block_actions", "view_submission", "url_verification", 7))
        done.append(f"{how}:{'.'.join(map(str, path))}")
    return ",".join(done)


def _encode(rng: random.Random, how: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    text = json.dumps(payload)
    if how == "payload":
        return ("payload=" + urllib.parse.quote(text)).encode(), FORM
    if how == "form":
        flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        return urllib.parse.urlencode(flat).encode(), FORM
    return text.encode(), JSON


def _raw_garbage(rng: random.Random) -> tuple[bytes, str]:
    """Bodies that are not what their content type says (or not anything)."""
    choices: list[tuple[bytes, str]] = [
        (b"", JSON),
        (b"not json", JSON),
        (b'{"type": "event_callback", "event": ', JSON),
        (b"[1, 2, 3]", JSON),
        (b'"a string"', JSON),
        (b"NaN", JSON),
        (b"\xff\xfe\x00garbage", JSON),
        (b"payload=%7Bnot-json", FORM),
        (b"payload=%5B1%2C2%5D", FORM),
        (b"payload=", FORM),
        (b"{broken", FORM),
        (b"a=1&b=2&command=", FORM),
        (b'{"event": null, "type": "event_callback"}', JSON),
        (b'{"type": "event_callback", "event": {"type": "message"}, "event_time": NaN}', JSON),
        (b'{"type": "event_callback", "event": {"type": "message"}, "event_time": Infinity}', JSON),
        (b"[" * 5000 + b"]" * 5000, JSON),
        (b'{"a":' * 3000 + b"1" + b"}" * 3000, JSON),
        (json.dumps({"type": "url_verification", "challenge": _garbage(rng)}).encode(), JSON),
        (json.dumps({"type": "url_verification"}).encode(), JSON),
        (json.dumps({"type": "url_verification", "challenge": "ok"}).encode(), "text/plain"),
    ]
    return rng.choice(choices)


def _headers(rng: random.Random) -> dict[str, str]:
    roll = rng.random()
    if roll < 0.15:
        return {
            "X-Slack-Retry-Num": rng.choice(("1", "2", "-1", "x", "99999999999")),
            "X-Slack-Retry-Reason": "timeout",
        }
    return {}


def cases(count: int, response_url: str, seed: int = 20240601) -> Iterator[Case]:
    """``count`` fuzzed requests, the same ones for the same seed; clicks and commands answer to ``response_url``."""
    rng = random.Random(seed)
    for n in range(count):
        headers = _headers(rng)
        if rng.random() < 0.1:
            body, content_type = _raw_garbage(rng)
            yield Case(body, content_type, headers, "raw")
            continue
        how, payload = rng.choice(_bases(n, response_url))
        what = _mutate(rng, payload)
        body, content_type = _encode(rng, how, payload)
        if rng.random() < 0.05:
            content_type = rng.choice((JSON, FORM, "text/plain", "application/json; charset=latin-1", ""))
        yield Case(body, content_type, headers, f"{how}:{what}")


def signed(case: Case, secret: str) -> dict[str, str]:
    """The headers of ``case`` as Slack would send them: its content type, its extra headers and the signature."""
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + case.body, hashlib.sha256).hexdigest()
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", **case.headers}
    if case.content_type:
        headers["Content-Type"] = case.content_type
    return headers
