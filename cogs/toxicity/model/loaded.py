"""``ToxicityModel``: a loaded model, whichever backend, scoring texts (chunked) into ``{label: probability}``.

Synchronous; meant to run in the toxicity cog's single inference thread. Chunks are sorted by length and scored
in batches of ``max_batch`` (less padding), and a text's score per label is the maximum over its chunks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from cogs.toxicity.model.encoder import ChunkEncoder
from policy.toxicity import known_labels, max_over_chunks

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


class Forward(Protocol):
    """One forward pass: named input arrays -> logits of shape (rows, labels)."""

    def __call__(self, arrays: Mapping[str, npt.NDArray[np.int64]], /) -> npt.NDArray[Any]: ...


def _sigmoid(logits: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    import numpy as np

    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    return result


@dataclass(slots=True)
class ToxicityModel:
    """A loaded model: ``score(texts)`` -> one ``{label: probability}`` per text, in order."""

    backend: str
    source: str
    labels: tuple[str, ...]  # the model's output columns, Detoxify's names
    encoder: ChunkEncoder
    forward: Forward
    max_batch: int
    load_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    keep_alive: Any = None  # the torch module or ORT session behind ``forward``

    @property
    def judged_labels(self) -> tuple[str, ...]:
        return known_labels(self.labels)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        encoded = self.encoder.encode(texts)
        probs = self.score_chunks(encoded.chunks)
        per_text: list[list[dict[str, float]]] = [[] for _ in texts]
        for owner, row in zip(encoded.owners, probs, strict=True):
            per_text[owner].append(row)
        return [max_over_chunks(rows) for rows in per_text]

    def score_chunks(self, chunks: Sequence[Sequence[int]]) -> list[dict[str, float]]:
        """Score token-id chunks, shortest together (less padding), returned in the order given."""
        order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]))
        out: list[dict[str, float]] = [{} for _ in chunks]
        for start in range(0, len(order), self.max_batch):
            picked = order[start : start + self.max_batch]
            rows = self._probabilities([chunks[i] for i in picked])
            for i, row in zip(picked, rows, strict=True):
                out[i] = dict(zip(self.labels, row, strict=True))
        return out

    def _probabilities(self, rows: Sequence[Sequence[int]]) -> list[list[float]]:
        """One forward pass over ``rows``, checked, as probabilities."""
        import numpy as np

        logits = self.forward(self.encoder.arrays(rows))
        if logits.shape != (len(rows), len(self.labels)):
            raise RuntimeError(f"model returned shape {logits.shape}, expected ({len(rows)}, {len(self.labels)})")
        probs = _sigmoid(logits)
        if not np.isfinite(probs).all():
            raise RuntimeError("model returned non-finite scores")
        result: list[list[float]] = probs.tolist()
        return result
