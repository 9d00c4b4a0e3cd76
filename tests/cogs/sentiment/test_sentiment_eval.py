"""The evaluation script's reading and statistics, on a small archive laid out like the vaderSentiment sdist."""

from __future__ import annotations

import io
import tarfile

import pytest

from benchmarks import eval_sentiment as ev
from cogs.sentiment.classifier import MessageClassifier


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
