"""The demo's cross-channel rule: a call fills the agent's capacity, so no chat is offered during it.

Without a configured capacity profile an agent has three units and every item, a call included,
costs one: chats keep coming while the agent talks. ``omniroute demo`` and ``omniroute ccaas-sim
--configure`` apply this rule through the routing configuration service (a new, versioned
configuration, exactly what an administrator saving it would make), never by writing tables.

``calls_fill_capacity`` is pure: it takes a routing configuration document and answers the
document with the rule, or ``None`` when the document already has it (or cannot take it).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from omniroute.routing.config_service import RoutingConfigService

PROFILE_ID = "calls-fill-capacity"
PROFILE_NAME = "Calls fill capacity"
#: The built-in default's size (three concurrent items), so chats alone behave as before.
TOTAL_UNITS = 3
VOICE = "voice"
COMMENT = "Calls fill the agent's capacity: no chat is offered during a call (voice units = total)"


def calls_fill_capacity(document: dict[str, Any]) -> dict[str, Any] | None:
    """``document`` with the default capacity profile costing a call all of its units.

    - no default profile: adds ``calls-fill-capacity`` (3 units, voice 3) and makes it the default;
    - a default profile with ``total_units``: sets its ``channel_units.voice`` to ``total_units``;
    - a default profile with only ``channel_limits`` (no units to fill) is left alone: ``None``;
    - already so: ``None`` (nothing to save).

    Agents given another profile of their own keep it."""
    doc = copy.deepcopy(document)
    profiles: list[dict[str, Any]] = doc.setdefault("capacity_profiles", [])
    default_id = doc.get("default_capacity_profile")
    default = next((p for p in profiles if p.get("id") == default_id), None) if default_id else None
    if default is None:
        existing = next((p for p in profiles if p.get("id") == PROFILE_ID), None)
        if existing is None:
            profiles.append(
                {
                    "id": PROFILE_ID,
                    "name": PROFILE_NAME,
                    "total_units": TOTAL_UNITS,
                    "channel_units": {VOICE: TOTAL_UNITS},
                }
            )
        else:
            total = existing.get("total_units")
            if total is None:
                return None
            existing.setdefault("channel_units", {})[VOICE] = total
        doc["default_capacity_profile"] = PROFILE_ID
        return doc
    total = default.get("total_units")
    if total is None:
        return None
    units: dict[str, int] = default.setdefault("channel_units", {})
    if units.get(VOICE) == total:
        return None
    units[VOICE] = total
    return doc


async def apply_calls_fill_capacity(
    configs: RoutingConfigService,
    *,
    user_id: str | None = None,
    kick: Callable[[], Awaitable[None]] | None = None,
) -> int | None:
    """Save the rule as the next routing configuration version; the version, or ``None`` when the
    active configuration already has it. A concurrent edit makes this a 409 (``Conflict``).

    ``kick`` tells a running routing leader to reload the configuration, as the admin API does
    after a save (a leader that starts later reads the active configuration anyway)."""
    active = await configs.active()
    document = active.config.model_dump(mode="json", by_alias=True)
    changed = calls_fill_capacity(document)
    if changed is None:
        return None
    saved = await configs.save(
        changed, comment=COMMENT, user_id=user_id, expected_version=active.version or 0
    )
    if kick is not None:
        await kick()
    return saved.version
