"""How well each sentiment scorer separates upset customers, per language, on a small labelled set.

Scores every sentence of ``bench/data/sentiment_turns.csv`` (``text,language,label``, labels
negative/neutral/positive, written for this project; 12 per label and language) as a one-turn
conversation with VADER, with the anchor scorer over the e5 embedder (the two scorers of
``omniroute.bots.understanding.sentiment``), and with ``Sentiment(e5)``, which the bots use (for
English the lower of the two, for Spanish the anchors). Reports the mean score per label and, at each
escalation threshold, how many negative sentences reach it (recall) and how many others do (false
alarms). A sanity check of the choice of scorer per language, not a benchmark of record: the set is
small and was written by the same hand as the anchors (with different sentences). Prints one JSON
line; progress on stderr.

    .venv/bin/python bench/sentiment_accuracy.py [--data FILE] [--thresholds -0.3,-0.6]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omniroute.bots.understanding.e5 import E5Embedder
from omniroute.bots.understanding.sentiment import NEGATIVE, AnchorScorer, Sentiment, VaderScorer

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "sentiment_turns.csv"


def figures(scores: list[float], labels: list[str], thresholds: list[float]) -> dict[str, Any]:
    result: dict[str, Any] = {
        f"mean_{label}": round(
            statistics.fmean(s for s, lab in zip(scores, labels, strict=True) if lab == label), 3
        )
        for label in sorted(set(labels))
    }
    negatives = [s for s, lab in zip(scores, labels, strict=True) if lab == NEGATIVE]
    others = [s for s, lab in zip(scores, labels, strict=True) if lab != NEGATIVE]
    for threshold in thresholds:
        result[f"negative_recall_at_{threshold}"] = round(
            sum(s <= threshold for s in negatives) / len(negatives), 3
        )
        result[f"false_alarms_at_{threshold}"] = round(sum(s <= threshold for s in others) / len(others), 3)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--thresholds", default="-0.3,-0.6", help="escalation thresholds to report")
    args = parser.parse_args(argv)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    started = time.monotonic()
    with args.data.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    embedder = E5Embedder()
    vader, anchors, shipped = VaderScorer(), AnchorScorer(embedder), Sentiment(embedder)
    report: dict[str, Any] = {"bench": "sentiment_accuracy", "sentences": len(rows)}
    for language in sorted({r["language"] for r in rows}):
        texts = [r["text"] for r in rows if r["language"] == language]
        labels = [r["label"] for r in rows if r["language"] == language]
        print(f"{language}: {len(texts)} sentences", file=sys.stderr, flush=True)
        report[language] = {
            "vader": figures(vader.turn_scores(texts), labels, thresholds),
            "e5_anchors": figures(anchors.turn_scores(texts), labels, thresholds),
            "shipped": figures([shipped.score([t], language) for t in texts], labels, thresholds),
        }
    report["runtime_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
