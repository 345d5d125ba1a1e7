"""The ``omniroute`` command: run (with demo data), migrate, create-user, create-token."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence

from omniroute.core.errors import DomainError
from omniroute.core.migrations import upgrade
from omniroute.identity.model import Role, Scope
from omniroute.settings import Settings


def _migrate(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = Settings()
    _migrate(settings)
    print(f"database is up to date: {_redacted(settings.effective_database_url)}")
    return 0


def cmd_run(args: argparse.Namespace, *, demo: bool) -> int:
    import uvicorn

    from omniroute.bootstrap import build_container, create_app
    from omniroute.channels.store import AccountRow
    from omniroute.demo import DEMO_PASSWORD, load_demo, load_demo_bot, load_demo_voice
    from omniroute.demo_channels import DEMO_CHANNELS, load_demo_channels, mount_demo_channels
    from omniroute.demo_email import free_smtp_port, smtp_url

    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = Settings(**overrides)  # type: ignore[arg-type]
    _migrate(settings)
    demo_accounts: list[AccountRow] = []
    if demo:
        origins = sorted(
            {
                settings.effective_public_url,
                f"http://localhost:{settings.port}",
                f"http://127.0.0.1:{settings.port}",
            }
        )

        # The email double (an SMTP server) listens on its own port, started with the app (lifespan).
        smtp_port = free_smtp_port()

        async def seed() -> list[AccountRow]:
            container = build_container(settings)
            try:
                users = await load_demo(container, origins)
                await load_demo_bot(container, origins)
                await load_demo_voice(container)
                accounts = await load_demo_channels(
                    container, settings.effective_public_url, smtp_port=smtp_port
                )
            finally:
                await container.db.dispose()
            base = settings.effective_public_url
            print("\nOmniroute is starting with demo data.\n")
            print(f"  Customer demo site  {base}/demo")
            print(f"  Agent workspace     {base}/workspace")
            print(f"  API documentation   {base}/api/docs")
            print("\n  Write to the demo as a customer (each channel's local double, same server):")
            for spec in DEMO_CHANNELS:
                print(f"    {spec.title:<19} {base}{spec.path}/")
            print(f"    (the email replies go to the demo's mail server at {smtp_url(smtp_port)})")
            print()
            print(f"  Demo sign-ins (password for all: {DEMO_PASSWORD})")
            for user in users:
                print(f"    {user.role.value:<11} {user.email}")
            print()
            return accounts

        demo_accounts = asyncio.run(seed())
    app = create_app(settings)
    if demo:
        mount_demo_channels(app, demo_accounts)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False)
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from omniroute.bootstrap import build_container

    settings = Settings()
    _migrate(settings)
    password = args.password or os.environ.get("OMNIROUTE_NEW_USER_PASSWORD")
    if not password:
        password = getpass.getpass("Password: ")

    async def create() -> None:
        container = build_container(settings)
        try:
            user = await container.identity.create_user(args.email, args.name, Role(args.role), password)
            print(f"created {user.role.value} {user.email} ({user.id})")
        finally:
            await container.db.dispose()

    asyncio.run(create())
    return 0


def cmd_create_token(args: argparse.Namespace) -> int:
    from omniroute.bootstrap import build_container

    settings = Settings()
    _migrate(settings)

    async def create() -> None:
        container = build_container(settings)
        try:
            user = await container.identity.get_user_by_email(args.email)
            if user is None:
                raise DomainError(f"no user {args.email}")
            token = await container.identity.create_api_token(
                user.id, args.name, frozenset(Scope(s) for s in args.scope)
            )
            print(token)
        finally:
            await container.db.dispose()

    asyncio.run(create())
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from omniroute.routing.simulate import ScenarioError, load_scenario, simulate

    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ScenarioError) as exc:
        print(f"omniroute simulate: {exc}", file=sys.stderr)
        return 2
    report = simulate(scenario, args.seed)
    print(report.to_json() if args.json else report.table())
    return 0


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="omniroute", description="Omniroute contact centre")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("run", "migrate, then serve"),
        ("demo", "migrate, load demo data, then serve"),
    ):
        s = sub.add_parser(name, help=help_text)
        s.add_argument("--host", default=None)
        s.add_argument("--port", type=int, default=None)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    u = sub.add_parser("create-user", help="add an agent, supervisor or admin")
    u.add_argument("--email", required=True)
    u.add_argument("--name", required=True)
    u.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    u.add_argument("--password", help="prefer OMNIROUTE_NEW_USER_PASSWORD or the prompt")
    t = sub.add_parser("create-token", help="issue a scoped API token for a user (printed once)")
    t.add_argument("--email", required=True)
    t.add_argument("--name", required=True)
    t.add_argument("--scope", action="append", choices=[s.value for s in Scope], required=True)
    m = sub.add_parser("simulate", help="what-if: run a routing scenario in virtual time")
    m.add_argument("scenario", help="scenario YAML file (see docs/ROUTING.md)")
    m.add_argument("--seed", type=int, default=None, help="override the scenario's random seed")
    m.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    from omniroute.voice.ccaas_sim import command as ccaas_sim  # light: argparse only until it runs

    ccaas_sim.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "migrate":
            return cmd_migrate(args)
        if args.command in ("run", "demo"):
            return cmd_run(args, demo=args.command == "demo")
        if args.command == "simulate":
            return cmd_simulate(args)
        if args.command == "ccaas-sim":
            from omniroute.voice.ccaas_sim import command as ccaas_sim

            return ccaas_sim.run(args)
        if args.command == "create-user":
            return cmd_create_user(args)
        return cmd_create_token(args)
    except DomainError as exc:
        print(f"omniroute: {exc.reason}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
