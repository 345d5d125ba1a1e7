"""bench/demo_intents.py: the demo bot's understanding scored on labelled sentences, fallback included."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[4] / "bench" / "demo_intents.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_intents_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_fallback_is_right_when_no_intent_comes_back(bench: ModuleType) -> None:
    rows = [("a", "balance"), ("b", "balance"), ("c", "agent"), ("d", "fallback"), ("e", "fallback")]
    predicted = ["balance", "fallback", "balance", "fallback", "agent"]
    figures = bench.score(rows, predicted)  # shares are rounded to 4 places
    assert figures["accuracy"] == pytest.approx(2 / 5, abs=1e-4)
    assert figures["intent_recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert figures["in_scope_coverage"] == pytest.approx(2 / 3, abs=1e-4)
    assert figures["accepted_accuracy"] == pytest.approx(1 / 2, abs=1e-4)
    assert figures["fallback_recall"] == pytest.approx(1 / 2, abs=1e-4)
    assert figures["fallback_precision"] == pytest.approx(1 / 2, abs=1e-4)


def test_a_run_over_the_demo_bot(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "mini.csv"
    data.write_text(
        "text,category\n"
        "I lost my card,card_lost\n"
        "what are your opening hours,opening_hours\n"
        "purple elephants dance quietly,fallback\n",
        encoding="utf-8",
    )
    assert bench.main([str(data), "--embedders", "lexical"]) == 0
    report = json.loads(capsys.readouterr().out)
    figures = report["lexical"]["mini"]
    assert report["copies_of_trigger_phrases"] == 2  # both in-scope lines are trigger phrases
    assert report["thresholds"] == {"confidence": 0.65, "margin": 0.1}
    assert figures["intent_recall"] == 1.0  # exact trigger phrases win outright
    assert figures["fallback_recall"] == 1.0
    assert figures["accuracy"] == 1.0


def test_unknown_labels_are_refused(bench: ModuleType, tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("text,category\nhello there,weather\n", encoding="utf-8")
    assert bench.main([str(data), "--embedders", "lexical"]) == 2


def test_the_shipped_sets_are_not_copies_of_the_flows(bench: ModuleType) -> None:
    bot = bench.demo_bot()
    phrases = {bench._key(p) for texts in bot.examples().values() for p in texts}
    for path in bench.DEFAULT_SETS:
        rows = bench.load(path)
        labels = {label for _, label in rows}
        assert labels == {*bot.examples(), "fallback"}
        assert not [text for text, _ in rows if bench._key(text) in phrases]
        for label in labels:
            assert sum(1 for _, gold in rows if gold == label) >= 15
