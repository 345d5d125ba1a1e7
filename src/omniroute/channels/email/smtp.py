"""Hand a message to the account's SMTP server (submission with STARTTLS, implicit TLS, or plain).

The standard library's client runs in a worker thread: one short connection per message, bounded by
the account's timeout, so a hanging server never blocks the event loop. Outcomes map onto the port's
errors the way SMTP defines them: a 4xx reply is temporary (try again later), a 5xx reply is final,
and a connection that fails or drops is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from email.message import EmailMessage

from omniroute.channels.email.settings import EmailSettings
from omniroute.channels.port import PermanentSendError, TransientSendError


async def send_mail(settings: EmailSettings, mail: EmailMessage, recipient: str) -> None:
    await asyncio.to_thread(deliver, settings, mail, recipient)


def deliver(settings: EmailSettings, mail: EmailMessage, recipient: str) -> None:
    try:
        client = _connect(settings)
    except smtplib.SMTPConnectError as exc:
        raise _by_code(exc.smtp_code, exc.smtp_error, "greeting") from exc
    except (OSError, smtplib.SMTPException) as exc:
        msg = f"cannot reach {settings.smtp_host}:{settings.smtp_port}: {exc!r}"
        raise TransientSendError(msg) from exc
    try:
        _submit(client, settings, mail, recipient)
    finally:
        # The message is in the server's hands once DATA was accepted; a failed QUIT changes nothing.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()
        client.close()


def _connect(settings: EmailSettings) -> smtplib.SMTP:
    if settings.smtp_ssl:
        return smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=settings.timeout_seconds,
            context=settings.tls_context(),
        )
    return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_seconds)


def _submit(client: smtplib.SMTP, settings: EmailSettings, mail: EmailMessage, recipient: str) -> None:
    try:
        client.ehlo()
        if settings.smtp_starttls:
            client.starttls(context=settings.tls_context())
            client.ehlo()
        if settings.smtp_password:
            client.login(settings.smtp_username, settings.smtp_password)
        client.send_message(mail, from_addr=settings.address, to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (-1, b"recipient refused"))
        raise _by_code(code, reply, "recipient") from exc
    except smtplib.SMTPNotSupportedError as exc:
        # STARTTLS or AUTH configured but not offered: retrying the same server will not help.
        msg = f"the server does not support what this account is configured for: {exc}"
        raise PermanentSendError(msg) from exc
    except smtplib.SMTPResponseException as exc:
        raise _by_code(exc.smtp_code, exc.smtp_error, _stage(exc)) from exc
    except (OSError, smtplib.SMTPException) as exc:
        msg = f"connection to {settings.smtp_host}:{settings.smtp_port} failed: {exc!r}"
        raise TransientSendError(msg) from exc


def _stage(exc: smtplib.SMTPResponseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "login"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "sender"
    if isinstance(exc, smtplib.SMTPDataError):
        return "data"
    return "command"


def _by_code(code: int, reply: bytes | str, stage: str) -> TransientSendError | PermanentSendError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    reason = f"SMTP {code} at {stage}: {text}"[:500]
    if 500 <= code < 600:
        return PermanentSendError(reason)
    return TransientSendError(reason)  # 4xx, and anything unexpected, may work next time
