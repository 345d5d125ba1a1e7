"""The email webhook's body limit in practice: 25 MiB (the email channel's own limit, larger than
the 1 MiB other channels get), so a mail with a few MB of attachments arrives through the webhook."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from omniroute.channels.email import SPEC
from omniroute.channels.registry import ChannelSpec
from tests.e2e.channels.email.conftest import account_settings, create_account, fixture, post_mail
from tests.e2e.conftest import LiveServer, free_port

Clients = dict[str, Any]


def with_attachment(raw: bytes, size: int) -> bytes:
    """A real mail with a ``size``-byte PDF attached (base64, as mail clients send it)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith((b"content-", b"mime-"))]
    data = base64.encodebytes(b"%PDF-1.7\n" + bytes(size - 9)).replace(b"\n", b"\r\n")
    return b"\r\n".join(
        [
            *lines,
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="b1"',
            b"",
            b"--b1",
            b"Content-Type: text/plain; charset=utf-8",
            b"",
            body.strip() or b"see attached",
            b"--b1",
            b'Content-Type: application/pdf; name="scan.pdf"',
            b"Content-Transfer-Encoding: base64",
            b'Content-Disposition: attachment; filename="scan.pdf"',
            b"",
            data,
            b"--b1--",
            b"",
        ]
    )


async def test_mail_of_a_few_megabytes_is_accepted_and_over_25_mib_refused(
    server: LiveServer, clients: Clients
) -> None:
    assert SPEC.max_webhook_bytes == 25 * 1024 * 1024
    assert ChannelSpec.max_webhook_bytes == 1024 * 1024  # what other channels get
    account_id = await create_account(clients, account_settings(free_port()))
    raw = with_attachment(fixture("gmail_first_message.eml"), 3 * 1024 * 1024)
    assert len(raw) > 4 * 1024 * 1024  # well over the 1 MiB the docs used to state
    accepted = await post_mail(server, account_id, raw)
    assert accepted.status_code == 200, accepted.text

    too_big = b"x" * (SPEC.max_webhook_bytes + 1)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        refused = await http.post(
            f"/webhooks/{account_id}", content=too_big, headers={"content-type": "message/rfc822"}
        )
    assert refused.status_code == 413
    assert str(SPEC.max_webhook_bytes) in refused.json()["detail"]
