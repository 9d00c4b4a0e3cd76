"""Per-message scoring: VADER sentiment (bounded: ``vader.py``) plus the offline emotion lexicon. Both run in-process,
in well under a millisecond for an ordinary message and a few milliseconds at most for any text;
toxicity is never computed here (it arrives from the moderator as ``MessageScored``)."""

from __future__ import annotations

from dataclasses import dataclass

from cogs.sentiment.lexicon import score_emotions
from cogs.sentiment.vader import BoundedVader

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


class MessageClassifier:
    def __init__(self) -> None:
        self._vader = BoundedVader()

    def score(self, text: str) -> TextScores:
        text = text[:MAX_SCORED_CHARS]
        if not text.strip():
            return TextScores(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)
        polarity = self._vader.polarity_scores(text)
        emotions = score_emotions(text)
        return TextScores(
            compound=polarity["compound"],
            pos=polarity["pos"],
            neg=polarity["neg"],
            anger=emotions.anger,
            frustration=emotions.frustration,
            joy=emotions.joy,
            confusion=emotions.confusion,
            words=emotions.words,
        )
