"""Downloading a customer's media from a provider, with a size cap, for adapters' ``fetch_media``.

Only the transfer lives here (what every provider shares: a streamed GET that stops at the size
limit, and which answers are worth retrying); each adapter decides the URL and the credentials.

**Server-side request forgery guard.** A URL that did not come from the provider's own configured
API base (the custom channel's ``attachments[].url``, a Messenger CDN link, a Teams SharePoint
download link) is fetched with a :class:`HostGuard`: its host is resolved first, and the download
is refused when any address is private, loopback, link-local, multicast, reserved or unspecified
(the cloud metadata service at 169.254.169.254, the database on 10.0.0.5, Omniroute itself on
127.0.0.1…), unless the account opted in with ``allow_private_media_hosts``. The connection then
goes to the address that was checked (the name still drives the ``Host`` header and TLS), so a
second DNS answer cannot swap in another one, and every redirect is checked the same way.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import mimetypes
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from omniroute.channels.port import Media, MediaFetchFailed, MediaTooLarge

#: Extensions for what customers send most (fixed, whatever the host's mime.types says).
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/amr": ".amr",
    "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/vcard": ".vcf",
}
#: Statuses a later try may turn into a success.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Redirects a guarded download follows (each hop is checked).
MAX_REDIRECTS = 5
#: The account setting that lets media come from private addresses (an integrator on the same
#: network, the local doubles of tests and demos).
ALLOW_PRIVATE_SETTING = "allow_private_media_hosts"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``(host, port)`` → the addresses it resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class HostGuard:
    """Where a download of an untrusted URL may connect (see the module docs)."""

    allow_private: bool = False
    #: None: the system resolver (:func:`system_resolve`).
    resolve: Resolver | None = None

    @classmethod
    def for_settings(cls, settings: Mapping[str, Any]) -> HostGuard:
        """The account's guard: private hosts only with ``allow_private_media_hosts: true``."""
        return cls(allow_private=settings.get(ALLOW_PRIVATE_SETTING) is True)


def refusal(address: IPAddress) -> str | None:
    """Why a download may not connect to ``address`` (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return refusal(mapped)
    checks = (
        ("loopback", address.is_loopback),
        ("private", address.is_private),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("unspecified", address.is_unspecified),
        ("not globally routable", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


async def _resolved(host: str, port: int, guard: HostGuard) -> list[IPAddress]:
    try:
        found = await (guard.resolve or system_resolve)(host, port)
    except OSError as exc:
        raise MediaFetchFailed(f"cannot resolve {host} ({type(exc).__name__})") from None
    if not found:
        raise MediaFetchFailed(f"cannot resolve {host}")
    return [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]


async def _checked_address(url: httpx.URL, guard: HostGuard) -> str | None:
    """The address to connect to for ``url`` (None: connect by name, private hosts allowed);
    MediaFetchFailed when the host may not be reached."""
    host = url.host
    if not host:
        raise MediaFetchFailed("the URL has no host", transient=False)
    if guard.allow_private:
        return None
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolved(host, url.port or (443 if url.scheme == "https" else 80), guard)
    for address in addresses:
        why = refusal(address)
        if why is not None:
            msg = (
                f"refused: {host} resolves to a {why} address ({address}); set "
                f"{ALLOW_PRIVATE_SETTING} on the account to fetch media from private hosts"
            )
            raise MediaFetchFailed(msg, transient=False)
    return str(addresses[0])


async def download(
    http: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    redact: str | None = None,
    guard: HostGuard | None = None,
) -> Media:
    """GET ``url`` (redirects followed; credentials never follow a redirect to another origin, so
    a CDN never sees them) and read at most ``max_bytes``.

    ``redact`` is a secret that may appear in the URL (Telegram's bot token): it never reaches an
    error message. ``guard``: the URL is not the provider's own API, so its host (and every
    redirect's) must pass the :class:`HostGuard`; without it the URL is trusted (the adapter
    checked it is on the account's configured API base).
    """

    def clean(text: str) -> str:
        return text.replace(redact, "<token>") if redact else text

    if not url.startswith(("https://", "http://")):
        msg = "not an http(s) URL"
        raise MediaFetchFailed(msg, transient=False)
    try:
        if guard is None:
            async with http.stream(
                "GET", url, headers=dict(headers or {}), auth=auth, params=params, follow_redirects=True
            ) as response:
                return await _read(response, max_bytes)
        target = httpx.URL(url).copy_merge_params(dict(params)) if params else httpx.URL(url)
        return await _guarded(http, target, headers, auth, max_bytes, guard)
    except httpx.TimeoutException as exc:
        raise MediaFetchFailed(f"timeout ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise MediaFetchFailed(clean(f"network error ({exc})")) from None


async def _guarded(
    http: httpx.AsyncClient,
    url: httpx.URL,
    headers: Mapping[str, str] | None,
    auth: tuple[str, str] | None,
    max_bytes: int,
    guard: HostGuard,
) -> Media:
    """Follow redirects by hand, checking each hop's host and connecting to the checked address."""
    origin = (url.scheme, url.host, url.port)
    for _ in range(MAX_REDIRECTS + 1):
        if url.scheme not in ("http", "https"):
            raise MediaFetchFailed("a redirect left http(s)", transient=False)
        address = await _checked_address(url, guard)
        same_origin = (url.scheme, url.host, url.port) == origin
        sent = dict(headers or {}) if same_origin else {}
        extensions: dict[str, Any] = {}
        target = url
        if address is not None and address != url.host:
            sent["Host"] = url.netloc.decode("ascii")
            target = url.copy_with(host=address)
            if url.scheme == "https":
                extensions["sni_hostname"] = url.host
        if auth is not None and same_origin:
            sent["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
        request = http.build_request("GET", target, headers=sent, extensions=extensions)
        response = await http.send(request, stream=True, follow_redirects=False)
        try:
            if response.is_redirect:
                location = response.headers.get("location", "")
                if not location:
                    raise MediaFetchFailed("a redirect without a location", transient=False)
                url = url.join(location)
                continue
            return await _read(response, max_bytes)
        finally:
            await response.aclose()
    raise MediaFetchFailed(f"more than {MAX_REDIRECTS} redirects", transient=False)


async def _read(response: httpx.Response, max_bytes: int) -> Media:
    if response.status_code >= 400:
        transient = response.status_code in TRANSIENT_STATUSES
        raise MediaFetchFailed(f"HTTP {response.status_code}", transient=transient)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise MediaTooLarge(f"{int(declared)} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise MediaTooLarge(f"more than {max_bytes} bytes")
        chunks.append(chunk)
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    return Media(b"".join(chunks), content_type or "application/octet-stream")


def filename_for(content_type: str, stem: str) -> str:
    """A name for a file the provider sent without one (``image-1.jpg``)."""
    kind = content_type.split("/", maxsplit=1)[0] if "/" in content_type else "file"
    if kind not in ("image", "audio", "video"):
        kind = "file"
    bare = content_type.split(";", maxsplit=1)[0].strip().lower()
    ext = EXTENSIONS.get(bare) or mimetypes.guess_extension(bare) or ""
    return f"{kind}-{stem}{ext}"
