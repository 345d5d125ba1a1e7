"""Every slice's tables on the shared metadata (for migrations and tests)."""

from __future__ import annotations

from sqlalchemy import MetaData

from omniroute.attachments import store as attachments_store
from omniroute.bots import store as bots_store
from omniroute.cases import store as cases_store
from omniroute.channels import store as channels_store
from omniroute.channels.webchat import store as webchat_store
from omniroute.conversations import store as conversations_store
from omniroute.core import eventlog
from omniroute.core.db import metadata
from omniroute.customers import store as customers_store
from omniroute.desk import store as desk_store
from omniroute.identity import store as identity_store
from omniroute.knowledge import store as knowledge_store
from omniroute.routing import commands as routing_commands
from omniroute.routing import store as routing_store
from omniroute.voice import store as voice_store

SLICE_STORES = (
    eventlog,
    identity_store,
    customers_store,
    routing_store,
    conversations_store,
    webchat_store,
    channels_store,
    routing_commands,
    cases_store,
    knowledge_store,
    voice_store,
    bots_store,
    desk_store,
    attachments_store,
)


def all_tables() -> MetaData:
    return metadata
