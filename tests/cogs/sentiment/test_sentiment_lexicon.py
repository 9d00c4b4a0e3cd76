"""The offline emotion lexicon and the message classifier."""

from __future__ import annotations

import pytest

from cogs.sentiment.classifier import MessageClassifier
from cogs.sentiment.lexicon import score_emotions


@pytest.mark.parametrize(
    ("text", "emotion"),
    [
        ("thanks, that works now! 🎉", "joy"),
        ("haha love it, you rock", "joy"),
        ("I don't understand, what do you mean??", "confusion"),
        ("huh? that makes no sense 🤔", "confusion"),
        ("ugh, this is still broken and so annoying", "frustration"),
        ("for the last time, it does not work", "frustration"),
        ("shut up, you idiot 😡", "anger"),
    ],
)
def test_each_emotion_is_recognised(text, emotion):
    scores = score_emotions(text).as_dict()
    assert max(scores, key=scores.get) == emotion
    assert scores[emotion] > 0.5


def test_neutral_text_has_no_emotion():
    s = score_emotions("the meeting moved to room B2 at noon")
    assert (s.anger, s.frustration, s.joy, s.confusion) == (0.0, 0.0, 0.0, 0.0)
    assert s.words == 8


def test_negation_intensifiers_and_shouting():
    assert score_emotions("I am not happy").joy == 0.0
    assert score_emotions("I am not happy").frustration > 0
    assert score_emotions("not annoyed").frustration < score_emotions("annoyed").frustration
    assert score_emotions("very happy").joy > score_emotions("happy").joy
    assert score_emotions("this is STUPID and WRONG").anger > score_emotions("this is stupid and wrong").anger


def test_intensities_stay_in_range_however_loud():
    s = score_emotions("ugh " * 200 + "?????" * 50 + "love " * 300)
    assert all(0.0 <= v <= 1.0 for v in s.as_dict().values())


def test_classifier_combines_vader_and_emotions():
    classifier = MessageClassifier()
    good = classifier.score("Thank you, this is great!")
    bad = classifier.score("This is awful and I hate it")
    assert good.compound > 0.5 and good.joy > 0.5
    assert bad.compound < -0.5 and bad.anger > 0.5
    empty = classifier.score("   ")
    assert (empty.compound, empty.words) == (0.0, 0)
    assert classifier.score("x" * 100_000).words == 1  # long texts are scored on their beginning
