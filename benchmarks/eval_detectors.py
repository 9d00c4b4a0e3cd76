"""What the moderation evaluation measures: the word filter and each toxicity backend that loads, as detectors.

A ``Detector`` answers one question for a batch of texts: would the default configuration act on each? The word
filter is ``policy.moderation_filters`` over an administrator's word list on the normalised text, as the moderator
runs it; the fast model and Detoxify are the toxicity cog's own model classes at their default thresholds. A
backend that cannot load (its package or weights missing) is reported with the reason instead of a figure.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Flags = Callable[[Sequence[str]], list[bool]]


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    detail: str  # what it is, its threshold
    flags: Flags
    sample: int | None = None  # a slow detector scores at most this many texts of each set


@dataclass(frozen=True, slots=True)
class Unavailable:
    name: str
    reason: str


def normaliser() -> Callable[[str], str]:
    """What the bot hands the filters: ``normalize(text)`` (the filters undo the keyboard tricks themselves, and
    keep a leading article apart from a spelled-out word, which ``canonical`` has already joined)."""
    text = importlib.import_module("policy.moderation_text")
    return text.normalize  # type: ignore[no-any-return]


def read_wordlist(path: Path) -> tuple[str, ...]:
    """The words of a word-list file: one word or phrase a line, ``#`` comments and blank lines skipped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def word_filter(words: Sequence[str]) -> Detector:
    from policy.moderation_filters import compile_filters

    compiled = compile_filters(tuple(words), ())
    fold = normaliser()

    def flags(texts: Sequence[str]) -> list[bool]:
        return [compiled.find(fold(text)) is not None for text in texts]

    return Detector("word filter", f"{len(words)} words, on {fold.__name__}()", flags)


def fast_model() -> Detector | Unavailable:
    """The toxicity cog's fast model (alt-profanity-check's weights) at the default human threshold."""
    name = "fast model"
    try:
        fast = importlib.import_module("cogs.toxicity.fast")
        model = fast.FastModel()
    except ImportError as exc:
        return Unavailable(name, f"not available: {exc}")
    except Exception as exc:  # the model's own load error (package files unreadable), said as it is
        return Unavailable(name, f"not available: {type(exc).__name__}: {exc}")
    threshold = _default_setting("fast_human_threshold", 0.5)
    label = getattr(fast, "LABEL", "toxicity")

    def flags(texts: Sequence[str]) -> list[bool]:
        return [scores.get(label, 0.0) >= threshold for scores in model.score_batch(list(texts))]

    source = getattr(model, "source", "alt-profanity-check")
    return Detector(name, f"{source}, toxicity >= {threshold:g}", flags)


def detoxify(model_name: str = "original", sample: int = 300) -> Detector | Unavailable:
    """Detoxify as the toxicity cog loads it (torch, local weights or a short download), at the default
    per-label thresholds: a text is flagged when any label reaches its threshold."""
    name = f"Detoxify {model_name}"
    try:
        from cogs.toxicity.model import ModelSpec, load_model
        from policy.toxicity import LabelThresholds

        model = load_model(ModelSpec(model=model_name, backend="torch", download_timeout=5.0))
    except ImportError as exc:
        return Unavailable(name, f"not available: {exc}")
    except Exception as exc:  # ModelLoadError says what is missing and how to get it
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Unavailable(name, f"not available: {first}")
    thresholds = LabelThresholds().as_dict()

    def flags(texts: Sequence[str]) -> list[bool]:
        rows = model.score(list(texts))
        return [any(row.get(label, 0.0) >= cut for label, cut in thresholds.items()) for row in rows]

    return Detector(name, f"{model.source}, default per-label thresholds", flags, sample=sample)


def either(first: Detector, second: Detector) -> Detector:
    """Both models on every message, acting when either does (the toxicity cog's ``both`` mode)."""

    def flags(texts: Sequence[str]) -> list[bool]:
        return [a or b for a, b in zip(first.flags(texts), second.flags(texts), strict=True)]

    sample = second.sample or first.sample
    return Detector(f"{first.name} + {second.name}", "acts when either acts", flags, sample=sample)


def _default_setting(field: str, fallback: float) -> float:
    try:
        config = importlib.import_module("cogs.toxicity.config")
        return float(getattr(config.ToxicitySettings(), field))
    except (ImportError, AttributeError, TypeError, ValueError):
        return fallback


def detectors(names: Sequence[str], wordlist: Path, detoxify_sample: int) -> list[Detector | Unavailable]:
    """The detectors named (``filter``, ``fast``, ``detoxify``), in that order; ``both`` is added when the fast
    model and Detoxify both load."""
    found: list[Detector | Unavailable] = []
    if "filter" in names:
        found.append(word_filter(read_wordlist(wordlist)))
    fast = fast_model() if "fast" in names else None
    detox = detoxify(sample=detoxify_sample) if "detoxify" in names else None
    found += [d for d in (fast, detox) if d is not None]
    if isinstance(fast, Detector) and isinstance(detox, Detector):
        found.append(either(fast, detox))
    return found


def optional_run(module: str) -> tuple[str, Any]:
    """``module.run()``'s result, or why there is none: ("ok", result) / ("missing", reason) / ("failed", reason)."""
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        return "missing", f"not available ({exc})"
    try:
        return "ok", loaded.run()
    except Exception as exc:  # another benchmark's failure is reported, not allowed to hide these figures
        return "failed", f"failed: {type(exc).__name__}: {exc}"
