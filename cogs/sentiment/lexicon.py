"""An offline emotion lexicon for chat: anger, frustration, joy and confusion.

Why our own: the emotion lexicons on PyPI either fetch NLTK corpora at run time (which fails offline) or know
nothing of chat ("ugh", "lol", "??", emoji). This is a small curated list of words, phrases and emoji with
weights, plus a few rules:

* an intensifier ("very", "so", "really" ...) before a word multiplies its weight by 1.5;
* a negation ("not", "don't", "never" ...) within the three words before a word turns joy into frustration
  (half weight: "not happy") and damps anger and frustration to a third ("not annoyed");
* question marks count as confusion (more for "??"), "!!" strengthens anger and frustration already present;
* a shouted word (all capitals, three letters or more) strengthens anger when anger or frustration is present.

The raw weight of each emotion saturates into an intensity in [0, 1] as ``1 - exp(-raw)``: one strong word gives
about 0.6, two about 0.85.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

WORDS: dict[str, dict[str, float]] = {
    "anger": {
        "angry": 1.0,
        "anger": 0.9,
        "furious": 1.3,
        "mad": 0.8,
        "rage": 1.2,
        "raging": 1.2,
        "pissed": 1.1,
        "hate": 1.1,
        "hated": 1.0,
        "hates": 1.0,
        "idiot": 1.1,
        "idiots": 1.1,
        "idiotic": 1.1,
        "stupid": 0.9,
        "moron": 1.1,
        "dumb": 0.7,
        "shut": 0.5,
        "damn": 0.6,
        "dammit": 0.8,
        "wtf": 0.9,
        "outrageous": 1.0,
        "disgusting": 1.0,
        "ridiculous": 0.7,
        "unacceptable": 0.9,
        "livid": 1.3,
        "infuriating": 1.2,
        "hostile": 0.8,
        "screw": 0.7,
        "jerk": 0.8,
        "liar": 1.0,
        "pathetic": 0.9,
        "scam": 0.8,
        "fuck": 1.0,
        "fucking": 0.9,
        "shit": 0.6,
        "crap": 0.5,
        "bullshit": 1.0,
        "hell": 0.4,
        "stfu": 1.2,
        "trash": 0.7,
    },
    "frustration": {
        "frustrated": 1.2,
        "frustrating": 1.2,
        "frustration": 1.1,
        "annoying": 1.0,
        "annoyed": 1.0,
        "ugh": 1.0,
        "argh": 1.1,
        "sigh": 0.8,
        "useless": 1.1,
        "broken": 0.8,
        "stuck": 0.9,
        "again": 0.3,
        "still": 0.2,
        "waste": 0.9,
        "wasted": 0.9,
        "pointless": 1.0,
        "tired": 0.6,
        "fed": 0.4,
        "hopeless": 1.0,
        "impossible": 0.6,
        "fails": 0.7,
        "failed": 0.6,
        "failing": 0.7,
        "fail": 0.6,
        "wrong": 0.6,
        "bug": 0.4,
        "buggy": 0.8,
        "crash": 0.6,
        "crashes": 0.7,
        "crashed": 0.7,
        "slow": 0.5,
        "meh": 0.5,
        "disappointed": 1.0,
        "disappointing": 1.0,
        "irritating": 1.0,
        "irritated": 1.0,
        "giving": 0.1,
        "unhelpful": 1.0,
        "worse": 0.8,
        "worst": 1.0,
        "terrible": 0.9,
        "awful": 0.9,
        "bad": 0.5,
        "nope": 0.4,
        "seriously": 0.4,
    },
    "joy": {
        "happy": 1.0,
        "glad": 0.9,
        "great": 0.8,
        "awesome": 1.1,
        "amazing": 1.1,
        "love": 1.0,
        "loved": 1.0,
        "loving": 0.9,
        "lovely": 0.9,
        "excellent": 1.0,
        "perfect": 1.0,
        "wonderful": 1.1,
        "fantastic": 1.1,
        "brilliant": 1.0,
        "nice": 0.7,
        "cool": 0.5,
        "thanks": 0.8,
        "thank": 0.8,
        "thx": 0.7,
        "ty": 0.5,
        "helpful": 0.9,
        "helped": 0.7,
        "works": 0.5,
        "worked": 0.6,
        "solved": 0.9,
        "fixed": 0.7,
        "yay": 1.1,
        "woohoo": 1.2,
        "haha": 0.8,
        "hahaha": 1.0,
        "lol": 0.6,
        "lmao": 0.7,
        "fun": 0.8,
        "enjoy": 0.8,
        "enjoyed": 0.8,
        "delighted": 1.2,
        "excited": 1.0,
        "exciting": 0.9,
        "yes": 0.3,
        "beautiful": 0.9,
        "appreciate": 0.9,
        "appreciated": 0.9,
        "congrats": 1.0,
        "congratulations": 1.0,
        "good": 0.5,
        "best": 0.7,
        "clear": 0.3,
        "neat": 0.6,
        "sweet": 0.6,
        "wow": 0.5,
        "yes!": 0.5,
        "kudos": 0.9,
    },
    "confusion": {
        "confused": 1.2,
        "confusing": 1.1,
        "confusion": 1.0,
        "huh": 0.9,
        "unclear": 1.0,
        "lost": 0.6,
        "puzzled": 1.1,
        "baffled": 1.1,
        "weird": 0.5,
        "strange": 0.5,
        "what": 0.3,
        "why": 0.3,
        "how": 0.2,
        "wdym": 1.2,
        "idk": 0.7,
        "dunno": 0.7,
        "understand": 0.2,
        "mean": 0.2,
        "explain": 0.5,
        "clarify": 0.7,
        "wait": 0.5,
        "hmm": 0.6,
        "hm": 0.5,
        "unsure": 0.8,
        "perplexed": 1.2,
        "vague": 0.7,
        "ambiguous": 0.7,
    },
}

PHRASES: dict[str, dict[str, float]] = {
    "confusion": {
        "what do you mean": 1.3,
        "i don't understand": 1.4,
        "i dont understand": 1.4,
        "doesn't make sense": 1.3,
        "does not make sense": 1.3,
        "makes no sense": 1.3,
        "not sure what": 0.9,
        "no idea": 0.8,
        "i'm lost": 1.2,
        "im lost": 1.2,
        "what does that mean": 1.3,
        "come again": 0.8,
        "say that again": 0.8,
    },
    "frustration": {
        "doesn't work": 1.1,
        "does not work": 1.1,
        "doesnt work": 1.1,
        "not working": 1.1,
        "still broken": 1.3,
        "nothing works": 1.3,
        "give up": 1.1,
        "giving up": 1.1,
        "fed up": 1.2,
        "waste of time": 1.3,
        "for the last time": 1.2,
        "how many times": 1.1,
        "not again": 1.1,
        "sick of": 1.1,
        "tired of": 1.0,
    },
    "joy": {
        "thank you": 1.0,
        "thanks a lot": 1.2,
        "well done": 1.0,
        "good job": 1.0,
        "great job": 1.1,
        "that helps": 1.0,
        "makes sense": 0.6,
        "love it": 1.2,
        "works now": 1.0,
        "you rock": 1.1,
    },
    "anger": {
        "shut up": 1.3,
        "screw you": 1.4,
        "go away": 0.9,
        "are you kidding": 0.9,
        "what the hell": 1.0,
        "piss off": 1.3,
    },
}

EMOJI: dict[str, dict[str, float]] = {
    "joy": {
        "😀": 1.0,
        "😃": 1.0,
        "😄": 1.0,
        "😁": 1.0,
        "😆": 1.0,
        "😂": 0.9,
        "🤣": 0.9,
        "😊": 0.9,
        "🙂": 0.5,
        "😍": 1.1,
        "🥰": 1.1,
        "❤": 1.0,
        "❤️": 1.0,
        "🎉": 1.1,
        "🥳": 1.1,
        "👍": 0.7,
        "🙏": 0.7,
        "✨": 0.5,
        ":)": 0.8,
        ":-)": 0.8,
        ":d": 1.0,
        ":-d": 1.0,
        "xd": 0.8,
        "<3": 1.0,
        "^^": 0.6,
        ";)": 0.5,
    },
    "anger": {"😠": 1.1, "😡": 1.3, "🤬": 1.4, "👿": 1.0, "💢": 1.0, "🖕": 1.4, ">:(": 1.1},
    "frustration": {
        "😤": 1.1,
        "😩": 1.0,
        "😫": 1.0,
        "🙄": 0.9,
        "😒": 0.8,
        "🤦": 1.1,
        "😞": 0.8,
        ":(": 0.8,
        ":-(": 0.8,
        "-_-": 0.9,
        "🙁": 0.7,
        "👎": 0.8,
    },
    "confusion": {"😕": 1.0, "🤔": 0.8, "😵": 0.8, "🤷": 0.7, "❓": 0.9, "❔": 0.8, "o_o": 0.7, ":s": 0.8},
}

INTENSIFIERS = frozenset(
    {"very", "so", "really", "extremely", "totally", "absolutely", "super", "incredibly", "completely", "such", "too"}
)
NEGATIONS = frozenset(
    {
        "not", "no", "never", "don't", "dont", "doesn't", "doesnt", "isn't", "isnt", "wasn't", "wasnt", "aren't",
        "arent", "can't", "cant", "cannot", "won't", "wont", "didn't", "didnt", "nothing", "hardly", "without",
    }
)  # fmt: skip

_TOKEN = re.compile(r"[a-z0-9']+[!]?|\?+|!+|>:\(|:-?[()dps]|;\)|<3|\^\^|-_-|o_o|xd|[^\sa-z0-9]", re.IGNORECASE)
_SHOUT = re.compile(r"\b[A-Z]{3,}\b")

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


def score_emotions(text: str) -> EmotionScores:
    """Emotion intensities of one message, each in [0, 1]."""
    raw = {"anger": 0.0, "frustration": 0.0, "joy": 0.0, "confusion": 0.0}
    lowered = text.lower()
    tokens = _TOKEN.findall(lowered)
    words = 0
    boost = 1.0
    negated_until = -1
    for index, token in enumerate(tokens):
        if token[0] == "?":
            raw["confusion"] += 0.4 if len(token) == 1 else 0.9
            continue
        if token[0] == "!":
            if len(token) > 1:
                raw["anger"] *= 1.3
                raw["frustration"] *= 1.3
            continue
        word = token.rstrip("!")
        if word[0].isalnum():
            words += 1
        if word in NEGATIONS:
            negated_until = index + 3
            continue
        if word in INTENSIFIERS:
            boost = 1.5
            continue
        hits = _LOOKUP.get(word) or (_LOOKUP.get(token) if token != word else None)
        if hits:
            negated = index <= negated_until
            for emotion, weight in hits:
                weight *= boost
                if negated and emotion == "joy":
                    raw["frustration"] += weight * 0.5
                elif negated and emotion in ("anger", "frustration"):
                    raw[emotion] += weight / 3.0
                else:
                    raw[emotion] += weight
        boost = 1.0
    for match in _PHRASES.finditer(lowered):
        for emotion, weight in _PHRASE_WEIGHTS[match.group(1)]:
            raw[emotion] += weight
    if raw["anger"] or raw["frustration"]:
        shouted = len(_SHOUT.findall(text))
        if shouted:
            raw["anger"] += 0.4 * min(shouted, 3)
    return EmotionScores(
        anger=_saturate(raw["anger"]),
        frustration=_saturate(raw["frustration"]),
        joy=_saturate(raw["joy"]),
        confusion=_saturate(raw["confusion"]),
        words=words,
    )
