"""Agent impersonation: names that look the same to a reader, and the check an agent's name passes at registration.

``skeleton`` is the UTS #39 idea of a name's look, for short names: compatibility forms folded (NFKC), every
character mapped to its prototype in Unicode's confusables table (``confusable-homoglyphs`` ships it: Cyrillic
"е" -> "e", "I" -> "l", "0" -> "O", "m" -> "rn"), case folded, invisible characters and combining marks removed,
separators and punctuation dropped (``S.t.e.w.a.r.d``, ``ste_ward``), digits people type for letters mapped
(``St3ward``) and runs of three or more of a letter cut to one (``Stewwward``). Two names with one skeleton are
the same name to a reader. ``collision`` compares a new agent's name and display name with the names it must not
pass for (Steward's own, every registered agent's whatever its owner, the server's members') and says which one
it collides with. Pure: no I/O (the table is read from the installed package once, like a lexicon).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from confusable_homoglyphs import confusables as _uts39

from policy.moderation_text import INVISIBLE, canonical

# Digits and symbols typed for letters in names; applied after the confusables table (which maps 0 -> O, 1 -> l).
_LEET = str.maketrans({"3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s", "!": "i"})
_RUNS = re.compile(r"(.)\1{2,}")
_MARKS = {"\u200e", "\u200f"}


def _unmarked(value: str) -> str:
    """A table value without the direction marks the package wraps right-to-left characters in."""
    return "".join(c for c in value if c not in _MARKS)


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Each confusable character -> its prototype (UTS #39 ``confusables.txt``'s direction).

    The package keeps the table both ways: a character that is not a prototype lists exactly its prototype; a
    prototype lists everything confusable with it. A pair listing only each other is mapped to the smaller one,
    so that both get one skeleton."""
    data: dict[str, list[dict[str, str]]] = _uts39.confusables_data
    table: dict[str, str] = {}
    for char, homoglyphs in data.items():
        if len(char) != 1 or len(homoglyphs) != 1:
            continue
        target = _unmarked(homoglyphs[0]["c"])
        back = data.get(target, [])
        if len(back) == 1 and _unmarked(back[0]["c"]) == char and target > char:
            continue  # a pair of mutual entries: the smaller one is the prototype
        table[char] = target
    return table


def _map_confusables(text: str) -> str:
    table = _prototypes()
    out = text
    for _ in range(3):  # a prototype may itself be listed (a few chains are two or three long)
        mapped = "".join(table.get(char, char) for char in out)
        if mapped == out:
            break
        out = mapped
    return out


@lru_cache(maxsize=8192)
def skeleton(name: str) -> str:
    """The look of ``name``: equal skeletons are names a reader cannot tell apart (see the module's doc)."""
    shape = _fold(name)
    for _ in range(3):  # a prototype may be a compatibility form (% -> º/₀): fold again until nothing changes
        again = _fold(shape)
        if again == shape:
            break
        shape = again
    return shape


def _fold(name: str) -> str:
    text = unicodedata.normalize("NFKC", name)
    text = "".join(char for char in text if char not in INVISIBLE)
    text = _map_confusables(text).casefold()
    text = unicodedata.normalize("NFD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _map_confusables(text).translate(_LEET)
    text = "".join(char for char in text if char.isalnum())
    return _RUNS.sub(r"\1", text)


def name_shapes(name: str) -> frozenset[str]:
    """The looks of a name: its ``skeleton``, and the skeleton of the shared normaliser's reading of it (which
    undoes what it knows of keyboard tricks). Two names collide when they share a look."""
    return frozenset({skeleton(name), skeleton(canonical(name))} - {""})


@dataclass(frozen=True, slots=True)
class KnownName:
    """A name an agent must not pass for, what it is ("Steward itself", "the agent helper", "a member") and its
    kind ("steward", "agent", "member": the label a refusal is counted under)."""

    name: str
    what: str
    kind: str = "name"


@dataclass(frozen=True, slots=True)
class Collision:
    """A new name that looks like a known one: which of the agent's names, and the one it looks like."""

    field: str  # "name" or "display name"
    given: str
    known: KnownName

    def reason(self) -> str:
        same = "is" if self.given.casefold() == self.known.name.casefold() else "looks like"
        return f"the {self.field} {self.given!r} {same} {self.known.what} ({self.known.name!r})"


def collision(names: Iterable[tuple[str, str]], known: Iterable[KnownName]) -> Collision | None:
    """The first of ``names`` (field, value) whose skeleton equals a known name's, or None. Empty values and
    names with an empty skeleton (only punctuation) pass: there is nothing there to mistake."""
    wanted = [(field, value, name_shapes(value)) for field, value in names if value.strip()]
    wanted = [(field, value, shapes) for field, value, shapes in wanted if shapes]
    if not wanted:
        return None
    for entry in known:
        theirs = name_shapes(entry.name)
        for field, value, mine in wanted:
            if mine & theirs:
                return Collision(field, value, entry)
    return None
