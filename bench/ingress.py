"""Inbound webhook throughput: signature check, dedupe and store, next to a bare endpoint.

One run per store, all on 127.0.0.1: SQLite in a temporary directory, then PostgreSQL in a
temporary database (``omniroute_bench_<random>``, dropped at the end) when a server answers at
``--postgres-url``. For each store:

1. Migrate, then seed a queue and a ``custom`` channel account (docs/channels/custom.md) through
   ``build_container``.
2. Serve ``create_app(settings)`` in a child process exactly like bench/message_latency.py does
   (its ``ServerProcess`` and ``serve`` are reused: uvicorn's defaults, stop on stdin EOF or at
   the deadline). The same app also carries a bare ``POST /__bench/webhooks/{account_id}`` that
   reads the body and answers 200: same uvicorn, same FastAPI router, none of Omniroute's work.
3. ``--clients`` concurrent clients (one keep-alive connection each) POST signed ``message``
   events, ``--messages`` unique ones from ``--senders`` senders plus a ``--redeliveries`` share
   of exact redeliveries (same bytes, same signature), first to the bare route, then to
   ``/webhooks/{account_id}``. Every POST must be answered 200.
4. The server's channel worker turns receipts into conversations in the background while the
   ingress runs; the bench waits until every receipt is processed (``processed_at`` set) and
   reports how long that took as a second figure.
5. After the server has stopped, the receipt log is read back: every unique message must be
   stored exactly once and nothing else.

Prints exactly one JSON line on stdout (see bench/README.md); logs go to stderr. Exits 0 when all
is well, 1 when an ack failed, a receipt is missing, duplicated or unprocessed, or PostgreSQL was
unreachable while ``CI`` is set; 2 when the run failed or exceeded ``--timeout``; 130 when
interrupted. The server processes and the temporary databases are cleaned up in every case.

``message_latency`` is imported as a sibling module: running this file puts bench/ on sys.path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import message_latency as ml
from omniroute.bootstrap import build_container
from omniroute.channels.custom import signing
from omniroute.channels.store import inbound_receipts
from omniroute.core.ids import new_id
from omniroute.core.migrations import upgrade_async
from omniroute.routing import store as routing_store
from omniroute.routing.store import Queue
from omniroute.settings import Settings

log = logging.getLogger("bench.ingress")

SCRIPT = str(Path(__file__).resolve())  # the server child process runs this file with --serve
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
POLL_SECONDS = 0.1
BenchError = ml.BenchError
#: Figures that must be 0; besides, ``stored`` and ``processed`` must equal ``messages``.
FAULTS = ("failed", "duplicates_stored", "missing", "unexpected_stored", "processing_errors", "bare_failed")


# -- the server (child process) ----------------------------------------------------------------


def add_bare_route(app: FastAPI) -> None:
    """A bare webhook endpoint on the application under test: read the body, answer 200."""
    router = APIRouter(prefix="/__bench", include_in_schema=False)

    @router.post("/webhooks/{account_id}")
    async def bare_webhook(account_id: str, request: Request) -> Response:
        await request.body()
        return Response(content=b'{"ok":true}', media_type="application/json")

    app.include_router(router)


def serve(config_json: str) -> int:
    """Child process: message_latency's server, with the bare webhook route instead of its own."""
    ml.add_baseline_routes = add_bare_route
    return ml.serve(config_json)


# -- databases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    account_id: str
    inbound_secret: str


async def seed(settings: Settings) -> Seeded:
    c = build_container(settings)
    try:
        queue = Queue(id=new_id(), name="Bench", description="Benchmark webhooks", is_default=True)
        async with c.db.write() as conn:
            await routing_store.insert_queue(conn, queue, c.clock.now())
        inbound_secret = secrets.token_hex(32)
        account = await c.channels.create_account(
            channel="custom",
            name="Bench",
            settings={"outbound_url": "http://127.0.0.1:9/unused"},
            secrets={"inbound_secret": inbound_secret, "outbound_secret": secrets.token_hex(32)},
            default_queue_id=queue.id,
        )
        return Seeded(account.id, inbound_secret)
    finally:
        await c.db.dispose()


async def postgres_admin(admin_url: str, statement: str) -> None:
    engine = create_async_engine(
        admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"timeout": 5}
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[str]:
    """A new empty database on the server behind ``admin_url``, dropped (forcibly) afterwards."""
    name = f"omniroute_bench_{secrets.token_hex(6)}"
    await postgres_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            await postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except (OSError, TimeoutError, sa.exc.SQLAlchemyError) as exc:  # never mask the run's outcome
            log.warning("could not drop the database %s: %r", name, exc)


