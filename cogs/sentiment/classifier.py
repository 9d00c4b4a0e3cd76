"""Per-message scoring: VADER read as chat (``chat.py`` over the bounded ``vader.py``) plus the offline emotion
lexicon. Both run in-process, in well under a millisecond for an ordinary message and a few milliseconds at most
for any text; toxicity is never computed here (it arrives from the moderator as ``MessageScored``).

Chat repeats itself ("thanks!", "lol", "+1", an agent's canned answer, a message posted again), so the scores of
the last ``SCORES_KEPT`` short texts are kept: the same text always gets the same scores, so a repeat is looked up
instead of scored again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from cogs.sentiment.chat import ChatVader
from cogs.sentiment.lexicon import score_emotions
from policy.sentiment import CHAT_CUTOFFS, polarity

# A chat message longer than this is scored on its beginning (the emotion lexicon's cost grows with the text;
# VADER's is also capped in tokens, ``cogs.sentiment.vader``).
MAX_SCORED_CHARS = 2000
# Scores of recent texts kept (least recently used forgotten first), for texts of at most ``CACHED_CHARS``: at most
# about 4096 * (280 characters + 200 bytes) = 2 MiB, whatever the traffic.
SCORES_KEPT = 4096
CACHED_CHARS = 280


@dataclass(frozen=True, slots=True)
class TextScores:
    compound: float
    pos: float
    neg: float
    anger: float
    frustration: float
    joy: float
    confusion: float
    words: int
    sarcastic: bool = False

    @property
    def polarity(self) -> str:
        """``negative``, ``neutral`` or ``positive``, by Steward's calibrated cut-offs."""
        return polarity(self.compound, CHAT_CUTOFFS)


class MessageClassifier:
    def __init__(self, *, kept: int = SCORES_KEPT) -> None:
        self._vader = ChatVader()
        self._kept = kept
        self._recent: OrderedDict[str, TextScores] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def score(self, text: str) -> TextScores:
        """The scores of ``text`` (its first ``MAX_SCORED_CHARS`` characters)."""
        text = text[:MAX_SCORED_CHARS]
        if len(text) > CACHED_CHARS or not self._kept:
            self.misses += 1
            return self._score(text)
        recent = self._recent
        found = recent.get(text)
        if found is not None:
            recent.move_to_end(text)
            self.hits += 1
            return found
        self.misses += 1
        found = recent[text] = self._score(text)
        if len(recent) > self._kept:
            recent.popitem(last=False)
        return found

    def _score(self, text: str) -> TextScores:
        if not text.strip():
            return TextScores(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)
        scores, reading = self._vader.chat_scores(text)
        emotions = score_emotions(text, sarcastic=reading.sarcastic)
        return TextScores(
            compound=scores["compound"],
            pos=scores["pos"],
            neg=scores["neg"],
            anger=emotions.anger,
            frustration=emotions.frustration,
            joy=emotions.joy,
            confusion=emotions.confusion,
            words=emotions.words,
            sarcastic=reading.sarcastic,
        )
