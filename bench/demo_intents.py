"""Intent recognition of the shipped demo bot on our own labelled English and Spanish sentences.

Trains understanding exactly as the bot service does for a bot (``Understanding.train`` on
``CompiledBot.examples()`` — every flow's trigger phrases, both languages together — with the
bot's embedder and its confidence and margin thresholds from ``banking.bot.yaml``), then asks it
about each labelled sentence. A sentence labelled ``fallback`` (out of scope: other banking
questions the flows do not cover, small talk, nonsense) is right when understanding returns no
intent, which is when the bot falls back to knowledge answers. The labelled sets
(``bench/data/demo_intents_{en,es}.csv``, columns ``text,category``) were written for this
benchmark, not copied from the flows; the run counts any sentence that equals a trigger phrase.
Prints one JSON line; progress and the misclassified sentences on stderr with ``-v``.

    .venv/bin/python bench/demo_intents.py [CSV ...] [--embedders e5,lexical]
        [--confidence X] [--margin Y] [-v]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score  # type: ignore[import-untyped]

from omniroute.bots.flows.library import default_bot
from omniroute.bots.flows.loader import parse_flow
from omniroute.bots.runtime.bot import CompiledBot, compile_bot
from omniroute.bots.runtime.understand import Understanding
from omniroute.bots.understanding.e5 import E5Embedder
from omniroute.bots.understanding.embedder import Embedder
from omniroute.bots.understanding.intents import Thresholds
from omniroute.bots.understanding.lexical import LexicalEmbedder, words

DATA = Path(__file__).resolve().parent / "data"
DEFAULT_SETS = [DATA / "demo_intents_en.csv", DATA / "demo_intents_es.csv"]
FALLBACK = "fallback"
EMBEDDERS = {"e5": E5Embedder, "lexical": LexicalEmbedder}


def _key(text: str) -> str:
    """How understanding compares a sentence with the trigger phrases (case, accents, punctuation)."""
    return " ".join(words(text))


def log(message: str, *, verbose: bool = True) -> None:
    if verbose:
        print(message, file=sys.stderr, flush=True)


def load(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(r["text"], r["category"].strip()) for r in csv.DictReader(handle) if r["text"].strip()]
    if not rows:
        msg = f"{path}: no rows with text,category"
        raise ValueError(msg)
    return rows


def demo_bot() -> CompiledBot:
    settings, flows = default_bot()
    return compile_bot("demo", 1, settings, [parse_flow(source).flow for source in flows.values()])


def score(rows: Sequence[tuple[str, str]], predicted: Sequence[str]) -> dict[str, Any]:
    """Figures where ``fallback`` is one more class: the right answer for out-of-scope sentences."""
    labels = [label for _, label in rows]
    pairs = list(zip(labels, predicted, strict=True))
    in_scope = [(gold, guess) for gold, guess in pairs if gold != FALLBACK]
    out_scope = [(gold, guess) for gold, guess in pairs if gold == FALLBACK]
    flagged = [(gold, guess) for gold, guess in pairs if guess == FALLBACK]
    accepted = [(gold, guess) for gold, guess in in_scope if guess != FALLBACK]

    def share(part: Sequence[tuple[str, str]], whole: Sequence[Any]) -> float | None:
        return round(len(part) / len(whole), 4) if whole else None

    return {
        "sentences": len(rows),
        "in_scope": len(in_scope),
        "out_of_scope": len(out_scope),
        # every sentence right: the intent for in-scope ones, no intent for out-of-scope ones
        "accuracy": share([p for p in pairs if p[0] == p[1]], pairs),
        "macro_f1": round(float(f1_score(labels, predicted, average="macro")), 4),
        # in-scope sentences that started the right flow
        "intent_recall": share([p for p in in_scope if p[0] == p[1]], in_scope),
        # in-scope sentences that started some flow, and how many of those were the right one
        "in_scope_coverage": share(accepted, in_scope),
        "accepted_accuracy": share([p for p in accepted if p[0] == p[1]], accepted),
        # out-of-scope sentences the bot did not mistake for an intent
        "fallback_recall": share([p for p in out_scope if p[1] == FALLBACK], out_scope),
        # of the sentences sent to the fallback, how many were really out of scope
        "fallback_precision": share([p for p in flagged if p[0] == FALLBACK], flagged),
    }


def measure(
    name: str, bot: CompiledBot, sets: Sequence[Path], thresholds: Thresholds, verbose: bool
) -> dict[str, Any]:
    embedder: Embedder = EMBEDDERS[name]()
    started = time.perf_counter()
    understanding = Understanding.train(bot.examples(), embedder, thresholds, None)
    train_s = time.perf_counter() - started
    results: dict[str, Any] = {"embedder": embedder.name, "train_s": round(train_s, 2)}
    every: list[tuple[str, str]] = []
    every_guess: list[str] = []
    for path in sets:
        rows = load(path)
        started = time.perf_counter()
        guesses = [understanding.intent(text) for text, _ in rows]
        per_sentence_ms = (time.perf_counter() - started) / len(rows) * 1000
        predicted = [guess.intent or FALLBACK for guess in guesses]
        figures = score(rows, predicted)
        figures["ms_per_sentence"] = round(per_sentence_ms, 2)
        results[path.stem] = figures
        every.extend(rows)
        every_guess.extend(predicted)
        for (text, gold), guess, raw in zip(rows, predicted, guesses, strict=True):
            if gold != guess:
                log(
                    f"  {name} {path.stem}: {text!r} is {gold}, got {guess}"
                    f" ({raw.reason or 'intent'}, {raw.confidence:.2f})",
                    verbose=verbose,
                )
    results["all"] = score(every, every_guess)
    return results


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sets", nargs="*", type=Path, help="text,category CSVs (default: the demo sets)")
    parser.add_argument("--embedders", default="e5,lexical", help="comma-separated: e5, lexical")
    parser.add_argument("--confidence", type=float, default=None, help="default: the demo bot's")
    parser.add_argument("--margin", type=float, default=None, help="default: the demo bot's")
    parser.add_argument("-v", "--verbose", action="store_true", help="misclassified sentences on stderr")
    args = parser.parse_args(argv)
    args.sets = args.sets or DEFAULT_SETS
    args.embedders = [e.strip() for e in args.embedders.split(",") if e.strip()]
    unknown = sorted(set(args.embedders) - set(EMBEDDERS))
    if unknown or not args.embedders:
        parser.error(f"unknown embedder(s) {unknown}; choose from {sorted(EMBEDDERS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    bot = demo_bot()
    understanding = bot.settings.understanding
    try:
        thresholds = Thresholds(
            understanding.confidence if args.confidence is None else args.confidence,
            understanding.margin if args.margin is None else args.margin,
        )
        phrases = {_key(p) for texts in bot.examples().values() for p in texts}
        rows = [row for path in args.sets for row in load(path)]
        intents = sorted(bot.examples())
        unknown = sorted({label for _, label in rows} - {*intents, FALLBACK})
        if unknown:
            msg = f"labels that are neither an intent of the demo bot nor {FALLBACK!r}: {unknown}"
            raise ValueError(msg)
        results = {name: measure(name, bot, args.sets, thresholds, args.verbose) for name in args.embedders}
    except (OSError, ValueError, KeyError) as exc:  # KeyError: a CSV without text,category columns
        log(f"demo_intents: {type(exc).__name__}: {exc}")
        return 2
    report = {
        "bench": "demo_intents",
        "bot_embedder": understanding.embedder,
        "intents": intents,
        "thresholds": {"confidence": thresholds.confidence, "margin": thresholds.margin},
        "sets": {path.stem: len(load(path)) for path in args.sets},
        "copies_of_trigger_phrases": sum(_key(text) in phrases for text, _ in rows),
        **results,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
