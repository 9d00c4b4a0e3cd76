"""VADER read as chat: ``ChatVader`` scores a message the way people in a Discord or Slack room mean it.

On top of ``BoundedVader`` (upstream's rules and lexicon, linear time, capped tokens) it:

* reads slang and abbreviations (``chat_words.SLANG``: "smh", "fml", "tysm", "gg", "mid"; "lol" as the softener
  it mostly is) and emoji by their use in chat (``chat_words.EMOJI``: 👍 and 🔥 approve, 😡 and 🤬 are angry);
* undoes elongation ("sooo goood" reads as "so good") and counts it as emphasis, like VADER's capitals;
* rewrites insults, threats and technical idioms into one token (``chat_words.PHRASES``): "kill yourself" and
  "I know where you live" are strongly negative, "kill the process" and "killing it" are not;
* spreads a negation over the clause a neg-raising verb opens ("I don't think this is a good idea");
* detects sarcasm: an explicit marker ("/s", "yeah right"), 🙄 or 🙃 beside praise, or a sarcastic opener
  ("great, just great", "oh wonderful", "love it when") in a message that says something went wrong; the praise
  is then read as the complaint it is.

Every step is one pass over the (capped) tokens or one regular-expression scan: the cost stays linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import N_SCALAR  # type: ignore[import-untyped]

from cogs.sentiment.chat_words import (
    EMOJI,
    NEG_RAISING,
    PHRASES,
    SARCASM_EMOJI,
    SARCASM_MARKERS,
    SARCASM_OPENERS,
    SLANG,
    TROUBLE,
    UNSCORED,
)
from cogs.sentiment.literals import anchor_pattern
from cogs.sentiment.vader import MAX_TOKENS, BoundedVader, bound_tokens

# How much of a sarcastic message's praise counts, turned negative.
SARCASM_SCALE = 0.8
# A sarcastic message with no praise to turn ("yeah right"): the marker alone is a complaint.
SARCASM_VALENCE = -1.5
# Emphasis of an elongated sentiment word ("sooo good"), like VADER's capitals (its C_INCR is 0.733).
ELONGATION_INCR = 0.5
# A message shouted throughout (at least three words, all in capitals) with nothing positive in it.
SHOUT_VALENCE = -1.2
SHOUT_MIN_WORDS = 3
# How far a raised negation reaches after its verb, in tokens, within the clause.
NEG_RAISE_SPAN = 6

_RUN = re.compile(r"([a-z])\1{2,}", re.IGNORECASE)
# One alternation of every phrase, so a text is scanned once: at each position the first listed phrase wins. Every
# phrase starts with a letter: the look-ahead skips other positions (a wall of emoji) without trying the phrases.
_PHRASE_ALTERNATION = "|".join(f"({p})" for p, _, _ in PHRASES)
_PHRASES = re.compile(rf"(?<![\w'])(?=[a-z])(?:{_PHRASE_ALTERNATION})(?![\w'])", re.IGNORECASE)
_PHRASE_TOKENS = [token for _, token, _ in PHRASES]
# Strings one of which every phrase's match contains (``literals.py``): a text whose lower-case form holds none of
# them is not scanned (the scan is most of the chat layer's cost, and most messages hold no phrase). Exact unless
# the text has one of the four characters that case-insensitive matching takes for an ASCII letter (İ ı ſ and the
# Kelvin sign): those texts are always scanned.
_PHRASE_ANCHORS = anchor_pattern((p for p, _, _ in PHRASES), re.IGNORECASE)
CASE_TWINS = re.compile("[\u0130\u0131\u017f\u212a]")
_PHRASE_VALENCES = {token: valence for _, token, valence in PHRASES if valence is not None}
_OPENERS = re.compile(r"^(?:oh,? |well,? |wow,? )?(?:" + "|".join(map(re.escape, SARCASM_OPENERS)) + r")(?![a-z])")
_MARKERS = re.compile(r"(?<![\w])(?:" + "|".join(map(re.escape, SARCASM_MARKERS)) + r")(?![\w])")
_TROUBLE = re.compile(r"(?<![a-z])(?:" + "|".join(map(re.escape, TROUBLE)) + r")(?![a-z])")
_SKIN_AND_SELECTORS = re.compile("[\ufe0f\ufe0e\u200d\U0001f3fb-\U0001f3ff]")
_NEGATIONS = frozenset(
    {"not", "don't", "dont", "doesn't", "doesnt", "didn't", "didnt", "wouldn't", "wouldnt", "never", "can't", "cant"}
)
_CLAUSE_END = re.compile(r"[,.;:!?]$")


@dataclass(frozen=True, slots=True)
class ChatReading:
    """What the chat layer found in a message, beside VADER's scores."""

    sarcastic: bool
    text: str  # the text VADER scored: elongation undone, phrases and emoji rewritten


def _collapse(word: str, known: dict[str, float]) -> str:
    """``word`` with letter runs of three or more undone: to two letters if that is a known word ("goood" ->
    "good"), else to one ("sooo" -> "so")."""
    two = _RUN.sub(r"\1\1", word)
    bare = two.strip(".,!?;:'\"()").lower()
    if bare in known:
        return two
    return _RUN.sub(r"\1", word)


def _emoji_token(char: str, descriptions: dict[str, str]) -> str | None:
    named = EMOJI.get(char)
    if named is not None:
        return f"emoji:{named[0]}"
    return descriptions.get(char)


