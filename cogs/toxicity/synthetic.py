"""Random-weight checkpoints in Detoxify's format, for tests, benchmarks and trying the pipeline offline.

``build_checkpoint`` writes a directory with a Hugging Face ``config.json``, the tokenizer files and a
``model.ckpt`` that Detoxify (and Steward's loader) read exactly like a released checkpoint:
``{"config": {"arch": {"args": ...}, "dataset": {"args": {"classes": ...}}}, "state_dict": ...}``. The scores it
gives are meaningless but deterministic for a seed, and they vary with the text.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

# Jigsaw 2018 class names, as in Detoxify's `original` checkpoint (Detoxify renames them when loading).
ORIGINAL_CLASSES = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")

_WORDS = (
    "the a an and or but you your are is was be to of in on at it this that i we they he she me my our not no "
    "yes hello world good bad nice thanks please idiot stupid moron hate love kill hurt find people post here "
    "code release build bot channel message agent what how why who can will should would could do does did"
).split()


@dataclass(frozen=True, slots=True)
class Synthetic:
    directory: Path
    checkpoint: Path
    max_tokens: int
    classes: tuple[str, ...]


def _vocabulary() -> list[str]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    return specials + _WORDS + chars + ["##" + c for c in string.ascii_lowercase + string.digits]


def build_checkpoint(
    directory: Path,
    *,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
    intermediate_size: int = 64,
    max_positions: int = 64,
    vocab_size: int | None = None,
    classes: tuple[str, ...] = ORIGINAL_CLASSES,
    seed: int = 0,
    logit_scale: float = 40.0,
    hub_name: str | None = None,
) -> Synthetic:
    """A random BERT classifier. ``vocab_size`` pads the vocabulary to a real model's size (30522 for
    bert-base-uncased) so that the embedding matrix, and so memory, is realistic. ``logit_scale`` widens the
    classifier's weights so that scores spread over 0..1 instead of sitting at 0.5. The checkpoint names the
    directory as its ``model_type`` (so that plain ``Detoxify(checkpoint=...)`` loads it offline), or ``hub_name``
    like a released checkpoint does ("bert-base-uncased"), which only a loader that never asks the hub can read
    offline."""
    import torch
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    words = _vocabulary()
    if vocab_size is not None and vocab_size > len(words):
        words += [f"[unused{i}]" for i in range(vocab_size - len(words))]
    vocab = {w: i for i, w in enumerate(words)}
    (directory / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    config = transformers.BertConfig(  # type: ignore[call-arg]  # num_labels goes through **kwargs
        vocab_size=len(words),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_positions,
        num_labels=len(classes),
    )
    torch.manual_seed(seed)
    model = transformers.BertForSequenceClassification(config).eval()  # type: ignore[no-untyped-call]
    with torch.no_grad():
        model.classifier.weight.mul_(logit_scale)
    config.save_pretrained(directory)
    tokenizer = transformers.BertTokenizer(vocab=vocab, model_max_length=max_positions)
    tokenizer.save_pretrained(directory)
    checkpoint = directory / "model.ckpt"
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "num_classes": len(classes),
                        "model_type": hub_name or str(directory),
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                    }
                },
                "dataset": {"args": {"classes": list(classes)}},
            },
            "state_dict": model.state_dict(),
        },
        checkpoint,
    )
    return Synthetic(directory=directory, checkpoint=checkpoint, max_tokens=max_positions, classes=classes)
