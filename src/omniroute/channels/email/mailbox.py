"""One IMAP session over the standard library's client (blocking: the poller runs it in a thread).

Messages are read with ``BODY.PEEK[]`` and flagged ``\\Seen`` only after they are stored, so a crash or
a database outage between the two leaves them unseen and the next poll fetches them again; the
receipt log's dedupe makes that second delivery harmless. UIDs, not sequence numbers, name messages,
because sequence numbers shift when another client expunges mail during the session.
"""

from __future__ import annotations

import contextlib
import imaplib
from typing import Any

from omniroute.channels.email.settings import EmailSettings


class ImapError(Exception):
    """The server refused a command, or the session broke."""


class ImapMailbox:
    def __init__(self, settings: EmailSettings) -> None:
        self._settings = settings
        self._imap: imaplib.IMAP4 | None = None

    def open(self) -> None:
        s = self._settings
        if s.imap_host is None:
            msg = "this account has no imap_host"
            raise ImapError(msg)
        if s.imap_password is None:
            msg = "this account has no imap_password"
            raise ImapError(msg)
        try:
            if s.imap_ssl:
                self._imap = imaplib.IMAP4_SSL(
                    s.imap_host, s.imap_port, ssl_context=s.tls_context(), timeout=s.timeout_seconds
                )
            else:
                self._imap = imaplib.IMAP4(s.imap_host, s.imap_port, timeout=s.timeout_seconds)
            login_typ, login_data = self._imap.login(s.imap_username, s.imap_password)
            self._ok((login_typ, list(login_data)), "LOGIN")
            select_typ, select_data = self._imap.select(_quoted(s.mailbox))
            self._ok((select_typ, list(select_data)), "SELECT")
        except ImapError:
            self.close()
            raise
        except (imaplib.IMAP4.error, OSError) as exc:
            self.close()
            msg = f"IMAP {s.imap_host}:{s.imap_port}: {exc}"
            raise ImapError(msg) from exc

    def unseen(self) -> list[str]:
        typ, data = self._call("SEARCH", "UNSEEN")
        self._ok((typ, data), "UID SEARCH")
        first = data[0] if data else b""
        return [uid.decode() for uid in first.split()] if isinstance(first, bytes) else []

    def fetch(self, uid: str) -> bytes | None:
        """The raw message, or None when it vanished (another client deleted it meanwhile)."""
        typ, data = self._call("FETCH", uid, "(BODY.PEEK[])")
        self._ok((typ, data), "UID FETCH")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def mark_seen(self, uid: str) -> None:
        self._ok(self._call("STORE", uid, "+FLAGS", "(\\Seen)"), "UID STORE")

    def close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            with contextlib.suppress(OSError):
                imap.shutdown()

    def _call(self, command: str, *args: str) -> tuple[str, list[object]]:
        if self._imap is None:
            msg = "the IMAP session is not open"
            raise ImapError(msg)
        try:
            typ, data = self._imap.uid(command, *args)
        except (imaplib.IMAP4.error, OSError) as exc:
            msg = f"IMAP UID {command}: {exc}"
            raise ImapError(msg) from exc
        return typ, list(data)

    @staticmethod
    def _ok(response: tuple[str, list[Any]], what: str) -> None:
        typ, data = response
        if typ != "OK":
            detail = data[0].decode("utf-8", "replace") if data and isinstance(data[0], bytes) else data
            msg = f"IMAP {what} refused: {detail}"
            raise ImapError(msg)


def _quoted(mailbox: str) -> str:
    """Mailbox names with spaces or quotes must be sent as a quoted string."""
    escaped = mailbox.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
