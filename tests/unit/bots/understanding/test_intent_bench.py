"""bench/intent_accuracy.py end to end on a tiny generated data set, with the lexical embedder."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from omniroute.bots.understanding.embedder import l2_normalise
from omniroute.bots.understanding.intents import Thresholds

BENCH = Path(__file__).resolve().parents[4] / "bench" / "intent_accuracy.py"

#: Three intents whose sentences share a topic word and vary the rest, so a fit on a few of them
#: recognises the others; the filler words are shared by every intent.
TOPICS = {"card_lost": "card", "opening_hours": "hours", "transfer_money": "transfer"}
FRAMES = [
    "my {} please",
    "help with the {}",
    "question about {} today",
    "I need the {} now",
    "what about my {}",
    "can you check the {}",
    "there is a problem with {}",
    "tell me about {}",
]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("intent_accuracy_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)
    return path


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    train = [(frame.format(word), intent) for intent, word in TOPICS.items() for frame in FRAMES[:6]]
    test = [(frame.format(word), intent) for intent, word in TOPICS.items() for frame in FRAMES[6:]]
    folder = tmp_path / "tiny"
    folder.mkdir()
    write(folder / "train.csv", train)
    write(folder / "test.csv", test)
    return folder


def run(bench: ModuleType, capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert bench.main(argv) == 0
    report: dict[str, object] = json.loads(capsys.readouterr().out)
    return report


def test_a_folder_run_end_to_end(
    bench: ModuleType, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run(bench, capsys, [str(dataset), "--embedders", "lexical", "--shots", "3", "--seeds", "0,1"])
    assert report["data"] == "tiny"
    assert (report["train"], report["test"], report["intents"]) == (18, 6, 3)
    assert report["seeds"] == [0, 1]
    lexical = report["lexical"]
    assert isinstance(lexical, dict)
    assert lexical["cached"] is False
    assert len(lexical["fewshot_accuracies"]) == 2
    assert len(lexical["fewshot_accuracies_no_names"]) == 2
    # The topic word decides every test sentence, so a fit on the six train sentences gets them all.
    assert lexical["full_accuracy"] == 1.0
    assert lexical["full_accuracy_no_names"] == 1.0
    assert 0.0 <= lexical["fewshot_accuracy_mean_no_names"] <= 1.0
    assert lexical["fewshot_projected"] is False  # three intents: below the projection's minimum
    assert lexical["fewshot_lexical_view"] is False  # and never over lexical vectors
    assert lexical["lexical_view_single_p50_ms"] is None
    assert report["goal_fewshot_met"] is None  # the goal is stated for e5, which did not run


def test_single_files_give_the_same_figures_as_the_folder(
    bench: ModuleType, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--embedders", "lexical", "--shots", "2", "--seeds", "3"]
    by_folder = run(bench, capsys, [str(dataset), *common])
    by_files = run(
        bench,
        capsys,
        ["--train-csv", str(dataset / "train.csv"), "--test-csv", str(dataset / "test.csv"), *common],
    )
    assert by_files["data"] == "train"
    for key in ("fewshot_accuracies", "fewshot_accuracies_no_names", "full_accuracy"):
        assert by_files["lexical"][key] == by_folder["lexical"][key]  # type: ignore[index]


def test_the_vector_cache_is_written_then_read(
    bench: ModuleType, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(dataset), "--embedders", "lexical", "--seeds", "0", "--cache-dir", str(tmp_path / "c")]
    first = run(bench, capsys, argv)
    second = run(bench, capsys, argv)
    assert len(list((tmp_path / "c").glob("lexical-*.npy"))) == 2  # train and test
    assert first["lexical"]["cached"] is False  # type: ignore[index]
    assert second["lexical"]["cached"] is True  # type: ignore[index]
    assert second["lexical"]["full_accuracy"] == first["lexical"]["full_accuracy"]  # type: ignore[index]


def test_bad_input_exits_2(bench: ModuleType, dataset: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    assert bench.main(["--train-csv", str(missing), "--test-csv", str(missing)]) == 2
    wrong = write(tmp_path / "wrong.csv", [("hello", "x")])
    wrong.write_text("sentence,label\nhello,x\n", encoding="utf-8")
    assert bench.main(["--train-csv", str(wrong), "--test-csv", str(wrong), "--embedders", "lexical"]) == 2
    one_intent = write(tmp_path / "one.csv", [("my card", "card"), ("the card", "card")])
    assert (
        bench.main(["--train-csv", str(one_intent), "--test-csv", str(one_intent), "--embedders", "lexical"])
        == 2
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--train-csv", "a.csv"],  # without --test-csv
        ["somewhere", "--train-csv", "a.csv", "--test-csv", "b.csv"],  # both ways at once
        ["--embedders", "word2vec"],
    ],
)
def test_conflicting_options_are_refused(bench: ModuleType, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bench.parse_args(argv)
    assert exited.value.code == 2


def test_the_default_timeout_fits_a_full_run(bench: ModuleType) -> None:
    # A full uncached run took 15-17 minutes on the shared development VM (bench/README.md).
    assert bench.parse_args([]).timeout >= 17 * 60


def test_a_few_shot_fit_of_many_intents_adds_the_lexical_view(bench: ModuleType) -> None:
    """As the product does: with the projection on (20 intents, 4 examples each) the lexical
    vectors of the same sentences are averaged in; the full-size fit stays without them here too
    when its intents have more examples than the projection takes."""
    rng = np.random.default_rng(0)
    labels = np.repeat([f"intent_{k:02d}" for k in range(20)], 4)
    centres, words = rng.normal(size=(20, 16)), rng.normal(size=(20, 64))
    index = np.repeat(np.arange(20), 4)
    primary = l2_normalise(centres[index] + rng.normal(size=(80, 16)))
    lexical = bench.LexicalVectors(
        l2_normalise(words[index] + rng.normal(size=(80, 64))),
        l2_normalise(words[index] + rng.normal(size=(80, 64))),
        {},
    )
    rows = np.arange(80)
    viewed = bench.evaluate(primary, labels, primary, labels, Thresholds(), None, (lexical, rows))
    alone = bench.evaluate(primary, labels, primary, labels, Thresholds(), None)
    assert viewed["lexical_view"] == 1.0
    assert viewed["lexical_view_mb"] > 0
    assert alone["lexical_view"] == 0.0
    many = np.tile(rows, 10)  # 40 examples per intent: over projection_max_shots
    full = bench.evaluate(primary[many], labels[many], primary, labels, Thresholds(), None, (lexical, many))
    assert full["projected"] == 0.0
    assert full["lexical_view"] == 0.0
