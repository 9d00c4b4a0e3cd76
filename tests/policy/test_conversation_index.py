"""The roster index gives the features the per-agent regexes gave, whatever the names, keywords and texts.

``_reference_features`` is the implementation the index replaced (one regex search per agent name and per topic
phrase), kept here as the reference: on thousands of generated rosters and texts (names of word characters,
multi-word and dotted names, names inside other words, prefixes of each other, accents, dotless and dotted i, the
long s, Cyrillic, emoji, mentions with and without "@") the two must agree exactly.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence

import pytest

from policy import conversation_features as features
from policy.conversation_features import AgentName, TextFeatures, extract_features, name_index, topic_index
from policy.conversation_index import occurs_as_word

# --- the reference: the implementation before the index ------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9][a-z0-9_\-]*", re.I)


def _mentions_word(text_lower: str, word: str) -> bool:
    word = word.strip().lower()
    if not word or word not in text_lower:
        return False
    return re.search(rf"(?<![a-z0-9_\-]){re.escape(word)}(?![a-z0-9_\-])", text_lower) is not None


def _names(agent: AgentName, lower: str, mention_ids: set[str]) -> bool:
    names = [n for n in (agent.name, *agent.aliases) if n]
    return any(n.lower() in mention_ids for n in names) or any(_mentions_word(lower, n) for n in names)


def _topic_hits(lower: str, topics: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    words = set(_WORD.findall(lower))
    hits: dict[str, frozenset[str]] = {}
    for agent_name, keywords in topics.items():
        found = frozenset(
            k.lower() for k in keywords if (k.lower() in words if " " not in k else _mentions_word(lower, k))
        )
        if found:
            hits[agent_name] = found
    return hits


def _reference_features(
    text: str, agents: Sequence[AgentName], mentions: Iterable[str], topics: Mapping[str, Sequence[str]]
) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    lower = features._sample(text.strip()).lower()
    mention_ids = {m.lower().lstrip("@") for m in mentions}
    named = frozenset(a.name for a in agents if _names(a, lower, mention_ids))
    return named, _topic_hits(lower, topics) if topics else {}


# --- generated rosters and texts -----------------------------------------------------------------------------------

PIECES = (
    "bot", "helper", "a", "x1", "code", "coder", "ops", "on", "call", "u77", "dev-ops", "web_hook", "_x", "-y",
    "jürgen", "İlk", "ſam", "Роберт", "🤖", "ı", "K", "v2", "C++", "ci/cd",
)  # fmt: skip
JOINS = ("", " ", "  ", ".", "-", "_", "@", ":", "/", "'", "\t", "ü")
SEPARATORS = (" ", ", ", ". ", "-", "_", "", "\n", "@", "(", ")", "ü", "é ", "?", "!", "  ")


def _word(rng: random.Random) -> str:
    parts = [rng.choice(PIECES) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
    out = parts[0]
    for part in parts[1:]:
        out += rng.choice(JOINS) + part
    if rng.random() < 0.1:
        out = rng.choice((" ", "@", "-", "", "\t")) + out + rng.choice((" ", "", "!", "_", "\t"))
    return out.upper() if rng.random() < 0.2 else out


def _roster(rng: random.Random) -> tuple[list[AgentName], dict[str, list[str]]]:
    agents = []
    for i in range(rng.randrange(1, 12)):
        name = rng.choice((_word(rng), f"agent{i}", f"a{i}"))
        aliases = tuple(rng.choice((_word(rng), "", f"U{i}")) for _ in range(rng.randrange(0, 3)))
        agents.append(AgentName(name, aliases))
    topics = {a.name: [_word(rng) for _ in range(rng.randrange(0, 4))] for a in agents if rng.random() < 0.6}
    return agents, topics


def _text(rng: random.Random, vocabulary: Sequence[str]) -> str:
    out = ""
    for _ in range(rng.randrange(0, 9)):
        piece = rng.choice(vocabulary) if rng.random() < 0.6 else _word(rng)
        if rng.random() < 0.15:  # a name inside a longer word
            piece = rng.choice(("x", "_", "-", "9", "é")) + piece + rng.choice(("s", "", "_1", "é"))
        out += piece + rng.choice(SEPARATORS)
    return out.upper() if rng.random() < 0.1 else out


def _cases(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        agents, topics = _roster(rng)
        vocabulary = [n for a in agents for n in (a.name, *a.aliases) if n] + [k for ks in topics.values() for k in ks]
        for _ in range(8):
            mentions = [rng.choice((f"@{rng.choice(vocabulary)}", rng.choice(vocabulary).upper(), "nobody"))]
            yield agents, topics, _text(rng, vocabulary), mentions[: rng.randrange(0, 2)]


def _indexed(agents, topics, text, mentions) -> TextFeatures:
    return extract_features(text, agents=name_index(agents), mentions=mentions, topics=topic_index(topics))


@pytest.mark.parametrize("seed", range(6))
def test_the_index_finds_exactly_what_the_per_agent_regexes_found(seed):
    compared = 0
    for agents, topics, text, mentions in _cases(seed, 300):
        found = _indexed(agents, topics, text, mentions)
        named, hits = _reference_features(text, agents, mentions, topics)
        assert found.mentioned_agents == named, (text, agents, mentions)
        assert dict(found.topic_hits) == hits, (text, topics)
        assert list(found.topic_hits) == list(hits)  # in the order of the topics, as before
        compared += bool(named) + bool(hits)
    assert compared > 500  # the generated texts do name agents and hit topics


def test_the_author_is_never_among_the_agents_it_mentions():
    agents = [AgentName("helper", ("Helper Bot",)), AgentName("critic")]
    text = "helper and critic, what now?"
    assert extract_features(text, agents=name_index(agents), author="helper").mentioned_agents == {"critic"}
    # The same as leaving the author out of the roster, as the cog did before.
    assert extract_features(text, agents=agents[1:]).mentioned_agents == {"critic"}


def test_a_sequence_of_agents_and_a_mapping_of_topics_are_still_accepted():
    agents = [AgentName("helper", ("Helper Bot",))]
    found = extract_features("ask Helper Bot about the deploy", agents=agents, topics={"helper": ["deploy"]})
    assert found.mentioned_agents == {"helper"} and dict(found.topic_hits) == {"helper": frozenset({"deploy"})}


@pytest.mark.parametrize(
    ("text", "word", "found"),
    [
        ("ask helper bot", "helper bot", True),
        ("ask helper botanist", "helper bot", False),
        ("xhelper bot", "helper bot", False),
        ("helper bot-x helper bot", "helper bot", True),  # the second occurrence counts
        ("aaaa", "aa", False),
        ("a.a.a", "a.a", True),
        ("éhelper", "helper", True),  # é is not a name character
    ],
)
def test_a_word_occurs_only_between_non_name_characters(text, word, found):
    assert occurs_as_word(text, word) is found
    assert _mentions_word(text, word) is found


def test_looking_names_up_costs_no_search_per_registered_agent(monkeypatch):
    agents = [AgentName(f"agent{i}", (f"Agent {i}", f"U{i}")) for i in range(5000)]
    index = name_index(agents)
    calls = []

    def counted(lower: str, word: str) -> bool:
        calls.append(word)
        return occurs_as_word(lower, word)

    monkeypatch.setattr("policy.conversation_index.occurs_as_word", counted)
    found = extract_features("agent17 and Agent 4242, over to you", agents=index, mentions=("u99",))
    assert found.mentioned_agents == {"agent17", "agent4242", "agent99"}
    # Only names keyed by the text's own words are checked: "agent" is in every display name, so "4242" keys it.
    assert calls == ["agent 4242"]
