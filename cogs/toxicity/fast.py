"""The fast toxicity model: alt-profanity-check's trained linear model, whose weights ship in its PyPI package.

alt-profanity-check is a TF-IDF bag of words into five linear SVMs, each with a sigmoid calibration, averaged
(scikit-learn's ``CalibratedClassifierCV``), trained on labelled offensive / not-offensive texts. Through
scikit-learn one message costs ~4 ms (most of it the calibrated ensemble's per-call overhead); ``FastModel``
loads the same vocabulary, IDF weights, SVM weights and calibrations once and computes the identical probability
in a few microseconds a message (checked against scikit-learn's ``predict_proba`` by a test).

Its output is one probability that a text is offensive (profane, insulting, abusive); Steward reports it as the
``toxicity`` label and only that: the training labels do not tell insults from obscenity or threats, so mapping
it to those labels would claim what the model never learnt. The input is ``policy.moderation_text.canonical``
of the text (leetspeak, separators and look-alike letters undone), which scored better than the raw text on
the labelled sets (docs/toxicity.md); a spelled-out text is also scored with a leading article kept apart
(``model_inputs``).

A word the vocabulary does not know is looked up again with its letter runs made single ("iddiot"), since the
normaliser keeps doubled letters (they are spelling), then under the other spellings of
``cogs.toxicity.spellings`` (``ioser`` -> ``loser``, ``hur7`` -> ``hurt``, ``piiss`` -> ``piss``).
A bag of words dilutes one insult in a long friendly text,
so texts longer than ``WINDOW`` tokens are scored in overlapping windows and take the worst window's score,
like the Detoxify path's chunks.

Synchronous and thread-safe once loaded (read-only arrays; the respelling memo is a dict whose single
operations the GIL makes atomic): ``FastModel().score_batch(texts)`` returns one ``{"toxicity": probability}``
per text. The toxicity cog scores a short text (under ``scorer.INLINE_CHARS``) on the event loop, cheaper than
the hand-off to its inference thread, and a longer one there.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cogs.toxicity.spellings import spellings
from policy.deobfuscate import spelled_forms
from policy.moderation_text import normalize
from policy.toxicity import spread_indices

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

PACKAGE = "alt-profanity-check"
MODULE = "profanity_check"
LABEL = "toxicity"
WINDOW = 16  # tokens (after the vectoriser's own tokenising, stop words dropped) scored together
STRIDE = 8  # consecutive windows share half their tokens, so a phrase cut by one is whole in the next
MAX_WINDOWS = 256  # beyond: windows evenly spread, always the first and the last
_RUNS = re.compile(r"(\w)\1+")
_RESPELLED_KEPT = 50_000  # unknown words remembered with their respelling


def model_inputs(text: str) -> list[str]:
    """What the model scores for ``text``: its ``canonical`` form and, when it holds spelled-out letters, the form
    that keeps a leading article apart (``a d i c k`` is "a dick", not the unknown "adick"); a text's score is the
    worse of the two."""
    return spelled_forms(normalize(text))


class FastModelError(Exception):
    """The fast model cannot be loaded (its package is missing or its files are not what this code reads)."""


@dataclass(frozen=True, slots=True)
class _Linear:
    """The model's numbers: vocabulary, IDF, per-term SVM weights times IDF, intercepts and calibrations."""

    analyzer: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: npt.NDArray[np.float64]  # (terms,)
    weights: npt.NDArray[np.float64]  # (terms, members): idf * coef, so a term's count times it is its share
    intercepts: npt.NDArray[np.float64]  # (members,)
    slopes: npt.NDArray[np.float64]  # (members,) sigmoid calibration: p = 1 / (1 + exp(a * d + b))
    offsets: npt.NDArray[np.float64]  # (members,)


def _read_package() -> tuple[Any, Any, str]:
    """The package's vectoriser and calibrated model (its own joblib files) and its version."""
    try:
        from importlib import metadata, resources

        import joblib  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - joblib comes with scikit-learn, a base dependency
        raise FastModelError(f"{exc}; install the base dependencies: .venv/bin/pip install -e .") from None
    try:
        data = resources.files(MODULE) / "data"
        version = metadata.version(PACKAGE)
    except (ModuleNotFoundError, metadata.PackageNotFoundError):
        raise FastModelError(f"{PACKAGE} is not installed (a base dependency): .venv/bin/pip install -e .") from None
    try:
        vectorizer = joblib.load(data / "vectorizer.joblib")
        model = joblib.load(data / "model.joblib")
    except Exception as exc:
        raise FastModelError(f"cannot read {PACKAGE}'s model files: {type(exc).__name__}: {exc}") from None
    return vectorizer, model, version


