from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.moderation_text import normalize, normalize_with_map, shingle_sketch, sketch_similarity


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello   World", "hello world"),
        ("  leading and trailing  ", "leading and trailing"),
        ("tabs\tand\nnewlines", "tabs and newlines"),
        ("ｆｕｌｌｗｉｄｔｈ", "fullwidth"),  # NFKC
        ("𝐛𝐨𝐥𝐝 𝓈𝒸𝓇𝒾𝓅𝓉", "bold script"),  # mathematical alphanumerics, NFKC
        ("ﬁne", "fine"),  # ligature
        ("zero\u200bwidth\u200djoin\ufeff", "zerowidthjoin"),
        ("soft\u00adhyphen", "softhyphen"),
        ("раураl", "paypal"),  # Cyrillic р а у а
        ("ΑΡΡLΕ", "apple"),  # Greek capitals fold then map
        ("café naïve", "cafe naive"),  # diacritics dropped
        ("s\u0336p\u0336a\u0336m\u0336", "spam"),  # combining strike-through
        ("ＳＰＡＭ\u3000ｓｐａｍ", "spam spam"),  # ideographic space folds
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@given(st.text(max_size=60))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=80))
def test_map_agrees_with_normalize_on_ascii(text: str) -> None:
    folded, index = normalize_with_map(text)
    assert folded == normalize(text)
    assert len(index) == len(folded)
    assert all(0 <= i < len(text) for i in index)


def test_map_points_back_at_the_source_characters() -> None:
    text = "a  Ваd\u200bword!"
    folded, index = normalize_with_map(text)
    assert folded == "a badword!" == normalize(text)
    assert [text[i] for i in index] == ["a", " ", "В", "а", "d", "w", "o", "r", "d", "!"]


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("the same text here", "the same text here", 1.0, 1.0),
        ("short", "short!", 0.5, 1.0),
        ("completely different", "nothing alike at all", 0.0, 0.2),
        (
            "the weather in paris is sunny today with a light breeze",
            "the weather in paris is sunny today with a light wind",
            0.6,
            1.0,
        ),
    ],
)
def test_sketch_similarity(a: str, b: str, low: float, high: float) -> None:
    similarity = sketch_similarity(shingle_sketch(normalize(a)), shingle_sketch(normalize(b)))
    assert low <= similarity <= high


def test_sketch_is_stable_and_bounded() -> None:
    text = normalize(" ".join(f"word{i}" for i in range(300)))
    assert shingle_sketch(text) == shingle_sketch(text)
    assert len(shingle_sketch(text)) == 12
    assert shingle_sketch("") and sketch_similarity((), (1,)) == 0.0
