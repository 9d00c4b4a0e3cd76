"""Spellings of a word the fast model's vocabulary does not know, for the keyboard tricks that survive the normaliser.

``policy.moderation_text.canonical`` undoes leetspeak, separators and spacing-out while keeping readable words as
typed, so a few disguises reach the model as unknown words: a ``1`` read as ``i`` where the writer meant ``l``
(``ioser``), a leet digit kept because the word could be a name or a unit (``hur7``), and letter runs cut to two
where the word has one (``piiss``, ``aasshooles``). ``spellings(token)`` gives the spellings to look up instead,
fewest changes first: each run of a letter as one or two, each ``i`` also as ``l``, leet digits as their letters.
Only a word the vocabulary lacks is looked at, so ordinary chat pays nothing; the number of spellings is capped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from policy.deobfuscate import LEET

MAX_SPELLINGS = 64  # per unknown word: a word with many runs and i's is looked up this many ways at most
_DIGITS = frozenset("0123456789")
_LEET_DIGITS = str.maketrans({digit: letter for digit, letter in LEET.items() if digit in _DIGITS})


def spellings(token: str) -> Iterator[str]:
    """Other spellings of ``token`` (lower case, one of the vectoriser's tokens), the likeliest first; not
    ``token`` itself. Empty for a number or a word with nothing to vary."""
    if not any(c.isalpha() for c in token):
        return
    base = token.translate(_LEET_DIGITS) if not _DIGITS.isdisjoint(token) else token
    seen = {token}
    for spelling in itertools.islice(_variants(base), MAX_SPELLINGS):
        if spelling not in seen:
            seen.add(spelling)
            yield spelling


def _variants(word: str) -> Iterator[str]:
    """Every combination of the choices for each letter run of ``word``: the run as typed first, then shorter,
    then (for ``i``) as ``l`` or, in a pair, half of each."""
    choices = [_run_choices(char, len(list(run))) for char, run in itertools.groupby(word)]
    for picked in itertools.product(*choices):
        yield "".join(picked)


def _run_choices(char: str, count: int) -> tuple[str, ...]:
    kept = char * min(count, 2)
    options = [kept] + ([char] if count >= 2 else [])
    if char == "i":
        options += ["l" * len(option) for option in options]
        if count >= 2:
            options += ["il", "li"]  # "imbeci1e" reaches here as "imbeciie"
    return tuple(options)
