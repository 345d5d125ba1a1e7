"""Who may post activities to the bot: the Bot Connector service, proven by its JWT.

Bot Framework "channel → bot" authentication: ``Authorization: Bearer <JWT>`` signed RS256 with a key
from the Bot Framework key set (found through the OpenID metadata document), issuer
``https://api.botframework.com``, audience the bot's app id, within ``exp``/``nbf`` give or take five
minutes, a ``serviceurl`` claim equal to the activity's ``serviceUrl``, and — when the key lists
endorsements — the activity's ``channelId`` among them.

Time comes from the injected clock, so PyJWT checks signature, issuer and audience and we check the
validity window ourselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt

from omniroute.channels.port import SignatureError
from omniroute.core.clock import Clock

log = logging.getLogger(__name__)

OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
ISSUER = "https://api.botframework.com"
ALGORITHM = "RS256"
CLOCK_SKEW = timedelta(minutes=5)
#: Microsoft rotates keys rarely and announces them in the key set well ahead: a day is fresh enough.
KEYS_FRESH_FOR = timedelta(hours=24)
#: An unknown kid makes us refetch, but not more often than this: a forged kid cannot hammer Microsoft.
REFETCH_AT_MOST_EVERY = timedelta(minutes=5)
MAX_KEYS = 64


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: jwt.PyJWK
    #: The channel ids the key may vouch for (Bot Framework's extension to JWK); None means any.
    endorsements: frozenset[str] | None


@dataclass(frozen=True)
class VerifiedToken:
    claims: Mapping[str, Any]
    key: SigningKey


class KeySetUnavailable(Exception):
    """We could not fetch the keys and hold none: the caller cannot know who is calling (503)."""


class KeySet:
    """The Bot Framework signing keys, cached, refetched when stale or when a kid is unknown."""

    def __init__(
        self, http: httpx.AsyncClient, clock: Clock, *, openid_metadata_url: str, jwks_url: str | None
    ) -> None:
        self._http = http
        self._clock = clock
        self._metadata_url = openid_metadata_url
        self._jwks_url = jwks_url
        self._keys: dict[str, SigningKey] = {}
        self._fresh_until: datetime | None = None
        self._refetch_after: datetime | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> SigningKey | None:
        async with self._lock:
            now = self._clock.now()
            allowed = self._refetch_after is None or now >= self._refetch_after
            stale = self._fresh_until is None or now >= self._fresh_until
            if allowed and (stale or kid not in self._keys):
                await self._refresh(now)
            elif not self._keys:
                msg = "the Bot Framework signing keys could not be fetched; retrying shortly"
                raise KeySetUnavailable(msg)
            return self._keys.get(kid)

    async def _refresh(self, now: datetime) -> None:
        self._refetch_after = now + REFETCH_AT_MOST_EVERY
        try:
            keys = await self._fetch()
        except (httpx.HTTPError, ValueError) as exc:
            if not self._keys:
                # The detail (URLs, HTTP status) goes to the log, not to an unauthenticated caller.
                log.warning("cannot fetch the Bot Framework signing keys: %s", exc)
                msg = "the Bot Framework signing keys could not be fetched; retrying shortly"
                raise KeySetUnavailable(msg) from exc
            # Keep verifying with the keys we have; the next request after the interval tries again.
            log.warning("Bot Framework key refresh failed, keeping %d cached keys: %s", len(self._keys), exc)
            self._fresh_until = self._refetch_after
            return
        self._keys = keys
        self._fresh_until = now + KEYS_FRESH_FOR

    async def _fetch(self) -> dict[str, SigningKey]:
        jwks_url = self._jwks_url
        if not jwks_url:
            metadata = await self._get_json(self._metadata_url)
            jwks_url = metadata.get("jwks_uri")
            if not isinstance(jwks_url, str) or not jwks_url:
                msg = "the OpenID metadata has no jwks_uri"
                raise ValueError(msg)
        document = await self._get_json(jwks_url)
        raw_keys = document.get("keys")
        if not isinstance(raw_keys, list):
            msg = "the key set has no 'keys' list"
            raise ValueError(msg)
        keys: dict[str, SigningKey] = {}
        for raw in raw_keys[:MAX_KEYS]:
            parsed = _signing_key(raw)
            if parsed is not None:
                keys[parsed.kid] = parsed
        if not keys:
            msg = "the key set holds no usable RSA signing key"
            raise ValueError(msg)
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._http.get(url)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            msg = f"{url} did not answer a JSON object"
            raise ValueError(msg)
        return document


def _signing_key(raw: Any) -> SigningKey | None:
    if not isinstance(raw, dict) or raw.get("kty") != "RSA" or not isinstance(raw.get("kid"), str):
        return None
    if raw.get("use") not in (None, "sig"):
        return None
    try:
        key = jwt.PyJWK(raw, algorithm=ALGORITHM)
    except jwt.PyJWKError:
        return None
    endorsements = raw.get("endorsements")
    return SigningKey(
        kid=raw["kid"],
        key=key,
        endorsements=frozenset(e for e in endorsements if isinstance(e, str))
        if isinstance(endorsements, list)
        else None,
    )


class ChannelAuthenticator:
    def __init__(self, keys: KeySet, clock: Clock, *, app_id: str, issuer: str = ISSUER) -> None:
        self._keys = keys
        self._clock = clock
        self._app_id = app_id
        self._issuer = issuer

    async def verify(self, authorization: str | None) -> VerifiedToken:
        """The token's claims once signature, issuer, audience and lifetime hold; else SignatureError."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SignatureError("missing 'Authorization: Bearer <token>' header")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise SignatureError(f"the bearer token is not a JWT: {exc}") from exc
        if header.get("alg") != ALGORITHM:
            raise SignatureError(f"the token must be signed {ALGORITHM}, not {header.get('alg')!r}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise SignatureError("the token header names no signing key (kid)")
        try:
            key = await self._keys.get(kid)
        except KeySetUnavailable as exc:
            # Not the caller's fault and not a forgery: 503 makes the Bot Connector retry later.
            raise SignatureError(str(exc), status=503) from exc
        if key is None:
            raise SignatureError(f"signing key {kid!r} is not in the Bot Framework key set")
        claims = self._decode(token, key)
        self._check_lifetime(claims)
        return VerifiedToken(claims=claims, key=key)

    def _decode(self, token: str, key: SigningKey) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key.key.key,
                algorithms=[ALGORITHM],
                audience=self._app_id,
                issuer=self._issuer,
                # The lifetime is checked against the injected clock below, not the wall clock.
                options={
                    "require": ["exp", "iss", "aud"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError as exc:
            raise SignatureError("the token signature does not verify") from exc
        except jwt.InvalidAudienceError as exc:
            raise SignatureError("the token is not for this bot's app id") from exc
        except jwt.InvalidIssuerError as exc:
            raise SignatureError(f"the token issuer is not {self._issuer}") from exc
        except jwt.InvalidTokenError as exc:
            raise SignatureError(f"invalid token: {exc}") from exc

    def _check_lifetime(self, claims: Mapping[str, Any]) -> None:
        now = self._clock.now().timestamp()
        skew = CLOCK_SKEW.total_seconds()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int | float) or now > exp + skew:
            raise SignatureError("the token has expired")
        if nbf is not None and (not isinstance(nbf, int | float) or now < nbf - skew):
            raise SignatureError("the token is not valid yet")

    @staticmethod
    def check_activity(token: VerifiedToken, service_url: Any, channel_id: Any) -> None:
        """Bind the token to this activity: a token captured elsewhere cannot vouch for it."""
        claim = token.claims.get("serviceurl")
        if (
            not isinstance(claim, str)
            or not isinstance(service_url, str)
            or claim.rstrip("/") != service_url.rstrip("/")
        ):
            raise SignatureError("the token's serviceurl claim does not match the activity's serviceUrl")
        endorsements = token.key.endorsements
        if endorsements is not None and isinstance(channel_id, str) and channel_id not in endorsements:
            raise SignatureError(f"the signing key is not endorsed for channel {channel_id!r}", status=403)
