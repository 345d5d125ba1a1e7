"""The one wiring point: settings in, a running application out.

Nothing else in Omniroute picks an implementation (database, bus, clock) or creates an engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from omniroute import __version__
from omniroute.attachments.model import Limits
from omniroute.attachments.service import AttachmentService
from omniroute.bots.service import BotService
from omniroute.cases.model import SlaPolicy
from omniroute.cases.service import CaseService
from omniroute.channels.catalog import installed_channels
from omniroute.channels.service import ChannelService
from omniroute.channels.webchat.service import WebchatService
from omniroute.conversations.service import ConversationService
from omniroute.core.bus import EventBus
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.bus.redis import RedisBus
from omniroute.core.clock import Clock, SystemClock
from omniroute.core.db import Database
from omniroute.core.lease import Lease, LocalLease, PostgresLease
from omniroute.core.secretbox import SecretBox
from omniroute.core.timers import DueTimers
from omniroute.core.uow import Publisher
from omniroute.customers.service import CustomerService
from omniroute.desk.service import DeskService
from omniroute.identity.passwords import Passwords
from omniroute.identity.service import IdentityService
from omniroute.knowledge.fts_postgres import PostgresArticleSearch
from omniroute.knowledge.fts_sqlite import SqliteArticleSearch
from omniroute.knowledge.search import ArticleSearch
from omniroute.knowledge.service import KnowledgeService
from omniroute.routing.commands import CommandQueue
from omniroute.routing.config_service import RoutingConfigService
from omniroute.routing.leader import RoutingLeader
from omniroute.routing.service import RoutingService
from omniroute.settings import Settings
from omniroute.voice.service import VoiceService
from omniroute.web.app import build_app
from omniroute.web.container import Container
from omniroute.web.gateway import Gateway

#: The PostgreSQL advisory lock key that makes one node the routing leader.
ROUTING_LEASE_KEY = 0x0A11_0C47


def make_bus(settings: Settings) -> EventBus:
    if settings.redis_url:
        return RedisBus(settings.redis_url)
    return MemoryBus()


def make_article_search(db: Database) -> ArticleSearch:
    return SqliteArticleSearch() if db.is_sqlite else PostgresArticleSearch()


def build_container(
    settings: Settings, *, clock: Clock | None = None, bus: EventBus | None = None
) -> Container:
    clock = clock or SystemClock()
    db = Database(settings.effective_database_url)
    bus = bus or make_bus(settings)
    publisher = Publisher(db, bus, clock)
    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_cost_kib)
    identity = IdentityService(db, clock, passwords, timedelta(hours=settings.session_ttl_hours))
    conversations = ConversationService(db, publisher, settings.max_message_bytes)
    timers = DueTimers(clock)
    routing_configs = RoutingConfigService(db, clock)

    async def agent_name(user_id: str) -> str:
        user = await identity.get_user(user_id)
        return user.display_name if user else "An agent"

    leader = RoutingLeader(
        publisher=publisher,
        conversations=conversations,
        configs=routing_configs,
        timers=timers,
        default_capacity=settings.default_chat_capacity,
        default_offer_timeout=timedelta(seconds=settings.offer_timeout_seconds),
        agent_names=agent_name,
    )
    timers.set_callback(leader.tick)
    lease: Lease = LocalLease() if db.is_sqlite else PostgresLease(db.engine, ROUTING_LEASE_KEY)
    routing = RoutingService(
        db=db,
        publisher=publisher,
        conversations=conversations,
        configs=routing_configs,
        commands=CommandQueue(db, publisher, bus),
        leader=leader,
        lease=lease,
    )
    conversations.use_assignment(routing)
    channels = ChannelService(
        db=db,
        publisher=publisher,
        conversations=conversations,
        routing=routing,
        registry=installed_channels(),
        secrets=SecretBox(settings.secret_key),
        clock=clock,
        public_url=settings.effective_public_url,
    )
    conversations.on_message_stored(channels)
    attachments = AttachmentService(
        db=db,
        publisher=publisher,
        clock=clock,
        conversations=conversations,
        limits=Limits.of(settings.attachment_max_bytes, settings.attachment_blocked_extensions),
        secret_key=settings.secret_key,
        public_url=settings.effective_public_url,
        link_ttl=timedelta(seconds=settings.attachment_link_ttl_seconds),
    )
    conversations.use_attachments(attachments)
    channels.attachment_links = attachments.signed_url
    channels.attachments = attachments  # customers' channel media are kept in the attachment store
    customers = CustomerService(db, publisher)
    customers.on_merge(conversations)
    customers.on_merge(routing)
    cases = CaseService(db, publisher, conversations, identity, routing, SlaPolicy.default())
    customers.on_merge(cases)
    webchat = WebchatService(db, publisher, conversations, routing)
    voice = VoiceService(
        db=db,
        publisher=publisher,
        clock=clock,
        secrets=SecretBox(settings.secret_key),
        conversations=conversations,
        routing=routing,
        customers=customers,
        identity=identity,
    )
    knowledge = KnowledgeService(db, publisher, make_article_search(db))
    bots = BotService(
        db=db,
        publisher=publisher,
        conversations=conversations,
        routing=routing,
        knowledge=knowledge,
        secrets=SecretBox(settings.secret_key),
        public_url=settings.effective_public_url,
    )
    webchat.bots = bots
    webchat.attachment_links = attachments.signed_url
    channels.bots = bots

    async def bot_choices(conversation_id: str) -> list[str]:
        return (await bots.presence(conversation_id)).choices

    channels.bot_choices = bot_choices  # a bot's question goes out with its quick replies
    routing.check_holders(bots.refuse_while_holding)  # no transfer while a bot holds the chat
    return Container(
        settings=settings,
        clock=clock,
        db=db,
        bus=bus,
        publisher=publisher,
        identity=identity,
        conversations=conversations,
        routing=routing,
        webchat=webchat,
        timers=timers,
        routing_configs=routing_configs,
        channels=channels,
        customers=customers,
        cases=cases,
        knowledge=knowledge,
        bots=bots,
        voice=voice,
        desk=DeskService(db, publisher, conversations=conversations, routing=routing, customers=customers),
        attachments=attachments,
    )


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, bus: EventBus | None = None
) -> FastAPI:
    """Build the whole application. The database must already be migrated (``omniroute migrate``)."""
    settings = settings or Settings()
    container = build_container(settings, clock=clock, bus=bus)
    gateway = Gateway(container.bus, container.conversations)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.bus.start()
        await gateway.start()
        container.timers.start()
        await container.routing.start()  # the leader rebuilds routing from the store
        container.channels.start()
        container.voice.start()
        await container.bots.start()
        try:
            yield
        finally:
            await container.bots.stop()
            await container.routing.stop()
            await container.timers.stop()
            await container.channels.stop()
            await container.voice.stop()
            await gateway.stop()
            await container.bus.close()
            await container.db.dispose()

    app = build_app(lifespan, __version__)
    app.state.container = container
    app.state.gateway = gateway
    app.state.bots = container.bots
    return app
