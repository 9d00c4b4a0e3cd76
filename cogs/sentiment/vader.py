"""VADER with a bounded cost: the same scores as ``vaderSentiment`` 3.3.2 on a chat message, in time linear in
the message and capped in the number of tokens.

Upstream VADER is quadratic in the number of tokens: every lexicon hit lower-cases the whole token list again (in
its negation and idiom checks) and its "but" rule looks each score up with ``list.index``. An emoji becomes its
description ("grinning face with smiling eyes"), so 2,000 emoji are some 10,000 tokens and took seconds of CPU.

``BoundedVader`` keeps upstream's rules and lexicons and replaces only the costly parts, with the same results:

* the negation and idiom checks lower-case just the few neighbours they read;
* the "but" rule is replayed with a position index per value (upstream's ``list.index`` semantics included: a
  value is always looked up at its first occurrence);
* a text of more than ``MAX_TOKENS`` tokens (after emoji translation) is scored on its first ``HEAD_TOKENS`` and
  its last ``TAIL_TOKENS``: a message's opening and its conclusion carry its tone, and nothing ordinary is that
  long (256 tokens are some 1,300 characters of prose; the tweets VADER was validated on are all shorter).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
    BOOSTER_DICT,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
    allcap_differential,
)

HEAD_TOKENS = 192
TAIL_TOKENS = 64
MAX_TOKENS = HEAD_TOKENS + TAIL_TOKENS


def bound_tokens(text: str) -> list[str]:
    """The whitespace-separated tokens of ``text``, at most ``MAX_TOKENS`` of them: all, or the first
    ``HEAD_TOKENS`` and the last ``TAIL_TOKENS`` (the split stops early, so the cost does not grow with the rest)."""
    parts = text.split(None, MAX_TOKENS)
    if len(parts) <= MAX_TOKENS:
        return parts
    return parts[:HEAD_TOKENS] + text.rsplit(None, TAIL_TOKENS)[-TAIL_TOKENS:]


class _BoundedText(SentiText):  # type: ignore[misc]
    """Upstream's ``SentiText`` over at most ``MAX_TOKENS`` tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words_and_emoticons = [self._strip_punc_if_word(token) for token in bound_tokens(text)]
        self.is_cap_diff = allcap_differential(self.words_and_emoticons)


_NEGATIONS = frozenset(NEGATE)


def _negation(lowered: str) -> bool:
    """Upstream's ``negated([word])`` for one lower-cased word: a set lookup, not a walk over its list of negations."""
    return lowered in _NEGATIONS or "n't" in lowered


def _lower(words: list[Any], i: int) -> str:
    return str(words[i]).lower()


def _negated_two_before(valence: float, words: list[Any], i: int) -> float:
    two, one = _lower(words, i - 2), _lower(words, i - 1)
    if two == "never" and one in ("so", "this"):
        return valence * 1.25
    if two == "without" and one == "doubt":
        return valence
    return valence * N_SCALAR if _negation(two) else valence


def _negated_three_before(valence: float, words: list[Any], i: int) -> float:
    three, two, one = _lower(words, i - 3), _lower(words, i - 2), _lower(words, i - 1)
    if (three == "never" and two in ("so", "this")) or one in ("so", "this"):
        return valence * 1.25
    if three == "without" and (two == "doubt" or one == "doubt"):
        return valence
    return valence * N_SCALAR if _negation(three) else valence


def _negation_check(valence: float, words: list[Any], start_i: int, i: int) -> float:
    """Upstream's ``_negation_check``, reading (and lower-casing) only the three words before ``i``."""
    if start_i == 0:
        return valence * N_SCALAR if _negation(_lower(words, i - 1)) else valence
    if start_i == 1:
        return _negated_two_before(valence, words, i)
    if start_i == 2:
        return _negated_three_before(valence, words, i)
    return valence


# The first two words of every idiom and booster phrase: an idiom the check could find around a word begins with a
# pair of neighbours from this set, so a word with no such pair around it keeps its valence (most words).
_IDIOM_STARTS = frozenset(tuple(k.split()[:2]) for k in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in k)


