"""Knowledge search: the database's full-text search (SQLite FTS5, PostgreSQL tsvector) next to an
in-memory Okapi BM25 (the rank-bm25 formula, written out here), on one corpus and one query set.

Corpus and queries come from BANKING77 (``text,category`` CSVs; any intent data set of that shape
works): each intent becomes one article (title: the intent's name; body: its training utterances as
a list), each test utterance is a query whose right answer is its intent's article. ``--filler``
adds articles of shuffled utterances, so latency is also measured on a larger base.

For each engine: indexing time per article (through ``KnowledgeService`` for the databases: row,
index and event in one transaction), query latency (p50/p95, ms), hit@1, hit@5 and MRR. For the
in-memory index also its build time and memory (tracemalloc peak), which every node would pay at
start and keep in step by itself.

Prints one JSON line on stdout; progress on stderr with ``-v``. Exits 2 on failure or timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import math
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from omniroute.bootstrap import make_article_search
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.clock import ManualClock
from omniroute.core.db import Database
from omniroute.core.migrations import upgrade
from omniroute.core.uow import Publisher
from omniroute.knowledge.model import Content, fold, slugify
from omniroute.knowledge.search import STOP_WORDS
from omniroute.knowledge.service import KnowledgeService

log = logging.getLogger("bench.knowledge_search")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77"
WORD = re.compile(r"\w+")


def load(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [(row["text"], row["category"]) for row in csv.DictReader(f)]


def corpus(train: list[tuple[str, str]], filler: int, seed: int) -> list[tuple[str, str, str]]:
    """(key, title, Markdown body): one article per intent, then ``filler`` decoys."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for utterance, intent in train:
        by_intent[intent].append(utterance)
    articles = [
        (intent, intent.replace("_", " ").capitalize(), "\n".join(f"- {u}" for u in texts[:60]))
        for intent, texts in sorted(by_intent.items())
    ]
    rng = random.Random(seed)
    pool = [u for u, _ in train]
    for n in range(filler):
        words = " ".join(rng.sample(pool, 12)).split()
        rng.shuffle(words)
        articles.append((f"filler-{n}", " ".join(words[:5]).capitalize(), " ".join(words)))
    return articles


def tokens(value: str) -> list[str]:
    return [t for t in WORD.findall(fold(value)) if t not in STOP_WORDS and (len(t) > 1 or t.isdigit())]


