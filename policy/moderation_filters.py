"""Word and pattern filters, and the editing rules' text surgery (mass mentions, length).

Administrators' patterns run on RE2 (linear time, no backtracking), all of a server's patterns compiled once into
one program; filter words are an alternation of escaped literals. Cheap probes settle most texts before the full
matchers run. Pure: no I/O, no state beyond the compiled filters' cache.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

import re2  # (google-re2 ships no type information)

from policy.deobfuscate import deobfuscate_with_map, leet_form, spaced_out, spelled_forms
from policy.moderation_text import canonical, normalize_with_map, skeleton, skeleton_with_map

# --- word and regex filters --------------------------------------------------------------------------------------


def re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    return options


def check_pattern(pattern: str) -> str | None:
    """The reason ``pattern`` is not a usable RE2 expression, or None when it is."""
    try:
        re2.compile(pattern, re2_options())
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return detail
    return None


@dataclass(frozen=True, slots=True)
class FilterHit:
    kind: str  # "word" or "pattern"
    source: str  # the configured word or pattern that matched


@dataclass(frozen=True, slots=True)
class CompiledFilters:
    words: tuple[str, ...]
    patterns: tuple[str, ...]
    # Every filter word as its canonical form with each letter run as "at least that many" (``idiot`` ->
    # ``i+d+i+o+t+``, ``ass`` -> ``a+s{2,}``): "iddiot" (from "iddddiot") is the word, "idiom" and "as" are not.
    # On RE2, like the patterns: the forms a text is matched in may hold long runs, and RE2 never backtracks.
    word_regex: re2._Regexp | None
    pattern_regexes: tuple[re2._Regexp, ...]
    # Every pattern in one RE2 program (one pass over the text); each in a named group to tell which matched.
    any_pattern: re2._Regexp | None
    # Cheap probes that answer "certainly no hit" for most texts before the matchers above run. A whole word can
    # only be found where the word itself occurs (one alternation without the word-boundary test); an RE2 set
    # says whether any pattern matches without building a match object.
    word_probe: re2._Regexp | None = None
    pattern_probe: re2.Set | None = None
    # Each word's own expression, to tell which word a hit is.
    word_parts: tuple[tuple[str, re2._Regexp], ...] = ()

    @property
    def empty(self) -> bool:
        return self.word_regex is None and not self.pattern_regexes

    def find(self, normalized: str) -> FilterHit | None:
        """The first filter the text trips, or None. ``normalized`` is ``normalize(text)`` (or ``canonical(text)``):
        words are looked for in its canonical form, its leet form and its skeleton (``word_forms``), patterns in the
        normalised text, the canonical one and its leet form. Linear time: RE2 never backtracks."""
        forms = word_forms(normalized)
        if self.word_regex is not None:
            for form in forms:
                hit = self._find_word(self.word_regex, form)
                if hit is not None:
                    return hit
        if not self.pattern_regexes:
            return None
        text = forms[0]
        for form in dict.fromkeys((normalized, text, leet_form(text))):
            hit = self._find_any_pattern(form)
            if hit is not None:
                return hit
        return None

    def _find_any_pattern(self, normalized: str) -> FilterHit | None:
        if self.any_pattern is None:
            return self._find_pattern_one_by_one(normalized)
        # Bytes spare the wrapper its character-offset bookkeeping; only which group matched is needed here.
        encoded = normalized.encode("utf-8", "surrogatepass")
        if self.pattern_probe is not None and not self.pattern_probe.Match(encoded):
            return None
        return self._find_pattern(self.any_pattern, encoded)

    def _find_word(self, word_regex: re2._Regexp, form: str) -> FilterHit | None:
        encoded = form.encode("utf-8", "surrogatepass")  # bytes spare the wrapper its offset bookkeeping
        if self.word_probe is not None and self.word_probe.search(encoded) is None:
            return None
        match = word_regex.search(encoded)
        if match is None:
            return None
        found = match.group(1).decode("utf-8", "surrogatepass")
        return FilterHit("word", next((w for w, part in self.word_parts if part.fullmatch(found)), found))

    def _find_pattern(self, any_pattern: re2._Regexp, encoded: bytes) -> FilterHit | None:
        match = any_pattern.search(encoded)
        if match is None:
            return None
        matched = [name for name, value in match.groupdict().items() if value is not None]
        index = next((int(name[len(_GROUP) :]) for name in matched if name.startswith(_GROUP)), 0)
        return FilterHit("pattern", self.patterns[index])

    def _find_pattern_one_by_one(self, normalized: str) -> FilterHit | None:
        for source, regex in zip(self.patterns, self.pattern_regexes, strict=True):
            if regex.search(normalized) is not None:
                return FilterHit("pattern", source)
        return None

    def mask(self, text: str, mask_char: str = "*") -> str | None:
        """``text`` with every filtered span replaced by ``mask_char``; None when no span maps back to the text.
        The spans are found in the same forms as ``find`` looks at, and mapped back to the characters of ``text``
        that made them (all of ``i.d.i.o.t``, the ``1`` and ``0`` of ``1d10t``)."""
        folded, index = normalize_with_map(text)
        spans: list[tuple[int, int]] = []
        forms = word_forms_with_map(folded, index)
        canon, canon_index = forms[0]
        if self.word_regex is not None:
            for form, form_index in forms:
                spans.extend(_word_spans(self.word_regex, form, form_index))
        pattern_forms = {folded: index, canon: canon_index, leet_form(canon): canon_index}
        for form, form_index in pattern_forms.items():
            for regex in self.pattern_regexes:
                for match in regex.finditer(form):
                    start, end = match.span()
                    if end > start:
                        spans.append((form_index[start], form_index[end - 1] + 1))
        if not spans:
            return None
        chars = list(text)
        for start, end in spans:
            for pos in range(start, end):
                if not chars[pos].isspace():
                    chars[pos] = mask_char
        return "".join(chars)


def _word_spans(word_regex: re2._Regexp, form: str, index: list[int]) -> list[tuple[int, int]]:
    # On bytes: searching a str from a position makes the wrapper convert the text again each time (quadratic).
    encoded = form.encode("utf-8", "surrogatepass")
    char_at = None if len(encoded) == len(form) else _char_offsets(form)
    spans = []
    pos = 0
    while pos <= len(encoded):
        match = word_regex.search(encoded, pos)
        if match is None:
            break
        start, end = match.span(1)
        first, last = (start, end - 1) if char_at is None else (char_at[start], char_at[end - 1])
        spans.append((index[first], index[last] + 1))
        # Continue after the word itself, so the separator it shares with the next word is seen again.
        pos = max(end, pos + 1)
    return spans


def _char_offsets(text: str) -> list[int]:
    """For each byte of ``text`` in UTF-8, the position of the character it belongs to."""
    offsets: list[int] = []
    for pos, char in enumerate(text):
        offsets.extend([pos] * len(char.encode("utf-8", "surrogatepass")))
    return offsets


def word_forms(normalized: str) -> list[str]:
    """The forms of a normalised text that word filters look at, each once: its ``canonical`` form (first), that
    form's ``leet_form`` (``cun7``, ``ky5``) and ``skeleton`` (words wholly of look-alike letters, ``ѕсаm``), and
    when it holds spelled-out letters, the form that keeps a leading article apart (``a b a s t a r d``)."""
    spelled = spelled_forms(normalized)
    text = spelled[0]
    forms = [text]
    for form in [leet_form(text), skeleton(text), *spelled[1:]]:
        if form not in forms:
            forms.append(form)
    return forms


def word_forms_with_map(normalized: str, index: list[int]) -> list[tuple[str, list[int]]]:
    """``word_forms`` with each form's index (which source character made each of its characters)."""
    text, text_index = deobfuscate_with_map(normalized, index)
    forms = [(text, text_index), (leet_form(text), text_index), skeleton_with_map(text, text_index)]
    if spaced_out(normalized):
        forms.append(deobfuscate_with_map(normalized, index, split_article=True))
    unique: dict[str, list[int]] = {}
    for form, form_index in forms:
        unique.setdefault(form, form_index)
    return list(unique.items())


