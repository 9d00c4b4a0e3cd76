"""Name skeletons: names a reader cannot tell apart get one skeleton; different names keep different ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.impersonation import KnownName, collision, skeleton


@pytest.mark.parametrize(
    "name",
    [
        "Steward",
        "STEWARD",
        "Stеward",  # Cyrillic е
        "Ѕtеwаrd",  # Cyrillic Ѕ, е, а
        "ＳＴＥＷＡＲＤ",  # fullwidth
        "𝐒𝐭𝐞𝐰𝐚𝐫𝐝",  # mathematical bold
        "St3ward",
        "S.t.e.w.a.r.d",
        "ste_ward",
        "Ste\u200bward",
        "Stéward",
        "Stewwward",
    ],
)
def test_disguised_forms_of_a_name_share_its_skeleton(name):
    assert skeleton(name) == skeleton("Steward")


@pytest.mark.parametrize(
    ("a", "b"), [("helper", "heIper"), ("helper", "he1per"), ("moderator", "rnoderator"), ("paypal", "paypa1")]
)
def test_letters_that_look_alike_share_a_skeleton(a, b):
    assert skeleton(a) == skeleton(b)


@pytest.mark.parametrize(("a", "b"), [("helper", "helpers"), ("scout", "scoot"), ("Steward", "Stewart")])
def test_different_names_keep_different_skeletons(a, b):
    assert skeleton(a) != skeleton(b)


def test_a_whole_word_in_another_script_is_not_folded_into_latin_nonsense():
    assert skeleton("Мария") != skeleton("Steward") and skeleton("Мария")


def test_collision_names_the_field_and_what_it_collides_with():
    known = [KnownName("Steward", "Steward itself", "steward"), KnownName("helper", "the agent helper", "agent")]
    found = collision([("name", "scout"), ("display name", "Hеlper")], known)
    assert found is not None and found.field == "display name" and found.known.name == "helper"
    assert found.reason() == "the display name 'Hеlper' looks like the agent helper ('helper')"
    assert collision([("name", "scout"), ("display name", "")], known) is None
    assert collision([("name", "..."), ("display name", "   ")], known) is None


@given(st.text(max_size=60))
def test_skeleton_is_idempotent_and_never_raises(name):
    once = skeleton(name)
    assert skeleton(once) == once
    assert len(once) <= 4 * len(name)
