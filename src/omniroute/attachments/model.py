"""Attachment rules. Pure: no I/O.

- The content type is sniffed from the first bytes for common formats; what the client claims is
  never trusted (an unknown format is ``application/octet-stream``).
- File names are sanitised: no directories, control characters or reserved characters, bounded.
- Limits: a maximum size (413), blocked extensions and executables (415), empty files (422).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from omniroute.core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_BLOCKED_EXTENSIONS = (
    "exe", "bat", "cmd", "com", "js", "msi", "scr", "vbs", "ps1", "jar", "dll", "sh",
)  # fmt: skip
#: Shown inline (a preview) when downloaded; everything else is served as a download.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
OCTET_STREAM = "application/octet-stream"
MAX_FILENAME_CHARS = 150

#: Office Open XML and OpenDocument files are zip archives; their extension tells which one.
ZIP_BY_EXTENSION = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
#: Text files whose extension names a more precise (still harmless) text type.
TEXT_BY_EXTENSION = {"csv": "text/csv", "txt": "text/plain", "log": "text/plain", "md": "text/markdown"}
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


class UploaderKind(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    CHANNEL = "channel"


@dataclass(frozen=True)
class Attachment:
    """A stored file's metadata (the bytes are read separately, only when downloaded)."""

    id: str
    conversation_id: str
    sha256: str
    size: int
    content_type: str
    filename: str
    uploaded_by_kind: UploaderKind
    uploaded_by_id: str | None
    created_at: datetime
    message_id: str | None = None  # the first message that carried it (None: not sent yet)

    @property
    def inline(self) -> bool:
        return self.content_type in INLINE_TYPES


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    blocked_extensions: frozenset[str] = frozenset(DEFAULT_BLOCKED_EXTENSIONS)

    @classmethod
    def of(cls, max_bytes: int, blocked: Iterable[str]) -> Limits:
        return cls(max_bytes, frozenset(e.strip().lower().lstrip(".") for e in blocked if e.strip()))

    def narrowed(self, max_bytes: int | None) -> Limits:
        """A per-widget limit may only be stricter than the server's."""
        if max_bytes is None:
            return self
        return Limits(min(self.max_bytes, max_bytes), self.blocked_extensions)


def sniff(data: bytes, extension: str = "") -> str:  # noqa: PLR0912 - one branch per format
    """The content type the bytes themselves show; ``extension`` only refines zip and text files."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return ZIP_BY_EXTENSION.get(extension, "application/zip")
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        return "video/mp4"
    if _is_text(data):
        return TEXT_BY_EXTENSION.get(extension, "text/plain")
    return OCTET_STREAM


def _is_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start >= len(sample) - 3
    return True


def is_executable(data: bytes) -> bool:
    return data.startswith(EXECUTABLE_MAGIC)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]')
_SPACES = re.compile(r"\s+")


def sanitise_filename(name: str) -> str:
    """A file name safe to store and to put in a Content-Disposition header."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    base = _UNSAFE.sub("_", base)
    base = _SPACES.sub(" ", base).strip(" .")  # leading dots hide files; trailing ones fool Windows
    if not base:
        return "file"
    if len(base) > MAX_FILENAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            base = stem[: MAX_FILENAME_CHARS - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            base = base[:MAX_FILENAME_CHARS].rstrip(" .")
    return base or "file"


def extension(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem else ""


@dataclass(frozen=True)
class Checked:
    filename: str
    content_type: str
    sha256: str
    size: int


def check_upload(data: bytes, filename: str, limits: Limits) -> Checked:
    """Decide whether a file may be stored, and what it is. Raises 413, 415 or 422."""
    if len(data) > limits.max_bytes:
        msg = f"the file is larger than the {_human(limits.max_bytes)} limit"
        raise PayloadTooLarge(msg)
    if not data:
        raise InvalidInput("the file is empty")
    clean = sanitise_filename(filename)
    ext = extension(clean)
    if ext in limits.blocked_extensions:
        msg = f".{ext} files are not accepted"
        raise UnsupportedMediaType(msg)
    if is_executable(data):
        raise UnsupportedMediaType("executable programs are not accepted")
    return Checked(clean, sniff(data, ext), hashlib.sha256(data).hexdigest(), len(data))


def _human(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def _attr_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "!#$&+-.^_`|~")


def content_disposition(att: Attachment) -> str:
    """``inline`` for safe images (a preview), ``attachment`` for everything else; RFC 6266 names."""
    kind = "inline" if att.inline else "attachment"
    ascii_name = att.filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    quoted = "".join(
        ch
        if ch.isascii() and (ch.isalnum() or ch in "!#$&+-.^_`|~")
        else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in att.filename
    )
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
