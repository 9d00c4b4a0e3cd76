"""The fast model: alt-profanity-check's own weights, scored without scikit-learn's per-call overhead, on the
normalised text, in windows for long texts, well under a millisecond a message."""

from __future__ import annotations

import pytest

from cogs.toxicity.fast import WINDOW, FastModel
from cogs.toxicity.probes import PROBES


@pytest.fixture(scope="module")
def fast() -> FastModel:
    return FastModel()


@pytest.fixture(scope="module")
def raw() -> FastModel:
    return FastModel(canonical_input=False)


def test_scores_equal_the_packages_own_predict_proba(raw) -> None:
    from profanity_check import predict_prob

    short = [p for p in PROBES if len(p.split()) <= WINDOW] + ["", "zzzz qqqq", "the and of"]
    expected = predict_prob(short)
    got = raw.score_batch(short)
    assert [set(scores) for scores in got] == [{"toxicity"}] * len(short)
    assert [s["toxicity"] for s in got] == pytest.approx(list(expected), abs=1e-9)


def test_offensive_and_ordinary_messages_fall_on_either_side_of_the_default_threshold(fast) -> None:
    from cogs.toxicity.config import ToxicitySettings

    threshold = ToxicitySettings().fast_human_threshold
    offensive = ["you are an idiot", "shut up, nobody asked you", "you're a complete moron and everyone knows it"]
    ordinary = ["thanks, that was really helpful", "Merging now, please rebase your branches.", "I love this"]
    assert all(s["toxicity"] >= threshold for s in fast.score_batch(offensive))
    assert all(s["toxicity"] < threshold for s in fast.score_batch(ordinary))


def test_look_alike_letters_and_invisible_characters_reach_the_model_undone(fast, raw) -> None:
    disguised = ["you are an \u0456d\u0456ot", "you are an i\u200bd\u200bi\u200bo\u200bt", "you are an ｉｄｉｏｔ"]
    for text in disguised:
        assert fast.probability(text) > 0.9, text
        assert raw.probability(text) < 0.5, text


def test_a_stretched_word_is_looked_up_unstretched(fast) -> None:
    assert fast.probability("you are an idiooooot") == pytest.approx(fast.probability("you are an idiot"))
    # A word the vocabulary knows keeps its own spelling ("good" is not looked up as "god").
    assert fast._term("good") != fast._term("god") and fast._term("good") >= 0


def test_an_insult_at_the_end_of_a_long_friendly_text_is_not_diluted_away(fast) -> None:
    from profanity_check import predict_prob

    text = " ".join(["thanks for the help with the release notes"] * 80) + " and you are a stupid moron"
    whole = float(predict_prob([text])[0])
    assert fast.probability(text) > 0.5 > whole
    assert fast.probability(" ".join(["thanks for the help with the release notes"] * 80)) < 0.2


def test_a_batch_scores_each_text_as_it_would_alone(fast) -> None:
    # The cost a message is measured by benchmarks/toxicity_fast_bench.py (docs/toxicity.md), not here.
    texts = [p for p in PROBES if len(p) < 200] * 3
    assert fast.score_batch(texts) == [{"toxicity": fast.probability(t)} for t in texts]


@pytest.mark.parametrize(
    ("disguised", "plain"),
    [
        ("stop being a d i c k h e a d", "stop being a dickhead"),  # spelled out after the article "a"
        ("you are such a l0s3r", "you are such a loser"),  # "0" and "3" undone, "l" kept
        ("you are such a 1oser", "you are such a loser"),  # "1" meant "l", read as "i" by the normaliser
        ("someone should hur7 you", "someone should hurt you"),  # a leet digit kept as typed
        ("piiiiss off", "piss off"),  # a run cut to two where the word has two
        ("a bunch of aasssshoooles", "a bunch of assholes"),
        ("you complete imbeci1e", "you complete imbecile"),
    ],
)
def test_keyboard_tricks_that_survive_the_normaliser_reach_the_model_respelled(fast, disguised, plain) -> None:
    assert fast.probability(disguised) == pytest.approx(fast.probability(plain), abs=0.02), disguised


def test_ordinary_words_the_vocabulary_lacks_are_not_respelled_into_insults(fast) -> None:
    ordinary = ["ping the iiot team", "the aapl ticker is up", "see you at 7pm in room b4", "my kiiid says hi"]
    assert all(fast.probability(text) < 0.58 for text in ordinary)