def _linear(vectorizer: Any, model: Any) -> _Linear:
    """The numbers of a fitted ``TfidfVectorizer`` (l2, idf, no sublinear tf) and binary sigmoid-calibrated
    linear ``CalibratedClassifierCV``; anything else is refused rather than scored wrongly."""
    import numpy as np

    params = vectorizer.get_params()
    expected = {"norm": "l2", "use_idf": True, "sublinear_tf": False, "binary": False}
    if any(params.get(key) != value for key, value in expected.items()):
        raise FastModelError(f"unexpected vectoriser settings {params}")
    members = getattr(model, "calibrated_classifiers_", None)
    if not members or list(getattr(model, "classes_", [])) != [0, 1]:
        raise FastModelError("expected a binary CalibratedClassifierCV")
    coef, intercepts, slopes, offsets = [], [], [], []
    for member in members:
        (calibrator,) = member.calibrators
        coef.append(np.asarray(member.estimator.coef_, dtype=np.float64).ravel())
        intercepts.append(float(np.asarray(member.estimator.intercept_).ravel()[0]))
        slopes.append(float(calibrator.a_))
        offsets.append(float(calibrator.b_))
    idf = np.asarray(vectorizer.idf_, dtype=np.float64)
    weights = (np.vstack(coef) * idf).T.copy()
    return _Linear(
        analyzer=vectorizer.build_analyzer(),
        vocabulary={str(term): int(index) for term, index in vectorizer.vocabulary_.items()},
        idf=idf,
        weights=weights,
        intercepts=np.asarray(intercepts),
        slopes=np.asarray(slopes),
        offsets=np.asarray(offsets),
    )


class FastModel:
    """alt-profanity-check's model, scored directly: ``score_batch(texts)`` -> ``[{"toxicity": p}, ...]``.

    ``canonical_input`` (default True) scores ``canonical(text)`` instead of the raw text. Loading reads the
    package's files (about a second, most of it importing scikit-learn); run it off the event loop.
    """

    name = PACKAGE
    labels: tuple[str, ...] = (LABEL,)

    def __init__(self, *, canonical_input: bool = True) -> None:
        started = time.perf_counter()
        vectorizer, model, self.version = _read_package()
        self._linear = _linear(vectorizer, model)
        self.canonical_input = canonical_input
        self._respelled_cache: dict[str, int] = {}
        self.load_seconds = time.perf_counter() - started

    @property
    def source(self) -> str:
        return f"{PACKAGE} {self.version}"

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One ``{"toxicity": probability}`` per text, in order."""
        return [{LABEL: self.probability(text)} for text in texts]

    def probability(self, text: str) -> float:
        """The probability that ``text`` is offensive; a long text's is its worst window's."""
        if not self.canonical_input:
            return self._probability(text)
        return max(self._probability(form) for form in model_inputs(text))

    def _probability(self, prepared: str) -> float:
        terms = [self._term(token) for token in self._linear.analyzer(prepared)]
        if len(terms) <= WINDOW:
            return self._window(terms)
        starts = list(range(0, len(terms) - WINDOW + STRIDE, STRIDE))
        picked = spread_indices(len(starts), MAX_WINDOWS)
        return max(self._window(terms[starts[i] : starts[i] + WINDOW]) for i in picked)

    def _term(self, token: str) -> int:
        """The token's vocabulary index; a token the vocabulary lacks is looked up with its letter runs made
        single ("iddiot" -> "idiot", as stretched words reach the model), else -1 (not counted)."""
        vocabulary = self._linear.vocabulary
        found = vocabulary.get(token)
        if found is not None:
            return found
        found = vocabulary.get(_RUNS.sub(r"\1", token))
        return found if found is not None else self._respelled(token)

    def _respelled(self, token: str) -> int:
        """The vocabulary index of the first of ``spellings(token)`` the vocabulary knows (``ioser`` -> ``loser``,
        ``hur7`` -> ``hurt``, ``piiss`` -> ``piss``), else -1; remembered for the words chat repeats."""
        found = self._respelled_cache.get(token)
        if found is None:
            vocabulary = self._linear.vocabulary
            found = next((vocabulary[s] for s in spellings(token) if s in vocabulary), -1)
            if len(self._respelled_cache) >= _RESPELLED_KEPT:
                self._respelled_cache.clear()  # a flood of made-up words must not grow it without end
            self._respelled_cache[token] = found
        return found

    def _window(self, terms: Sequence[int]) -> float:
        """scikit-learn's ``predict_proba(...)[:, 1]`` for the bag of these term ids (-1: not in the vocabulary)."""
        import numpy as np

        linear = self._linear
        counts = Counter(term for term in terms if term >= 0)
        decision = linear.intercepts
        if counts:
            ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            tfidf = tf * linear.idf[ids]
            decision = decision + (tf @ linear.weights[ids]) / float(np.sqrt(tfidf @ tfidf))
        probabilities = 1.0 / (1.0 + np.exp(linear.slopes * decision + linear.offsets))
        return float(probabilities.mean())
