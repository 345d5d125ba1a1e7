"""The services one running app holds; built only by ``omniroute.bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.attachments.service import AttachmentService
from omniroute.bots.service import BotService
from omniroute.cases.service import CaseService
from omniroute.channels.service import ChannelService
from omniroute.channels.webchat.service import WebchatService
from omniroute.conversations.service import ConversationService
from omniroute.core.bus import EventBus
from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.timers import DueTimers
from omniroute.core.uow import Publisher
from omniroute.customers.service import CustomerService
from omniroute.desk.service import DeskService
from omniroute.identity.service import IdentityService
from omniroute.knowledge.service import KnowledgeService
from omniroute.routing.config_service import RoutingConfigService
from omniroute.routing.service import RoutingService
from omniroute.settings import Settings
from omniroute.voice.service import VoiceService


@dataclass
class Container:
    settings: Settings
    clock: Clock
    db: Database
    bus: EventBus
    publisher: Publisher
    identity: IdentityService
    conversations: ConversationService
    routing: RoutingService
    webchat: WebchatService
    timers: DueTimers
    routing_configs: RoutingConfigService
    channels: ChannelService
    customers: CustomerService
    cases: CaseService
    knowledge: KnowledgeService
    bots: BotService
    voice: VoiceService
    desk: DeskService
    attachments: AttachmentService
