"""Three-class sentiment and emotion labels measured on labelled messages: plain VADER against Steward, the
cut-off tuning, and the tables ``eval_sentiment`` prints and writes (its docstring says what is measured)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from cogs.sentiment.chat import ChatVader
from cogs.sentiment.classifier import MessageClassifier
from policy.sentiment import (
    CHAT_CUTOFFS,
    EMOTION_PRESENT,
    EMOTIONS,
    POLARITIES,
    POSITIVE,
    VADER_CUTOFFS,
    PolarityCutoffs,
    polarity,
)

CHAT_SET = Path(__file__).resolve().parent / "data" / "chat_sentiment.jsonl"
# The tweets' human mean (-4 .. +4) at or beyond half a point either way is a polar class.
TWEET_POLAR = 0.5
# The cut-off grid ``tune`` searches: negative in [-0.7, 0], positive in [0, 0.7], by 0.05.
GRID = [round(k * 0.05, 2) for k in range(15)]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    text: str
    sentiment: str
    emotions: frozenset[str]
    kind: str
    split: str


def read_chat_set(path: Path = CHAT_SET) -> list[ChatMessage]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        if raw["sentiment"] not in POLARITIES or raw["split"] not in ("tune", "test"):
            raise ValueError(f"{path}: bad row {raw!r}")
        unknown = set(raw["emotions"]) - set(EMOTIONS)
        if unknown:
            raise ValueError(f"{path}: unknown emotions {sorted(unknown)} in {raw!r}")
        rows.append(ChatMessage(raw["text"], raw["sentiment"], frozenset(raw["emotions"]), raw["kind"], raw["split"]))
    return rows


def tweet_class(mean: float) -> str:
    """The class people gave a tweet: its mean rating at or beyond ``TWEET_POLAR`` either way is polar."""
    return polarity(mean, PolarityCutoffs(-TWEET_POLAR, TWEET_POLAR))


@dataclass(frozen=True, slots=True)
class ThreeClass:
    data: str
    model: str
    n: int
    accuracy: float
    macro_f1: float
    positive_share: float  # of the predictions
    gold_positive_share: float


def f1_scores(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    out = {}
    for label in POLARITIES:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        said = sum(1 for p in predicted if p == label)
        real = sum(1 for g in gold if g == label)
        precision = tp / said if said else 0.0
        recall = tp / real if real else 0.0
        out[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return out


def three_class(data: str, model: str, gold: Sequence[str], predicted: Sequence[str]) -> ThreeClass:
    n = len(gold)
    return ThreeClass(
        data=data,
        model=model,
        n=n,
        accuracy=sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / n if n else 0.0,
        macro_f1=sum(f1_scores(gold, predicted).values()) / len(POLARITIES),
        positive_share=sum(1 for p in predicted if p == POSITIVE) / n if n else 0.0,
        gold_positive_share=sum(1 for g in gold if g == POSITIVE) / n if n else 0.0,
    )


Scorer = Callable[[str], float]


def _models(classifier: MessageClassifier) -> list[tuple[str, Scorer, PolarityCutoffs]]:
    plain = SentimentIntensityAnalyzer()
    return [
        ("plain VADER (±0.05)", lambda text: float(plain.polarity_scores(text)["compound"]), VADER_CUTOFFS),
        ("plain VADER, Steward's cut-offs", lambda text: float(plain.polarity_scores(text)["compound"]), CHAT_CUTOFFS),
        (
            f"Steward ({CHAT_CUTOFFS.negative:+.2f} / {CHAT_CUTOFFS.positive:+.2f})",
            lambda text: classifier.score(text).compound,
            CHAT_CUTOFFS,
        ),
    ]


def compare(
    tweets: Iterable[tuple[float, str]], chat: Sequence[ChatMessage], classifier: MessageClassifier
) -> list[ThreeClass]:
    """Plain VADER and Steward on the tweets and on each split of the chat set."""
    tweet_rows = list(tweets)
    sets: list[tuple[str, list[str], list[str]]] = [
        (
            f"VADER tweets (human mean ±{TWEET_POLAR})",
            [tweet_class(m) for m, _ in tweet_rows],
            [t for _, t in tweet_rows],
        )
    ]
    for split in ("test", "tune"):
        rows = [r for r in chat if r.split == split]
        sets.append((f"chat set, {split} split", [r.sentiment for r in rows], [r.text for r in rows]))
    results = []
    for data, gold, texts in sets:
        for model, scorer, cutoffs in _models(classifier):
            results.append(three_class(data, model, gold, [polarity(scorer(t), cutoffs) for t in texts]))
    return results


@dataclass(frozen=True, slots=True)
class EmotionResult:
    emotion: str
    labelled: int
    predicted: int
    precision: float
    recall: float


def emotion_scores(
    chat: Sequence[ChatMessage], classifier: MessageClassifier, split: str = "test"
) -> list[EmotionResult]:
    """Per emotion, precision and recall of "shown" (intensity >= ``EMOTION_PRESENT``) against the labels."""
    rows = [r for r in chat if r.split == split]
    scored = [classifier.score(r.text) for r in rows]
    out = []
    for emotion in EMOTIONS:
        shown = [getattr(s, emotion) >= EMOTION_PRESENT for s in scored]
        gold = [emotion in r.emotions for r in rows]
        tp = sum(1 for s, g in zip(shown, gold, strict=True) if s and g)
        said, real = sum(shown), sum(gold)
        out.append(EmotionResult(emotion, real, said, tp / said if said else 0.0, tp / real if real else 0.0))
    return out


def tune(chat: Sequence[ChatMessage]) -> tuple[PolarityCutoffs, float, float]:
    """The cut-offs with the best macro-F1 of Steward's compound on the tuning split (the first best in grid
    order wins a tie), that F1, and plain VADER's at its own cut-offs there."""
    rows = [r for r in chat if r.split == "tune"]
    gold = [r.sentiment for r in rows]
    vader = ChatVader()
    compounds = [vader.polarity_scores(r.text)["compound"] for r in rows]
    best: tuple[float, PolarityCutoffs] | None = None
    for low in GRID:
        for high in GRID:
            if low == 0 and high == 0:
                continue
            cutoffs = PolarityCutoffs(-low, high)
            f1 = three_class("", "", gold, [polarity(c, cutoffs) for c in compounds]).macro_f1
            if best is None or f1 > best[0]:
                best = (f1, cutoffs)
    assert best is not None
    plain = SentimentIntensityAnalyzer()
    baseline = [polarity(plain.polarity_scores(r.text)["compound"], VADER_CUTOFFS) for r in rows]
    return best[1], best[0], three_class("", "", gold, baseline).macro_f1


