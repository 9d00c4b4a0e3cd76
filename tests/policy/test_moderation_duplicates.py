"""The near-duplicate check: one disguised word does not get a repeat past it, distinct answers that share many words
are not refused, and the decision and its reason are the same in every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from policy.moderation import AuthorKind, MatchMode, Recent, duplicate_reason, make_payload, word_similarity
from policy.moderation_duplicates import WORDS_KEPT

ANSWER = (
    "Thanks for asking! To reset your password, open Settings, choose Account and press Reset password. "
    "We send a link to your email that works for one hour."
)
T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


def judge(earlier: str, now: str, *, threshold: float = 0.8, author: str = "helper") -> str | None:
    """The reason ``now`` is refused 30 s after ``earlier`` was posted by agent ``helper``, or None."""
    before = make_payload(earlier, MatchMode.NEAR)
    mine = make_payload(now, MatchMode.NEAR)
    return duplicate_reason(
        author=author,
        key=mine.key,
        sketch=mine.sketch,
        at=T0 + 30,
        history=[Recent(T0, "helper", AuthorKind.AGENT, 1, 0, *before)],
        window=600.0,
        any_agent=True,
        near_threshold=threshold,
        mode=MatchMode.NEAR,
        words=mine.words,
        length=mine.length,
    )


@pytest.mark.parametrize(
    "disguised",
    [
        ANSWER.replace("password,", "p4ssw0rd,"),  # leetspeak
        ANSWER.replace("password,", "passsssword,"),  # repeated letters
        ANSWER.replace("password,", "p a s s w o r d,"),  # spaced out
        ANSWER.replace("password,", "p.a.s.s.w.o.r.d,"),  # punctuation inside the word
        ANSWER.replace("password,", "раsswоrd,"),  # Cyrillic look-alikes
        ANSWER.replace("choose", "pick"),  # a synonym
        ANSWER.replace("Thanks for asking! ", ""),  # a dropped opening
        ANSWER.upper(),
    ],
)
def test_a_repeat_with_one_word_disguised_is_refused(disguised: str) -> None:
    reason = judge(ANSWER, disguised)
    assert reason is not None and ("near-duplicate" in reason or "same message" in reason)


@pytest.mark.parametrize(
    "distinct",
    [
        # The same help-desk frame, another question: half the words are shared.
        "Thanks for asking! To change your email address, open Settings, choose Account and press Edit email. "
        "We send a confirmation to the new address, and the change applies once you click it.",
        "Thanks for asking! To reset your password you need the email you signed up with; if you lost access to "
        "it, write to support from the login page and we verify your identity by phone.",
        # A short message that differs in the one word that matters.
        "burst message 1",
    ],
)
def test_distinct_answers_that_share_words_pass(distinct: str) -> None:
    earlier = "burst message 0" if distinct == "burst message 1" else ANSWER
    assert judge(earlier, distinct) is None


def test_the_reason_says_how_similar_and_which_message() -> None:
    reason = judge(ANSWER, ANSWER.replace("choose", "pick"))
    assert reason is not None
    assert "96% of the words alike, threshold 80%" in reason
    assert "the message it posted at 08:00:00 UTC (30s ago, window 600s)" in reason
    other = judge(ANSWER, ANSWER.replace("choose", "pick"), author="scribe")
    assert other is not None and "the message agent helper posted at 08:00:00 UTC" in other


def test_the_similarity_is_of_the_words_and_bounded_by_the_lengths() -> None:
    short, long = make_payload("the deploy is done", MatchMode.NEAR), make_payload(ANSWER, MatchMode.NEAR)
    assert word_similarity(short.words, short.length, short.words, short.length) == 1.0
    # One word of four changed: 1 - 2 / 8.
    other = make_payload("the deploy is failing", MatchMode.NEAR)
    assert word_similarity(short.words, short.length, other.words, other.length) == pytest.approx(0.75)
    assert word_similarity(short.words, short.length, long.words, long.length) < 0.3
    # Words past the kept ones still count in the bound: a long answer that only begins like a short one.
    longer = make_payload(ANSWER + " " + "More details follow here. " * 60, MatchMode.NEAR)
    assert len(longer.words) == WORDS_KEPT and longer.length > 3 * WORDS_KEPT
    bound = 2 * long.length / (long.length + longer.length)
    assert word_similarity(long.words, long.length, longer.words, longer.length) <= bound < 0.8
    assert judge(ANSWER, ANSWER + " " + "More details follow here. " * 60) is None


def test_payload_keys_and_word_codes_are_the_same_in_every_process() -> None:
    script = (
        "import json; from policy.moderation import make_payload, MatchMode; "
        f"p = make_payload({ANSWER!r}, MatchMode.NEAR); print(json.dumps([p.key, list(p.sketch), p.words, p.length]))"
    )
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
    here = make_payload(ANSWER, MatchMode.NEAR)
    assert runs[0] == runs[1] == [here.key, list(here.sketch), here.words, here.length]
