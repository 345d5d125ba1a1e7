"""Configure the simulator as a provider in a local Omniroute (``omniroute ccaas-sim --configure``).

For demos and tests on one machine: the provider is written through the voice service (the same
rules as the admin API), with a fresh webhook secret each time, since a stored secret is sealed and
the simulator must know the one it signs with. Running it again updates the same provider.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from omniroute.core.errors import Conflict
from omniroute.voice.service import ProviderChanges, VoiceService

NAME = "Reference CCaaS"
FEATURES = ("click_to_dial", "screen_pop", "presence_sync", "transcripts")


@dataclass(frozen=True)
class Registered:
    provider_id: str
    secret: str
    created: bool
    api_token: str | None = None  # with routes_calls: the provider's API token (a fresh one)


def softphone_url(sim_url: str) -> str:
    return f"{sim_url.rstrip('/')}/softphone"


def presence_url(sim_url: str) -> str:
    return f"{sim_url.rstrip('/')}/omniroute/presence"


async def register_provider(
    voice: VoiceService, sim_url: str, *, name: str = NAME, routes_calls: bool = False
) -> Registered:
    """Create or update the generic provider ``name`` pointing at the simulator at ``sim_url``.

    Agents are identified by their Omniroute user ids (the softphone learns the signed-in agent
    from the SDK), so no agent mapping is needed. With ``routes_calls`` Omniroute chooses the
    agent for each queued call, and the simulator gets the API token it asks with."""
    secret = "whsec_sim_" + secrets.token_urlsafe(24)
    features = [*FEATURES, "routes_calls"] if routes_calls else list(FEATURES)
    existing = next((p for p in await voice.providers() if p.name == name), None)
    if existing is not None:
        if existing.kind != "generic":
            msg = f"the provider {name!r} uses the {existing.kind} adapter; rename it or pass --provider-id"
            raise Conflict(msg)
        await voice.update_provider(
            existing.id,
            ProviderChanges(
                softphone_url=softphone_url(sim_url),
                presence_url=presence_url(sim_url),
                features=features,
                agents_by_user_id=True,
                enabled=True,
                webhook_secret=secret,
            ),
        )
        token = await voice.rotate_api_token(existing.id) if routes_calls else None
        return Registered(existing.id, secret, created=False, api_token=token)
    made = await voice.create_provider(
        name=name,
        kind="generic",
        softphone_url=softphone_url(sim_url),
        features=features,
        presence_url=presence_url(sim_url),
        agents_by_user_id=True,
        webhook_secret=secret,
    )
    return Registered(
        made.provider.id, secret, created=True, api_token=made.api_token if routes_calls else None
    )