def _rewrite_emoji(token: str, descriptions: dict[str, str]) -> list[str]:
    """A whitespace token split into its words and emoji tokens (an emoji run is one token per emoji)."""
    if token.isascii():
        return [token]
    out: list[str] = []
    word: list[str] = []
    for char in _SKIN_AND_SELECTORS.sub("", token):
        replacement = _emoji_token(char, descriptions)
        if replacement is None:
            word.append(char)
            continue
        if word:
            out.append("".join(word))
            word = []
        out.extend(replacement.split())
    if word:
        out.append("".join(word))
    return out


def _phrase_token(match: re.Match[str]) -> str:
    return _PHRASE_TOKENS[(match.lastindex or 1) - 1]


def rewrite_phrases(text: str) -> str:
    """``text`` with every phrase of ``chat_words.PHRASES`` rewritten into its token."""
    if not _PHRASE_ANCHORS.search(text.lower()) and (text.isascii() or not CASE_TWINS.search(text)):
        return text
    return _PHRASES.sub(_phrase_token, text)


def is_sarcastic(text: str) -> bool:
    """Whether ``text`` marks its praise as meant the other way (module docstring)."""
    lowered = text.lower().strip()
    if any(marker in lowered for marker in SARCASM_MARKERS) and _MARKERS.search(lowered):
        return True
    if any(e in text for e in SARCASM_EMOJI):
        return True
    return bool(_OPENERS.match(lowered) and _TROUBLE.search(lowered))


class ChatVader(BoundedVader):
    """``BoundedVader`` with the chat layer of the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.lexicon.update(SLANG)
        self.lexicon.update({f"emoji:{name}": valence for name, valence in EMOJI.values()})
        self.lexicon.update(_PHRASE_VALENCES)
        for word in UNSCORED:
            self.lexicon.pop(word, None)

    def read(self, text: str) -> tuple[ChatReading, list[str], set[int], set[int]]:
        """The chat text VADER scores, its tokens, which of them were elongated and which a raised negation
        covers."""
        sarcastic = is_sarcastic(text)
        text = rewrite_phrases(text)
        elongated: set[int] = set()
        if text.isascii() and not _RUN.search(text):
            # Nothing to rewrite in any token (no emoji, no elongation): the tokens are the text's own.
            tokens = bound_tokens(text)
            return ChatReading(sarcastic, " ".join(tokens)), tokens, elongated, _raised_negations(tokens)
        tokens = []
        for raw in bound_tokens(text):
            for part in _rewrite_emoji(raw, self.emojis):
                word = _collapse(part, self.lexicon) if _RUN.search(part) else part
                if word != part:
                    elongated.add(len(tokens))
                tokens.append(word)
                if len(tokens) >= MAX_TOKENS:
                    break
            if len(tokens) >= MAX_TOKENS:
                break
        return ChatReading(sarcastic, " ".join(tokens)), tokens, elongated, _raised_negations(tokens)

    def polarity_scores(self, text: str) -> dict[str, float]:
        return self.chat_scores(text)[0]

    def chat_scores(self, text: str) -> tuple[dict[str, float], ChatReading]:
        """VADER's scores of ``text`` read as chat, and what the chat layer found in it."""
        reading, _tokens, elongated, raised = self.read(text)
        sentitext = self.sentitext(reading.text)
        words = sentitext.words_and_emoticons

        def chat_valence(i: int, value: float) -> float:  # stretched words count more, raised negations flip
            if i in elongated:
                value += ELONGATION_INCR if value > 0 else -ELONGATION_INCR
            return value * N_SCALAR if i in raised else value

        sentiments = self.word_sentiments(sentitext, chat_valence)
        sentiments = _whole_message(self._but_check(words, sentiments), words, reading.sarcastic)
        scores: dict[str, float] = self.score_valence(sentiments, sentitext.text)
        return scores, reading

    def translate_emoji(self, text: str) -> str:
        return text  # ``read`` has already rewritten the emoji


def _whole_message(sentiments: list[float], words: list[str], sarcastic: bool) -> list[float]:
    """The valences after the rules that read the message as a whole: shouting and sarcasm."""
    if _shouted(words) and not any(v > 0 for v in sentiments):
        sentiments.append(SHOUT_VALENCE)  # a shouted message with nothing kind in it is angry
    if sarcastic:
        sentiments = [-v * SARCASM_SCALE if v > 0 else v for v in sentiments]
        if not any(v < 0 for v in sentiments):
            sentiments.append(SARCASM_VALENCE)  # "yeah right": the marker is the complaint
    return sentiments


def _raised_negations(tokens: list[str]) -> set[int]:
    """Positions a neg-raising verb's negation covers beyond VADER's own three-word reach: from the fourth token
    after the negation to the clause's end, at most ``NEG_RAISE_SPAN`` tokens after the verb."""
    covered: set[int] = set()
    for i, token in enumerate(tokens[:-1]):
        if token.lower() not in _NEGATIONS:
            continue
        verb = i + 1 if tokens[i + 1].lower() in NEG_RAISING else None
        if verb is None and i + 2 < len(tokens) and tokens[i + 2].lower().strip(",.") in NEG_RAISING:
            verb = i + 2
        if verb is None or _CLAUSE_END.search(tokens[verb]):
            continue
        for j in range(verb + 1, min(verb + 1 + NEG_RAISE_SPAN, len(tokens))):
            if j > i + 3:
                covered.add(j)
            if _CLAUSE_END.search(tokens[j]) or tokens[j].lower() == "but":
                break
    return covered


def _shouted(words: list[str]) -> bool:
    if not any(map(str.isupper, words)):
        return False  # no word in capitals: nothing is shouted (the common case, decided in C)
    letters = [w for w in words if any(c.isalpha() for c in w) and not w.startswith(("emoji:", "chat:"))]
    return len(letters) >= SHOUT_MIN_WORDS and all(w.isupper() for w in letters)
