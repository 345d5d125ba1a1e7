"""The demo bank's bot in front of web chat, for the browser and end-to-end tests that talk to it."""

from __future__ import annotations

from omniroute.knowledge.demo_articles import load_demo_articles
from omniroute.web.container import Container


async def put_demo_bot_on_webchat(container: Container) -> None:
    """The demo help articles and the demo bot, answering web chats first. The bot uses the lexical
    embedder: no model to load, and it trains in milliseconds."""
    await load_demo_articles(container.knowledge, None)
    await container.bots.admin.install_demo(embedder="lexical")
    await container.routing_configs.save(
        {"workstreams": [{"id": "chat", "name": "Chat", "channels": ["webchat"], "bot": "banking"}]},
        comment="the demo bot answers web chats first",
        user_id=None,
    )
