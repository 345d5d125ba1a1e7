"""Calls to Meta's Graph API (WhatsApp Cloud API and the Messenger Send API are both Graph
endpoints) and what their errors mean for a retry.

The token travels in the ``Authorization: Bearer`` header rather than the query string so it never
lands in proxy or access logs; every call also carries ``appsecret_proof`` (HMAC-SHA256 of the token
keyed by the app secret), which Meta checks when the app enables "Require App Secret" and ignores
otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from omniroute.channels import media
from omniroute.channels.port import (
    Media,
    MediaFetchFailed,
    MediaTooLarge,
    PermanentSendError,
    TransientSendError,
)
from omniroute.channels.registry import AccountConfig

DEFAULT_GRAPH_BASE = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"

#: Graph-wide codes (any product): 1 unknown, 2 service, 4/17/32/613 rate limits.
GRAPH_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613})
#: 10 / 200-299 permission, 100 invalid parameter, 190 expired or invalid token, 368 policy block.
GRAPH_PERMANENT_CODES = frozenset({10, 100, 190, 368, *range(200, 300)})


@dataclass(frozen=True)
class GraphAccount:
    """Where and as whom an account calls the Graph API."""

    base: str
    version: str
    access_token: str
    app_secret: str

    @classmethod
    def from_config(cls, config: AccountConfig) -> GraphAccount:
        base = str(config.settings.get("graph_base") or DEFAULT_GRAPH_BASE).rstrip("/")
        version = str(config.settings.get("api_version") or DEFAULT_API_VERSION).strip("/")
        return cls(base, version, config.secrets["access_token"], config.secrets["app_secret"])

    def url(self, *path: str) -> str:
        return "/".join([self.base, self.version, *(quote(p, safe="") for p in path)])

    def appsecret_proof(self) -> str:
        return hmac.new(self.app_secret.encode(), self.access_token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class GraphError:
    """Graph's error object: ``{"error": {"message", "type", "code", "error_subcode",
    "error_data": {"details"}, "is_transient", "fbtrace_id"}}``."""

    http_status: int
    code: int | None
    subcode: int | None
    message: str
    details: str | None = None
    is_transient: bool = False
    fbtrace_id: str | None = None
    retry_after: float | None = None

    @classmethod
    def from_response(cls, response: httpx.Response) -> GraphError:
        retry_after = response.headers.get("retry-after", "")
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(
                response.status_code,
                None,
                None,
                f"HTTP {response.status_code}: {response.text[:200]}",
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        return cls(
            http_status=response.status_code,
            code=_int(error.get("code")),
            subcode=_int(error.get("error_subcode")),
            message=str(error.get("message") or f"HTTP {response.status_code}"),
            details=str(details) if details else None,
            is_transient=error.get("is_transient") is True,
            fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
            retry_after=float(retry_after) if retry_after.isdigit() else None,
        )

    def describe(self) -> str:
        code = "?" if self.code is None else str(self.code)
        if self.subcode is not None:
            code += f"/{self.subcode}"
        text = f"Graph error {code}: {self.message}"
        if self.details and self.details not in self.message:
            text += f" ({self.details})"
        return text


class GraphCallFailed(Exception):
    def __init__(self, error: GraphError) -> None:
        super().__init__(error.describe())
        self.error = error


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


async def post(
    http: httpx.AsyncClient, account: GraphAccount, path: tuple[str, ...], body: Any
) -> dict[str, Any]:
    """POST JSON to a Graph edge; the decoded answer, or :class:`GraphCallFailed` on an error answer.

    Network failures before an answer are transient (nothing was accepted, so a retry cannot
    duplicate); an unreadable 2xx is permanent, because the message may already be on its way and a
    retry could send it twice.
    """
    try:
        response = await http.post(
            account.url(*path),
            json=body,
            params={"appsecret_proof": account.appsecret_proof()},
            headers={"Authorization": f"Bearer {account.access_token}"},
        )
    except httpx.TimeoutException as exc:
        msg = f"Graph API timeout: {exc!r}"
        raise TransientSendError(msg) from exc
    except httpx.TransportError as exc:
        msg = f"Graph API unreachable: {exc!r}"
        raise TransientSendError(msg) from exc
    if response.status_code >= 400:
        raise GraphCallFailed(GraphError.from_response(response))
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        msg = f"Graph API answered HTTP {response.status_code} without JSON; the message may have been sent"
        raise PermanentSendError(msg)
    return answer


def classify(
    error: GraphError,
    *,
    permanent: frozenset[int],
    transient: frozenset[int],
    hints: Mapping[int, str],
) -> TransientSendError | PermanentSendError:
    """The send error a Graph error becomes. Codes decide first (Meta's advice: build on ``code``,
    not on HTTP statuses), then Graph's ``is_transient`` flag, then the HTTP status. ``hints`` (by
    subcode or code) add what the agent should do about it to the reason."""
    reason = error.describe()
    hint = hints.get(error.subcode or -1) or hints.get(error.code or -1)
    if hint:
        reason += f" — {hint}"
    if error.code is not None and error.code in permanent:
        return PermanentSendError(reason)
    if error.code is not None and error.code in transient:
        return TransientSendError(reason, error.retry_after)
    if error.code is not None and error.code in GRAPH_PERMANENT_CODES:
        return PermanentSendError(reason)
    if error.code is not None and error.code in GRAPH_TRANSIENT_CODES:
        return TransientSendError(reason, error.retry_after)
    if error.is_transient or error.http_status >= 500 or error.http_status in (408, 429):
        return TransientSendError(reason, error.retry_after)
    return PermanentSendError(reason)


async def download_media(
    http: httpx.AsyncClient, account: GraphAccount, node_url: str, max_bytes: int
) -> Media:
    """A WhatsApp media id's bytes: ``GET /{version}/{media-id}`` answers ``{"url", "mime_type",
    "sha256", "file_size", "id"}``; the ``url`` (valid for minutes) is then fetched with the same
    bearer token. Only URLs on this account's Graph base are looked up, and the bytes must match
    Meta's ``sha256``."""
    if not node_url.startswith(account.base + "/"):
        msg = "not a Graph media URL of this account"
        raise MediaFetchFailed(msg, transient=False)
    bearer = {"Authorization": f"Bearer {account.access_token}"}
    try:
        response = await http.get(
            node_url, params={"appsecret_proof": account.appsecret_proof()}, headers=bearer
        )
    except httpx.HTTPError as exc:
        raise MediaFetchFailed(f"Graph API unreachable: {type(exc).__name__}") from None
    if response.status_code >= 400:
        error = GraphError.from_response(response)
        transient = error.is_transient or error.http_status >= 500 or error.http_status == 429
        raise MediaFetchFailed(error.describe(), transient=transient or error.code in GRAPH_TRANSIENT_CODES)
    try:
        node = response.json()
    except ValueError:
        node = None
    url = node.get("url") if isinstance(node, dict) else None
    if not isinstance(url, str):
        raise MediaFetchFailed("the Graph media node has no url")
    size = str(node.get("file_size", "")) if isinstance(node, dict) else ""
    if size.isdigit() and int(size) > max_bytes:
        raise MediaTooLarge(f"{size} bytes")
    got = await media.download(http, url, max_bytes=max_bytes, headers=bearer)
    expected = node.get("sha256") if isinstance(node, dict) else None
    if isinstance(expected, str) and expected and not _same_digest(hashlib.sha256(got.data), expected):
        raise MediaFetchFailed("the download does not match the sha256 Meta announced")
    mime = node.get("mime_type") if isinstance(node, dict) else None
    return Media(got.data, mime if isinstance(mime, str) and mime else got.content_type)


def _same_digest(digest: hashlib._Hash, announced: str) -> bool:
    """Meta writes the sha256 in hex (the media node) or base64 (webhooks); accept either."""
    if hmac.compare_digest(digest.hexdigest(), announced.strip().lower()):
        return True
    try:
        raw = base64.b64decode(announced, validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(raw, digest.digest())
