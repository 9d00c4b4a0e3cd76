"""Per-message scoring: VADER sentiment plus the offline emotion lexicon. Both run in-process in microseconds;
toxicity is never computed here (it arrives from the moderator as ``MessageScored``)."""

from __future__ import annotations

from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from cogs.sentiment.lexicon import score_emotions

# VADER's cost grows with the text; a chat message longer than this is scored on its beginning.
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
        self._vader = SentimentIntensityAnalyzer()

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
