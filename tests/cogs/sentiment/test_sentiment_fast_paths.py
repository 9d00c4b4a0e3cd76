"""The classifier's shortcuts change no score: each is compared with the code it replaced (kept here as the
reference) on the evaluation corpora and thousands of generated chat messages full of phrases, sarcasm cues,
capitals, elongations, emoji and the characters case-insensitive matching confuses with ASCII letters."""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from cogs.sentiment import chat, classifier, lexicon, vader
from cogs.sentiment.chat import CASE_TWINS, MAX_TOKENS, ChatReading, ChatVader, rewrite_phrases
from cogs.sentiment.chat_words import EMOJI, PHRASES, SARCASM_MARKERS, SARCASM_OPENERS, SLANG, TROUBLE
from cogs.sentiment.classifier import MessageClassifier
from cogs.sentiment.literals import anchor_pattern, required_literals

DATA = Path(__file__).resolve().parents[3] / "benchmarks" / "data"
PHRASE_SAMPLES = [
    "kill the process", "KILL -9 it", "Killing It today", "i'll find you and hurt you", "im gonna kill you",
    "nobody asked", "shut up", "ſhut up", "ſick of this", "KILLING İT", "shut up \u212aid", "it works now!!",
    "does not work", "can't log in", "cannot connect", "timed out again", "getting a timeout", "let's gooooo",
    "rough day", "are you kidding me", "piece of trash", "get lost", "hell yeah", "no way", "no worries",
    "thanks for nothing", "i'm dead", "that play was insane", "stupidly fast", "it's sick", "server is down",
]  # fmt: skip
WORDS = "the a is it not no never but kind of very so really good bad great awful thanks hate love ok works".split()


def _corpus() -> list[str]:
    texts: list[str] = []
    for name in ("chat_sentiment", "clean_chat", "toxicity_labelled", "agent_answers"):
        for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts.append(row.get("text") or row.get("answer") or "")
    rng = random.Random(42)
    pieces = [*SARCASM_MARKERS, *SARCASM_OPENERS, *TROUBLE, *SLANG, *EMOJI, *PHRASE_SAMPLES, "sooo goood", "NOOO"]
    for _ in range(4000):
        tokens = [rng.choice(WORDS + pieces) for _ in range(rng.randint(1, 14))]
        if rng.random() < 0.2:
            tokens = [t.upper() for t in tokens]
        if rng.random() < 0.15:
            twin = rng.choice(["ſ", "İ", "ı", "\u212a", "🎉", "👍🏽", "!!", "??", "a\u200daa"])
            tokens.insert(rng.randrange(len(tokens) + 1), twin)
        texts.append(rng.choice([" ", ", ", "  ", " ... "]).join(tokens))
    return texts + PHRASE_SAMPLES


CORPUS = _corpus()


# --- the code the shortcuts replaced -----------------------------------------------------------------------------


def _old_rewrite_phrases(text: str) -> str:
    return chat._PHRASES.sub(chat._phrase_token, text)


def _old_is_sarcastic(text: str) -> bool:
    lowered = text.lower().strip()
    if chat._MARKERS.search(lowered):
        return True
    if any(e in text for e in chat.SARCASM_EMOJI):
        return True
    return bool(chat._OPENERS.match(lowered) and chat._TROUBLE.search(lowered))


def _old_shouted(words: list[str]) -> bool:
    letters = [w for w in words if any(c.isalpha() for c in w) and not w.startswith(("emoji:", "chat:"))]
    return len(letters) >= chat.SHOUT_MIN_WORDS and all(w.isupper() for w in letters)


def _old_read(self: ChatVader, text: str) -> tuple[ChatReading, list[str], set[int], set[int]]:
    sarcastic = chat.is_sarcastic(text)
    text = chat._PHRASES.sub(chat._phrase_token, text)
    tokens: list[str] = []
    elongated: set[int] = set()
    for raw in vader.bound_tokens(text):
        for part in chat._rewrite_emoji(raw, self.emojis):
            word = chat._collapse(part, self.lexicon) if chat._RUN.search(part) else part
            if word != part:
                elongated.add(len(tokens))
            tokens.append(word)
            if len(tokens) >= MAX_TOKENS:
                break
        if len(tokens) >= MAX_TOKENS:
            break
    return ChatReading(sarcastic, " ".join(tokens)), tokens, elongated, chat._raised_negations(tokens)


