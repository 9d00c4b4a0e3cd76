"""The chat layer: messages read the way people in a room mean them, where plain VADER reads them as prose."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from cogs.sentiment.chat import ChatVader, is_sarcastic
from cogs.sentiment.classifier import MessageClassifier
from cogs.sentiment.vader import MAX_TOKENS
from policy.sentiment import (
    CHAT_CUTOFFS,
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    VADER_CUTOFFS,
    PolarityCutoffs,
    polarity,
)
from storage.feedback import FeedbackStore
from tests.cogs.sentiment.helpers import ALICE, BOB, HELPER

PLAIN = SentimentIntensityAnalyzer()


@pytest.fixture(scope="module")
def classifier() -> MessageClassifier:
    return MessageClassifier()


@pytest.mark.parametrize(
    ("text", "expected", "plain_vader"),
    [
        ("great, just great. the server is down again", NEGATIVE, POSITIVE),
        ("wow thanks for deleting my message, very helpful 🙄", NEGATIVE, POSITIVE),
        ("yeah that went great /s", NEGATIVE, POSITIVE),
        ("👍", POSITIVE, NEUTRAL),
        ("ship it 🔥🔥", POSITIVE, NEGATIVE),
        ("I'll kill the process and restart it", NEUTRAL, NEGATIVE),
        ("you're killing it", POSITIVE, NEGATIVE),
        ("LMAO i'm dead 💀", POSITIVE, POSITIVE),
        ("smh", NEGATIVE, NEGATIVE),
        ("fml, lost all my progress", NEGATIVE, POSITIVE),
        ("doesn't work on firefox", NEGATIVE, NEUTRAL),
        ("I don't think this is a good idea", NEGATIVE, POSITIVE),
        ("DON'T TOUCH MY CODE", NEGATIVE, NEUTRAL),
        ("lol what time is it there", NEUTRAL, POSITIVE),
        ("idk, maybe ask in general", NEUTRAL, NEGATIVE),
        ("is this channel for support?", NEUTRAL, POSITIVE),
        ("tysm", POSITIVE, NEUTRAL),
        ("getting a timeout when I upload files", NEGATIVE, NEUTRAL),
        ("I set the timeout to 30 seconds", NEUTRAL, NEUTRAL),
    ],
)
def test_chat_reads_what_plain_vader_misreads(classifier, text, expected, plain_vader):
    assert polarity(PLAIN.polarity_scores(text)["compound"], VADER_CUTOFFS) == plain_vader
    assert classifier.score(text).polarity == expected


def test_insults_and_threats_are_negative_and_angry(classifier):
    for text in ("kill yourself loser", "kys", "I know where you live", "you worthless piece of trash"):
        scores = classifier.score(text)
        assert scores.polarity == NEGATIVE and scores.compound < -0.5, text
        assert scores.anger >= 0.5, text
        assert scores.joy == 0.0, text


def test_sarcasm_is_frustration_not_joy(classifier):
    scores = classifier.score("oh wonderful, another outage")
    assert scores.sarcastic
    assert scores.joy == 0.0 and scores.frustration >= 0.5
    sincere = classifier.score("wonderful, thank you all")
    assert not sincere.sarcastic and sincere.joy >= 0.5 and sincere.polarity == POSITIVE


def test_sarcasm_needs_a_marker_or_praise_beside_trouble():
    assert is_sarcastic("great, just great")
    assert is_sarcastic("love it when the build breaks")
    assert is_sarcastic("sure, because that always works /s")
    assert not is_sarcastic("great explanation, makes sense now")
    assert not is_sarcastic("nice, that works")
    assert not is_sarcastic("the build breaks when the cache is cold")  # trouble without praise


def test_confusion_comes_from_confusion_not_from_question_marks(classifier):
    assert classifier.score("what time is the meeting tomorrow?").confusion == 0.0
    assert classifier.score("how do I install the plugin?").confusion == 0.0
    for text in ("I don't get it", "what do you mean?", "huh?", "wait, I'm confused", "lost me at step 3", "??"):
        assert classifier.score(text).confusion >= 0.5, text
    assert classifier.score("lost my job today").confusion == 0.0


def test_elongation_reads_as_the_word_with_emphasis():
    vader = ChatVader()
    assert vader.polarity_scores("soooo goooood")["compound"] > vader.polarity_scores("so good")["compound"] > 0
    assert vader.polarity_scores("noooo")["compound"] < 0
    assert PLAIN.polarity_scores("soooo goooood")["compound"] == 0.0


def test_a_negation_raised_by_its_verb_stops_at_the_clause():
    vader = ChatVader()
    assert vader.polarity_scores("I don't think this one is good")["compound"] < 0
    assert vader.polarity_scores("I don't think so, but the new one is good")["compound"] > 0


def test_chat_reading_stays_within_the_token_cap():
    vader = ChatVader()
    reading, tokens, _, _ = vader.read("👍🔥 " * 5000 + "sooo " * 5000)
    assert len(tokens) <= MAX_TOKENS
    assert len(reading.text.split()) <= MAX_TOKENS
    assert vader.polarity_scores("👍" * 40_000)["compound"] > 0.9


def test_polarity_cutoffs():
    assert polarity(-0.2, CHAT_CUTOFFS) == NEGATIVE
    assert polarity(-0.19, CHAT_CUTOFFS) == NEUTRAL
    assert polarity(0.25, CHAT_CUTOFFS) == POSITIVE
    assert polarity(0.05, VADER_CUTOFFS) == POSITIVE and polarity(0.04, VADER_CUTOFFS) == NEUTRAL
    with pytest.raises(ValueError):
        PolarityCutoffs(0.3, 0.1)


async def _rewards(app):
    store = FeedbackStore(app.db)
    return [r async for r in store.export()]


async def test_sarcastic_replies_punish_the_agent_they_answer(sapp, room, clock):
    t0 = clock.now()
    await room.say(ALICE, "the deploy keeps failing", t0)
    await room.say(HELPER, "Restarting the runner should fix it.", t0 + 1)
    await room.say(ALICE, "great, just great. it's down again", t0 + 3)
    await room.say(BOB, "wow, super helpful answer /s", t0 + 5)
    clock.advance(40)
    await sapp.cogs.cogs["sentiment"].sweep()
    await sapp.bus.join()
    [row] = await _rewards(sapp)
    assert row.agent == "helper" and row.reward < -0.1  # read as the praise its words say, it was a reward
    assert row.context["signals"]["frustration"] < 0 and row.context["signals"]["sentiment"] < 0
    assert "joy" not in row.context["signals"]


async def test_a_plain_question_after_an_agent_is_not_confusion(sapp, room, clock):
    t0 = clock.now()
    await room.say(HELPER, "The meetup moved to the big room.", t0)
    await room.say(ALICE, "what time does it start tomorrow?", t0 + 2)
    await room.say(BOB, "is the big room on the first floor?", t0 + 4)
    clock.advance(40)
    await sapp.cogs.cogs["sentiment"].sweep()
    await sapp.bus.join()
    [row] = await _rewards(sapp)  # the room engaged with the answer: that is all it says
    assert row.reward > 0
    assert "confusion" not in row.context["signals"]


async def test_people_s_messages_are_counted_by_class_for_the_operator(sapp, room, clock):
    t0 = clock.now()
    await room.say(ALICE, "thanks, that fixed it!", t0)
    await room.say(BOB, "oh wonderful, another outage", t0 + 1)
    await room.say(ALICE, "what time is the meeting tomorrow?", t0 + 2)
    await room.say(HELPER, "It is at noon, great question!", t0 + 3)  # an agent: not the room's mood
    value = sapp.metrics.value
    assert value("steward_sentiment_polarity_total", polarity="positive", sarcastic="no") == 1
    assert value("steward_sentiment_polarity_total", polarity="negative", sarcastic="yes") == 1
    assert value("steward_sentiment_polarity_total", polarity="neutral", sarcastic="no") == 1
