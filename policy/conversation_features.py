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

from policy.conversation_index import NameIndex, TopicIndex, runs_of


class AuthorKind(enum.StrEnum):
    HUMAN = "human"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class TextFeatures:
    is_question: bool = False
    action_item: bool = False
    mentioned_agents: frozenset[str] = frozenset()
    topic_hits: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))


_NO_AGENTS: frozenset[str] = frozenset()
_NO_HITS: Mapping[str, frozenset[str]] = MappingProxyType({})
# The features of a message that names no agent and hits no topic, by (is_question, action_item): shared, as they
# are equal values (frozen), so that a window of plain messages does not hold a copy each.
_PLAIN = {
    (q, a): TextFeatures(is_question=q, action_item=a, mentioned_agents=_NO_AGENTS, topic_hits=_NO_HITS)
    for q in (False, True)
    for a in (False, True)
}


_NAMED: dict[frozenset[str], frozenset[str]] = {}  # the sets of agents messages named lately, one copy each
_NAMED_MEMORY = 4096


def _shared_names(mentioned: set[str]) -> frozenset[str]:
    """The frozen set of ``mentioned``, shared with the other messages naming the same agents (bounded)."""
    named = frozenset(mentioned)
    found = _NAMED.get(named)
    if found is not None:
        return found
    if len(_NAMED) >= _NAMED_MEMORY:
        _NAMED.clear()
    _NAMED[named] = named
    return named


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


def _is_question(stripped: str) -> bool:
    return stripped.endswith("?") or (bool(_QUESTION_START.match(stripped)) and "?" in stripped)


def name_index(agents: Iterable[AgentName]) -> NameIndex:
    """The agents' names and aliases, indexed for ``extract_features`` (build it once per roster)."""
    return NameIndex((a.name, (a.name, *a.aliases)) for a in agents)


def topic_index(topics: Mapping[str, Sequence[str]]) -> TopicIndex:
    """The agents' topic keywords, indexed for ``extract_features`` (build it once per set of topics)."""
    return TopicIndex(topics)


# A longer text (Slack allows 40,000 characters) is read on its first and last characters: its question, its
# action items and the names it mentions are there, and the cost stays that of a long Discord message.
HEAD_CHARS = 4000
TAIL_CHARS = 1000


def _sample(stripped: str) -> str:
    if len(stripped) <= HEAD_CHARS + TAIL_CHARS:
        return stripped
    return f"{stripped[:HEAD_CHARS]}\n{stripped[-TAIL_CHARS:]}"


def _roster_features(
    lower: str, names: NameIndex, keywords: TopicIndex | None, mentions: Iterable[str], author: str | None
) -> tuple[set[str], dict[str, frozenset[str]]]:
    """The agents a text names (never its author) and the topic keywords it hits, per agent."""
    runs = runs_of(lower) if names.size or (keywords is not None and keywords.size) else set()
    mentioned: set[str] = set()
    if names.size:
        mentioned = names.named(lower, runs, {m.lower().lstrip("@") for m in mentions})
        if author is not None:
            mentioned.discard(author)
    hits: dict[str, frozenset[str]] = {}
    if keywords is not None and keywords.size:
        hits = keywords.hits(lower, set(_WORD.findall(lower)), runs)
    return mentioned, hits


def extract_features(
    text: str,
    *,
    agents: Sequence[AgentName] | NameIndex = (),
    mentions: Iterable[str] = (),
    topics: Mapping[str, Sequence[str]] | TopicIndex | None = None,
    action_patterns: Sequence[re.Pattern[str]] = (),
    author: str | None = None,
) -> TextFeatures:
    """What a message says about the conversation, without keeping the message.

    ``agents`` and ``topics`` may be given as indexes (``name_index``, ``topic_index``), so that the cost of a
    message does not grow with the roster; ``author`` is never among the agents it mentions."""
    stripped = _sample(text.strip())
    lower = stripped.lower()
    names = agents if isinstance(agents, NameIndex) else name_index(agents)
    keywords = topics if isinstance(topics, TopicIndex) or topics is None else topic_index(topics)
    mentioned, hits = _roster_features(lower, names, keywords, mentions, author)
    question, item = _is_question(stripped), any(p.search(stripped) for p in action_patterns)
    if not mentioned and not hits:
        return _PLAIN[question, item]  # most messages: one shared value each (a window holds many)
    return TextFeatures(
        is_question=question,
        action_item=item,
        mentioned_agents=_shared_names(mentioned) if mentioned else _NO_AGENTS,
        topic_hits=MappingProxyType(hits) if hits else _NO_HITS,
    )
