"""canonical(): keyboard tricks undone, ordinary text (numbers, links, other scripts) left as normalize gives it."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy import confusables
from policy.moderation_text import (
    FOREIGN_LOOKALIKES,
    LATIN_LOOKALIKES,
    canonical,
    canonical_with_map,
    normalize,
    skeleton,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("you 1d10t", "you idiot"),
        ("sh!t", "shit"),
        ("$hit happens", "shit happens"),
        ("l0s3r", "loser"),
        ("ki11 yourself", "kill yourself"),
        ("h4x0r n00b", "haxor noob"),
        ("iddddiot", "iddiot"),  # runs of three or more become two
        ("soooo goooood", "soo good"),
        ("i.d.i.o.t", "idiot"),
        ("i-d-i-o-t", "idiot"),
        ("i_d_i_o_t", "idiot"),
        ("i*d*i*o*t", "idiot"),
        ("i d i o t", "idiot"),
        ("you are an i d i o t!", "you are an idiot!"),
        ("lol k y s!!", "lol kys!!"),
        ("1 d 1 0 t", "idiot"),
        ("Ｉ．Ｄ．Ｉ．Ｏ．Ｔ", "idiot"),  # fullwidth, then separators
        ("і.d.і.о.t", "idiot"),  # Cyrillic look-alikes joined into a mixed-script word
    ],
)
def test_canonical_undoes_keyboard_tricks(raw: str, expected: str) -> None:
    assert canonical(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "meet at 10:30 or 4 a.m.",
        "costs $5, or $5k a year, 4.5% off",
        "see you at 9am, the 2nd talk, 3:45pm",
        "1080p at 60fps, 5g, 100ms p99",
        "mp3 python3 win10 win11 gpt4 h264 x86 covid19",
        "https://example.com/a_b_c/1d10t?q=1 and www.example.org",
        "mail bob@example.com or ping @priya",
        "<@U123> <#C456|general> :+1:",
        "snake_case_name and e.g. and/or c++ +1",
        "thanks, the deploy worked! can someone review the cache pr by friday?",
        "i love you",
        "u r a star, i c u",
        "привет мир",  # a whole Cyrillic phrase is Russian, not an attack
        "γειά σου κόσμε",
        "東京で会いましょう",
    ],
)
def test_ordinary_text_survives(text: str) -> None:
    assert canonical(text) == normalize(text)


def test_look_alikes_map_only_in_mixed_script_words() -> None:
    assert canonical("раураl") == "paypal"  # Cyrillic р а у а beside a Latin l
    assert canonical("сок и кот") == "сок и кот"  # Russian words of look-alike letters stay Russian
    assert skeleton(normalize("ѕсаm сок дурак")) == "scam cok дурак"  # the filters' extra form maps them


def test_the_table_is_unicodes() -> None:
    # Entries UTS #39 lists (not written by hand): Cyrillic, Greek, Cherokee, Latin small capitals.
    assert FOREIGN_LOOKALIKES["а"] == "a" and FOREIGN_LOOKALIKES["ο"] == "o" and FOREIGN_LOOKALIKES["Ꭺ"] == "a"
    assert LATIN_LOOKALIKES["ᴀ"] == "a" and LATIN_LOOKALIKES["ı"] == "i" and LATIN_LOOKALIKES["ł"] == "l"
    assert len(FOREIGN_LOOKALIKES) > 250
    assert confusables.unpack(confusables.LATIN) == LATIN_LOOKALIKES


@given(st.text(max_size=80))
def test_canonical_is_idempotent_and_bounded(text: str) -> None:
    once = canonical(text)
    assert canonical(once) == once
    assert canonical(normalize(text)) == once
    assert len(once) <= len(normalize(text))


_TRICKY = st.text(alphabet="id1l0t! .-_*@$a5sкоі\u200b", max_size=60)


@given(st.one_of(_TRICKY, st.text(max_size=60)))
def test_the_map_agrees_with_canonical(text: str) -> None:
    folded, index = canonical_with_map(text)
    assert folded == canonical(text)
    assert len(index) == len(folded)
    assert all(0 <= i < len(text) for i in index)
    assert index == sorted(index)


@given(_TRICKY)
def test_tricky_text_is_idempotent(text: str) -> None:
    once = canonical(text)
    assert canonical(once) == once


@settings(deadline=None, max_examples=1)
@given(st.just(None))
def test_cost_is_linear_on_adversarial_text(_: None) -> None:
    # Quadrupling the text must not multiply the work by much more than four (quadratic would be sixteen).
    for unit in ["i d i o t ", "i.", "1d10t ", "il", "a1", "l1", "d11111", "aaaa", "і d і о т "]:

        def cost(n: int, unit: str = unit) -> float:
            text = (unit * n)[:n]
            start = time.thread_time()
            canonical(text)
            canonical_with_map(text)
            return time.thread_time() - start

        small, large = min(cost(10_000) for _ in range(5)), min(cost(40_000) for _ in range(5))
        assert large < max(small, 1e-3) * 10, unit