class MemoryBM25:
    """Okapi BM25 as rank-bm25's BM25Okapi computes it (k1 1.5, b 0.75, epsilon 0.25), postings in
    dicts; the title counts three times, as a stand-in for field weights."""

    def __init__(self, docs: list[tuple[str, str, str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.keys = [key for key, _, _ in docs]
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: list[int] = []
        for i, (_, title, body) in enumerate(docs):
            counts = Counter(tokens(title) * 3 + tokens(body))
            self.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings[term].append((i, tf))
        n = len(docs)
        self.avgdl = sum(self.lengths) / n
        idf = {t: math.log((n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}
        floor = 0.25 * (sum(idf.values()) / len(idf))
        self.idf = {t: v if v >= 0 else floor for t, v in idf.items()}

    def search(self, query: str, limit: int = 20) -> list[str]:
        scores: dict[int, float] = defaultdict(float)
        for term in set(tokens(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for doc, tf in self.postings[term]:
                norm = 1 - self.b + self.b * self.lengths[doc] / self.avgdl
                scores[doc] += idf * tf * (self.k1 + 1) / (tf + self.k1 * norm)
        best = sorted(scores.items(), key=lambda item: -item[1])[:limit]
        return [self.keys[doc] for doc, _ in best]


def quality(ranked: list[list[str]], answers: list[str]) -> dict[str, float]:
    if not answers:
        return {}
    hit1 = hit5 = rr = 0.0
    for keys, answer in zip(ranked, answers, strict=True):
        if answer in keys:
            position = keys.index(answer) + 1
            hit1 += position == 1
            hit5 += position <= 5
            rr += 1 / position
    n = len(answers)
    return {"hit_at_1": round(hit1 / n, 4), "hit_at_5": round(hit5 / n, 4), "mrr": round(rr / n, 4)}


def latency(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
    }


async def run_database(
    url: str, articles: list[tuple[str, str, str]], queries: list[tuple[str, str]], n_quality: int
) -> dict[str, Any]:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        service = KnowledgeService(db, Publisher(db, MemoryBus(), ManualClock()), make_article_search(db))
        keys: dict[str, str] = {}
        started = time.perf_counter()
        for key, title, body in articles:
            created = await service.create(
                Content(title, body, language="en"), author_id=None, slug=slugify(key)
            )
            await service.publish(created.id, expected_version=1, by=None)
            keys[created.id] = key
        write_s = time.perf_counter() - started
        ranked: list[list[str]] = []
        samples: list[float] = []
        for query, _ in queries:
            t0 = time.perf_counter()
            found = await service.search(query, is_author=False, limit=20)
            samples.append(time.perf_counter() - t0)
            ranked.append([keys[f.article.id] for f in found])
        return {
            "write_ms_per_article": round(write_s / len(articles) * 1000, 3),
            "search_with_snippets_and_rows": latency(samples),
            **quality(ranked[:n_quality], [a for _, a in queries[:n_quality]]),
        }
    finally:
        await db.dispose()


async def postgres_database(admin_url: str) -> tuple[str, str] | None:
    name = f"omniroute_bench_{secrets.token_hex(6)}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        log.warning("PostgreSQL not reachable at %s: %s", admin_url, exc)
        return None
    finally:
        await engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


async def drop_postgres(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    train, test = load(args.data / "train.csv"), load(args.data / "test.csv")
    rng = random.Random(args.seed)
    queries = rng.sample(test, min(args.queries, len(test)))
    n_quality = len(queries)
    base = corpus(train, 0, args.seed)
    big = corpus(train, args.filler, args.seed)
    result: dict[str, Any] = {
        "bench": "knowledge_search",
        "articles": len(base),
        "articles_with_filler": len(big),
        "queries": len(queries),
    }

    tracemalloc.start()
    t0 = time.perf_counter()
    memory = MemoryBM25(big)
    build_s = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    small = MemoryBM25(base)
    samples = []
    for query, _ in queries:
        t1 = time.perf_counter()
        memory.search(query)
        samples.append(time.perf_counter() - t1)
    result["memory_bm25"] = {
        "build_ms": round(build_s * 1000, 1),
        "build_peak_mib": round(peak / 2**20, 2),
        "search_ids_only": latency(samples),
        **quality([small.search(q) for q, _ in queries], [a for _, a in queries]),
    }

    # Quality on the intent articles alone, latency on the larger base: two databases per engine.
    with tempfile.TemporaryDirectory() as tmp:
        log.info("sqlite")
        q = await run_database(f"sqlite+aiosqlite:///{tmp}/q.db", base, queries, n_quality)
        s = await run_database(f"sqlite+aiosqlite:///{tmp}/s.db", big, queries, 0)
        result["sqlite_fts5"] = {
            **q,
            "with_filler": {k: s[k] for k in ("write_ms_per_article", "search_with_snippets_and_rows")},
        }

    for label in ("q", "s"):
        made = await postgres_database(args.postgres_url)
        if made is None:
            if os.environ.get("CI"):
                raise SystemExit(2)
            result["postgres_tsvector"] = None
            break
        url, name = made
        try:
            log.info("postgres %s", label)
            figures = await run_database(
                url, base if label == "q" else big, queries, n_quality if label == "q" else 0
            )
        finally:
            await drop_postgres(args.postgres_url, name)
        if label == "q":
            result["postgres_tsvector"] = figures
        else:
            result["postgres_tsvector"]["with_filler"] = {
                k: figures[k] for k in ("write_ms_per_article", "search_with_snippets_and_rows")
            }
    return result


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with train.csv and test.csv")
    p.add_argument("--queries", type=int, default=1000, help="test utterances used as queries")
    p.add_argument("--filler", type=int, default=1000, help="decoy articles for the latency runs")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "OMNIROUTE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("-v", action="store_true", help="progress on stderr")
    return p.parse_args(argv)


if __name__ == "__main__":
    arguments = parse(sys.argv[1:])
    logging.basicConfig(level=logging.INFO if arguments.v else logging.WARNING, stream=sys.stderr)
    try:
        figures = asyncio.run(asyncio.wait_for(main(arguments), arguments.timeout))
    except (TimeoutError, OSError) as exc:
        log.error("failed: %s", exc)
        sys.exit(2)
    print(json.dumps(figures))
