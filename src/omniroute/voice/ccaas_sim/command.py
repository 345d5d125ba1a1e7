"""``omniroute ccaas-sim``: run the reference CCaaS next to an Omniroute.

Either point it at a provider configured in Omniroute (``--provider-id`` and ``--secret``, the
provider's webhook secret), or let it configure itself in the local Omniroute database
(``--configure``, for demos: run ``omniroute demo`` in one terminal and this in another). This
module is imported by every ``omniroute`` command to build the parser, so it imports nothing heavy
until the simulator actually runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omniroute.settings import Settings
    from omniroute.voice.ccaas_sim.register import Registered

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def add_parser(sub: Any) -> None:
    """Add the ``ccaas-sim`` sub-command to the ``omniroute`` parser's sub-parsers."""
    c = sub.add_parser("ccaas-sim", help="run the reference CCaaS (a simulated voice provider)")
    c.add_argument("--host", default="127.0.0.1", help="loopback only (the softphone is trusted)")
    c.add_argument("--port", type=int, default=8090)
    c.add_argument("--omniroute-url", default=None, help="default: Omniroute's public URL")
    c.add_argument("--provider-id", default=None, help="the provider configured for it")
    c.add_argument(
        "--secret",
        default=os.environ.get("OMNIROUTE_CCAAS_SECRET"),
        help="that provider's webhook secret (better: the OMNIROUTE_CCAAS_SECRET environment variable)",
    )
    c.add_argument(
        "--configure",
        action="store_true",
        help="create or update the 'Reference CCaaS' provider in the local Omniroute database, then run",
    )
    c.add_argument(
        "--api-token",
        default=os.environ.get("OMNIROUTE_CCAAS_TOKEN"),
        help="the provider's API token: Omniroute then routes the calls (the provider needs routes_calls; "
        "better: the OMNIROUTE_CCAAS_TOKEN environment variable)",
    )
    c.add_argument(
        "--routes-calls",
        action="store_true",
        help="with --configure: enable routes_calls, so Omniroute chooses the agent for each call",
    )
    c.add_argument("--number", default="+15550100000", help="the contact centre's phone number (E.164)")
    c.add_argument("--ring-seconds", type=float, default=20, help="how long a call rings an agent")


def run(args: argparse.Namespace) -> int:
    # The parser imports this module for every command: the simulator's imports wait until here.
    from omniroute.core.errors import InvalidInput  # noqa: PLC0415
    from omniroute.settings import Settings  # noqa: PLC0415
    from omniroute.voice.ccaas_sim.app import SimConfig, serve  # noqa: PLC0415

    if args.host not in LOOPBACK:
        msg = f"the simulator serves loopback only (127.0.0.1, localhost, ::1), not {args.host}"
        raise InvalidInput(msg)
    settings = Settings()
    omniroute_url = (args.omniroute_url or settings.effective_public_url).rstrip("/")
    host = f"[{args.host}]" if ":" in args.host else args.host
    sim_url = f"http://{host}:{args.port}"
    provider_id, secret, token = args.provider_id, args.secret, args.api_token
    if args.configure:
        registered = asyncio.run(_configure(settings, sim_url, routes_calls=args.routes_calls))
        provider_id, secret = registered.provider_id, registered.secret
        token = registered.api_token or token
        verb = "created" if registered.created else "updated"
        print(f"Configured the voice provider 'Reference CCaaS' ({provider_id}): {verb}.")
    elif not (provider_id and secret):
        raise InvalidInput("give --provider-id and --secret (or OMNIROUTE_CCAAS_SECRET), or --configure")
    config = SimConfig(
        omniroute_url=omniroute_url,
        provider_id=provider_id,
        secret=secret,
        number=args.number,
        ring_seconds=args.ring_seconds,
        api_token=token,
    )
    print("\nThe reference CCaaS is starting.\n")
    print(f"  Console (place test calls)  {sim_url}/")
    print(f"  Softphone (in the workspace) {sim_url}/softphone")
    print(f"  Reports call events to      {config.webhook_url}")
    print(f"  Routes calls                {'Omniroute (routes_calls)' if token else 'itself'}\n")
    serve(config, args.host, args.port)
    return 0


async def _configure(settings: Settings, sim_url: str, *, routes_calls: bool = False) -> Registered:
    from omniroute.bootstrap import build_container  # noqa: PLC0415
    from omniroute.core.migrations import upgrade  # noqa: PLC0415
    from omniroute.routing.commands import enqueue  # noqa: PLC0415
    from omniroute.voice.capacity_rule import apply_calls_fill_capacity  # noqa: PLC0415
    from omniroute.voice.ccaas_sim.register import register_provider  # noqa: PLC0415

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    container = build_container(settings)
    try:
        registered = await register_provider(container.voice, sim_url, routes_calls=routes_calls)

        async def reload_routing() -> None:
            # A durable command for the running Omniroute's routing leader (it polls for them);
            # nothing here waits for it, since this process runs no leader.
            async with container.db.write() as conn:
                await enqueue(conn, "config_changed", {}, container.clock.now())

        if await apply_calls_fill_capacity(container.routing_configs, kick=reload_routing) is not None:
            print("Routing: a call now fills the agent's capacity (no chats during a call).")
        return registered
    finally:
        await container.db.dispose()