def render_tuning(found: tuple[PolarityCutoffs, float, float]) -> str:
    cutoffs, f1, plain = found
    return (
        f"best cut-offs on the tuning split: negative <= {cutoffs.negative:+.2f}, positive >= {cutoffs.positive:+.2f} "
        f"(macro-F1 {f1:.3f}; plain VADER at ±0.05: {plain:.3f}); in use: {CHAT_CUTOFFS.negative:+.2f} / "
        f"{CHAT_CUTOFFS.positive:+.2f}"
    )


def render(three: Sequence[ThreeClass], emotions: Sequence[EmotionResult]) -> str:
    lines = [
        "Three classes (negative / neutral / positive), measured with `python -m benchmarks.eval_sentiment`:",
        "",
        "| data | messages | model | accuracy | macro-F1 | predicted positive (labelled) |",
        "|---|---|---|---|---|---|",
    ]
    for r in three:
        lines.append(
            f"| {r.data} | {r.n:,} | {r.model} | {r.accuracy:.3f} | {r.macro_f1:.3f} | "
            f"{r.positive_share:.1%} ({r.gold_positive_share:.1%}) |"
        )
    lines += [
        "",
        f"Emotions on the chat set's test split (shown = intensity >= {EMOTION_PRESENT}):",
        "",
        "| emotion | labelled | shown | precision | recall |",
        "|---|---|---|---|---|",
    ]
    for e in emotions:
        lines.append(f"| {e.emotion} | {e.labelled} | {e.predicted} | {e.precision:.2f} | {e.recall:.2f} |")
    return "\n".join(lines)
