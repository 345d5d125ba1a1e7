"""Intent accuracy of the bot's understanding: few-shot and full training on an intent data set.

For each embedder (the lexical one is the baseline measured in the same run) it embeds the train
and test splits once, then fits ``omniroute.bots.understanding.intents.IntentModel`` — the same
code the bots use — on ``--shots`` examples per intent for each seed, and on the whole train split,
and scores the full test split. Each fit is done twice: as the product does it, with each intent's
name ("card_arrival" -> "card arrival") as one more weighted example (the ``fewshot_*``/``full_*``
figures), and without names (``*_no_names``), the protocol of the published anchor. For e5, a few-shot
fit also trains the product's lexical second view (``LexicalView``: the same head over the lexical
vectors, probabilities averaged in) whenever the product would (``wants_lexical_view``).
The data set is any folder with ``train.csv`` and ``test.csv``, or two files given with
``--train-csv`` and ``--test-csv`` (columns ``text,category``); by default BANKING77 in the shared
data folder. Prints one JSON line; progress on stderr.

    .venv/bin/python bench/intent_accuracy.py [DATA_DIR | --train-csv F --test-csv F]
        [--embedders lexical,e5] [--shots 8] [--seeds 0,1,2,3,4] [--timeout 1800]
        [--cache-dir DIR] [-v]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score  # type: ignore[import-untyped]

from omniroute.bots.understanding.e5 import E5Embedder
from omniroute.bots.understanding.embedder import Embedder, Vectors
from omniroute.bots.understanding.intents import (
    IntentModel,
    LexicalView,
    Thresholds,
    TrainingOptions,
    blend,
    intent_phrase,
    wants_lexical_view,
)
from omniroute.bots.understanding.lexical import LexicalEmbedder
from omniroute.core.errors import InvalidInput

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77"
#: MTEB Banking77Classification, all-MiniLM-L6-v2 frozen + logistic regression, 8 per intent.
ANCHOR_ACCURACY = 0.7975
GOAL_FEWSHOT, GOAL_FULL = 0.83, 0.92
DEFAULT_EMBEDDER = "e5"
EMBEDDERS: dict[str, Callable[[], Embedder]] = {"lexical": LexicalEmbedder, "e5": E5Embedder}
CHUNK = 256  # texts per embed call: small enough to check the deadline often
#: Seconds. A full BANKING77 run without a cache is about 420 s of CPU for e5 alone, i.e. about 4.5
#: minutes on an idle 2-vCPU VM but 15-17 minutes when other sessions share the cores (measured);
#: 30 minutes leaves room for that. With --cache-dir a run takes about 3 minutes under load.
DEFAULT_TIMEOUT = 1800.0
SINGLE_TEXTS = 20  # texts embedded one at a time for the per-utterance latency


def cpu_seconds() -> float:
    """This process's CPU time: unlike wall time, it hardly moves when other jobs share the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            msg = f"over the time limit ({self.end - self.start:.0f} s)"
            raise TimeoutError(msg)

    def elapsed(self) -> float:
        return time.monotonic() - self.start


@dataclass(frozen=True)
class Split:
    texts: list[str]
    labels: np.ndarray[Any, np.dtype[np.str_]]


def log(message: str, *, verbose: bool = True) -> None:
    if verbose:
        print(message, file=sys.stderr, flush=True)


def load_split(path: Path) -> Split:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(handle) if r["text"].strip()]
    if not rows:
        msg = f"{path}: no rows with text,category"
        raise ValueError(msg)
    return Split([t for t, _ in rows], np.array([c for _, c in rows]))


def embed(
    embedder: Embedder, texts: Sequence[str], deadline: Deadline, cache_dir: Path | None, verbose: bool
) -> tuple[Vectors, tuple[float, float] | None]:
    """The vectors, and the wall and CPU seconds they took (None when read from the cache)."""
    cache_file = None
    if cache_dir is not None:
        # The key includes fresh vectors of a probe sentence, so a changed model or feature set with
        # the same name never reads stale vectors.
        probe = embedder.embed(["probe: where is my card?"]).tobytes()
        digest = hashlib.sha256(embedder.name.encode() + probe + "\n".join(texts).encode()).hexdigest()
        cache_file = cache_dir / f"{embedder.name}-{digest[:24]}.npy"
        if cache_file.exists():
            log(f"  {len(texts)} vectors from {cache_file}", verbose=verbose)
            return np.load(cache_file), None
    chunks = []
    started, cpu_started = time.perf_counter(), cpu_seconds()
    for start in range(0, len(texts), CHUNK):
        deadline.check()
        chunks.append(embedder.embed(texts[start : start + CHUNK], kind="query"))
        if verbose and (start // CHUNK) % 8 == 7:
            rate = (start + CHUNK) / (time.perf_counter() - started)
            log(f"  embedded {start + CHUNK}/{len(texts)} ({rate:.0f}/s)")
    seconds = (time.perf_counter() - started, cpu_seconds() - cpu_started)
    vectors = np.concatenate(chunks)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache_file, vectors)
    return vectors, seconds


