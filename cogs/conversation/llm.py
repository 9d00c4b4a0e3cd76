"""The optional LLM policy: an OpenAI-compatible chat-completions endpoint asked to propose actions as JSON.

It is sent features of the conversation (counts, shares, scores, signals; never message text) and must answer
``{"actions": [...]}`` in the action schema of ``policy.conversation``. The answer is validated with pydantic
before anything is done: an unreachable endpoint, a non-JSON answer, a wrong envelope or an invalid action is
rejected with a reason, logged and counted, and nothing is done for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import ValidationError

from bot.logging import get_logger
from bot.metrics import Metrics
from cogs.conversation.config import LlmPolicySettings
from policy.conversation import ACTION_ADAPTER, ActionProposal

log = get_logger("steward.cogs.conversation.llm")

SYSTEM_PROMPT = """You help moderate a chat channel where humans and AI agents talk. You get features of the recent
conversation as JSON (no message text). Propose at most {max_actions} actions, or none, as a JSON object
{{"actions": [...]}} and nothing else. Each action is one of these JSON Schemas (the "kind" field selects):
{schema}
Modes: open (agents speak freely), focused (agents speak only when addressed), review (agents' messages need their
owner's approval), quiet (agents silent). Every action needs a short "reason" that will be shown to the channel."""


class ProposalRejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class LlmAnswer:
    valid: tuple[ActionProposal, ...]
    rejected: tuple[tuple[str, str], ...]  # (reason, detail) for each invalid action


def _schema_text() -> str:
    return json.dumps(ACTION_ADAPTER.json_schema(), separators=(",", ":"))


def _strip_fences(content: str) -> str:
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        if text.rstrip().endswith("```"):
            text = text.rstrip()[:-3]
    return text.strip()


def parse_answer(content: str, max_actions: int) -> LlmAnswer:
    """Validate an answer's content; raise ``ProposalRejected`` when the envelope is wrong."""
    try:
        data = json.loads(_strip_fences(content))
    except json.JSONDecodeError as exc:
        raise ProposalRejected("not_json", f"{exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict) or not isinstance(data.get("actions"), list):
        raise ProposalRejected("schema", 'the answer must be an object {"actions": [...]}')
    extra = sorted(set(data) - {"actions"})
    if extra:
        raise ProposalRejected("schema", f"unexpected key(s) {extra} next to 'actions'")
    valid: list[ActionProposal] = []
    rejected: list[tuple[str, str]] = []
    for index, item in enumerate(data["actions"]):
        if index >= max_actions:
            rejected.append(("too_many", f"action {index} is beyond the limit of {max_actions}"))
            continue
        try:
            valid.append(ACTION_ADAPTER.validate_python(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'action'}: {e['msg']}" for e in exc.errors()[:5]
            )
            rejected.append(("schema", f"action {index}: {problems}"))
    return LlmAnswer(tuple(valid), tuple(rejected))


class LlmPolicy:
    def __init__(self, settings: LlmPolicySettings, metrics: Metrics) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._requests = metrics.counter(
            "steward_conversation_llm_requests_total", "Requests to the LLM policy endpoint", ["outcome"]
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Content-Type": "application/json"}
            if self.settings.api_key is not None:
                headers["Authorization"] = f"Bearer {self.settings.api_key.get_secret_value()}"
            self._session = aiohttp.ClientSession(
                headers=headers, timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds)
            )
        return self._session

    async def ask(self, features: Mapping[str, Any]) -> LlmAnswer:
        body = {
            "model": self.settings.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {
                    "role": "system",
                    "content": SYSTEM_PROMPT.format(max_actions=self.settings.max_actions, schema=_schema_text()),
                },
                {"role": "user", "content": json.dumps(features, sort_keys=True, default=str)},
            ],
        }
        url = self.settings.base_url.rstrip("/") + "/chat/completions"
        try:
            async with self._client().post(url, json=body) as response:
                if response.status != 200:
                    detail = (await response.text())[:200]
                    self._requests.labels("http_error").inc()
                    raise ProposalRejected("http_error", f"HTTP {response.status}: {detail}")
                try:
                    payload = await response.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError) as exc:
                    self._requests.labels("bad_response").inc()
                    raise ProposalRejected("bad_response", f"the response is not JSON: {exc}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._requests.labels("unreachable").inc()
            raise ProposalRejected("unreachable", f"{type(exc).__name__}: {exc}") from None
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            self._requests.labels("bad_response").inc()
            raise ProposalRejected("bad_response", "no choices[0].message.content in the response") from None
        if not isinstance(content, str):
            self._requests.labels("bad_response").inc()
            raise ProposalRejected("bad_response", "choices[0].message.content is not a string")
        self._requests.labels("answered").inc()
        return parse_answer(content, self.settings.max_actions)
