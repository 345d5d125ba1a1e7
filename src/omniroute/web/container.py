"""The services one running app holds; built only by ``omniroute.bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.channels.service import ChannelService
from omniroute.channels.webchat.service import WebchatService
from omniroute.conversations.service import ConversationService
from omniroute.core.bus import EventBus
from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.timers import DueTimers
from omniroute.core.uow import Publisher
from omniroute.identity.service import IdentityService
from omniroute.routing.config_service import RoutingConfigService
from omniroute.routing.service import RoutingService
from omniroute.settings import Settings


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
