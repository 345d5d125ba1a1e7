"""Demo data: two queues, three agents, a supervisor, an admin, a web chat widget and knowledge articles.

Loading is idempotent: running it again leaves existing demo records as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.bots.flows.library import DEMO_BOT_ID, default_bot
from omniroute.core.ids import new_id
from omniroute.identity.model import Role
from omniroute.knowledge.demo_articles import load_demo_articles
from omniroute.routing import store as routing_store
from omniroute.routing.store import Queue
from omniroute.voice.capacity_rule import apply_calls_fill_capacity
from omniroute.web.container import Container

DEMO_PASSWORD = "omniroute-demo"  # noqa: S105 - printed to the person running the demo


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role
    queues: tuple[str, ...]


DEMO_QUEUES = (("Sales", "Questions before buying", True), ("Support", "Help with orders", False))
DEMO_USERS = (
    DemoUser("ana@demo.omniroute.dev", "Ana García", Role.AGENT, ("Sales", "Support")),
    DemoUser("ben@demo.omniroute.dev", "Ben Okafor", Role.AGENT, ("Support",)),
    DemoUser("chloe@demo.omniroute.dev", "Chloé Martin", Role.AGENT, ("Sales",)),
    DemoUser("sam@demo.omniroute.dev", "Sam Supervisor", Role.SUPERVISOR, ("Sales", "Support")),
    DemoUser("admin@demo.omniroute.dev", "Ada Admin", Role.ADMIN, ()),
)


async def load_demo(c: Container, allowed_origins: list[str]) -> list[DemoUser]:
    now = c.clock.now()
    queue_ids: dict[str, str] = {}
    async with c.db.write() as conn:
        for name, description, is_default in DEMO_QUEUES:
            queue = await routing_store.get_queue_by_name(conn, name)
            if queue is None:
                queue = Queue(id=new_id(), name=name, description=description, is_default=is_default)
                await routing_store.insert_queue(conn, queue, now)
            queue_ids[name] = queue.id
    for demo in DEMO_USERS:
        user = await c.identity.get_user_by_email(demo.email)
        if user is None:
            user = await c.identity.create_user(demo.email, demo.name, demo.role, DEMO_PASSWORD)
        async with c.db.write() as conn:
            for queue_name in demo.queues:
                await routing_store.add_member(conn, queue_ids[queue_name], user.id)
    if not await c.webchat.list_widgets():
        await c.webchat.create_widget("Demo website", allowed_origins, queue_ids["Sales"])
    sam = await c.identity.get_user_by_email("sam@demo.omniroute.dev")
    await load_demo_articles(c.knowledge, sam.id if sam else None)
    return list(DEMO_USERS)


ASSISTANT_QUEUE = "Assistant"
ASSISTANT_WIDGET = "Bank assistant"


async def load_demo_bot(c: Container, allowed_origins: list[str]) -> None:
    """The demo bank's assistant answering a second widget first (``omniroute demo`` only: training
    its understanding takes seconds, which the test suite's demo servers do not need to spend).

    Chats on the "Bank assistant" widget land in the Assistant queue, which the bot serves; when it
    hands off, the agents of that queue get the conversation with the bot's transcript and context.
    """
    now = c.clock.now()
    async with c.db.write() as conn:
        queue = await routing_store.get_queue_by_name(conn, ASSISTANT_QUEUE)
        if queue is None:
            queue = Queue(
                id=new_id(),
                name=ASSISTANT_QUEUE,
                description="Hand-offs from the bank assistant",
                is_default=False,
            )
            await routing_store.insert_queue(conn, queue, now)
    for demo in DEMO_USERS:
        user = await c.identity.get_user_by_email(demo.email)
        if user is not None and demo.role is not Role.ADMIN:
            async with c.db.write() as conn:
                await routing_store.add_member(conn, queue.id, user.id)
    if not any(w.name == ASSISTANT_WIDGET for w in await c.webchat.list_widgets()):
        await c.webchat.create_widget(ASSISTANT_WIDGET, allowed_origins, queue.id)
    settings, flows = default_bot()
    settings = settings.model_copy(update={"queues": [ASSISTANT_QUEUE]})
    await c.bots.admin.install(DEMO_BOT_ID, settings, flows)


async def load_demo_voice(c: Container) -> int | None:
    """Voice in the demo (``omniroute demo`` only): a call fills the agent's capacity, so chats wait
    while an agent is on a call and through its wrap-up (the default three units; a call costs all
    three, a chat one). Saved through the routing configuration service as a new version; nothing
    changes when the active configuration already has the rule. The version saved, or ``None``.
    Run before the server starts: its routing leader reads the active configuration when it starts."""
    return await apply_calls_fill_capacity(c.routing_configs)