def single_text_ms(embedder: Embedder, texts: Sequence[str]) -> float:
    """Median latency of embedding one utterance alone, as a bot does for each customer turn."""
    timings = []
    for text in texts[:SINGLE_TEXTS]:
        started = time.perf_counter()
        embedder.embed([text])
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def few_shot_rows(labels: np.ndarray[Any, np.dtype[np.str_]], shots: int, seed: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    rows = []
    for category in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == category)
        rows.append(rng.choice(members, min(shots, len(members)), replace=False))
    return np.concatenate(rows)


@dataclass(frozen=True)
class LexicalVectors:
    """The lexical view's inputs for an e5 run: vectors of the same train and test sentences."""

    train: Vectors
    test: Vectors
    names: dict[str, Vectors]


def evaluate(
    train: Vectors,
    train_labels: np.ndarray[Any, np.dtype[np.str_]],
    test: Vectors,
    test_labels: np.ndarray[Any, np.dtype[np.str_]],
    thresholds: Thresholds,
    names: dict[str, Vectors] | None,
    lexical: tuple[LexicalVectors, np.ndarray[Any, Any]] | None = None,
) -> dict[str, float]:
    """``lexical``: the lexical vectors and the rows of them that ``train`` holds, to add the
    lexical view as ``IntentClassifier.train`` does (with names when ``names`` is given)."""
    options = TrainingOptions()
    started = time.perf_counter()
    model = IntentModel(train, train_labels.tolist(), options, names)
    probabilities = model.probabilities(test)
    lexical_mb = 0.0
    if lexical is not None and wants_lexical_view(model, options):
        vectors, rows = lexical
        view = IntentModel(
            vectors.train[rows], train_labels.tolist(), options, vectors.names if names else None
        )
        probabilities = blend(probabilities, view.probabilities(vectors.test), options.lexical_weight)
        lexical_mb = view.nbytes / 1e6
    fit_s = time.perf_counter() - started  # both views' fits and the test split's scoring
    order = np.argsort(-probabilities, axis=1)
    predicted = np.array(model.intents)[order[:, 0]]
    top = probabilities[np.arange(len(test)), order[:, 0]]
    margin = top - probabilities[np.arange(len(test)), order[:, 1]]
    accepted = (top >= thresholds.confidence) & (margin >= thresholds.margin)
    correct = predicted == test_labels
    return {
        "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(test_labels, predicted, average="macro")),
        "coverage": float(accepted.mean()),  # share that decide() would accept at the default thresholds
        "accepted_accuracy": float(correct[accepted].mean()) if accepted.any() else 0.0,
        "fit_s": fit_s,
        "projected": float(model.projected),
        "lexical_view": float(lexical_mb > 0),
        "lexical_view_mb": lexical_mb,
    }


