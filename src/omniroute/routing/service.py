"""Routing as the rest of Omniroute sees it: plan new work, hand it over, answer offers.

Classification and route-to-queue run here, in the caller's transaction; assignment decisions are
the leader's (``routing.leader``), reached through durable commands (``routing.commands``), so they
are single-writer across nodes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError

from omniroute.conversations.events import ConversationQueued, ConversationStateChanged
from omniroute.conversations.model import Conversation, SenderKind
from omniroute.conversations.service import ConversationService
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, DomainError, InvalidInput, NotFound
from omniroute.core.events import DomainEvent
from omniroute.core.ids import new_id
from omniroute.core.lease import Lease
from omniroute.core.uow import Publisher, UnitOfWork
from omniroute.routing import store
from omniroute.routing.classify import classify
from omniroute.routing.commands import CommandQueue
from omniroute.routing.commands import enqueue as enqueue_command
from omniroute.routing.config import OverflowAction, OverflowRule, RoutingConfig
from omniroute.routing.config_service import RoutingConfigService
from omniroute.routing.engine import ChoiceRequested
from omniroute.routing.events import OfferCreated
from omniroute.routing.leader import RoutingLeader
from omniroute.routing.model import Presence
from omniroute.routing.overflow import BEFORE_QUEUEING, QueueLoad, first_overflow
from omniroute.routing.rules import time_attributes
from omniroute.routing.store import ROUTING_KEY, Queue, Session, WorkItemRow

log = logging.getLogger(__name__)

MAX_PREFERRED_AGENTS = 3

#: How long an external chooser may think before the ranking decides instead.
CHOOSER_TIMEOUT = 3.0


@dataclass(frozen=True)
class RoutingPlan:
    """Where new work goes and what it needs, decided by classification and route-to-queue."""

    queue: Queue
    priority: int
    skills: dict[str, int]
    capacity_units: int | None
    attributes: dict[str, Any]
    trace: list[str]
    config_version: int | None
    end_message: str | None = None  # set when overflow says "end with message"


@dataclass(frozen=True)
class AgentState:
    agent_id: str
    presence: Presence
    queues: list[Queue]
    pending_offers: list[Session]


class RoutingService:
    """What the rest of Omniroute asks of routing, on any node.

    Decisions are made by the leader (``routing.leader``); this facade turns requests into routing
    commands (``routing.commands``), durable and applied in order, and waits for their results.
    """

    def __init__(
        self,
        *,
        db: Database,
        publisher: Publisher,
        conversations: ConversationService,
        configs: RoutingConfigService,
        commands: CommandQueue,
        leader: RoutingLeader,
        lease: Lease,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.conversations = conversations
        self.configs = configs
        self.commands = commands
        self.leader = leader
        self.lease = lease
        #: Set while this node is the routing leader (health checks, tests).
        self.leading = asyncio.Event()
        publisher.add_listener(self._after_commit)
        leader.ask_chooser = self._ask_chooser
        self._http: httpx.AsyncClient | None = None
        #: Checks run before a transfer or consult; each raises (e.g. Conflict) when something
        #: other than routing holds the conversation (a bot: bootstrap wires it).
        self._hold_checks: list[Callable[[str], Awaitable[None]]] = []
        self._asks: set[asyncio.Task[None]] = set()

    def check_holders(self, check: Callable[[str], Awaitable[None]]) -> None:
        """Register a check that refuses a transfer or consult of a conversation it holds."""
        self._hold_checks.append(check)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.commands.start()
        await self.lease.start(self._lead, self._follow)

    async def stop(self) -> None:
        await self.lease.stop()
        for task in list(self._asks):
            task.cancel()
        await asyncio.gather(*self._asks, return_exceptions=True)
        await self.commands.stop()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- the external assignment method --------------------------------------------------------

    def _ask_chooser(self, request: ChoiceRequested, endpoint: str) -> None:
        task = asyncio.get_running_loop().create_task(self._ask(request, endpoint))
        self._asks.add(task)
        task.add_done_callback(self._asks.discard)

    async def _ask(self, request: ChoiceRequested, endpoint: str) -> None:
        """POST the candidates to the queue's endpoint; its answer (or none) goes back as a command."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(CHOOSER_TIMEOUT))
        agent_id: str | None = None
        try:
            response = await self._http.post(
                endpoint,
                json={
                    "conversation_id": request.item_id,
                    "queue_id": request.queue_id,
                    "candidates": list(request.candidates),
                },
            )
            answer = response.json() if response.status_code == 200 else {}
            chosen = answer.get("agent_id") if isinstance(answer, dict) else None
            agent_id = chosen if isinstance(chosen, str) else None
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("external chooser %s failed for %s: %r", endpoint, request.item_id, exc)
        try:
            await self.commands.submit("choose", {"conversation_id": request.item_id, "agent_id": agent_id})
        except DomainError as exc:
            log.warning("could not apply the chooser's answer for %s: %s", request.item_id, exc.reason)

    async def _lead(self) -> None:
        await self.leader.start()
        self.commands.serve(self.leader.handle, on_crash=self.leader.rebuild)
        self.leading.set()

    async def _follow(self) -> None:
        self.leading.clear()
        await self.commands.stop_serving()
        await self.leader.stop()

    def _after_commit(self, events: Sequence[DomainEvent]) -> None:
        """Commands written inside other slices' transactions: wake the leader once they commit."""
        if any(isinstance(e, (ConversationQueued, ConversationStateChanged)) for e in events):
            self._notify_task = asyncio.get_running_loop().create_task(self.commands.notify())

    # -- new work ------------------------------------------------------------------------------------

    async def plan_work(
        self,
        uow: UnitOfWork,
        *,
        item_id: str,
        channel: str,
        attributes: dict[str, Any],
        requested_queue: str | None,
        fallback_queue_id: str | None,
    ) -> RoutingPlan:
        """Classify new work, choose its queue and apply overflow, with every step on the trace."""
        active = await self.configs.active()
        config = active.config
        now = uow.clock.now()
        facts = {"channel": channel, **attributes, "time": time_attributes(now)}
        overflowing = await self._overflowing(uow, config, now)
        classified = classify(
            config,
            item_id,
            facts,
            requested_queue=requested_queue,
            is_overflowing=lambda name: name in overflowing,
        )
        stream = config.workstream_for(channel)
        fallback = classified.queue or (stream.fallback_queue if stream else None)
        queue = await self.resolve_queue(uow, fallback, fallback_queue_id)
        trace = list(classified.trace)
        if active.version is not None:
            trace.insert(0, f"routing configuration version {active.version}")
        found = dict(classified.attributes)
        capacity_units = classified.capacity_units
        customer_id = (attributes.get("customer") or {}).get("id")
        preferred = (
            await store.preferred_agents(uow.conn, customer_id) if isinstance(customer_id, str) else []
        )
        if preferred:
            trace.append(f"preferred agents: {', '.join(preferred)}")
            found[ROUTING_KEY] = {"preferred_agents": preferred}
        if stream is not None:
            trace.append(f"workstream {stream.id!r} ({stream.mode})")
            if capacity_units is None and stream.capacity_units:
                capacity_units = stream.capacity_units
            affinity = None
            if stream.keep_same_agent and isinstance(customer_id, str):
                affinity = await self.conversations.last_agent_for_customer(uow.conn, customer_id)
                if affinity:
                    trace.append(f"keep same agent: {affinity} served this customer last")
            found[ROUTING_KEY] = {
                **found.get(ROUTING_KEY, {}),
                "workstream": stream.id,
                "push": stream.mode == "push",
                "allowed_presences": [p.value for p in stream.allowed_presences],
                "affinity_agent": affinity,
            }
        end_message: str | None = None
        seen = {queue.name}
        while (rule := overflowing.get(queue.name)) is not None:
            trace.append(f"queue {queue.name!r} overflows ({rule.when.value}): {rule.action.value}")
            if rule.action is OverflowAction.TRANSFER_TO_QUEUE and rule.queue not in seen:
                queue = await self.resolve_queue(uow, rule.queue, None)
                seen.add(queue.name)
                continue
            if rule.action is OverflowAction.END_WITH_MESSAGE:
                end_message = rule.message
            elif rule.action is OverflowAction.OFFER_CALLBACK:
                found = {**found, "callback_offered": True}
            break
        trace.append(f"queued in {queue.name!r}" if end_message is None else "ended by overflow")
        return RoutingPlan(
            queue=queue,
            priority=classified.priority,
            skills=classified.skills,
            capacity_units=capacity_units,
            attributes=found,
            trace=trace,
            config_version=active.version,
            end_message=end_message,
        )

    async def _overflowing(
        self, uow: UnitOfWork, config: RoutingConfig, now: datetime
    ) -> dict[str, OverflowRule]:
        """Queues whose before-queueing overflow condition holds now, with the rule that fired."""
        result: dict[str, OverflowRule] = {}
        for settings in config.queues:
            if not any(r.when in BEFORE_QUEUEING for r in settings.overflow):
                continue
            queue = await store.get_queue_by_name(uow.conn, settings.queue)
            if queue is None:
                continue
            waiting = await self.conversations.count_waiting(uow.conn, queue.id)
            stats = await store.queue_stats(uow.conn, queue.id, waiting)
            rule = first_overflow(
                settings, QueueLoad(stats.waiting, stats.staffed, stats.mean_handle_seconds), now
            )
            if rule is not None:
                result[settings.queue] = rule
        return result

    async def enqueue(self, uow: UnitOfWork, conv: Conversation, plan: RoutingPlan) -> None:
        """Record the plan as the conversation's work item and hand it to routing."""
        await self.record_plan(uow, conv, plan)
        await enqueue_command(uow.conn, "submit", {"conversation_id": conv.id}, uow.clock.now())

    async def assign_external(self, uow: UnitOfWork, conv: Conversation, agent_id: str) -> None:
        """Work an agent already took outside routing (a call the CCaaS connected to them).

        Written in the caller's transaction; the leader records the assignment and lets it use
        the agent's capacity for its channel (a voice call blocks chats as the agent's capacity
        profile says) until the conversation ends. Idempotent: a second call changes nothing.
        """
        await enqueue_command(
            uow.conn, "external", {"conversation_id": conv.id, "agent_id": agent_id}, uow.clock.now()
        )

    async def enqueue_or_end(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        plan: RoutingPlan,
        *,
        sender_kind: SenderKind = SenderKind.SYSTEM,
        sender_name: str = "Omniroute",
    ) -> Conversation:
        """Queue the conversation by its plan — or, when overflow says nobody can take it now
        (out of hours…), keep the plan, tell the customer why (``plan.end_message``, from
        ``sender_name``) and end the conversation. Returns the conversation as it now is."""
        if plan.end_message is None:
            await self.enqueue(uow, conv, plan)
            return conv
        await self.record_plan(uow, conv, plan)
        conv = await self.conversations.load(uow, conv.id)
        await self.conversations.append(
            uow, conv, sender_kind=sender_kind, sender_id=None, sender_name=sender_name, text=plan.end_message
        )
        conv = await self.conversations.load(uow, conv.id)
        return await self.conversations.end_in(uow, conv, SenderKind.SYSTEM, "Omniroute")

    async def record_plan(self, uow: UnitOfWork, conv: Conversation, plan: RoutingPlan) -> None:
        await store.upsert_work_item(
            uow.conn,
            WorkItemRow(
                conversation_id=conv.id,
                priority=plan.priority,
                required_skills=plan.skills,
                capacity_units=plan.capacity_units,
                attributes=_jsonable(plan.attributes),
                trace=plan.trace,
                config_version=plan.config_version,
            ),
        )

    async def trace(self, conversation_id: str) -> tuple[WorkItemRow | None, list[Session]]:
        async with self.db.read() as conn:
            return (
                await store.get_work_item(conn, conversation_id),
                await store.sessions_for_conversation(conn, conversation_id),
            )

    # -- hooks called by the conversation slice inside its unit of work -------------------

    async def conversation_ended(self, uow: UnitOfWork, conv: Conversation) -> None:
        """Pending offers are withdrawn; an accepted session keeps capacity per the wrap-up rule."""
        by = conv.ended_by.value if conv.ended_by else None
        await enqueue_command(uow.conn, "ended", {"conversation_id": conv.id, "by": by}, uow.clock.now())

    async def conversation_closed(self, uow: UnitOfWork, conv: Conversation) -> None:
        await enqueue_command(uow.conn, "closed", {"conversation_id": conv.id}, uow.clock.now())

    # -- agent commands ----------------------------------------------------------------------------

    async def set_presence(self, agent_id: str, presence: str) -> tuple[Presence, str | None]:
        """A base presence, or a custom one from the configuration (which maps to a base one).

        Returns (base presence, custom presence or None)."""
        config = (await self.configs.active()).config
        custom = {p.id for p in config.custom_presences}
        base_values = {p.value for p in Presence} - {Presence.INACTIVE.value}
        if presence not in base_values and presence not in custom:
            options = ", ".join(sorted(base_values | custom))
            msg = f"unknown presence {presence!r}; choose one of {options}"
            raise InvalidInput(msg)
        result = await self.commands.submit("presence", {"agent_id": agent_id, "presence": presence})
        return Presence(result["presence"]), result.get("custom_presence")

    async def accept(self, agent_id: str, session_id: str) -> Conversation:
        result = await self.commands.submit("accept", {"agent_id": agent_id, "session_id": session_id})
        if "refused" in result:
            raise Conflict(str(result["refused"]))
        return await self.conversations.get(str(result["conversation_id"]))

    async def reject(self, agent_id: str, session_id: str) -> None:
        await self.commands.submit("reject", {"agent_id": agent_id, "session_id": session_id})

    async def transfer(
        self,
        actor_id: str,
        conversation_id: str,
        *,
        queue_id: str | None,
        agent_id: str | None,
        note: str,
        supervisor: bool = False,
    ) -> Conversation:
        """Hand a conversation in progress to a queue or to one colleague (who may decline)."""
        for check in self._hold_checks:
            await check(conversation_id)
        await self.commands.submit(
            "transfer",
            {
                "actor_id": actor_id,
                "conversation_id": conversation_id,
                "queue_id": queue_id,
                "agent_id": agent_id,
                "note": note[:2000],
                "supervisor": supervisor,
            },
        )
        return await self.conversations.get(conversation_id)

    async def consult(
        self, actor_id: str, conversation_id: str, agent_id: str, *, supervisor: bool = False
    ) -> list[Session]:
        """Bring a colleague into a conversation in progress; they see it and take no capacity."""
        for check in self._hold_checks:
            await check(conversation_id)
        await self.commands.submit(
            "consult",
            {
                "actor_id": actor_id,
                "conversation_id": conversation_id,
                "agent_id": agent_id,
                "supervisor": supervisor,
            },
        )
        return await self.consultants(conversation_id)

    async def end_consult(
        self, actor_id: str, conversation_id: str, agent_id: str, *, supervisor: bool = False
    ) -> None:
        await self.commands.submit(
            "end_consult",
            {
                "actor_id": actor_id,
                "conversation_id": conversation_id,
                "agent_id": agent_id,
                "supervisor": supervisor,
            },
        )

    async def promote(
        self, actor_id: str, conversation_id: str, agent_id: str, *, supervisor: bool = False
    ) -> tuple[Conversation, bool]:
        """Hand the conversation to its consultant. Returns (conversation, assigned now)."""
        result = await self.commands.submit(
            "promote",
            {
                "actor_id": actor_id,
                "conversation_id": conversation_id,
                "agent_id": agent_id,
                "supervisor": supervisor,
            },
        )
        return await self.conversations.get(conversation_id), bool(result.get("assigned"))

    async def consultants(self, conversation_id: str) -> list[Session]:
        async with self.db.read() as conn:
            return await store.consult_sessions(conn, conversation_id=conversation_id)

    async def consulting(self, agent_id: str) -> list[Conversation]:
        """The conversations an agent is helping on (not holding)."""
        async with self.db.read() as conn:
            ids = [s.conversation_id for s in await store.consult_sessions(conn, agent_id=agent_id)]
            return [await self.conversations.get_in(conn, conv_id) for conv_id in dict.fromkeys(ids)]

    async def is_consulting(self, agent_id: str, conversation_id: str) -> bool:
        async with self.db.read() as conn:
            return bool(
                await store.consult_sessions(conn, conversation_id=conversation_id, agent_id=agent_id)
            )

    async def customers_merged(self, uow: UnitOfWork, merged_id: str, survivor_id: str) -> None:
        await store.move_preferred_agents(uow.conn, merged_id, survivor_id)

    async def preferred_agents(self, customer_id: str) -> list[str]:
        async with self.db.read() as conn:
            return await store.preferred_agents(conn, customer_id)

    async def set_preferred_agents(self, customer_id: str, agent_ids: list[str]) -> list[str]:
        """Up to three agents, in order, tried first for this customer's new work."""
        wanted = list(dict.fromkeys(agent_ids))
        if len(wanted) > MAX_PREFERRED_AGENTS:
            msg = f"at most {MAX_PREFERRED_AGENTS} preferred agents"
            raise InvalidInput(msg)
        try:
            async with self.db.write() as conn:
                await store.replace_preferred_agents(conn, customer_id, wanted)
        except IntegrityError as exc:
            raise NotFound("unknown customer or agent") from exc
        return wanted

    async def pick(self, agent_id: str, conversation_id: str) -> Conversation:
        """An agent takes waiting work themselves (pick-mode workstreams, or from the queue view)."""
        await self.commands.submit("pick", {"agent_id": agent_id, "conversation_id": conversation_id})
        return await self.conversations.get(conversation_id)

    async def position(self, conversation_id: str) -> dict[str, Any]:
        """Queue position and estimated wait of waiting work (for the customer)."""
        return await self.commands.submit("position", {"conversation_id": conversation_id})

    async def waiting_in(self, queue_id: str) -> list[Conversation]:
        async with self.db.read() as conn:
            return await self.conversations.waiting_in(conn, queue_id)

    async def agents_changed(self, agent_ids: list[str]) -> None:
        """Skills, membership or capacity changed in the store: routing reloads those agents."""
        if agent_ids:
            await self.commands.submit("agent_changed", {"agent_ids": sorted(set(agent_ids))})

    async def kick(self) -> None:
        """The routing configuration or the queues changed: routing reloads them."""
        await self.commands.submit("config_changed", {})

    # -- queries and administration ------------------------------------------------------------

    async def custom_presence(self, agent_id: str) -> str | None:
        async with self.db.read() as conn:
            return await store.custom_presence_of(conn, agent_id)

    async def presences(self) -> dict[str, tuple[Presence, str | None]]:
        """Every known agent's base presence and custom presence (for pickers and boards)."""
        async with self.db.read() as conn:
            rows = await store.all_agents(conn)
            customs = await store.custom_presences(conn, rows)
        return {agent_id: (row.presence, customs.get(agent_id)) for agent_id, row in rows.items()}

    async def load(self, agent_id: str) -> tuple[dict[str, int], str | None]:
        """The agent's open conversations per channel and the capacity profile they work under."""
        async with self.db.read() as conn:
            active = await store.active_by_channel(conn, agent_id)
            profile = (await store.agent_profile_map(conn, [agent_id])).get(agent_id)
        return active, profile

    async def agent_state(self, agent_id: str) -> AgentState:
        async with self.db.read() as conn:
            row = await store.get_agent(conn, agent_id)
            return AgentState(
                agent_id=agent_id,
                presence=row.presence if row else Presence.OFFLINE,
                queues=await store.queues_of(conn, agent_id),
                pending_offers=await store.pending_offers(conn, agent_id),
            )

    async def create_queue(self, name: str, description: str) -> Queue:
        clean = name.strip()
        if not clean or len(clean) > 120:
            raise InvalidInput("queue name must have 1 to 120 characters")
        queue = Queue(id=new_id(), name=clean, description=description.strip()[:500], is_default=False)
        msg = f"a queue named {clean!r} already exists"
        try:
            async with self.db.write() as conn:
                if await store.get_queue_by_name(conn, clean) is not None:
                    raise Conflict(msg)
                await store.insert_queue(conn, queue, self.publisher.clock.now())
        except IntegrityError as exc:  # created concurrently: the unique index decides
            raise Conflict(msg) from exc
        return queue

    async def set_members(self, queue_id: str, user_ids: list[str]) -> list[str]:
        """Replace a queue's members; routing picks the change up at once."""
        wanted = sorted(set(user_ids))
        async with self.db.write() as conn:
            if await store.get_queue(conn, queue_id) is None:
                msg = f"no queue {queue_id}"
                raise NotFound(msg)
            before = (await store.member_ids(conn, [queue_id])).get(queue_id, set())
            await store.replace_members(conn, queue_id, wanted)
        await self.agents_changed(sorted(before ^ set(wanted)))
        return wanted

    async def members(self, queue_id: str) -> list[str]:
        async with self.db.read() as conn:
            return sorted((await store.member_ids(conn, [queue_id])).get(queue_id, set()))

    async def queues(self) -> list[Queue]:
        async with self.db.read() as conn:
            return await store.list_queues(conn)

    async def resolve_queue(self, uow: UnitOfWork, requested: str | None, fallback_id: str | None) -> Queue:
        """The queue for new work: the one asked for (by id or name), else the channel's, else default."""
        for key in (requested, fallback_id):
            if not key:
                continue
            queue = await store.get_queue(uow.conn, key) or await store.get_queue_by_name(uow.conn, key)
            if queue is not None:
                return queue
        queue = await store.get_default_queue(uow.conn)
        if queue is None:
            raise InvalidInput("no queue is configured")
        return queue

    async def offer_view(self, session: Session) -> OfferCreated:
        """Rebuild what an agent needs to show a pending offer (for snapshots)."""
        async with self.db.read() as conn:
            return await self.leader.offer_event(conn, session, session.offered_at)


def _jsonable(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes come from customers and rules; keep only what JSON can hold."""
    result: dict[str, Any] = json.loads(json.dumps(attributes, default=str))
    return result
