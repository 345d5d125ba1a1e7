"""Routing configuration commands: read the active version, save a new one, roll back; agent skills."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, InvalidInput, NotFound
from omniroute.routing import store
from omniroute.routing.config import RoutingConfig
from omniroute.routing.store import ConfigVersion

#: How long a node trusts its cached configuration before checking for a newer version.
CONFIG_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class ActiveConfig:
    version: int | None  # None: nothing saved yet, built-in defaults
    config: RoutingConfig


def validation_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


class RoutingConfigService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._cached: tuple[float, ActiveConfig] | None = None

    async def active(self) -> ActiveConfig:
        if self._cached is not None and time.monotonic() - self._cached[0] < CONFIG_CACHE_SECONDS:
            return self._cached[1]
        async with self.db.read() as conn:
            latest = await store.latest_config(conn)
        active = (
            ActiveConfig(latest.version, RoutingConfig.model_validate(latest.document))
            if latest
            else ActiveConfig(None, RoutingConfig())
        )
        self._cached = (time.monotonic(), active)
        return active

    async def save(
        self,
        document: dict[str, Any],
        *,
        comment: str,
        user_id: str | None,
        expected_version: int | None = None,
    ) -> ConfigVersion:
        """Validate and store ``document`` as the next version.

        ``expected_version`` (the version the editor started from) turns a concurrent edit into a
        409 instead of silently overwriting someone else's change.
        """
        try:
            config = RoutingConfig.model_validate(document)
        except ValidationError as exc:
            raise InvalidInput(validation_reason(exc)) from exc
        async with self.db.write() as conn:
            known = {q.name for q in await store.list_queues(conn)}
            unknown = sorted(config.queue_names() - known)
            if unknown:
                msg = f"unknown queue(s) {unknown}; create them first"
                raise InvalidInput(msg)
            latest = await store.latest_config(conn)
            current = latest.version if latest else 0
            if expected_version is not None and expected_version != current:
                msg = f"the configuration changed meanwhile (now version {current}); reload and retry"
                raise Conflict(msg)
            version = ConfigVersion(
                version=current + 1,
                document=config.model_dump(mode="json", by_alias=True),
                comment=comment[:500],
                created_by=user_id,
                created_at=self.clock.now(),
            )
            try:
                await store.insert_config_version(conn, version)
            except IntegrityError as exc:
                raise Conflict("another change was saved at the same time; reload and retry") from exc
        self._cached = (time.monotonic(), ActiveConfig(version.version, config))
        return version

    async def versions(self) -> list[ConfigVersion]:
        async with self.db.read() as conn:
            return await store.list_config_versions(conn)

    async def version(self, number: int) -> ConfigVersion:
        async with self.db.read() as conn:
            found = await store.get_config_version(conn, number)
        if found is None:
            msg = f"no configuration version {number}"
            raise NotFound(msg)
        return found

    async def roll_back(self, number: int, user_id: str | None) -> ConfigVersion:
        """Make an old version current again, as a new version (history is never rewritten)."""
        old = await self.version(number)
        return await self.save(old.document, comment=f"roll back to version {number}", user_id=user_id)

    async def set_agent_skills(self, user_id: str, skills: dict[str, int]) -> dict[str, int]:
        config = (await self.active()).config
        known = {s.id for s in config.skills}
        unknown = sorted(set(skills) - known)
        if unknown:
            msg = f"unknown skill(s) {unknown}; add them to the routing configuration first"
            raise InvalidInput(msg)
        bad = {k: v for k, v in skills.items() if not 1 <= v <= 10}
        if bad:
            msg = f"proficiency must be 1 to 10: {bad}"
            raise InvalidInput(msg)
        async with self.db.write() as conn:
            await store.replace_agent_skills(conn, user_id, skills)
        return dict(sorted(skills.items()))

    async def set_capacity_profile(self, user_id: str, profile: str | None) -> str | None:
        """Which capacity profile an agent works with (None: the configuration's default)."""
        config = (await self.active()).config
        known = {p.id for p in config.capacity_profiles}
        if profile is not None and profile not in known:
            msg = f"unknown capacity profile {profile!r}; add it to the routing configuration first"
            raise InvalidInput(msg)
        try:
            async with self.db.write() as conn:
                await store.set_agent_profile(conn, user_id, profile)
        except IntegrityError as exc:
            msg = f"no user {user_id}"
            raise NotFound(msg) from exc
        return profile

    async def agent_skills(self, user_id: str) -> dict[str, int]:
        async with self.db.read() as conn:
            return (await store.agent_skill_map(conn, [user_id])).get(user_id, {})
