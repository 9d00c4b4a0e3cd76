"""Tokenisation and chunking shared by both backends: texts -> chunks of token ids -> padded input arrays.

Each text becomes one or more chunks of at most ``max_tokens`` tokens (consecutive chunks overlap a little so that
a phrase cut at a boundary is whole in one of them); past ``max_chunks`` the chunks kept are spread evenly over the
text, first and last included. Uses a ``tokenizers.Tokenizer`` (the fast tokenizer behind the Hugging Face one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cogs.toxicity.model.spec import ModelLoadError
from policy.toxicity import spread_indices

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from tokenizers import Tokenizer

    IntArray = npt.NDArray[np.int64]

MODEL_INPUTS = frozenset({"input_ids", "attention_mask", "token_type_ids"})


@dataclass(frozen=True, slots=True)
class Encoded:
    """Chunks of token ids, and for each chunk the index of the text it came from."""

    chunks: list[list[int]]
    owners: list[int]
    truncated: int  # texts whose chunks were thinned out to max_chunks


class ChunkEncoder:
    """Texts -> chunks of token ids -> padded arrays, with a private copy of the fast tokenizer."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        *,
        max_tokens: int,
        overlap: int,
        max_chunks: int,
        pad_id: int,
        input_names: Sequence[str],
    ) -> None:
        from tokenizers import Tokenizer

        # A private copy: truncation and padding settings are per tokenizer object.
        self._tok = Tokenizer.from_str(tokenizer.to_str())
        self._tok.no_padding()
        processor = self._tok.post_processor
        specials = processor.num_special_tokens_to_add(False) if processor else 0
        if overlap >= max_tokens - specials:
            raise ModelLoadError(f"chunk_overlap {overlap} leaves no room in chunks of {max_tokens} tokens")
        self._tok.enable_truncation(max_tokens, stride=overlap, strategy="longest_first")
        self.max_tokens = max_tokens
        self.max_chunks = max_chunks
        self.pad_id = pad_id
        self.input_names = tuple(input_names)
        unknown = set(self.input_names) - MODEL_INPUTS
        if unknown or "input_ids" not in self.input_names:
            raise ModelLoadError(f"the model takes inputs Steward cannot feed: {sorted(self.input_names)}")

    def encode(self, texts: Sequence[str]) -> Encoded:
        chunks: list[list[int]] = []
        owners: list[int] = []
        truncated = 0
        for index, encoding in enumerate(self._tok.encode_batch(list(texts))):
            pieces = [encoding.ids] + [extra.ids for extra in encoding.overflowing]
            if len(pieces) > self.max_chunks:
                pieces = [pieces[i] for i in spread_indices(len(pieces), self.max_chunks)]
                truncated += 1
            chunks.extend(pieces)
            owners.extend([index] * len(pieces))
        return Encoded(chunks, owners, truncated)

    def arrays(self, rows: Sequence[Sequence[int]]) -> dict[str, IntArray]:
        import numpy as np

        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        out = {"input_ids": ids}
        if "attention_mask" in self.input_names:
            out["attention_mask"] = mask
        if "token_type_ids" in self.input_names:
            out["token_type_ids"] = np.zeros_like(ids)
        return out
