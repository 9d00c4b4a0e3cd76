"""What one message says about the conversation, without keeping the message.

The cog turns each message into a ``Turn``: its author, whether it asks a question or raises an action item, which
agents it names and which agents' topic keywords it hits. The text itself is dropped.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType


class AuthorKind(enum.StrEnum):
    HUMAN = "human"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class TextFeatures:
    is_question: bool = False
    action_item: bool = False
    mentioned_agents: frozenset[str] = frozenset()
    topic_hits: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Turn:
    """One message, reduced to what the rules need (no text)."""

    at: float
    message_id: str
    author: str
    author_kind: AuthorKind
    reply_to: str | None = None
    reply_to_author: str | None = None
    features: TextFeatures = TextFeatures()
    # An agent's message that answers a person (replies to them, follows their addressing it or their question):
    # it weighs ``reply_weight`` in the agents' shares and rate, an unprompted post weighs 1.
    answers_person: bool = False


@dataclass(frozen=True, slots=True)
class AgentName:
    """A registered agent and the words that name it in text (its name and display name)."""

    name: str
    aliases: tuple[str, ...] = ()


_QUESTION_START = re.compile(
    r"^\s*(who|what|when|where|why|how|which|can|could|would|should|does|do|did|is|are|will|anyone)\b", re.I
)
_WORD = re.compile(r"[a-z0-9][a-z0-9_\-]*", re.I)

DEFAULT_ACTION_ITEM_PATTERNS: tuple[str, ...] = (
    r"\btodo\b",
    r"\baction item\b",
    r"\bi(?:'?ll| will)\s+(?:take|handle|do|follow up|look into|write|fix|send|draft|own)\b",
    r"\b(?:can|could) (?:someone|somebody|you)\s+(?:please\s+)?(?:take|handle|write|fix|look into|follow up)\b",
    r"\bwe (?:need|have) to\b",
    r"\bby (?:monday|tuesday|wednesday|thursday|friday|tomorrow|eod|end of (?:day|week))\b",
)


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Compile action-item patterns; a bad pattern raises ``re.error`` naming it (config validation uses this)."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.I))
        except re.error as exc:
            raise ValueError(f"action item pattern {pattern!r} is not a valid regular expression: {exc}") from None
    return tuple(compiled)


def _mentions_word(text_lower: str, word: str) -> bool:
    word = word.strip().lower()
    if not word or word not in text_lower:
        return False  # (a substring test runs in C: most texts never reach the regex)
    return re.search(rf"(?<![a-z0-9_\-]){re.escape(word)}(?![a-z0-9_\-])", text_lower) is not None


def _is_question(stripped: str) -> bool:
    return stripped.endswith("?") or (bool(_QUESTION_START.match(stripped)) and "?" in stripped)


def _names(agent: AgentName, lower: str, mention_ids: set[str]) -> bool:
    """Whether the message names ``agent``: a platform mention, or its name or an alias as a word of the text."""
    names = [n for n in (agent.name, *agent.aliases) if n]
    return any(n.lower() in mention_ids for n in names) or any(_mentions_word(lower, n) for n in names)


def _topic_hits(lower: str, topics: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    """Per agent, the keywords the message hits: single words among its words, phrases as whole words."""
    words = set(_WORD.findall(lower))
    hits: dict[str, frozenset[str]] = {}
    for agent_name, keywords in topics.items():
        found = frozenset(
            k.lower() for k in keywords if (k.lower() in words if " " not in k else _mentions_word(lower, k))
        )
        if found:
            hits[agent_name] = found
    return hits


# A longer text (Slack allows 40,000 characters) is read on its first and last characters: its question, its
# action items and the names it mentions are there, and the cost stays that of a long Discord message.
HEAD_CHARS = 4000
TAIL_CHARS = 1000


def _sample(stripped: str) -> str:
    if len(stripped) <= HEAD_CHARS + TAIL_CHARS:
        return stripped
    return f"{stripped[:HEAD_CHARS]}\n{stripped[-TAIL_CHARS:]}"


def extract_features(
    text: str,
    *,
    agents: Sequence[AgentName] = (),
    mentions: Iterable[str] = (),
    topics: Mapping[str, Sequence[str]] | None = None,
    action_patterns: Sequence[re.Pattern[str]] = (),
) -> TextFeatures:
    """What a message says about the conversation, without keeping the message."""
    stripped = _sample(text.strip())
    lower = stripped.lower()
    mention_ids = {m.lower().lstrip("@") for m in mentions}
    return TextFeatures(
        is_question=_is_question(stripped),
        action_item=any(p.search(stripped) for p in action_patterns),
        mentioned_agents=frozenset(a.name for a in agents if _names(a, lower, mention_ids)),
        topic_hits=MappingProxyType(_topic_hits(lower, topics) if topics else {}),
    )