def _special_idioms_check(valence: float, words: list[Any], i: int) -> float:
    """Upstream's ``_special_idioms_check`` (called for ``i >= 3``), reading only the words around ``i``."""
    w3, w2, w1, w0 = (_lower(words, i - k) for k in (3, 2, 1, 0))
    following = _lower(words, i + 1) if len(words) - 1 > i else None
    if _IDIOM_STARTS.isdisjoint(((w1, w0), (w2, w1), (w3, w2), (w0, following))):
        return valence
    onezero, twoonezero, twoone = f"{w1} {w0}", f"{w2} {w1} {w0}", f"{w2} {w1}"
    threetwoone, threetwo = f"{w3} {w2} {w1}", f"{w3} {w2}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(words) - 1 > i:
        zeroone = f"{w0} {_lower(words, i + 1)}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(words) - 1 > i + 1:
        zeroonetwo = f"{w0} {_lower(words, i + 1)} {_lower(words, i + 2)}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _but_check(words: list[Any], sentiments: list[float]) -> list[float]:
    """Upstream's ``_but_check`` in O(n log n): scores before the first "but" halved, after it 1.5 times.

    Upstream walks the scores and rescales the *first* position holding each one's value (``list.index``), which
    for repeated values is not the position walked; a min-heap of positions per value replays exactly that."""
    lowered = [str(w).lower() for w in words]
    if "but" not in lowered:
        return sentiments
    bi = lowered.index("but")
    where: dict[float, list[int]] = {}
    for position, value in enumerate(sentiments):
        where.setdefault(value, []).append(position)  # ascending: already a heap
    for k in range(len(sentiments)):
        value = sentiments[k]
        heap = where[value]
        while sentiments[heap[0]] != value:
            heapq.heappop(heap)  # a position whose value has changed since
        si = heap[0]
        if si == bi:
            continue
        new = value * 0.5 if si < bi else value * 1.5
        if new == value:
            continue
        sentiments[si] = new
        heapq.heappop(heap)
        heapq.heappush(where.setdefault(new, []), si)
    return sentiments


class BoundedVader(SentimentIntensityAnalyzer):  # type: ignore[misc]
    """``SentimentIntensityAnalyzer`` with the quadratic parts replaced and the tokens capped (module docstring)."""

    _negation_check = staticmethod(_negation_check)
    _special_idioms_check = staticmethod(_special_idioms_check)
    _but_check = staticmethod(_but_check)

    def translate_emoji(self, text: str) -> str:
        """Emoji replaced by their descriptions, as upstream does (a space before one that follows a non-space)."""
        emojis = self.emojis
        if text.isascii():
            return text.strip()
        parts: list[str] = []
        prev_space = True
        for char in text:
            description = emojis.get(char)
            if description is not None:
                if not prev_space:
                    parts.append(" ")
                parts.append(description)
                prev_space = False
            else:
                parts.append(char)
                prev_space = char == " "
        return "".join(parts).strip()

    def sentitext(self, text: str) -> SentiText:
        """The tokens VADER scores for ``text`` (``words_and_emoticons``), at most ``MAX_TOKENS`` of them."""
        return _BoundedText(self.translate_emoji(text))

    def word_sentiments(self, sentitext: Any, adjust: Callable[[int, float], float] | None = None) -> list[float]:
        """VADER's valence of each token in order (boosters and "kind of" count 0); ``adjust(i, valence)``, when
        given, reshapes each non-zero valence."""
        sentiments: list[float] = []
        words = sentitext.words_and_emoticons
        last = len(words) - 1
        lexicon = self.lexicon
        for i, item in enumerate(words):
            lowered = item.lower()
            if lowered in BOOSTER_DICT or (i < last and lowered == "kind" and words[i + 1].lower() == "of"):
                sentiments.append(0)
                continue
            if lowered not in lexicon:
                sentiments.append(0)  # what ``sentiment_valence`` gives a word the lexicon does not hold
                continue
            sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
            if adjust is not None and sentiments[-1]:
                sentiments[-1] = adjust(i, sentiments[-1])
        return sentiments

    def polarity_scores(self, text: str) -> dict[str, float]:
        sentitext = self.sentitext(text)
        sentiments = self._but_check(sentitext.words_and_emoticons, self.word_sentiments(sentitext))
        scores: dict[str, float] = self.score_valence(sentiments, sentitext.text)
        return scores
