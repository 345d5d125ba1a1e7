"""A minimal IMAP4rev1 server (RFC 3501) on asyncio streams: the local peer for the IMAP poller.

It speaks the real protocol on a real socket, enough of it for a mail client that polls one mailbox:
CAPABILITY, NOOP, LOGIN, SELECT/EXAMINE, SEARCH (ALL / UNSEEN / SEEN), FETCH (RFC822, BODY[],
BODY.PEEK[], UID, FLAGS, RFC822.SIZE), STORE (+FLAGS / -FLAGS / FLAGS), their UID forms, and
LOGOUT. Messages live in memory; every command line is recorded so tests can check what was asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\([^)]*\))|(\S+)')
_SEEN = "\\Seen"


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class ImapServer:
    username: str
    password: str
    mailbox: str = "INBOX"
    messages: list[StoredMessage] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    logins: int = 0
    logouts: int = 0
    port: int = 0
    _next_uid: int = 1
    _logged_out: asyncio.Event = field(default_factory=asyncio.Event)

    def deliver(self, raw: bytes, *, seen: bool = False) -> int:
        """Put a message in the mailbox (what an MTA would do); returns its UID."""
        message = StoredMessage(self._next_uid, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        if seen:
            message.flags.add(_SEEN)
        self.messages.append(message)
        self._next_uid += 1
        return message.uid

    def unseen(self) -> list[int]:
        return [m.uid for m in self.messages if _SEEN not in m.flags]

    async def wait_for_logout(self, count: int) -> None:
        while self.logouts < count:
            self._logged_out.clear()
            await self._logged_out.wait()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, reader, writer)
        try:
            await session.run()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()


class _Session:
    def __init__(
        self, server: ImapServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.selected = False

    async def send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.writer.write(data + b"\r\n")
        await self.writer.drain()

    async def run(self) -> None:
        await self.send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Omniroute test IMAP ready")
        while True:
            line = await self.reader.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            self.server.commands.append(text)
            tag, _, rest = text.partition(" ")
            command, _, args = rest.partition(" ")
            if not await self.dispatch(tag, command.upper(), args):
                return

    async def dispatch(self, tag: str, command: str, args: str) -> bool:
        if command == "CAPABILITY":
            await self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
            await self.send(f"{tag} OK CAPABILITY completed")
        elif command == "NOOP":
            await self.send(f"{tag} OK NOOP completed")
        elif command == "LOGOUT":
            await self.send("* BYE logging out")
            await self.send(f"{tag} OK LOGOUT completed")
            self.server.logouts += 1
            self.server._logged_out.set()
            return False
        elif command == "LOGIN":
            await self.login(tag, _tokens(args))
        elif not self.authenticated:
            await self.send(f"{tag} BAD log in first")
        elif command in ("SELECT", "EXAMINE"):
            await self.select(tag, command, _tokens(args))
        elif not self.selected:
            await self.send(f"{tag} BAD select a mailbox first")
        elif command == "UID":
            sub, _, sub_args = args.partition(" ")
            await self.mailbox_command(tag, sub.upper(), sub_args, by_uid=True)
        else:
            await self.mailbox_command(tag, command, args, by_uid=False)
        return True

    async def login(self, tag: str, args: list[str]) -> None:
        if len(args) == 2 and (args[0], args[1]) == (self.server.username, self.server.password):
            self.authenticated = True
            self.server.logins += 1
            await self.send(f"{tag} OK [CAPABILITY IMAP4rev1] LOGIN completed")
        else:
            await self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")

    async def select(self, tag: str, command: str, args: list[str]) -> None:
        if not args or args[0].upper() != self.server.mailbox.upper():
            await self.send(f"{tag} NO [NONEXISTENT] no such mailbox")
            return
        self.selected = True
        messages = self.server.messages
        await self.send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        await self.send(f"* {len(messages)} EXISTS")
        await self.send("* 0 RECENT")
        await self.send("* OK [UIDVALIDITY 1] UIDs valid")
        await self.send(f"* OK [UIDNEXT {self.server._next_uid}] predicted next UID")
        mode = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
        await self.send(f"{tag} OK [{mode}] {command} completed")

    async def mailbox_command(self, tag: str, command: str, args: str, *, by_uid: bool) -> None:
        name = f"UID {command}" if by_uid else command
        if command == "SEARCH":
            await self.search(_tokens(args), by_uid=by_uid)
        elif command == "FETCH":
            what, _, items = args.partition(" ")
            await self.fetch(self.pick(what, by_uid=by_uid), items.upper())
        elif command == "STORE":
            what, _, rest = args.partition(" ")
            mode, _, flags = rest.partition(" ")
            await self.store(self.pick(what, by_uid=by_uid), mode.upper(), flags)
        else:
            await self.send(f"{tag} BAD unknown command {command}")
            return
        await self.send(f"{tag} OK {name} completed")

    def pick(self, sequence_set: str, *, by_uid: bool) -> list[tuple[int, StoredMessage]]:
        numbered = list(enumerate(self.server.messages, 1))
        wanted: set[int] = set()
        for part in sequence_set.split(","):
            low, _, high = part.partition(":")
            last = max((m.uid if by_uid else n for n, m in numbered), default=0)
            start = last if low == "*" else int(low)
            end = start if not high else last if high == "*" else int(high)
            wanted.update(range(min(start, end), max(start, end) + 1))
        return [(n, m) for n, m in numbered if (m.uid if by_uid else n) in wanted]

    async def search(self, criteria: list[str], *, by_uid: bool) -> None:
        keys = [c.upper() for c in criteria if c.upper() != "CHARSET"]
        found = []
        for n, m in enumerate(self.server.messages, 1):
            seen = _SEEN in m.flags
            if ("UNSEEN" in keys and seen) or ("SEEN" in keys and not seen):
                continue
            found.append(str(m.uid if by_uid else n))
        await self.send(("* SEARCH " + " ".join(found)).rstrip())

    async def fetch(self, picked: list[tuple[int, StoredMessage]], items: str) -> None:
        for n, m in picked:
            fields = [f"UID {m.uid}"]
            literal = None
            if "BODY.PEEK[]" in items:
                literal = ("BODY[]", m.raw)
            elif "BODY[]" in items or re.search(r"\bRFC822\b(?!\.)", items):
                literal = ("BODY[]" if "BODY[]" in items else "RFC822", m.raw)
                m.flags.add(_SEEN)  # a non-peek body fetch sets \Seen (RFC 3501 §6.4.5)
            if "RFC822.SIZE" in items:
                fields.append(f"RFC822.SIZE {len(m.raw)}")
            if "FLAGS" in items:
                fields.append(f"FLAGS ({' '.join(sorted(m.flags))})")
            if literal is None:
                await self.send(f"* {n} FETCH ({' '.join(fields)})")
            else:
                head = f"* {n} FETCH ({' '.join(fields)} {literal[0]} {{{len(literal[1])}}}"
                await self.send(head.encode() + b"\r\n" + literal[1] + b")")

    async def store(self, picked: list[tuple[int, StoredMessage]], mode: str, flags: str) -> None:
        names = set(flags.strip("()").split())
        for n, m in picked:
            if mode.startswith("+FLAGS"):
                m.flags |= names
            elif mode.startswith("-FLAGS"):
                m.flags -= names
            elif mode.startswith("FLAGS"):
                m.flags = set(names)
            if not mode.endswith(".SILENT"):
                await self.send(f"* {n} FETCH (UID {m.uid} FLAGS ({' '.join(sorted(m.flags))}))")


def _tokens(args: str) -> list[str]:
    out = []
    for quoted, parenthesised, atom in _TOKEN.findall(args):
        if quoted or (not parenthesised and not atom):
            out.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            out.append(parenthesised or atom)
    return out


@contextlib.asynccontextmanager
async def running_imap_server(
    username: str, password: str, *, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[ImapServer]:
    server = ImapServer(username, password)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=ssl_context)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()
