"""Bot administration: settings, flows (YAML as written, validated with line numbers), the
shared secret of external bots, and installing the shipped demo bot.

Every change bumps the bot's ``version`` in the same transaction, so each node recompiles a bot
(flows and intent classifier) the next time it takes a turn after the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.bots import store
from omniroute.bots.events import BotChanged
from omniroute.bots.flows.bot import BotSettings
from omniroute.bots.flows.library import DEMO_BOT_ID, default_bot
from omniroute.bots.flows.loader import (
    FlowError,
    ParsedFlow,
    Problem,
    check_flow_set,
    parse_flow,
    validation_problems,
)
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, InvalidInput, NotFound
from omniroute.core.ids import new_token
from omniroute.core.secretbox import ENV_PREFIX, SecretBox
from omniroute.core.uow import Publisher

MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class FlowView:
    bot_id: str
    flow_id: str
    language: str
    system: str | None
    name: str
    intent: str | None
    source: str
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class BotView:
    id: str
    settings: BotSettings
    version: int
    has_secret: bool
    flows: list[FlowView]
    updated_at: datetime


def _valid_bot_id(bot_id: str) -> bool:
    return (
        bool(bot_id)
        and len(bot_id) <= 63
        and all(c.isdigit() or c in "-_" or ("a" <= c <= "z") for c in bot_id)
        and bot_id[0].isalnum()
    )


def _check_version(row: store.BotRow, expected: int | None) -> None:
    if expected is not None and expected != row.version:
        msg = f"bot {row.id} is at version {row.version}, not {expected}; reload and retry"
        raise Conflict(msg)


def _flow_view(row: store.FlowRow) -> FlowView:
    flow = parse_flow(row.source).flow
    return FlowView(
        bot_id=row.bot_id,
        flow_id=row.flow_id,
        language=row.language,
        system=row.system,
        name=flow.name,
        intent=flow.intent,
        source=row.source,
        version=row.version,
        updated_at=row.updated_at,
    )


class BotAdmin:
    def __init__(self, db: Database, publisher: Publisher, secrets: SecretBox) -> None:
        self.db = db
        self.publisher = publisher
        self.secrets = secrets

    async def list_bots(self) -> list[BotView]:
        async with self.db.read() as conn:
            rows = await store.list_bots(conn)
            return [await self._view(conn, row) for row in rows]

    async def get_bot(self, bot_id: str) -> BotView:
        async with self.db.read() as conn:
            row = await store.get_bot(conn, bot_id)
            if row is None:
                msg = f"no bot {bot_id}"
                raise NotFound(msg)
            return await self._view(conn, row)

    async def _view(self, conn: AsyncConnection, row: store.BotRow) -> BotView:
        flows = await store.list_flows(conn, row.id)
        return BotView(
            id=row.id,
            settings=BotSettings.model_validate(row.settings),
            version=row.version,
            has_secret=bool(row.secret),
            flows=[_flow_view(f) for f in flows],
            updated_at=row.updated_at,
        )

    @staticmethod
    def check_settings(document: dict[str, Any]) -> BotSettings:
        try:
            return BotSettings.model_validate(document)
        except ValidationError as exc:
            raise FlowError(validation_problems(exc, document, None)) from exc

    async def put_settings(
        self,
        bot_id: str,
        document: dict[str, Any],
        *,
        actor_id: str | None,
        expected_version: int | None = None,
    ) -> BotView:
        """Create a bot or replace its settings (its flows stay)."""
        if not _valid_bot_id(bot_id):
            raise InvalidInput("a bot id is 1 to 63 lower-case letters, digits, '-' or '_'")
        settings = self.check_settings(document)
        async with self.publisher.unit_of_work() as uow:
            row = await store.get_bot(uow.conn, bot_id, for_update=True)
            now = uow.clock.now()
            if row is not None:
                _check_version(row, expected_version)
                flows = await store.list_flows(uow.conn, bot_id)
                problems = check_flow_set([parse_flow(f.source) for f in flows], languages=settings.languages)
                if problems:
                    raise FlowError(problems)
                version = row.version + 1
                await store.update_bot(
                    uow.conn,
                    bot_id,
                    name=settings.name,
                    kind=settings.kind,
                    enabled=settings.enabled,
                    settings=settings.model_dump(mode="json"),
                    version=version,
                    updated_at=now,
                    updated_by=actor_id,
                )
            else:
                if expected_version not in (None, 0):
                    msg = f"no bot {bot_id}"
                    raise NotFound(msg)
                version = 1
                await store.insert_bot(
                    uow.conn,
                    store.BotRow(
                        id=bot_id,
                        name=settings.name,
                        kind=settings.kind,
                        enabled=settings.enabled,
                        settings=settings.model_dump(mode="json"),
                        secret=None,
                        version=1,
                        created_at=now,
                        updated_at=now,
                        updated_by=actor_id,
                    ),
                )
            uow.emit(
                BotChanged(
                    occurred_at=now, bot_id=bot_id, version=version, what="settings", actor_id=actor_id
                )
            )
        return await self.get_bot(bot_id)

    async def check_flow(self, bot_id: str, flow_id: str, source: str) -> ParsedFlow:
        """Validate a flow as it would be saved (alone and with the bot's other flows)."""
        parsed = parse_flow(source)
        if parsed.flow.id != flow_id:
            line, column = parsed.line_of(["id"])
            msg = f"the document's id is {parsed.flow.id!r} but it is saved as {flow_id!r}"
            raise FlowError([Problem(msg, line, column, "id", flow_id)])
        async with self.db.read() as conn:
            row = await store.get_bot(conn, bot_id)
            if row is None:
                msg = f"no bot {bot_id}"
                raise NotFound(msg)
            others = [f for f in await store.list_flows(conn, bot_id) if f.flow_id != flow_id]
        settings = BotSettings.model_validate(row.settings)
        problems = check_flow_set(
            [*(parse_flow(f.source) for f in others), parsed], languages=settings.languages
        )
        problems = [p for p in problems if p.flow_id == flow_id] or problems
        if problems:
            raise FlowError(problems)
        return parsed

    async def put_flow(
        self,
        bot_id: str,
        flow_id: str,
        source: str,
        *,
        actor_id: str | None,
        expected_version: int | None = None,
    ) -> FlowView:
        parsed = await self.check_flow(bot_id, flow_id, source)
        async with self.publisher.unit_of_work() as uow:
            row = await store.get_bot(uow.conn, bot_id, for_update=True)
            if row is None:
                msg = f"no bot {bot_id}"
                raise NotFound(msg)
            current = await store.get_flow(uow.conn, bot_id, flow_id)
            at = current.version if current else 0
            if expected_version is not None and at != expected_version:
                msg = f"flow {flow_id} is at version {at}, not {expected_version}; reload and retry"
                raise Conflict(msg)
            if current is not None and current.source == source:
                return _flow_view(current)
            now = uow.clock.now()
            flow = store.FlowRow(
                bot_id=bot_id,
                flow_id=flow_id,
                language=parsed.flow.language,
                system=parsed.flow.system.value if parsed.flow.system else None,
                source=source,
                version=(current.version if current else 0) + 1,
                updated_at=now,
                updated_by=actor_id,
            )
            await store.upsert_flow(uow.conn, flow)
            await store.update_bot(
                uow.conn, bot_id, version=row.version + 1, updated_at=now, updated_by=actor_id
            )
            uow.emit(
                BotChanged(
                    occurred_at=now,
                    bot_id=bot_id,
                    version=row.version + 1,
                    what=f"flow:{flow_id}",
                    actor_id=actor_id,
                )
            )
        return _flow_view(flow)

    async def get_flow(self, bot_id: str, flow_id: str) -> FlowView:
        async with self.db.read() as conn:
            found = await store.get_flow(conn, bot_id, flow_id)
        if found is None:
            msg = f"no flow {flow_id} in bot {bot_id}"
            raise NotFound(msg)
        return _flow_view(found)

    async def delete_flow(self, bot_id: str, flow_id: str, *, actor_id: str | None) -> None:
        async with self.publisher.unit_of_work() as uow:
            row = await store.get_bot(uow.conn, bot_id, for_update=True)
            if row is None:
                msg = f"no bot {bot_id}"
                raise NotFound(msg)
            flows = await store.list_flows(uow.conn, bot_id)
            if not any(f.flow_id == flow_id for f in flows):
                msg = f"no flow {flow_id} in bot {bot_id}"
                raise NotFound(msg)
            settings = BotSettings.model_validate(row.settings)
            rest = [parse_flow(f.source) for f in flows if f.flow_id != flow_id]
            problems = check_flow_set(rest, languages=settings.languages)
            if problems:
                msg = f"other flows still need {flow_id!r}: " + "; ".join(p.describe() for p in problems[:5])
                raise Conflict(msg)
            await store.delete_flow(uow.conn, bot_id, flow_id)
            now = uow.clock.now()
            await store.update_bot(
                uow.conn, bot_id, version=row.version + 1, updated_at=now, updated_by=actor_id
            )
            uow.emit(
                BotChanged(
                    occurred_at=now,
                    bot_id=bot_id,
                    version=row.version + 1,
                    what=f"flow:{flow_id}",
                    actor_id=actor_id,
                )
            )

    async def set_secret(self, bot_id: str, secret: str | None, *, actor_id: str | None) -> str:
        """The HMAC secret an external bot shares with us (random when none is given, or an
        ``env:NAME`` reference). The plain value is returned this once."""
        value = secret if secret is not None else new_token(MIN_SECRET_LENGTH)
        if not value.startswith(ENV_PREFIX) and len(value) < MIN_SECRET_LENGTH:
            msg = f"the secret must have at least {MIN_SECRET_LENGTH} characters"
            raise InvalidInput(msg)
        async with self.publisher.unit_of_work() as uow:
            row = await store.get_bot(uow.conn, bot_id, for_update=True)
            if row is None:
                msg = f"no bot {bot_id}"
                raise NotFound(msg)
            now = uow.clock.now()
            await store.update_bot(
                uow.conn,
                bot_id,
                secret=self.secrets.seal(value),
                version=row.version + 1,
                updated_at=now,
                updated_by=actor_id,
            )
            uow.emit(
                BotChanged(
                    occurred_at=now, bot_id=bot_id, version=row.version + 1, what="secret", actor_id=actor_id
                )
            )
        return value

    async def install(
        self, bot_id: str, settings: BotSettings, flows: Mapping[str, str], *, actor_id: str | None = None
    ) -> bool:
        """Create a bot with its flows unless it exists (then it is left alone: edits stay).
        Returns whether it was created."""
        parsed = [parse_flow(source) for source in flows.values()]
        problems = check_flow_set(parsed, languages=settings.languages)
        if problems:
            raise FlowError(problems)
        async with self.publisher.unit_of_work() as uow:
            if await store.get_bot(uow.conn, bot_id) is not None:
                return False
            now = uow.clock.now()
            await store.insert_bot(
                uow.conn,
                store.BotRow(
                    id=bot_id,
                    name=settings.name,
                    kind=settings.kind,
                    enabled=settings.enabled,
                    settings=settings.model_dump(mode="json"),
                    secret=None,
                    version=1,
                    created_at=now,
                    updated_at=now,
                    updated_by=actor_id,
                ),
            )
            for item in parsed:
                await store.upsert_flow(
                    uow.conn,
                    store.FlowRow(
                        bot_id=bot_id,
                        flow_id=item.flow.id,
                        language=item.flow.language,
                        system=item.flow.system.value if item.flow.system else None,
                        source=item.source,
                        version=1,
                        updated_at=now,
                        updated_by=actor_id,
                    ),
                )
            uow.emit(
                BotChanged(occurred_at=now, bot_id=bot_id, version=1, what="installed", actor_id=actor_id)
            )
        return True

    async def install_demo(self, *, embedder: str | None = None) -> bool:
        """The demo bank's assistant (``bots/default_flows``); ``embedder`` overrides its choice."""
        settings, flows = default_bot()
        if embedder is not None:
            settings = settings.model_copy(
                update={"understanding": settings.understanding.model_copy(update={"embedder": embedder})}
            )
        return await self.install(DEMO_BOT_ID, settings, flows)
