"""The per-message text paths do bounded work, and give the same results as the unbounded code on ordinary text.

No timing here (benchmarks/adversarial_bench.py measures): the bound is asserted on what the work is made of (the
tokens VADER scores, the tokens the emotion lexicon weighs, the characters the features read).
"""

from __future__ import annotations

import random
import threading
import unicodedata

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.offload import LONG_TEXT, run_off_loop
from cogs.sentiment import lexicon
from cogs.sentiment.classifier import MessageClassifier
from cogs.sentiment.vader import MAX_TOKENS, BoundedVader, _but_check
from policy import conversation_features as features
from policy import moderation_text
from policy.moderation_filters import compile_filters

CHAT = [
    "Thanks, that fixed it!",
    "This is not working again and I'm so frustrated",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today only kinda sux! But I'll get by, lol",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Without a doubt, an excellent idea.",
    "no no no that is not good but it is not bad either",
    "wait what?? I don't understand what you mean",
    "lol ok 😂😂😂 good job everyone 🎉",
    "it was kind of good but sort of bad, never so good, yeah right",
    "At least it isn't a horrible book.",
    "ugh 🙄 the deploy failed AGAIN, what the hell",
    "good good good but bad bad bad but good",
    "Можно ли исправить это? спасибо 👍",
]
VOCAB = (
    "good bad but BUT not never so this without doubt kind of sort least at very no nor or the shit bomb bad ass "
    "yeah right kiss death to die for love hate GREAT terrible :) :( 😀 😡 🤔 👍 ❤ 💘 ! !! ? ?? wonderful awful "
    "happy sad isn't don't really extremely barely hardly upper hand lol sux uber friggin FUNNY deploy the build"
).split()


def chat_corpus(count: int = 1500) -> list[str]:
    rng = random.Random(20)
    generated = [" ".join(rng.choices(VOCAB, k=rng.randint(1, 45))) for _ in range(count)]
    return CHAT + generated


def test_bounded_vader_scores_ordinary_messages_exactly_as_upstream():
    upstream, bounded = SentimentIntensityAnalyzer(), BoundedVader()
    for text in chat_corpus():
        assert bounded.polarity_scores(text) == upstream.polarity_scores(text), text


def test_the_but_rule_replays_upstreams_first_occurrence_lookups():
    # Repeated scores are where list.index picks another position than the one walked: the replay must agree.
    rng = random.Random(4)
    for _ in range(3000):
        words = rng.choices(["x", "but", "y"], k=rng.randint(1, 14))
        scores = [rng.choice([0, 0.0, 1.0, 2.0, 0.5, -1.0, 1.5, 3.0]) for _ in words]
        assert _but_check(words, list(scores)) == SentimentIntensityAnalyzer._but_check(words, list(scores))


class CountingVader(BoundedVader):
    def __init__(self) -> None:
        super().__init__()
        self.scored = 0

    def sentiment_valence(self, valence, sentitext, item, i, sentiments):  # type: ignore[no-untyped-def]
        self.scored += 1
        return super().sentiment_valence(valence, sentitext, item, i, sentiments)


@pytest.mark.parametrize("text", ["😀" * 40_000, "good but " * 5_000, "HATE " * 8_000, "a" * 40_000])
def test_vader_scores_at_most_the_token_cap_whatever_the_text(text):
    vader = CountingVader()
    scores = vader.polarity_scores(text)
    assert vader.scored <= MAX_TOKENS
    assert len(vader.sentitext(text).words_and_emoticons) <= MAX_TOKENS
    assert -1.0 <= scores["compound"] <= 1.0


def test_a_wall_of_emoji_still_reads_as_the_emoji_say():
    scores = MessageClassifier().score("😀" * 2000)
    assert scores.compound > 0.9 and scores.joy > 0.9


def test_the_emotion_lexicon_weighs_at_most_its_token_cap_but_counts_every_word(monkeypatch):
    weighed = []
    real = lexicon._punctuation

    def counting(token, raw):  # type: ignore[no-untyped-def]
        weighed.append(token)
        return real(token, raw)

    monkeypatch.setattr(lexicon, "_punctuation", counting)
    scores = lexicon.score_emotions("😀 word " * 3000)
    assert len(weighed) <= lexicon.MAX_TOKENS
    assert scores.words == 3000
    assert scores.joy > 0.9


def test_the_emotion_lexicon_is_unchanged_below_its_cap(monkeypatch):
    before = [lexicon.score_emotions(text) for text in chat_corpus(300)]
    monkeypatch.setattr(lexicon, "MAX_TOKENS", 10**9)
    assert [lexicon.score_emotions(text) for text in chat_corpus(300)] == before


def _strip_marks_one_by_one(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.translate(moderation_text._TABLE)


def test_normalisation_drops_marks_as_before_for_every_character_of_the_common_scripts():
    chars = [chr(c) for c in range(0x20, 0x3000) if not 0xD800 <= c < 0xE000]
    chars += [chr(c) for c in range(0x1D400, 0x1D800)] + ["\u200b", "\ufeff", "😀", "ﬁ", "Ａ"]
    for char in chars:
        assert moderation_text._strip_marks(char) == _strip_marks_one_by_one(char), hex(ord(char))
    zalgo = "".join("a" + "\u0301\u0316\u0337\u036f" * 6 for _ in range(500))
    assert moderation_text.normalize(zalgo) == "a" * 500


def test_the_mark_table_stays_bounded_on_text_of_every_character():
    moderation_text._strip_marks("".join(chr(c) for c in range(0x4E00, 0x4E00 + 30_000)))
    assert len(moderation_text._STRIP) <= moderation_text._STRIP.limit


def test_admin_patterns_run_on_re2_so_a_backtracking_pattern_ends():
    filters = compile_filters((), (r"(a+)+b", r"(\w+\s?)*x"))
    assert all(type(regex).__module__.startswith("re2") for regex in filters.pattern_regexes)
    assert filters.find("a" * 40_000 + "!") is None
    assert filters.find("a" * 40_000 + "b") is not None


AGENTS = [features.AgentName("helper", ("Helper Bot",)), features.AgentName("scribe")]
TOPICS = {"helper": ["deploy", "cache hit"], "scribe": ["notes"]}
PATTERNS = features.compile_patterns(features.DEFAULT_ACTION_ITEM_PATTERNS)


def _features(text: str) -> features.TextFeatures:
    return features.extract_features(text, agents=AGENTS, mentions=("scribe",), topics=TOPICS, action_patterns=PATTERNS)


def test_conversation_features_are_unchanged_up_to_the_sample(monkeypatch):
    texts = [*chat_corpus(200), "helper, can you deploy? todo: notes by friday", "Helper Bot cache hit " * 200]
    before = [_features(text) for text in texts]
    monkeypatch.setattr(features, "HEAD_CHARS", 10**9)
    assert [_features(text) for text in texts] == before


def test_conversation_features_read_a_bounded_sample_of_a_long_text():
    text = "helper, " + "filler words here " * 2500 + " can someone take the notes?"
    assert len(features._sample(text)) <= features.HEAD_CHARS + features.TAIL_CHARS + 1
    found = _features(text)
    assert found.is_question and found.action_item
    assert found.mentioned_agents == {"helper", "scribe"}
    assert dict(found.topic_hits) == {"scribe": frozenset({"notes"})}


async def test_a_long_text_is_worked_on_off_the_event_loop_and_a_short_one_inline():
    def where(text: str) -> str:
        return threading.current_thread().name

    assert await run_off_loop(where, "short") == threading.current_thread().name
    assert (await run_off_loop(where, "x" * LONG_TEXT)).startswith("steward-text")