_GROUP = "steward_pattern_"
# A filter word is a whole word: what is around it is not a letter, digit or underscore (in any script).
_BOUNDARY_BEFORE = r"(?:^|[^\pL\pN_])"
_BOUNDARY_AFTER = r"(?:[^\pL\pN_]|$)"


def word_expression(word: str) -> str:
    """A canonical filter word as RE2: each run of one letter as "at least as many" (``book`` -> ``b+o{2,}k+``),
    ``i`` and ``l`` as one letter (``1`` stands for either: ``ki11``, ``1d10t``), ``@``, ``$`` and ``|``
    as the letters they stand for, anything else literally. A phrase
    also matches with its spaces gone (``k i l l y o u`` joins into one word)."""
    variants = [word] + ([word.replace(" ", "")] if " " in word else [])
    return "|".join(_runs_expression(variant) for variant in variants)


def _runs_expression(word: str) -> str:
    parts = []
    for char, run in itertools.groupby(word, key=lambda c: "i" if c == "l" else c):
        count = len(list(run))
        if not char.isalpha():
            parts.append(re2.escape(char * count))
            continue
        atom = _LETTER_CLASSES.get(char, re2.escape(char))
        parts.append(atom + ("+" if count == 1 else f"{{{count},}}"))
    return "".join(parts)