async def postgres_unreachable(admin_url: str) -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        await postgres_admin(admin_url, "SELECT 1")
    except (OSError, TimeoutError, sa.exc.SQLAlchemyError) as exc:
        return f"PostgreSQL not reachable at {sa.make_url(admin_url).host}: {exc!r}"[:500]
    return None


async def processed_count(engine: AsyncEngine, account_id: str) -> int:
    t = inbound_receipts
    query = sa.select(sa.func.count(t.c.processed_at)).where(t.c.account_id == account_id)
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def wait_processed(engine: AsyncEngine, account_id: str, expected: int, seconds: float) -> int:
    """Until ``expected`` receipts are processed or ``seconds`` pass; returns how many are."""
    deadline = time.monotonic() + seconds
    while True:
        done = await processed_count(engine, account_id)
        if done >= expected or time.monotonic() > deadline:
            return done
        await asyncio.sleep(POLL_SECONDS)


@dataclass(frozen=True)
class StoredReceipt:
    dedupe_key: str
    processed_at: datetime | None
    error: str | None


async def stored_receipts(engine: AsyncEngine, account_id: str) -> list[StoredReceipt]:
    t = inbound_receipts
    query = sa.select(t.c.dedupe_key, t.c.processed_at, t.c.error).where(t.c.account_id == account_id)
    async with engine.connect() as conn:
        return [StoredReceipt(str(k), at, err) for k, at, err in await conn.execute(query)]


# -- load ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    message_id: str
    head: bytes  # the header lines after the request line, and the blank line
    body: bytes


