"""Voice commands and queries: the provider registry, agent mappings, call webhooks, dispositions,
screen-pop lookups, and presence set by a provider.

Webhooks are verified by the provider's adapter before anything is read or stored; the events
are then stored once and folded into their call in one transaction (``calls.CallRecorder``),
which also keeps the call's conversation in step (``timeline.CallTimeline``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError

from omniroute.conversations.model import ConversationState
from omniroute.conversations.service import ConversationService
from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthorized
from omniroute.core.ids import hash_token, new_id, new_token
from omniroute.core.secretbox import SecretBox, SecretUnavailable
from omniroute.core.uow import Publisher, UnitOfWork
from omniroute.customers.model import Customer, normalise_phone
from omniroute.customers.service import CustomerService
from omniroute.identity.model import Role, User
from omniroute.identity.service import IdentityService
from omniroute.routing.model import Presence
from omniroute.routing.service import RoutingService
from omniroute.voice import providers as rules
from omniroute.voice import store
from omniroute.voice.adapters import create_adapter
from omniroute.voice.adapters.port import VoiceRequest, read_events
from omniroute.voice.call_routing import CallRouter, RouteRequest, RouteStatus
from omniroute.voice.calls import CallRecorder, Ingested, changed
from omniroute.voice.events import VoiceAgentLinkChanged, VoiceProviderChanged
from omniroute.voice.model import normalise_number
from omniroute.voice.presence_sync import PresenceSync
from omniroute.voice.providers import Provider
from omniroute.voice.store import AgentLink, CallRow, PresenceDelivery
from omniroute.voice.timeline import CallRouting, CallTimeline

log = logging.getLogger(__name__)

TOKEN_PREFIX = "omv_"  # noqa: S105 - a prefix that marks voice provider tokens, not a secret
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix of generated webhook secrets
MAX_DISPOSITION = 200
MAX_NOTES = 2000


@dataclass(frozen=True)
class CreatedProvider:
    provider: Provider
    api_token: str  # shown once
    webhook_secret: str | None  # shown once when Omniroute generated it


@dataclass(frozen=True)
class Lookup:
    """Screen pop: who a number belongs to. 0 matches → offer quick-create, 1 → open it, more →
    show the list."""

    phone: str
    matches: list[Customer]

    @property
    def action(self) -> str:
        return {0: "quick_create", 1: "open"}.get(len(self.matches), "search")


@dataclass
class ProviderChanges:
    name: str | None = None
    settings: dict[str, str] | None = None
    softphone_url: str | None = None
    trusted_origin: str | None = None
    features: list[str] | None = None
    presence_url: str | None = None
    clear_presence_url: bool = False
    agents_by_user_id: bool | None = None
    sort_order: int | None = None
    enabled: bool | None = None
    webhook_secret: str | None = None
    custom_parameters: dict[str, Any] | None = None


class VoiceService:
    def __init__(
        self,
        *,
        db: Database,
        publisher: Publisher,
        clock: Clock,
        secrets: SecretBox,
        conversations: ConversationService,
        routing: RoutingService,
        customers: CustomerService,
        identity: IdentityService,
        call_routing: CallRouting | None = None,
        presence: PresenceSync | None = None,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.clock = clock
        self.secrets = secrets
        self.conversations = conversations
        self.routing = routing
        self.customers = customers
        self.identity = identity
        self.timeline = CallTimeline(conversations, call_routing or routing, self._agent_name)
        self.recorder = CallRecorder(self.timeline, self._agent_user)
        self.presence = presence or PresenceSync(db=db, publisher=publisher, clock=clock, secrets=secrets)
        self.router = CallRouter(
            db=db,
            publisher=publisher,
            clock=clock,
            conversations=conversations,
            routing=routing,
            identity=identity,
            timeline=self.timeline,
            outbox=self.presence,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.presence.start()

    async def stop(self) -> None:
        await self.router.settle()
        await self.presence.stop()

    # -- the provider registry -----------------------------------------------------------------

    def _validated(
        self,
        *,
        provider_id: str,
        name: str,
        kind: str,
        settings: dict[str, str],
        softphone_url: str,
        trusted_origin: str | None,
        features: Iterable[str],
        presence_url: str | None,
        sort_order: int,
        custom_parameters: object,
    ) -> dict[str, Any]:
        create_adapter(kind, provider=provider_id, clock=self.clock, settings=settings)  # 422 on bad settings
        url = rules.check_url(softphone_url, "softphone URL")
        chosen = rules.check_features(features)
        return {
            "name": rules.check_name(name),
            "kind": kind,
            "settings": {k: v for k, v in settings.items() if v},
            "softphone_url": url,
            "trusted_origin": rules.check_origin(trusted_origin, url),
            "features": chosen,
            "presence_url": rules.check_presence_target(chosen, presence_url),
            "sort_order": rules.check_sort_order(sort_order),
            "custom_parameters": rules.check_custom_parameters(custom_parameters),
        }

    async def create_provider(
        self,
        *,
        name: str,
        kind: str,
        softphone_url: str,
        trusted_origin: str | None = None,
        settings: dict[str, str] | None = None,
        features: Iterable[str] = (),
        presence_url: str | None = None,
        agents_by_user_id: bool = False,
        sort_order: int = 0,
        webhook_secret: str | None = None,
        actor_id: str | None = None,
        custom_parameters: dict[str, Any] | None = None,
    ) -> CreatedProvider:
        provider_id = new_id()
        fields = self._validated(
            provider_id=provider_id,
            name=name,
            kind=kind,
            settings=settings or {},
            softphone_url=softphone_url,
            trusted_origin=trusted_origin,
            features=features,
            presence_url=presence_url,
            sort_order=sort_order,
            custom_parameters=custom_parameters if custom_parameters is not None else {},
        )
        generated = None
        if not webhook_secret:
            if kind in rules.VENDOR_SECRET_KINDS:
                msg = f"a {kind} provider needs the vendor's webhook_secret (for Twilio: the auth token)"
                raise InvalidInput(msg)
            generated = webhook_secret = SECRET_PREFIX + new_token()
        token = TOKEN_PREFIX + new_token()
        now = self.clock.now()
        provider = Provider(
            id=provider_id,
            agents_by_user_id=agents_by_user_id,
            enabled=True,
            webhook_secret=self.secrets.seal(webhook_secret),
            api_token_hash=hash_token(token),
            created_at=now,
            updated_at=now,
            **fields,
        )
        try:
            async with self.publisher.unit_of_work() as uow:
                await store.insert_provider(uow.conn, provider)
                uow.emit(
                    VoiceProviderChanged(
                        occurred_at=now, provider_id=provider.id, changed=["created"], actor_id=actor_id
                    )
                )
        except IntegrityError as exc:
            msg = f"a voice provider named {provider.name!r} exists already"
            raise Conflict(msg) from exc
        return CreatedProvider(provider, token, generated)

    async def update_provider(
        self, provider_id: str, changes: ProviderChanges, actor_id: str | None = None
    ) -> Provider:
        """Change what is given; the result is validated like a new provider."""
        try:
            async with self.publisher.unit_of_work() as uow:
                current = await store.get_provider(uow.conn, provider_id, for_update=True)
                if current is None:
                    raise NotFound("unknown voice provider")
                softphone = changes.softphone_url or current.softphone_url
                origin = changes.trusted_origin
                if origin is None and changes.softphone_url is None:
                    origin = current.trusted_origin
                presence_url = (
                    None if changes.clear_presence_url else changes.presence_url or current.presence_url
                )
                fields = self._validated(
                    provider_id=current.id,
                    name=changes.name or current.name,
                    kind=current.kind,
                    settings=changes.settings if changes.settings is not None else current.settings,
                    softphone_url=softphone,
                    trusted_origin=origin,
                    features=changes.features
                    if changes.features is not None
                    else [f.value for f in current.features],
                    presence_url=presence_url,
                    sort_order=changes.sort_order if changes.sort_order is not None else current.sort_order,
                    custom_parameters=changes.custom_parameters
                    if changes.custom_parameters is not None
                    else dict(current.custom_parameters),
                )
                updated = replace(
                    current,
                    agents_by_user_id=current.agents_by_user_id
                    if changes.agents_by_user_id is None
                    else changes.agents_by_user_id,
                    enabled=current.enabled if changes.enabled is None else changes.enabled,
                    webhook_secret=self.secrets.seal(changes.webhook_secret)
                    if changes.webhook_secret
                    else current.webhook_secret,
                    updated_at=uow.clock.now(),
                    **fields,
                )
                names = [
                    n
                    for n in (*fields, "agents_by_user_id", "enabled", "webhook_secret")
                    if getattr(updated, n) != getattr(current, n)
                ]
                if names:
                    await store.update_provider(uow.conn, updated)
                    uow.emit(
                        VoiceProviderChanged(
                            occurred_at=uow.clock.now(),
                            provider_id=current.id,
                            changed=names,
                            actor_id=actor_id,
                        )
                    )
                return updated
        except IntegrityError as exc:
            msg = f"a voice provider named {changes.name!r} exists already"
            raise Conflict(msg) from exc

    async def rotate_api_token(self, provider_id: str, actor_id: str | None = None) -> str:
        """A new API token for the provider's back end; the old one stops working at once."""
        token = TOKEN_PREFIX + new_token()
        async with self.publisher.unit_of_work() as uow:
            current = await store.get_provider(uow.conn, provider_id, for_update=True)
            if current is None:
                raise NotFound("unknown voice provider")
            await store.update_provider(
                uow.conn, replace(current, api_token_hash=hash_token(token), updated_at=uow.clock.now())
            )
            uow.emit(
                VoiceProviderChanged(
                    occurred_at=uow.clock.now(),
                    provider_id=current.id,
                    changed=["api_token"],
                    actor_id=actor_id,
                )
            )
        return token

    async def providers(self, *, enabled_only: bool = False) -> list[Provider]:
        async with self.db.read() as conn:
            return await store.list_providers(conn, enabled_only=enabled_only)

    async def provider(self, provider_id: str) -> Provider:
        async with self.db.read() as conn:
            found = await store.get_provider(conn, provider_id)
        if found is None:
            raise NotFound("unknown voice provider")
        return found

    def webhook_path(self, provider_id: str) -> str:
        return f"/webhooks/voice/{provider_id}"

    # -- agents ------------------------------------------------------------------------------------

    async def link_agent(
        self, provider_id: str, user_id: str, external_id: str, actor_id: str | None = None
    ) -> AgentLink:
        external = external_id.strip()
        if not 1 <= len(external) <= 300:
            raise InvalidInput("the provider's agent id has 1 to 300 characters")
        user = await self.identity.get_user(user_id)
        if user is None:
            raise NotFound("unknown user")
        link = AgentLink(provider_id, user.id, external)
        try:
            async with self.publisher.unit_of_work() as uow:
                if await store.get_provider(uow.conn, provider_id) is None:
                    raise NotFound("unknown voice provider")
                await store.set_link(uow.conn, link, uow.clock.now())
                uow.emit(
                    VoiceAgentLinkChanged(
                        occurred_at=uow.clock.now(),
                        provider_id=provider_id,
                        user_id=user.id,
                        external_id=external,
                        actor_id=actor_id,
                    )
                )
        except IntegrityError as exc:
            msg = f"agent id {external!r} is already mapped to another user of this provider"
            raise Conflict(msg) from exc
        return link

    async def unlink_agent(self, provider_id: str, user_id: str, actor_id: str | None = None) -> None:
        async with self.publisher.unit_of_work() as uow:
            if not await store.delete_link(uow.conn, provider_id, user_id):
                raise NotFound("this user has no agent id at this provider")
            uow.emit(
                VoiceAgentLinkChanged(
                    occurred_at=uow.clock.now(),
                    provider_id=provider_id,
                    user_id=user_id,
                    external_id=None,
                    actor_id=actor_id,
                )
            )

    async def agent_links(
        self, *, provider_id: str | None = None, user_id: str | None = None
    ) -> list[AgentLink]:
        async with self.db.read() as conn:
            return await store.links(conn, provider_id=provider_id, user_id=user_id)

    async def _agent_user(self, uow: UnitOfWork, provider: Provider, external_id: str) -> str | None:
        linked = await store.user_for_external(uow.conn, provider.id, external_id)
        if linked is not None:
            return linked
        if provider.agents_by_user_id:
            user = await self.identity.get_user(external_id)
            return user.id if user is not None and user.is_active else None
        return None

    async def _agent_name(self, user_id: str) -> str:
        user = await self.identity.get_user(user_id)
        return user.display_name if user else "Agent"

    # -- the provider's back end -----------------------------------------------------------------

    async def provider_for_token(self, token: str) -> Provider:
        """The provider whose API token this is (401 when none, 403 when it is disabled)."""
        if not token.startswith(TOKEN_PREFIX):
            raise Unauthorized("not a voice provider API token")
        async with self.db.read() as conn:
            found = await store.provider_by_token(conn, hash_token(token))
        if found is None:
            raise Unauthorized("invalid voice provider API token")
        if not found.enabled:
            raise Forbidden("this voice provider is disabled")
        return found

    async def receive(
        self, provider_id: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> Ingested:
        """A vendor webhook: verified before anything is read or stored (401/403 with the
        reason), parsed (400 with the reason), then stored once and folded."""
        provider = await self.provider(provider_id)
        if not provider.enabled:
            raise NotFound("unknown voice provider")
        adapter = create_adapter(
            provider.kind, provider=provider.id, clock=self.clock, settings=provider.settings
        )
        try:
            secret = self.secrets.open(provider.webhook_secret)
        except SecretUnavailable as exc:
            log.error("voice provider %s: cannot read its webhook secret: %s", provider.id, exc)
            raise ProviderUnavailable("this provider's webhook secret cannot be read") from exc
        events = read_events(adapter, VoiceRequest.of(url, headers, body), secret)
        if not events:
            return Ingested(received=0, new=0, calls=[])
        async with self.publisher.unit_of_work() as uow:
            return await self.recorder.record(uow, provider, events)

    async def set_presence_for(
        self, provider: Provider, user_id: str, presence: str
    ) -> tuple[Presence, str | None]:
        """The provider sets an agent's presence (its softphone went on a call, the agent logged
        out there…): only for agents it maps, unless it speaks in Omniroute user ids."""
        user = await self.identity.get_user(user_id)
        if provider.agents_by_user_id:
            if user is None or not user.is_active:
                raise NotFound("unknown agent")
        else:
            async with self.db.read() as conn:
                mapped = await store.links(conn, provider_id=provider.id, user_id=user_id)
            if not mapped or user is None:
                raise Forbidden("this provider does not map that agent")
        return await self.routing.set_presence(user_id, presence)

    # -- Omniroute routes the calls (see call_routing) ------------------------------------------------

    async def route_call(self, provider: Provider, call_id: str, ask: RouteRequest) -> RouteStatus:
        return await self.router.route(provider, call_id, ask)

    async def route_status(self, provider: Provider, call_id: str) -> RouteStatus:
        return await self.router.status(provider, call_id)

    async def reject_reservation(self, provider: Provider, call_id: str, reservation_id: str) -> RouteStatus:
        return await self.router.reject(provider, call_id, reservation_id)

    # -- calls ----------------------------------------------------------------------------------------

    async def call(self, call_row_id: str) -> CallRow:
        async with self.db.read() as conn:
            found = await store.get_call(conn, call_row_id)
        if found is None:
            raise NotFound("unknown call")
        return found

    async def visible_call(self, actor: User, call_row_id: str) -> CallRow:
        """A call its agent (or the conversation's) and supervisors see; to others it does not exist."""
        row = await self.call(call_row_id)
        if actor.has_role(Role.SUPERVISOR) or actor.id == row.agent_user_id:
            return row
        if row.conversation_id is not None:
            conv = await self.conversations.get(row.conversation_id)
            if conv.agent_id == actor.id:
                return row
        raise NotFound("unknown call")

    async def provider_call(self, provider_id: str, call_id: str) -> CallRow:
        """A call by the provider's own call id (what its softphone knows)."""
        async with self.db.read() as conn:
            found = await store.call_by_provider_id(conn, provider_id, call_id)
        if found is None:
            raise NotFound("unknown call")
        return found

    async def call_for_conversation(self, conversation_id: str) -> CallRow:
        async with self.db.read() as conn:
            found = await store.call_for_conversation(conn, conversation_id)
        if found is None:
            raise NotFound("this conversation is not a call")
        return found

    async def calls_of_customer(self, customer_id: str, limit: int = 50) -> list[CallRow]:
        async with self.db.read() as conn:
            return await store.calls_of_customer(conn, customer_id, limit)

    async def set_disposition(
        self, call_row_id: str, actor: User, *, disposition: str, notes: str | None, finish: bool
    ) -> CallRow:
        """The agent records how the call ended; with ``finish`` their wrap-up is over too (the
        conversation closes and routing frees the capacity)."""
        code = disposition.strip()
        if not 1 <= len(code) <= MAX_DISPOSITION:
            msg = f"a disposition code has 1 to {MAX_DISPOSITION} characters"
            raise InvalidInput(msg)
        text = (notes or "").strip() or None
        if text is not None and len(text) > MAX_NOTES:
            msg = f"notes have at most {MAX_NOTES} characters"
            raise InvalidInput(msg)
        async with self.publisher.unit_of_work() as uow:
            row = await store.get_call(uow.conn, call_row_id, for_update=True)
            if row is None:
                raise NotFound("unknown call")
            conv = await self.conversations.load(uow, row.conversation_id) if row.conversation_id else None
            holders = {row.agent_user_id, conv.agent_id if conv else None} - {None}
            if actor.id not in holders and not actor.has_role(Role.SUPERVISOR):
                raise NotFound("unknown call")  # like conversations: invisible calls do not exist
            now = uow.clock.now()
            updated = replace(
                row, disposition=code, notes=text, disposition_by=actor.id, disposition_at=now, updated_at=now
            )
            await store.save_call(uow.conn, updated)
            if conv is not None:
                await self.timeline.disposition_message(uow, conv, updated)
                if finish:
                    conv = await self.conversations.load(uow, conv.id)
                    if conv.state is ConversationState.WRAP_UP:
                        await self.timeline.close(uow, conv, "disposition_set")
                    elif conv.state is not ConversationState.CLOSED:
                        raise Conflict("the call is still going on: wrap-up starts when it ends")
            uow.emit(changed(updated, row.state, "disposition", now))
            return updated

    # -- screen pop ---------------------------------------------------------------------------------

    async def lookup(self, phone: str) -> Lookup:
        number = normalise_number(phone)
        if number is None:
            raise InvalidInput("not a phone number with a country code (E.164, e.g. +15558675310)")
        found = await self.customers.search(number, limit=50)
        return Lookup(number, [c for c in found if normalise_phone(c.phone) == number])

    # -- presence deliveries -----------------------------------------------------------------------

    async def presence_deliveries(self, provider_id: str, limit: int = 100) -> list[PresenceDelivery]:
        await self.provider(provider_id)
        async with self.db.read() as conn:
            return await store.deliveries(conn, provider_id, limit)


class ProviderUnavailable(DomainError):
    """The provider's secret cannot be read (a changed OMNIROUTE_SECRET_KEY, a missing environment
    variable): 503, so the vendor retries once an operator has fixed it."""

    status = 503