# The symbols that stand for a letter even where ``canonical`` keeps a word as typed (a mention-like ``@ss``);
# digits are not among them, so a number ("455") never reads as a word.
_LETTER_CLASSES = {"a": "[a@]", "i": "[il|]", "s": r"[s$]"}


@lru_cache(maxsize=256)
def compile_filters(words: tuple[str, ...], patterns: tuple[str, ...]) -> CompiledFilters:
    """Compile a server's filters once. Words match whole words of the text's canonical forms (``canonical``:
    leetspeak, separators, spacing-out and letter runs undone); patterns are RE2 expressions matched against the
    normalised text (lower case, confusables mapped, whitespace folded) and its canonical form."""
    options = re2_options()
    canonical_words = {w: canonical(w) for w in words if canonical(w)}
    folded_words = sorted(set(canonical_words.values()), key=len, reverse=True)
    word_regex = word_probe = None
    parts: tuple[tuple[str, re2._Regexp], ...] = ()
    if folded_words:
        alternation = "|".join(f"(?:{word_expression(w)})" for w in folded_words)
        word_regex = re2.compile(f"{_BOUNDARY_BEFORE}({alternation}){_BOUNDARY_AFTER}", options)
        word_probe = re2.compile(alternation, options)
        parts = tuple((w, re2.compile(f"(?:{word_expression(c)})", options)) for w, c in canonical_words.items())
    compiled = tuple(re2.compile(p, options) for p in patterns)
    any_pattern = pattern_probe = None
    if patterns:
        try:
            any_pattern = re2.compile("|".join(f"(?P<{_GROUP}{i}>{p})" for i, p in enumerate(patterns)), options)
        except re2.error:
            any_pattern = None  # e.g. two patterns share a group name: match them one by one instead
        try:
            pattern_probe = re2.Set.SearchSet(options)
            for p in patterns:
                pattern_probe.Add(p)
            pattern_probe.Compile()
        except re2.error:
            pattern_probe = None  # no probe: every text goes to the matcher
    return CompiledFilters(
        tuple(words),
        tuple(patterns),
        word_regex,
        compiled,
        any_pattern,
        word_probe=word_probe,
        pattern_probe=pattern_probe,
        word_parts=parts,
    )


def filter_reason(hit: FilterHit) -> str:
    if hit.kind == "word":
        return f"contains the filtered word {hit.source!r}"
    return f"matches the filter pattern {hit.source!r}"


# --- edits: mass mentions and length ----------------------------------------------------------------------------

# Discord's @everyone / @here and Slack's <!channel> / <!here> / <!everyone> (with an optional |label).
_MASS_MENTION = re.compile(r"@(everyone|here)\b|<!(channel|here|everyone)(?:\|[^>]*)?>")


def find_mass_mentions(text: str) -> list[str]:
    if "@" not in text and "<!" not in text:
        return []  # every mass mention has one of these: most texts need no regex scan
    return [m.group(0) for m in _MASS_MENTION.finditer(text)]


def strip_mass_mentions(text: str) -> str:
    """Defuse mass mentions, keeping the word so that the sentence still reads: "@here" -> "here"."""
    return _MASS_MENTION.sub(lambda m: m.group(1) or m.group(2), text)


def cut_to_limit(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` characters, at a word boundary near the end when there is one."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(ellipsis))
    cut = text[:room]
    if not text[room].isspace():
        space = cut.rfind(" ")
        if space >= room - 40 and space > 0:
            cut = cut[:space]
    return cut.rstrip() + ellipsis