def make_posts(
    prefix: str, count: int, senders: int, redeliveries: int, secret: str, rng: random.Random
) -> list[Post]:
    """``count`` signed unique message events, with ``redeliveries`` exact copies of some of them
    mixed in a little later (as a provider retries), so some race their original."""
    signed_at = int(time.time())
    unique = []
    for n in range(count):
        message_id, sender = f"{prefix}-{n}", n % senders
        body = json.dumps(
            {
                "type": "message",
                "id": message_id,
                "from": {"id": f"{prefix}-sender-{sender}", "name": f"Sender {sender}"},
                "text": f"Benchmark message {n} from sender {sender}",
                "sent_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        head = (
            "host: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            f"{signing.HEADER}: {signing.signature_header(secret, body, signed_at)}\r\n\r\n"
        )
        unique.append(Post(message_id, head.encode(), body))
    spread = max(8, count // 20)
    order = [(float(n), post) for n, post in enumerate(unique)]
    order += [(n + rng.uniform(0.5, spread), unique[n]) for n in rng.sample(range(count), redeliveries)]
    order.sort(key=lambda pair: pair[0])
    return [post for _, post in order]


class Client:
    """One keep-alive HTTP/1.1 connection, with just enough of the protocol for these POSTs.

    Not httpx: that costs the client about 1 ms of CPU per request, three times what the bare
    endpoint costs the server, and the clients share the machine's CPUs with the server.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, post: Post) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        try:
            writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\n" + post.head + post.body)
            await writer.drain()
            status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
            body = await reader.readexactly(int(fields.get("content-length", "0")))
        except BaseException:
            self.close()
            raise
        if fields.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split(" ", 2)[1]), body

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Acks:
    latencies_ms: list[float]  # ascending, acknowledged POSTs only
    elapsed_s: float
    failed: int
    server_cpu_s: float | None  # the server process's CPU time during the phase

    @property
    def per_s(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def p50(self) -> float | None:
        return ml.percentile(self.latencies_ms, 0.50)

    @property
    def p99(self) -> float | None:
        return ml.percentile(self.latencies_ms, 0.99)

    @property
    def cpu_ms_per_ack(self) -> float | None:
        if self.server_cpu_s is None or not self.latencies_ms:
            return None
        return round(self.server_cpu_s * 1000 / len(self.latencies_ms), 3)


async def post_all(clients: Sequence[Client], path: str, posts: Sequence[Post], server_pid: int) -> Acks:
    """Every client takes the next POST from the shared list until none are left."""
    pending = iter(posts)
    latencies: list[float] = []
    failed = 0

    async def run_client(client: Client) -> None:
        nonlocal failed
        for post in pending:
            sent = time.perf_counter_ns()
            try:
                async with asyncio.timeout(ml.HTTP_TIMEOUT):
                    status, body = await client.post(path, post)
            except (OSError, EOFError, ValueError, TimeoutError, asyncio.LimitOverrunError) as exc:
                failed += 1
                log.warning("POST %s (%s): %r", path, post.message_id, exc)
                continue
            if status != 200:
                failed += 1
                log.warning("POST %s (%s) -> %s %r", path, post.message_id, status, body[:200])
                continue
            latencies.append((time.perf_counter_ns() - sent) / 1e6)

    cpu_before, started = cpu_seconds(server_pid), time.perf_counter()
    await asyncio.gather(*(run_client(c) for c in clients))
    elapsed, cpu_after = time.perf_counter() - started, cpu_seconds(server_pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Acks(sorted(latencies), elapsed, failed, cpu)


# -- one store -----------------------------------------------------------------------------------


def make_settings(data_dir: Path, database_url: str) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True)
    return Settings(
        environment="test",
        data_dir=data_dir,
        database_url=database_url,  # "" is SQLite in data_dir, whatever OMNIROUTE_DATABASE_URL says
        redis_url="",  # the in-process bus
        port=0,  # the server process binds a free port itself
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
    )


async def measure_store(settings: Settings, args: argparse.Namespace, seconds_left: float) -> dict[str, Any]:
    url = settings.effective_database_url
    await upgrade_async(url)
    seeded = await seed(settings)
    rng = random.Random(args.seed)
    redeliveries = round(args.messages * args.redeliveries)
    warm = make_posts("warm", args.clients * args.warmup, args.clients, 0, seeded.inbound_secret, rng)
    posts = make_posts("m", args.messages, args.senders, redeliveries, seeded.inbound_secret, rng)
    bare_path, path = f"/__bench/webhooks/{seeded.account_id}", f"/webhooks/{seeded.account_id}"
    engine = create_async_engine(url, poolclass=NullPool)
    clients: list[Client] = []
    try:
        async with ml.ServerProcess(settings, deadline=seconds_left + ml.STOP_TIMEOUT) as server:
            assert server.proc is not None
            pid = server.proc.pid
            clients += [Client(server.port) for _ in range(args.clients)]
            for phase_path, label in ((bare_path, "bare"), (path, "ingress")):
                if (await post_all(clients, phase_path, warm, pid)).failed:
                    msg = f"{label} warm-up POSTs failed (see above)"
                    raise BenchError(msg)
            # The warm-up receipts are processed first, so the measured phases start on an idle worker.
            await wait_processed(engine, seeded.account_id, len(warm), args.process_timeout)
            bare = await post_all(clients, bare_path, posts, pid)
            log.info("bare: %.0f acks/s, p50 %s ms", bare.per_s, ml.ms(bare.p50))
            timeline = [datetime.now(UTC)]
            ingress = await post_all(clients, path, posts, pid)
            timeline.append(datetime.now(UTC))
            log.info("ingress: %.0f acks/s, p50 %s ms", ingress.per_s, ml.ms(ingress.p50))
            expected = len(warm) + args.messages
            done = await wait_processed(engine, seeded.account_id, expected, args.process_timeout)
            log.info("processed %d of %d receipts", done, expected)
        receipts = await stored_receipts(engine, seeded.account_id)  # the server has stopped
    finally:
        for client in clients:
            client.close()
        await engine.dispose()
    sent = {f"msg:{p.message_id}" for p in posts}
    measured = [r for r in receipts if not r.dedupe_key.startswith("msg:warm-")]
    return ingress_figures(ingress, measured, sent, timeline) | bare_figures(bare, ingress)


def ingress_figures(
    ingress: Acks, receipts: list[StoredReceipt], sent: set[str], timeline: list[datetime]
) -> dict[str, Any]:
    """Acks, what the receipt log holds, and when the worker was done with it."""
    started, ingress_done = timeline
    keys = {r.dedupe_key for r in receipts}
    processed = [r.processed_at for r in receipts if r.processed_at is not None]
    all_processed = bool(receipts) and len(processed) == len(receipts)
    processed_s = (max(processed) - started).total_seconds() if all_processed else None
    ingress_s = (ingress_done - started).total_seconds()
    return {
        "acks": len(ingress.latencies_ms),
        "acks_per_s": round(ingress.per_s, 1),
        "ack_p50_ms": ml.ms(ingress.p50),
        "ack_p99_ms": ml.ms(ingress.p99),
        "server_cpu_ms_per_ack": ingress.cpu_ms_per_ack,
        "failed": ingress.failed,
        "stored": len(keys & sent),
        "duplicates_stored": len(receipts) - len(keys),
        "missing": len(sent - keys),
        "unexpected_stored": len(keys - sent),
        "processed": len(processed),
        "processing_errors": sum(1 for r in receipts if r.error),
        "processed_s": None if processed_s is None else round(processed_s, 2),
        "processed_after_ingress_s": None if processed_s is None else round(processed_s - ingress_s, 2),
        "processed_per_s": round(len(processed) / processed_s, 1) if processed_s else None,
    }


def bare_figures(bare: Acks, ingress: Acks) -> dict[str, Any]:
    return {
        "bare_acks": len(bare.latencies_ms),
        "bare_acks_per_s": round(bare.per_s, 1),
        "bare_p50_ms": ml.ms(bare.p50),
        "bare_p99_ms": ml.ms(bare.p99),
        "bare_server_cpu_ms_per_ack": bare.cpu_ms_per_ack,
        "bare_failed": bare.failed,
        "ratio_acks_per_s": ml.ratio(bare.per_s, ingress.per_s),
        "ratio_p50": ml.ratio(ingress.p50, bare.p50),
    }


def faults(store: dict[str, Any], messages: int) -> bool:
    return any(store[k] for k in FAULTS) or store["stored"] != messages or store["processed"] != messages


# -- the run ---------------------------------------------------------------------------------------


async def measure(tmp: Path, args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    redeliveries = round(args.messages * args.redeliveries)
    result: dict[str, Any] = {
        "bench": "ingress",
        "clients": args.clients,
        "messages": args.messages,
        "senders": args.senders,
        "duplicates": redeliveries,
        "requests": args.messages + redeliveries,
    }
    log.info("SQLite")
    sqlite = make_settings(tmp / "sqlite", "")
    result["sqlite"] = await measure_store(sqlite, args, deadline - time.monotonic())
    skipped = "--skip-postgres" if args.skip_postgres else await postgres_unreachable(args.postgres_url)
    if skipped is not None:
        log.warning("PostgreSQL not measured: %s", skipped)
        result["postgresql"], result["postgresql_skipped"] = None, skipped
        return result
    log.info("PostgreSQL")
    async with postgres_database(args.postgres_url) as url:
        postgresql = make_settings(tmp / "postgresql", url)
        result["postgresql"] = await measure_store(postgresql, args, deadline - time.monotonic())
    return result


async def run(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Both stores under one deadline; servers stopped and databases dropped either way."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with asyncio.timeout(args.timeout) as limit:
            return await measure(tmp, args, time.monotonic() + args.timeout)
    except TimeoutError as exc:
        if limit.expired():
            msg = f"did not finish within --timeout {args.timeout:.0f}s"
            raise BenchError(msg) from None
        raise BenchError(f"timed out: {exc!r}") from exc
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        raise BenchError(f"{type(exc).__name__}: {exc}") from exc


#: (option, type, default, help) of the numeric options.
NUMBERS: tuple[tuple[str, type, float, str], ...] = (
    ("--clients", int, 20, "concurrent clients"),
    ("--messages", int, 2000, "unique messages per store"),
    ("--senders", int, 200, "distinct senders"),
    ("--redeliveries", float, 0.10, "exact redeliveries, as a share of --messages"),
    ("--warmup", int, 2, "unmeasured POSTs per client on each route first"),
    ("--process-timeout", float, 60.0, "seconds to wait for the worker to process the receipts"),
    ("--timeout", float, 170.0, "give up after this many seconds"),
    ("--seed", int, 6, "random seed for where the redeliveries fall"),
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Inbound webhook acks/s (signature, dedupe, store) on SQLite and PostgreSQL, "
        "next to a bare endpoint."
    )
    for option, kind, default, text in NUMBERS:
        p.add_argument(option, type=kind, default=default, help=f"{text} (default {default})")
    p.add_argument("--postgres-url", default=POSTGRES_URL, help=f"maintenance database ({POSTGRES_URL})")
    p.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    p.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    p.add_argument("--serve", help=argparse.SUPPRESS)  # internal: the server child process
    args = p.parse_args(argv)
    for name in ("clients", "messages", "senders"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if not 0 <= args.redeliveries <= 1:
        p.error("--redeliveries must be between 0 and 1")
    if args.warmup < 0 or args.timeout <= 0 or args.process_timeout <= 0:
        p.error("--warmup must be >= 0, --timeout and --process-timeout > 0")
    if sa.make_url(args.postgres_url).host not in {"127.0.0.1", "localhost"}:
        p.error("--postgres-url must point at 127.0.0.1: benchmarks stay on loopback")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        return serve(args.serve)
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    ml.SCRIPT = SCRIPT  # message_latency's ServerProcess starts this file's --serve
    try:
        with (
            tempfile.TemporaryDirectory(prefix="omniroute-bench-") as tmp,
            asyncio.Runner(loop_factory=ml.loop_factory()) as runner,
        ):
            result = runner.run(run(Path(tmp), args))
    except BenchError as exc:
        log.error("ingress: %s", exc, exc_info=args.verbose)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        log.error("ingress: interrupted")
        return 130
    print(json.dumps(result), flush=True)
    stores = [result["sqlite"], result["postgresql"]]
    bad = any(faults(s, args.messages) for s in stores if s is not None)
    if result["postgresql"] is None and os.environ.get("CI") and not args.skip_postgres:
        log.error("ingress: PostgreSQL was not measured and CI is set")
        bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
