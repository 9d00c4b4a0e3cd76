"""Score the sentiment classifier against human-labelled ground truth, beside plain VADER.

    python -m benchmarks.eval_sentiment            # VADER's 4,200 tweets and the labelled chat set
    python -m benchmarks.eval_sentiment --all      # and the movie, Amazon and New York Times snippets
    python -m benchmarks.eval_sentiment --tune     # choose the 3-class cut-offs on the chat set's tuning split
    python -m benchmarks.eval_sentiment --write    # record the results in docs/sentiment.md

Three-class results (``chat_eval.py``): accuracy and macro-F1 of plain VADER (upstream ``vaderSentiment`` at its
documented +-0.05 cut-offs) and of Steward (the chat layer at ``policy.sentiment.CHAT_CUTOFFS``) on the tweets,
whose human mean makes the class (``<= -0.5`` negative, ``>= 0.5`` positive, neutral between: half a point of the
-4..+4 scale), and on ``benchmarks/data/chat_sentiment.jsonl`` (hand-labelled chat, fixed ``split`` column: the
cut-offs are tuned on ``tune`` only, so ``test`` and the tweets are data the tuning did not see); and the emotion
labels' precision and recall per emotion on the chat set (an emotion is shown at intensity >= 0.5).

The ground truth is the one VADER was validated on (Hutto & Gilbert, ICWSM 2014): each text was rated by about
twenty people from -4 (extremely negative) to +4 (extremely positive); the file holds the mean rating. It ships in
the vaderSentiment *source distribution* (not the wheel), so the script fetches that with
``pip download --no-binary :all: --no-deps vaderSentiment==3.3.2`` into a cache directory once and reads the data
from the archive inside it.

Reported per data set: Pearson's r and Spearman's rho between the compound score and the human mean; the
two-class accuracy and macro F1 on the texts people rated non-zero (a compound within +-0.05 is "neutral" and counts
as a miss); and, as an indirect check of the emotion lexicon, Pearson's r between ``joy - max(anger, frustration)``
and the human mean.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import chat_eval
from cogs.sentiment.classifier import MessageClassifier

VERSION = "3.3.2"
SDIST = f"vaderSentiment-{VERSION}.tar.gz"
INNER = f"vaderSentiment-{VERSION}/additional_resources/hutto_ICWSM_2014.tar.gz"
DATASETS = {
    "tweets": "hutto_ICWSM_2014/tweets_GroundTruth.txt",
    "movie reviews": "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt",
    "amazon reviews": "hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt",
    "nyt editorials": "hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt",
}
DOC = Path(__file__).resolve().parent.parent / "docs" / "sentiment.md"
START, END = "<!-- sentiment-eval:start -->", "<!-- sentiment-eval:end -->"
NEUTRAL = 0.05


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "steward" / "vader-sdist"


def fetch_sdist(cache: Path) -> Path:
    """The vaderSentiment sdist in ``cache``, downloaded from PyPI if it is not there yet."""
    target = cache / SDIST
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "--quiet",
               f"vaderSentiment=={VERSION}", "-d", str(cache)]  # fmt: skip
    print(f"downloading {SDIST} into {cache} ...", file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 or not target.exists():
        raise SystemExit(f"could not download {SDIST}: {done.stderr.strip() or done.stdout.strip()}")
    return target


def read_ground_truth(sdist: Path, member: str) -> list[tuple[float, str]]:
    with tarfile.open(sdist) as outer:
        inner_file = outer.extractfile(INNER)
        if inner_file is None:
            raise SystemExit(f"{sdist} has no {INNER}")
        with tarfile.open(fileobj=io.BytesIO(inner_file.read())) as inner:
            data = inner.extractfile(member)
            if data is None:
                raise SystemExit(f"{INNER} has no {member}")
            text = data.read().decode("utf-8", errors="replace")
    rows = []
    for line in text.splitlines():
        parts = line.rstrip("\r").split("\t", 2)
        if len(parts) != 3:
            continue
        try:
            rows.append((float(parts[1]), parts[2]))
        except ValueError:
            continue
    return rows


def pearson(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else 0.0


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2.0 + 1.0  # ties share their mean rank
        i = j + 1
    return out


@dataclass(frozen=True)
class Result:
    name: str
    n: int
    pearson: float
    spearman: float
    accuracy: float
    macro_f1: float
    neutral_share: float
    emotion_pearson: float


def evaluate(name: str, rows: list[tuple[float, str]], classifier: MessageClassifier) -> Result:
    gold, compound, mood = [], [], []
    for rating, text in rows:
        scores = classifier.score(text)
        gold.append(rating)
        compound.append(scores.compound)
        mood.append(scores.joy - max(scores.anger, scores.frustration))
    polar = [(g > 0, c) for g, c in zip(gold, compound, strict=True) if g != 0]
    hits = sum(1 for positive, c in polar if (c >= NEUTRAL if positive else c <= -NEUTRAL))
    f1s = []
    for label in (True, False):
        tp = sum(1 for positive, c in polar if positive == label and ((c >= NEUTRAL) if label else (c <= -NEUTRAL)))
        predicted = sum(1 for _, c in polar if ((c >= NEUTRAL) if label else (c <= -NEUTRAL)))
        actual = sum(1 for positive, _ in polar if positive == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return Result(
        name=name,
        n=len(rows),
        pearson=pearson(compound, gold),
        spearman=pearson(ranks(compound), ranks(gold)),
        accuracy=hits / len(polar) if polar else 0.0,
        macro_f1=sum(f1s) / 2,
        neutral_share=sum(1 for _, c in polar if abs(c) < NEUTRAL) / len(polar) if polar else 0.0,
        emotion_pearson=pearson(mood, gold),
    )


def render(results: list[Result]) -> str:
    lines = [
        f"Steward's compound against the human ratings shipped in the vaderSentiment {VERSION} source distribution"
        f"{' (`--all`)' if len(results) > 1 else ''}:",
        "",
        "| data set | texts | Pearson r | Spearman rho | 2-class accuracy | macro F1 | scored neutral | "
        "emotion lexicon r |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.n:,} | {r.pearson:.3f} | {r.spearman:.3f} | {r.accuracy:.3f} | {r.macro_f1:.3f} | "
            f"{r.neutral_share:.1%} | {r.emotion_pearson:.3f} |"
        )
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Sentiment\n\n{START}\n{END}\n"
    if START not in doc:
        doc += f"\n{START}\n{END}\n"
    doc = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _m: f"{START}\n{text}\n{END}", doc, flags=re.S)
    DOC.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score the sentiment classifier against VADER's ground truth.")
    parser.add_argument("--cache", type=Path, default=default_cache(), help="where the sdist is kept")
    parser.add_argument("--all", action="store_true", help="all four data sets, not only the tweets")
    parser.add_argument("--write", action="store_true", help="record the results in docs/sentiment.md")
    parser.add_argument("--tune", action="store_true", help="print the best cut-offs on the chat tuning split")
    parser.add_argument("--chat", type=Path, default=chat_eval.CHAT_SET, help="the labelled chat set")
    args = parser.parse_args(argv)
    chat_rows = chat_eval.read_chat_set(args.chat)
    if args.tune:
        print(chat_eval.render_tuning(chat_eval.tune(chat_rows)))
        return 0
    sdist = fetch_sdist(args.cache)
    classifier = MessageClassifier()
    names = list(DATASETS) if args.all else ["tweets"]
    truth = {name: read_ground_truth(sdist, DATASETS[name]) for name in names}
    results = [evaluate(name, truth[name], classifier) for name in names]
    three = chat_eval.compare(truth["tweets"], chat_rows, classifier)
    emotions = chat_eval.emotion_scores(chat_rows, classifier)
    text = chat_eval.render(three, emotions) + "\n\n" + render(results)
    print(text)
    if args.write:
        write_doc(text)
        print(f"\nwritten to {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
