"""The moderation evaluation: its figures on a hand-checked set, its tricks, its labelled data, its doc block."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from benchmarks import moderation_eval
from benchmarks.data import make_toxicity_set
from benchmarks.eval_detectors import optional_run, read_wordlist
from benchmarks.moderation_eval import DATA, END, START, Counts, Report, render, run, write_doc
from benchmarks.obfuscate import TRANSFORMS, disguise, obfuscate


def _write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _msg(text: str, label: str, kind: str, target: str = "", split: str = "test") -> dict[str, str]:
    return {"text": text, "label": label, "kind": kind, "split": split, "target": target}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """Six test messages and a tune one, four chat lines, a three-word list: every figure worked out by hand."""
    _write_jsonl(
        tmp_path / "toxicity_labelled.jsonl",
        [
            _msg("you are an idiot", "toxic", "insult", "idiot"),  # caught: true positive
            _msg("shut up moron", "toxic", "insult", "moron"),  # caught: true positive
            _msg("I will find you", "toxic", "threat"),  # no listed word: false negative
            _msg("we need to assess the class", "clean", "clean-hard", "assess"),  # true negative
            _msg("rule 3: no calling people idiots", "clean", "clean-hard", "idiots"),  # false positive
            _msg("good morning", "clean", "clean-casual"),  # true negative
            _msg("what an idiot", "toxic", "insult", "idiot", split="tune"),  # not in the test split
        ],
    )
    _write_jsonl(
        tmp_path / "clean_chat.jsonl",
        [
            {"text": t, "label": "clean", "kind": "clean-chat"}
            for t in ("lunch at noon", "don't be idiots about backups", "v1.2.3 is out", "👍")
        ],
    )
    (tmp_path / "wordlist_default.txt").write_text("# a comment\nidiot\n\nidiots\nmoron\n", encoding="utf-8")
    return tmp_path


def test_the_figures_of_a_hand_checked_set(tiny: Path) -> None:
    report = run(tiny, ("filter",), other_rules=False)
    assert report.sizes == {"test": 6, "test toxic": 3, "chat": 4}
    (result,) = report.results
    assert result.test == Counts(tp=2, fp=1, tn=2, fn=1)
    assert result.test.precision == pytest.approx(2 / 3)
    assert result.test.recall == pytest.approx(2 / 3)
    assert result.test.f1 == pytest.approx(2 / 3)
    assert result.test.fpr == pytest.approx(1 / 3)
    assert result.chat == Counts(fp=1, tn=3)
    assert result.chat.fpr == pytest.approx(0.25)
    assert result.by_kind == {"insult": 1.0, "threat": 0.0, "clean-casual": 0.0, "clean-hard": 0.5}
    tricks = {t.name: t for t in result.tricks}
    assert set(tricks) == set(TRANSFORMS)
    # The two toxic test messages with an offending word; both caught plain. Zero-width characters and fullwidth
    # letters are undone by the normaliser, so both are still caught.
    for name in ("zero_width", "fullwidth", "spaced"):
        assert (tricks[name].n, tricks[name].plain) == (2, 1.0)
    assert tricks["zero_width"].disguised == tricks["fullwidth"].disguised == 1.0
    assert tricks["zero_width"].ratio == 1.0


def test_the_tune_split_is_measured_apart_from_the_test_split(tiny: Path) -> None:
    report = run(tiny, ("filter",), other_rules=False, split="tune")
    assert report.sizes["test"] == 1 and report.results[0].test == Counts(tp=1)
    assert render(report).startswith("Tune split of")


def test_counts_with_nothing_to_count_are_zero_not_an_error() -> None:
    assert Counts().precision == Counts().recall == Counts().f1 == Counts().fpr == 0.0
    assert Counts.of([True, False, True], [True, True, False]) == Counts(tp=1, fp=1, fn=1)


def test_it_runs_end_to_end_on_a_slice_of_the_real_sets() -> None:
    report = run(DATA, ("filter", "fast"), limit=150, other_rules=False)  # the other benchmarks take their time
    names = [r.detector for r in report.results] + [u.name for u in report.unavailable]
    assert names[:2] == ["word filter", "fast model"]
    assert report.sizes["test"] == 150 and report.sizes["chat"] == 150
    for result in report.results:
        test = result.test
        assert test.tp + test.fp + test.tn + test.fn == 150
        assert result.chat.fp + result.chat.tn == 150 and result.chat.tp == result.chat.fn == 0
        assert [t.name for t in result.tricks] == list(TRANSFORMS)
        assert all(0 < t.n <= report.sizes["test toxic"] for t in result.tricks)
    filt = report.results[0]
    assert filt.test.recall > 0.3 and filt.test.precision > 0.8  # the default list catches plain insults
    markdown = render(report)
    for name in TRANSFORMS:
        assert f"| {name} |" in markdown
    assert "Duplicate rule:" not in markdown


def test_a_missing_or_failing_benchmark_is_reported_not_raised() -> None:
    status, reason = optional_run("benchmarks.no_such_eval")
    assert status == "missing" and "No module named 'benchmarks.no_such_eval'" in reason
    status, reason = optional_run("benchmarks.obfuscate")  # a module without run()
    assert status == "failed" and "AttributeError" in reason


def test_other_benchmarks_figures_are_shown_whatever_their_shape() -> None:
    report = Report({"test": 0, "test toxic": 0, "chat": 0})
    nested = {
        "threshold": 0.8,
        "clean_chat": None,
        "links": {"precision": 0.914, "wrong": ["a", "b", "c", "d", "e"]},
        "mentions": {"precision": 1.0, "wrong": []},
        "catch": {"leetspeak": {"rate": 1.0, "cases": 320}, "spaced out": {"rate": 0.94375, "cases": 320}},
    }
    report.other = [
        ("Duplicate rule", "ok", [{"trick": "leetspeak", "caught": 0.975}, {"trick": "spaced", "caught": 1.0}]),
        ("Link and mention rules", "ok", nested),
        ("Something else", "missing", "not available (No module named 'x')"),
    ]
    markdown = render(report)
    assert "| trick | caught |" in markdown and "| leetspeak | 0.975 |" in markdown
    assert "| threshold | 0.8 |" in markdown and "| clean_chat | not measured |" in markdown
    assert "|  | precision | wrong |" in markdown
    assert "| links | 0.914 | a, b, c (+2 more) |" in markdown and "| mentions | 1.0 | none |" in markdown
    assert "catch:" in markdown and "|  | rate | cases |" in markdown and "| spaced out | 0.944 | 320 |" in markdown
    assert "not available (No module named 'x')." in markdown


def test_write_replaces_only_the_marked_block(tmp_path: Path) -> None:
    doc = tmp_path / "moderator.md"
    doc.write_text(f"# Moderator\n\nintro\n\n{START}\nold figures\n{END}\n\nafter\n", encoding="utf-8")
    write_doc("| new | figures |", doc)
    write_doc("| newer | figures |", doc)
    assert doc.read_text(encoding="utf-8") == f"# Moderator\n\nintro\n\n{START}\n| newer | figures |\n{END}\n\nafter\n"
    doc.write_text("no markers here\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        write_doc("x", doc)


def test_the_moderator_page_has_the_block_the_command_writes() -> None:
    text = moderation_eval.DOC.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1 and text.index(START) < text.index(END)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_each_trick_disguises_the_offending_word_only(name: str) -> None:
    text = "honestly you are an idiot, an IDIOT. idiots everywhere"
    disguised = obfuscate(text, "idiot", name)
    assert disguised is not None and disguised != text
    assert disguised.startswith("honestly you are an ") and disguised.endswith(" idiots everywhere")
    assert obfuscate(text, "idiot", name) == disguised  # the same every time
    assert obfuscate(text, "moron", name) is None and obfuscate(text, "", name) is None


def test_the_tricks_are_the_ones_people_use() -> None:
    assert disguise("idiot", "spaced") == "i d i o t"
    assert disguise("idiot", "punctuation") == "i.d.i.o.t"
    assert disguise("idiot", "separators")[1::2] in ("----", "____", "****")
    assert set(disguise("idiot", "leetspeak")) - set("idiot") <= set("1!07")
    assert disguise("idiot", "leetspeak") != "idiot"
    repeated = disguise("idiot", "repeated")
    assert len(repeated) > 5 and "".join(dict.fromkeys(repeated)) == "idot"
    assert unicodedata.normalize("NFKC", disguise("idiot", "fullwidth")) == "idiot"
    assert all(ord(c) > 127 for c in disguise("idiot", "homoglyphs") if c != "d")
    assert "".join(c for c in disguise("idiot", "zero_width") if c.isprintable()) == "idiot"
    marks = unicodedata.normalize("NFD", disguise("idiot", "combining"))
    assert "".join(c for c in marks if not unicodedata.combining(c)) == "idiot"
    assert obfuscate("just kill yourself", "kill yourself", "spaced") == "just k i l l y o u r s e l f"


def test_the_labelled_sets_are_what_their_generator_makes() -> None:
    labelled, chat = make_toxicity_set.build()
    assert (DATA / "toxicity_labelled.jsonl").read_text(encoding="utf-8") == labelled
    assert (DATA / "clean_chat.jsonl").read_text(encoding="utf-8") == chat


def test_the_labelled_sets_hold_what_the_figures_need() -> None:
    labelled = moderation_eval.read_jsonl(DATA / "toxicity_labelled.jsonl")
    chat = moderation_eval.read_jsonl(DATA / "clean_chat.jsonl")
    assert len(labelled) >= 1500 and len(chat) >= 2000
    assert 0.35 <= sum(r["label"] == "toxic" for r in labelled) / len(labelled) <= 0.45
    for kind in moderation_eval.KINDS:
        for split in ("tune", "test"):
            assert sum(r["kind"] == kind and r["split"] == split for r in labelled) >= 30, (kind, split)
    keys = [" ".join(r["text"].casefold().split()) for r in labelled + chat]
    assert len(keys) == len(set(keys))  # no message twice, none in both sets
    for record in labelled:
        assert record["label"] == ("clean" if record["kind"].startswith("clean") else "toxic")
        if record["target"]:
            assert obfuscate(record["text"], record["target"], "spaced") is not None, record
    for hard in ("class", "assess", "cocktail", "therapist", "Sussex", "shitake", "kill the process", "shoot me"):
        assert any(hard.casefold() in r["text"].casefold() for r in labelled if r["kind"] == "clean-hard"), hard
    assert 30 <= len(read_wordlist(DATA / "wordlist_default.txt")) <= 60
