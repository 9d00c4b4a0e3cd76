"""Per-message scoring: VADER read as chat (``chat.py`` over the bounded ``vader.py``) plus the offline emotion
lexicon. Both run in-process, in well under a millisecond for an ordinary message and a few milliseconds at most
for any text; toxicity is never computed here (it arrives from the moderator as ``MessageScored``)."""

from __future__ import annotations

from dataclasses import dataclass

from cogs.sentiment.chat import ChatVader
from cogs.sentiment.lexicon import score_emotions
from policy.sentiment import CHAT_CUTOFFS, polarity

# A chat message longer than this is scored on its beginning (the emotion lexicon's cost grows with the text;
# VADER's is also capped in tokens, ``cogs.sentiment.vader``).
MAX_SCORED_CHARS = 2000


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
    def __init__(self) -> None:
        self._vader = ChatVader()

    def score(self, text: str) -> TextScores:
        text = text[:MAX_SCORED_CHARS]
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