def _old_word_sentiments(self: Any, sentitext: Any, adjust: Any = None) -> list[float]:
    sentiments: list[float] = []
    words = sentitext.words_and_emoticons
    last = len(words) - 1
    for i, item in enumerate(words):
        lowered = item.lower()
        if lowered in vader.BOOSTER_DICT or (i < last and lowered == "kind" and words[i + 1].lower() == "of"):
            sentiments.append(0)
            continue
        sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
        if adjust is not None and sentiments[-1]:
            sentiments[-1] = adjust(i, sentiments[-1])
    return sentiments


def _old_score_emotions(text: str, *, sarcastic: bool = False) -> lexicon.EmotionScores:
    raw = {"anger": 0.0, "frustration": 0.0, "joy": 0.0, "confusion": 0.0, "??": 0.0}
    lowered = text.lower()
    words = 0
    boost = 1.0
    negated_until = -1
    tokens = lexicon._TOKEN.findall(lowered)
    if len(tokens) > lexicon.MAX_TOKENS:
        words = sum(1 for token in tokens[lexicon.MAX_TOKENS :] if token[0].isalnum())
        tokens = tokens[: lexicon.MAX_TOKENS]
    for index, token in enumerate(tokens):
        if lexicon._punctuation(token, raw):
            continue
        word = token.rstrip("!")
        if word[0].isalnum():
            words += 1
        if word in lexicon.NEGATIONS:
            negated_until = index + 3
            continue
        if word in lexicon.INTENSIFIERS:
            boost = 1.5
            continue
        hits = lexicon._lookup(token, word)
        if hits:
            lexicon._add_hits(raw, hits, boost, index <= negated_until, sarcastic)
        boost = 1.0
    lexicon._phrases_and_shouting(text, lowered, raw, sarcastic)
    saturate = lexicon._saturate
    return lexicon.EmotionScores(
        saturate(raw["anger"]), saturate(raw["frustration"]), saturate(raw["joy"]), saturate(raw["confusion"]), words
    )


def _all_scores(texts: list[str]) -> list[Any]:
    scorer = MessageClassifier(kept=0)
    return [(scorer.score(text), scorer._vader.chat_scores(text)) for text in texts]


# --- the comparisons -----------------------------------------------------------------------------------------------


def test_phrases_are_rewritten_as_by_the_full_scan() -> None:
    skipped = 0
    for text in CORPUS:
        assert rewrite_phrases(text) == _old_rewrite_phrases(text), text
        skipped += rewrite_phrases(text) is text and not CASE_TWINS.search(text)
    assert skipped > len(CORPUS) // 3  # the shortcut is taken for most texts, not only defined


def test_sarcasm_and_shouting_are_read_as_before() -> None:
    for text in CORPUS:
        assert chat.is_sarcastic(text) == _old_is_sarcastic(text), text
        words = text.split()
        assert chat._shouted(words) == _old_shouted(words), text


def test_every_score_is_the_same_as_with_the_replaced_code(monkeypatch: pytest.MonkeyPatch) -> None:
    new = _all_scores(CORPUS)
    with monkeypatch.context() as patched:
        patched.setattr(chat, "rewrite_phrases", _old_rewrite_phrases)
        patched.setattr(chat, "is_sarcastic", _old_is_sarcastic)
        patched.setattr(chat, "_shouted", _old_shouted)
        patched.setattr(ChatVader, "read", _old_read)
        patched.setattr(vader.BoundedVader, "word_sentiments", _old_word_sentiments)
        patched.setattr(classifier, "score_emotions", _old_score_emotions)
        old = _all_scores(CORPUS)
    assert len(new) == len(old) == len(CORPUS)
    for text, (a, b) in zip(CORPUS, zip(new, old, strict=True), strict=True):
        assert a == b, text


