"""An offline emotion lexicon for chat: anger, frustration, joy and confusion.

Why our own: the emotion lexicons on PyPI either fetch NLTK corpora at run time (which fails offline) or know
nothing of chat ("ugh", "lol", "??", emoji). This is a small curated list of words, phrases and emoji with
weights (``emotion_words.py``), plus a few rules:

* an intensifier ("very", "so", "really" ...) before a word multiplies its weight by 1.5;
* a negation ("not", "don't", "never" ...) within the three words before a word turns joy into frustration
  (half weight: "not happy") and damps anger and frustration to a third ("not annoyed");
* a run of question marks ("??") is confusion, or exasperation (more anger) after an angry word; a single one is
  not (most questions are not confused: "what time is the meeting tomorrow?"), nor are question words: confusion
  comes from its own cues ("I don't get it", "what do you mean", "huh?", "confused", "I'm lost");
* "!!" strengthens anger and frustration already present;
* a shouted word (all capitals, three letters or more) strengthens anger when anger or frustration is present;
* an elongated word ("sooo", "yesss") is looked up with its letter runs undone;
* in a sarcastic message (``chat.is_sarcastic``: "great, just great", "/s", 🙄 beside praise) the praise is
  frustration, not joy.

Only the first ``MAX_TOKENS`` tokens are weighed (the word count covers them all): the weights saturate long
before that, and the cost of a wall of emoji stays bounded.

The raw weight of each emotion saturates into an intensity in [0, 1] as ``1 - exp(-raw)``: one strong word gives
about 0.6, two about 0.85.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from cogs.sentiment.emotion_words import EMOJI, INTENSIFIERS, NEGATIONS, PHRASES, WORDS

__all__ = ["EMOJI", "INTENSIFIERS", "NEGATIONS", "PHRASES", "WORDS", "EmotionScores", "score_emotions"]


_TOKEN = re.compile(r"[a-z0-9']+[!]?|\?+|!+|>:\(|:-?[()dps]|;\)|<3|\^\^|-_-|o_o|xd|[^\sa-z0-9]", re.IGNORECASE)
MAX_TOKENS = 512
_SHOUT = re.compile(r"\b[A-Z]{3,}\b")
_RUN = re.compile(r"([a-z])\1{2,}")
# A sarcastic message is frustrated even without a frustrated word ("oh joy, more merge conflicts").
SARCASM_FRUSTRATION = 0.8

_PHRASE_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {}
for _emotion, _table in PHRASES.items():
    for _phrase, _weight in _table.items():
        _PHRASE_WEIGHTS[_phrase] = (*_PHRASE_WEIGHTS.get(_phrase, ()), (_emotion, _weight))
# One alternation, longest phrases first, so a text is scanned once whatever the number of phrases.
_PHRASES = re.compile(
    r"(?<![a-z])(" + "|".join(re.escape(p) for p in sorted(_PHRASE_WEIGHTS, key=len, reverse=True)) + r")(?![a-z])"
)

_LOOKUP: dict[str, tuple[tuple[str, float], ...]] = {}
for _emotion, _table in (*WORDS.items(), *EMOJI.items()):
    for _word, _weight in _table.items():
        _LOOKUP[_word] = (*_LOOKUP.get(_word, ()), (_emotion, _weight))


@dataclass(frozen=True, slots=True)
class EmotionScores:
    anger: float = 0.0
    frustration: float = 0.0
    joy: float = 0.0
    confusion: float = 0.0
    words: int = 0

    def as_dict(self) -> dict[str, float]:
        return {"anger": self.anger, "frustration": self.frustration, "joy": self.joy, "confusion": self.confusion}


def _saturate(raw: float) -> float:
    return 0.0 if raw <= 0 else round(1.0 - math.exp(-raw), 4)


# A negated hit counts as another emotion, scaled: "not happy" is some frustration, "not angry" a little anger.
# (emotion -> (counts as, times, divided by)); emotions not listed count as they are.
_NEGATED: dict[str, tuple[str, float, float]] = {
    "joy": ("frustration", 0.5, 1.0),
    "anger": ("anger", 1.0, 3.0),
    "frustration": ("frustration", 1.0, 3.0),
}


def _punctuation(token: str, raw: dict[str, float]) -> bool:
    """Question marks add confusion, a run of exclamation marks sharpens anger and frustration; True if handled."""
    if token[0] == "?":
        if len(token) > 1:
            raw["??"] += 1.0
        return True
    if token[0] == "!":
        if len(token) > 1:
            raw["anger"] *= 1.3
            raw["frustration"] *= 1.3
        return True
    return False


def _lookup(token: str, word: str) -> tuple[tuple[str, float], ...] | None:
    hits = _LOOKUP.get(word) or (_LOOKUP.get(token) if token != word else None)
    if hits is None and _RUN.search(word):
        hits = _LOOKUP.get(_RUN.sub(r"\1\1", word)) or _LOOKUP.get(_RUN.sub(r"\1", word))
    return hits


def _add_hits(
    raw: dict[str, float], hits: tuple[tuple[str, float], ...], boost: float, negated: bool, sarcastic: bool
) -> None:
    for emotion, weight in hits:
        weight *= boost
        if sarcastic and emotion == "joy":
            emotion = "frustration"  # praise meant the other way
        turned = _NEGATED.get(emotion) if negated else None
        if turned is None:
            raw[emotion] += weight
        else:
            raw[turned[0]] += weight * turned[1] / turned[2]


def _phrases_and_shouting(text: str, lowered: str, raw: dict[str, float], sarcastic: bool) -> None:
    for match in _PHRASES.finditer(lowered):
        for emotion, weight in _PHRASE_WEIGHTS[match.group(1)]:
            raw["frustration" if sarcastic and emotion == "joy" else emotion] += weight
    if sarcastic:
        raw["frustration"] += SARCASM_FRUSTRATION
    if raw["??"]:  # "??" after an angry word is exasperation, otherwise bewilderment
        if raw["anger"]:
            raw["anger"] *= 1.3
        else:
            raw["confusion"] += 0.8 * min(raw["??"], 2.0)
    if raw["anger"] or raw["frustration"]:
        shouted = len(_SHOUT.findall(text))
        if shouted:
            raw["anger"] += 0.4 * min(shouted, 3)


def score_emotions(text: str, *, sarcastic: bool = False) -> EmotionScores:
    """Emotion intensities of one message, each in [0, 1]. ``sarcastic``: the message's praise is meant the other
    way (the chat layer's reading), so it counts as frustration."""
    raw = {"anger": 0.0, "frustration": 0.0, "joy": 0.0, "confusion": 0.0, "??": 0.0}
    lowered = text.lower()
    words = 0
    boost = 1.0
    negated_until = -1
    tokens = _TOKEN.findall(lowered)
    if len(tokens) > MAX_TOKENS:
        words = sum(1 for token in tokens[MAX_TOKENS:] if token[0].isalnum())
        tokens = tokens[:MAX_TOKENS]
    lookup = _LOOKUP.get
    runs = _RUN.search(lowered) is not None  # tokens are pieces of the text: without a run there, none has one
    for index, token in enumerate(tokens):
        first = token[0]
        if first in "?!":
            _punctuation(token, raw)
            continue
        word = token.rstrip("!") if token[-1] == "!" else token
        if first.isalnum():
            words += 1
        if word in NEGATIONS:
            negated_until = index + 3
            continue
        if word in INTENSIFIERS:
            boost = 1.5
            continue
        hits = lookup(word)
        if hits is None and (runs or token != word):
            hits = _lookup(token, word)
        if hits:
            _add_hits(raw, hits, boost, index <= negated_until, sarcastic)
        boost = 1.0
    _phrases_and_shouting(text, lowered, raw, sarcastic)
    return EmotionScores(
        anger=_saturate(raw["anger"]),
        frustration=_saturate(raw["frustration"]),
        joy=_saturate(raw["joy"]),
        confusion=_saturate(raw["confusion"]),
        words=words,
    )