def lexical_view_ms(
    vectors: LexicalVectors, rows: np.ndarray[Any, Any], train: Split, texts: Sequence[str]
) -> float:
    """Median extra latency of the lexical view for one utterance (embedding, head, average)."""
    options = TrainingOptions()
    model = IntentModel(vectors.train[rows], train.labels[rows].tolist(), options)
    view = LexicalView(model, options.lexical_weight)
    primary = np.full((1, len(model.intents)), 1.0 / len(model.intents))
    timings = []
    for text in texts[:SINGLE_TEXTS]:
        started = time.perf_counter()
        view.blend(primary, [text])
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(
    name: str, train: Split, test: Split, args: argparse.Namespace, deadline: Deadline
) -> dict[str, Any]:
    embedder = EMBEDDERS[name]()
    log(
        f"{name}: {embedder.name}, embedding {len(train.texts)} + {len(test.texts)} texts",
        verbose=args.verbose,
    )
    test_vectors, test_s = embed(embedder, test.texts, deadline, args.cache_dir, args.verbose)
    train_vectors, train_s = embed(embedder, train.texts, deadline, args.cache_dir, args.verbose)
    if test_s is None or train_s is None:  # from the cache: time a fresh sample instead
        sample = test.texts[:CHUNK]
        started, cpu_started = time.perf_counter(), cpu_seconds()
        embedder.embed(sample)
        count, wall_s, cpu_s = len(sample), time.perf_counter() - started, cpu_seconds() - cpu_started
    else:
        count = len(test.texts) + len(train.texts)
        wall_s, cpu_s = test_s[0] + train_s[0], test_s[1] + train_s[1]
    single_ms = single_text_ms(embedder, test.texts)
    thresholds = Thresholds()
    intents = sorted(set(train.labels.tolist()))
    name_vectors = embedder.embed([intent_phrase(i) for i in intents], kind="query")
    names = {intent: name_vectors[k] for k, intent in enumerate(intents)}
    lexical = None
    if name != "lexical":  # the product adds the lexical view to any other embedder
        words = LexicalEmbedder()
        lexical_names = words.embed([intent_phrase(i) for i in intents])
        lexical = LexicalVectors(
            embed(words, train.texts, deadline, args.cache_dir, args.verbose)[0],
            embed(words, test.texts, deadline, args.cache_dir, args.verbose)[0],
            {intent: lexical_names[k] for k, intent in enumerate(intents)},
        )
    runs, bare = [], []
    for seed in args.seeds:
        deadline.check()
        rows = few_shot_rows(train.labels, args.shots, seed)
        shots_x, shots_y = train_vectors[rows], train.labels[rows]
        with_rows = None if lexical is None else (lexical, rows)
        runs.append(evaluate(shots_x, shots_y, test_vectors, test.labels, thresholds, names, with_rows))
        bare.append(evaluate(shots_x, shots_y, test_vectors, test.labels, thresholds, None, with_rows))
        log(
            f"  {args.shots}-shot seed {seed}: accuracy {runs[-1]['accuracy']:.4f},"
            f" without names {bare[-1]['accuracy']:.4f}",
            verbose=args.verbose,
        )
    deadline.check()
    everything = None if lexical is None else (lexical, np.arange(len(train.texts)))
    full = evaluate(train_vectors, train.labels, test_vectors, test.labels, thresholds, names, everything)
    full_bare = evaluate(train_vectors, train.labels, test_vectors, test.labels, thresholds, None, everything)
    view_ms = None
    if lexical is not None and any(r["lexical_view"] for r in runs):
        first = few_shot_rows(train.labels, args.shots, args.seeds[0])
        view_ms = lexical_view_ms(lexical, first, train, test.texts)
    log(
        f"  full training: accuracy {full['accuracy']:.4f}, without names {full_bare['accuracy']:.4f}",
        verbose=args.verbose,
    )

    def mean(key: str) -> float:
        return round(statistics.fmean(r[key] for r in runs), 4)

    accuracies = [r["accuracy"] for r in runs]
    bare_accuracies = [r["accuracy"] for r in bare]
    return {
        "embedder": embedder.name,
        "dimension": embedder.dimension,
        "fewshot_accuracy_mean": round(statistics.fmean(accuracies), 4),
        "fewshot_accuracy_std": round(statistics.pstdev(accuracies), 4),
        "fewshot_accuracies": [round(a, 4) for a in accuracies],
        "fewshot_macro_f1_mean": mean("macro_f1"),
        "fewshot_coverage": mean("coverage"),
        "fewshot_accepted_accuracy": mean("accepted_accuracy"),
        "fewshot_fit_s": round(statistics.fmean(r["fit_s"] for r in runs), 2),
        "fewshot_projected": all(r["projected"] for r in runs),
        "fewshot_lexical_view": all(r["lexical_view"] for r in runs),
        "lexical_view_mb": round(max(r["lexical_view_mb"] for r in runs), 2),
        "lexical_view_single_p50_ms": None if view_ms is None else round(view_ms, 2),
        "fewshot_accuracy_mean_no_names": round(statistics.fmean(bare_accuracies), 4),
        "fewshot_accuracy_std_no_names": round(statistics.pstdev(bare_accuracies), 4),
        "fewshot_accuracies_no_names": [round(a, 4) for a in bare_accuracies],
        "full_accuracy": round(full["accuracy"], 4),
        "full_macro_f1": round(full["macro_f1"], 4),
        "full_coverage": round(full["coverage"], 4),
        "full_accepted_accuracy": round(full["accepted_accuracy"], 4),
        "full_fit_s": round(full["fit_s"], 2),
        "full_projected": bool(full["projected"]),
        "full_lexical_view": bool(full["lexical_view"]),
        "full_accuracy_no_names": round(full_bare["accuracy"], 4),
        "embed_sentences_per_s": round(count / wall_s, 1),
        "embed_cpu_ms_per_sentence": round(cpu_s / count * 1000, 2),
        "embed_single_p50_ms": round(single_ms, 2),
        "cached": test_s is None or train_s is None,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", nargs="?", type=Path, default=None, help="folder with train.csv, test.csv")
    parser.add_argument("--train-csv", type=Path, default=None, help="the train split as one file")
    parser.add_argument("--test-csv", type=Path, default=None, help="the test split as one file")
    parser.add_argument("--embedders", default="lexical,e5", help="comma-separated: lexical, e5")
    parser.add_argument("--shots", type=int, default=8, help="training examples per intent")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated few-shot sampling seeds")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="exit 2 if the run takes longer"
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="keep vectors between runs here")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    args.embedders = [e.strip() for e in args.embedders.split(",") if e.strip()]
    unknown = sorted(set(args.embedders) - set(EMBEDDERS))
    if unknown or not args.embedders:
        parser.error(f"unknown embedder(s) {unknown}; choose from {sorted(EMBEDDERS)}")
    if (args.train_csv is None) != (args.test_csv is None):
        parser.error("--train-csv and --test-csv go together")
    if args.train_csv is not None and args.data is not None:
        parser.error("give either a DATA folder or --train-csv/--test-csv, not both")
    if args.train_csv is None:
        folder = args.data if args.data is not None else DEFAULT_DATA
        args.train_csv, args.test_csv = folder / "train.csv", folder / "test.csv"
        args.data_name = folder.name
    else:
        args.data_name = args.train_csv.stem
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if args.shots < 1 or not args.seeds:
        parser.error("--shots must be positive and --seeds not empty")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = Deadline(args.timeout)
    try:
        train, test = load_split(args.train_csv), load_split(args.test_csv)
        results = {name: measure(name, train, test, args, deadline) for name in args.embedders}
    except TimeoutError as exc:
        log(f"intent_accuracy: {exc}")
        return 2
    # KeyError: a CSV without text,category columns; InvalidInput: fewer than two intents.
    except (OSError, ValueError, KeyError, InvalidInput) as exc:
        log(f"intent_accuracy: {type(exc).__name__}: {exc}")
        return 2
    baseline = results.get("lexical")
    for figures in results.values():
        figures["fewshot_vs_anchor"] = round(figures["fewshot_accuracy_mean"] / ANCHOR_ACCURACY, 4)
        figures["fewshot_no_names_vs_anchor"] = round(
            figures["fewshot_accuracy_mean_no_names"] / ANCHOR_ACCURACY, 4
        )
        if baseline is not None:
            figures["fewshot_vs_lexical"] = round(
                figures["fewshot_accuracy_mean"] / baseline["fewshot_accuracy_mean"], 4
            )
            figures["full_vs_lexical"] = round(figures["full_accuracy"] / baseline["full_accuracy"], 4)
            figures["speed_vs_lexical"] = round(
                figures["embed_sentences_per_s"] / baseline["embed_sentences_per_s"], 4
            )
    default = results.get(DEFAULT_EMBEDDER)
    report = {
        "bench": "intent_accuracy",
        "data": args.data_name,
        "train": len(train.texts),
        "test": len(test.texts),
        "intents": len(set(train.labels.tolist())),
        "shots": args.shots,
        "seeds": args.seeds,
        "thresholds": {"confidence": Thresholds().confidence, "margin": Thresholds().margin},
        "anchor_fewshot_accuracy": ANCHOR_ACCURACY,
        "goal_fewshot": GOAL_FEWSHOT,
        "goal_full": GOAL_FULL,
        "goal_fewshot_met": None if default is None else default["fewshot_accuracy_mean"] >= GOAL_FEWSHOT,
        "goal_full_met": None if default is None else default["full_accuracy"] >= GOAL_FULL,
        "goal_fewshot_met_no_names": None
        if default is None
        else default["fewshot_accuracy_mean_no_names"] >= GOAL_FEWSHOT,
        **results,
        "runtime_s": round(deadline.elapsed(), 1),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
