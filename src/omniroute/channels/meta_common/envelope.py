"""A signed Graph webhook POST turned into its JSON document: signature first, then JSON, then the
``object`` / ``entry`` envelope every Meta webhook shares."""

from __future__ import annotations

import json
from typing import Any

from omniroute.channels.meta_common import signature
from omniroute.channels.port import MalformedPayload, WebhookRequest

#: What Meta expects back; the body is not read, only the 200.
ACKNOWLEDGEMENT = b"EVENT_RECEIVED"


def verified_document(request: WebhookRequest, app_secret: str, expected_object: str) -> dict[str, Any]:
    if request.method != "POST":
        msg = f"{request.method} is not a Meta webhook (GET for verification, POST for events)"
        raise MalformedPayload(msg)
    signature.verify(app_secret, request.body, request.headers.get(signature.HEADER))
    try:
        document = json.loads(request.body)
    except ValueError as exc:
        msg = f"body is not JSON: {exc}"
        raise MalformedPayload(msg) from exc
    if not isinstance(document, dict):
        raise MalformedPayload("the webhook body must be a JSON object")
    if document.get("object") != expected_object:
        msg = f"expected object {expected_object!r}, got {document.get('object')!r}"
        raise MalformedPayload(msg)
    entries = document.get("entry")
    if not isinstance(entries, list):
        raise MalformedPayload("'entry' must be a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            msg = f"entry[{index}] is not an object"
            raise MalformedPayload(msg)
    return document


def objects(value: Any, where: str) -> list[dict[str, Any]]:
    """A list of JSON objects (absent means empty); anything else is a malformed payload."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        msg = f"{where} must be a list of objects"
        raise MalformedPayload(msg)
    return value


def text_field(value: Any, where: str) -> str:
    """A required non-empty string (ids, addresses)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # some ids arrive as numbers in older payloads
    if not isinstance(value, str) or not value:
        msg = f"{where} must be a non-empty string"
        raise MalformedPayload(msg)
    return value
