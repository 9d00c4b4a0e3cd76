"""What a regular expression's every match must contain: literal strings that a cheap ``in`` test can look for
before the (much slower) scan is run.

``required_literals(pattern)`` reads the pattern with the standard library's own parser and returns sets of
lower-case strings: every match contains at least one string of *each* set. A text that misses every string of
one set cannot match, so the scan can be skipped, with the same result as running it. Only what the pattern
forces is used (runs of literal characters, the alternatives of a group, a group repeated at least once);
anything else (character classes, optional parts, look-arounds) asks nothing, so a pattern made only of those has
no requirement and is always scanned.

Case: the strings are lower-cased. For a pattern compiled with ``re.IGNORECASE`` the test is exact only on ASCII
text (Unicode case folding lets a few other characters match an ASCII letter: the Kelvin sign matches ``k``), so
callers test ASCII text only and scan the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

Requirement = frozenset[str]

_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}


def _best(requirements: Sequence[Requirement]) -> Requirement | None:
    """The most selective single requirement (the one whose shortest string is longest), or None."""
    if not requirements:
        return None
    return max(requirements, key=lambda needed: (min(map(len, needed)), -len(needed)))


def _sequence(items: Iterable[tuple[Any, Any]]) -> list[Requirement]:
    """What a sequence of parsed items requires: one requirement per forced part, all of them needed."""
    needed: list[Requirement] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            needed.append(frozenset({"".join(run).lower()}))
            run.clear()

    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is sre.SUBPATTERN:
            needed += _sequence(av[-1])
        elif op is sre.BRANCH:
            alternatives = [_best(_sequence(branch)) for branch in av[1]]
            if all(a is not None for a in alternatives):
                needed.append(frozenset().union(*(a for a in alternatives if a is not None)))
        elif op in _REPEATS and av[0] >= 1:
            needed += _sequence(av[2])
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            needed += _sequence(av)
    flush()
    return needed


def required_literals(pattern: str, flags: int = 0) -> tuple[Requirement, ...]:
    """Sets of strings such that every match of ``pattern`` contains one string of each (module docstring)."""
    return tuple(_sequence(_parser.parse(pattern, flags)))


def anchor_pattern(patterns: Iterable[str], flags: int = 0) -> re.Pattern[str]:
    """One pattern that finds, in a lower-cased text, a string that a match of any of ``patterns`` must contain
    (each pattern's most selective requirement): a text it finds nothing in matches none of them. A pattern with
    no requirement makes it match everything."""
    anchors: set[str] = set()
    for pattern in patterns:
        best = _best(required_literals(pattern, flags))
        if best is None or "" in best:
            return re.compile("")
        anchors |= best
    return re.compile("|".join(map(re.escape, sorted(anchors, key=lambda a: (-len(a), a)))))