def test_a_repeated_text_gets_the_scores_it_got_before_without_scoring_again() -> None:
    scorer = MessageClassifier(kept=2)
    first = scorer.score("thanks, that fixed it!")
    assert scorer.score("thanks, that fixed it!") is first
    assert (scorer.hits, scorer.misses) == (1, 1)
    scorer.score("ugh, still broken")
    scorer.score("what do you mean??")  # the least recently used ("thanks ...") is forgotten
    assert scorer.score("thanks, that fixed it!") == first
    assert scorer.misses == 4
    long_text = "word " * (classifier.CACHED_CHARS // 5 + 1)
    scorer.score(long_text)
    assert long_text[: classifier.MAX_SCORED_CHARS] not in scorer._recent


# --- the literal analysis ------------------------------------------------------------------------------------------


def test_required_literals_name_what_every_match_contains() -> None:
    assert required_literals(r"kill(?:ed|ing|s)? -9") == (frozenset({"kill"}), frozenset({" -9"}))
    assert required_literals(r"shut (?:up|your mouth)") == (frozenset({"shut "}), frozenset({"up", "your mouth"}))
    assert required_literals(r"[a-z]+\d?") == ()  # nothing forced: always scanned
    assert anchor_pattern([r"[a-z]+", r"kill"]).search("anything") is not None


def test_each_phrase_is_found_by_its_anchors_in_every_text_it_matches() -> None:
    for pattern, _token, _valence in PHRASES:
        compiled = re.compile(pattern, re.IGNORECASE)
        needs = required_literals(pattern, re.IGNORECASE)
        for text in CORPUS:
            match = compiled.search(text)
            if match is not None and text.isascii():
                found = match.group(0).lower()
                assert all(any(s in found for s in strings) for strings in needs), (pattern, text)


@pytest.mark.skipif(sys.maxunicode < 0x10FFFF, reason="a narrow build")
def test_the_case_twins_are_every_other_character_taken_for_an_ascii_letter() -> None:
    letter = re.compile("[a-z]", re.IGNORECASE)
    twins = {chr(c) for c in range(0x80, sys.maxunicode + 1) if letter.fullmatch(chr(c))}
    assert twins == set("\u0130\u0131\u017f\u212a")
    assert all(CASE_TWINS.fullmatch(t) for t in twins)


def test_a_negation_is_recognised_as_upstream_vader_does() -> None:
    from vaderSentiment.vaderSentiment import NEGATE, negated

    words = {w for text in CORPUS for w in text.split()} | set(NEGATE) | {"NOT", "Isn't", "n't", "nt", ""}
    assert all(vader._negation(w.lower()) == negated([w]) for w in words)
    assert sum(vader._negation(w.lower()) for w in words) > len(NEGATE)  # the "n't" rule is exercised too


async def test_health_says_how_many_texts_were_scored_and_how_many_repeats_reused_scores(sapp, room, clock) -> None:
    from tests.cogs.sentiment.helpers import ALICE, BOB

    t0 = clock.now()
    await room.say(ALICE, "thanks, that works now!", t0)
    await room.say(BOB, "thanks, that works now!", t0 + 1)
    await room.say(ALICE, "what do you mean??", t0 + 2)
    health = sapp.health()["components"]["sentiment"]
    assert (health["scored"], health["scores_reused"]) == (2, 1)


def _old_special_idioms_check(valence: float, words: list[Any], i: int) -> float:
    w3, w2, w1, w0 = (str(words[i - k]).lower() for k in (3, 2, 1, 0))
    onezero, twoonezero, twoone = f"{w1} {w0}", f"{w2} {w1} {w0}", f"{w2} {w1}"
    threetwoone, threetwo = f"{w3} {w2} {w1}", f"{w3} {w2}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in vader.SPECIAL_CASES:
            valence = vader.SPECIAL_CASES[seq]
            break
    if len(words) - 1 > i:
        zeroone = f"{w0} {str(words[i + 1]).lower()}"
        if zeroone in vader.SPECIAL_CASES:
            valence = vader.SPECIAL_CASES[zeroone]
    if len(words) - 1 > i + 1:
        zeroonetwo = f"{w0} {str(words[i + 1]).lower()} {str(words[i + 2]).lower()}"
        if zeroonetwo in vader.SPECIAL_CASES:
            valence = vader.SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in vader.BOOSTER_DICT:
            valence = valence + vader.BOOSTER_DICT[n_gram]
    return valence


def test_idioms_and_booster_phrases_are_found_as_upstream_vader_finds_them() -> None:
    idioms = [
        "that movie was the bomb honestly", "this is the shit right here", "he is a bad ass dude", "yeah right sure",
        "it was a kiss of death for us", "cake to die for really", "I am kind of sort of happy", "just enough good",
        "waited at the bus stop sad", "with a beating heart joy", "THE BOMB dot com great",
    ]  # fmt: skip
    found = 0
    for text in CORPUS + idioms:
        words = text.split()
        for i in range(3, len(words)):
            old = _old_special_idioms_check(1.5, words, i)
            assert vader._special_idioms_check(1.5, words, i) == old, (text, i)
            found += old != 1.5
    assert found >= len(idioms) // 2  # the idioms' own path is exercised, not only the shortcut
