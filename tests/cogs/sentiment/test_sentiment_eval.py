"""The evaluation script's reading and statistics, on a small archive laid out like the vaderSentiment sdist."""

from __future__ import annotations

import io
import tarfile

import pytest

from benchmarks import chat_eval
from benchmarks import eval_sentiment as ev
from cogs.sentiment.classifier import MessageClassifier
from policy.sentiment import CHAT_CUTOFFS


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def sdist(tmp_path):
    rows = (
        "1\t2.8\tI love this, it is wonderful!\r\n"
        "2\t-3.1\tThis is awful, I hate it.\r\n"
        "3\t0.0\tIt is a chair.\r\n"
        "bad line\r\n"
    )
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        _add(tar, ev.DATASETS["tweets"], rows.encode())
    path = tmp_path / ev.SDIST
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, ev.INNER, inner.getvalue())
    return path


def test_reads_the_ground_truth_inside_the_sdist(sdist):
    rows = ev.read_ground_truth(sdist, ev.DATASETS["tweets"])
    assert rows == [
        (2.8, "I love this, it is wonderful!"),
        (-3.1, "This is awful, I hate it."),
        (0.0, "It is a chair."),
    ]
    assert ev.fetch_sdist(sdist.parent) == sdist  # cached: no download


def test_scores_and_statistics(sdist):
    result = ev.evaluate("tweets", ev.read_ground_truth(sdist, ev.DATASETS["tweets"]), MessageClassifier())
    assert result.n == 3 and result.accuracy == 1.0 and result.macro_f1 == 1.0
    assert result.pearson > 0.9 and result.emotion_pearson > 0.9
    assert "| tweets | 3 |" in ev.render([result])


def test_pearson_and_ranks():
    assert ev.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert ev.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert ev.ranks([10.0, 30.0, 20.0, 20.0]) == [1.0, 4.0, 2.5, 2.5]


def _chat_set(tmp_path, rows):
    import json

    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_three_class_statistics_on_a_hand_checked_set():
    gold = ["negative", "negative", "neutral", "positive"]
    said = ["negative", "neutral", "neutral", "neutral"]
    r = chat_eval.three_class("d", "m", gold, said)
    # negative: P 1, R 0.5 -> F1 2/3; neutral: P 1/3, R 1 -> F1 0.5; positive: 0
    assert r.accuracy == pytest.approx(0.5)
    assert r.macro_f1 == pytest.approx((2 / 3 + 0.5 + 0) / 3)
    assert r.positive_share == 0.0 and r.gold_positive_share == pytest.approx(0.25)
    assert chat_eval.tweet_class(-0.5) == "negative" and chat_eval.tweet_class(0.49) == "neutral"
    assert chat_eval.tweet_class(3.2) == "positive"


def test_the_chat_set_is_read_and_checked(tmp_path):
    good = {"text": "thanks!", "sentiment": "positive", "emotions": ["joy"], "kind": "thanks", "split": "tune"}
    [row] = chat_eval.read_chat_set(_chat_set(tmp_path, [good]))
    assert row.emotions == frozenset({"joy"}) and row.split == "tune"
    with pytest.raises(ValueError, match="unknown emotions"):
        chat_eval.read_chat_set(_chat_set(tmp_path, [{**good, "emotions": ["glee"]}]))
    with pytest.raises(ValueError, match="bad row"):
        chat_eval.read_chat_set(_chat_set(tmp_path, [{**good, "split": "train"}]))


def test_emotion_precision_and_recall(tmp_path):
    rows = [
        {"text": "kill yourself loser", "sentiment": "negative", "emotions": ["anger"], "kind": "x", "split": "test"},
        {"text": "what time is it?", "sentiment": "neutral", "emotions": [], "kind": "x", "split": "test"},
        {"text": "I don't get it", "sentiment": "neutral", "emotions": ["confusion"], "kind": "x", "split": "test"},
        {"text": "meeting at noon", "sentiment": "neutral", "emotions": ["joy"], "kind": "x", "split": "test"},
    ]
    results = {e.emotion: e for e in chat_eval.emotion_scores(chat_eval.read_chat_set(_chat_set(tmp_path, rows)),
                                                              MessageClassifier())}  # fmt: skip
    assert (results["anger"].precision, results["anger"].recall) == (1.0, 1.0)
    assert (results["confusion"].labelled, results["confusion"].predicted) == (1, 1)
    assert (results["joy"].labelled, results["joy"].predicted, results["joy"].recall) == (1, 0, 0.0)


def test_the_repo_chat_set_and_the_published_claim():
    rows = chat_eval.read_chat_set()
    assert len(rows) >= 400
    assert {r.split for r in rows} == {"tune", "test"}
    assert len({r.text for r in rows}) == len(rows)
    # The cut-offs in use are the ones tuning on the tuning split finds.
    cutoffs, _, _ = chat_eval.tune(rows)
    assert cutoffs == CHAT_CUTOFFS
    results = chat_eval.compare([], rows, MessageClassifier())
    test = {r.model.split(" (")[0]: r.macro_f1 for r in results if r.data == "chat set, test split"}
    assert test["Steward"] >= test["plain VADER"] + 0.05


def test_main_prints_and_writes_the_tables(sdist, tmp_path, monkeypatch, capsys):
    doc = tmp_path / "sentiment.md"
    doc.write_text(f"# Sentiment\n\n{ev.START}\nold\n{ev.END}\ntail\n", encoding="utf-8")
    monkeypatch.setattr(ev, "DOC", doc)
    assert ev.main(["--cache", str(sdist.parent), "--write"]) == 0
    out = capsys.readouterr().out
    assert "| chat set, test split |" in out and "| VADER tweets (human mean ±0.5) | 3 |" in out
    written = doc.read_text(encoding="utf-8")
    assert "old" not in written and "| confusion |" in written and written.endswith("tail\n")
