"""The web chat channel's rules: widget keys, allowed origins, the pre-chat form. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from omniroute.core.errors import Forbidden, InvalidInput

CHANNEL = "webchat"


@dataclass(frozen=True)
class Widget:
    id: str
    name: str
    public_key: str
    allowed_origins: tuple[str, ...]
    default_queue_id: str | None


def normalise_origin(origin: str) -> str:
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"not an origin: {origin!r}"
        raise InvalidInput(msg)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def check_origin(widget: Widget, origin: str | None) -> None:
    """Browsers always send Origin on cross-origin and POST requests; no origin means no browser."""
    if "*" in widget.allowed_origins:
        return
    if origin is None:
        raise Forbidden("the Origin header is required")
    try:
        normalised = normalise_origin(origin)
    except InvalidInput as exc:
        raise Forbidden("origin not allowed for this widget") from exc
    if normalised not in widget.allowed_origins:
        raise Forbidden("origin not allowed for this widget")


@dataclass(frozen=True)
class PrechatAnswers:
    name: str
    email: str | None
    question: str
    queue: str | None


def read_prechat(name: str, email: str | None, question: str, queue: str | None) -> PrechatAnswers:
    clean_name = name.strip()
    if not clean_name:
        raise InvalidInput("name is required")
    if len(clean_name) > 200:
        raise InvalidInput("name is longer than 200 characters")
    clean_email = (email or "").strip().lower() or None
    if clean_email is not None and ("@" not in clean_email or len(clean_email) > 254):
        raise InvalidInput("email is not valid")
    return PrechatAnswers(clean_name, clean_email, question.strip(), (queue or "").strip() or None)
