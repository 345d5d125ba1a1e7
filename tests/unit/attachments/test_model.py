"""Attachment rules: sniffing from bytes, file names, limits, dispositions, signed links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omniroute.attachments import links
from omniroute.attachments.model import (
    Attachment,
    Limits,
    UploaderKind,
    check_upload,
    content_disposition,
    sanitise_filename,
    sniff,
)
from omniroute.core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
ZIP = b"PK\x03\x04" + b"\x00" * 26
EXE = b"MZ\x90\x00" + b"\x00" * 60


@pytest.mark.parametrize(
    ("data", "ext", "expected"),
    [
        (PNG, "", "image/png"),
        (JPEG, "", "image/jpeg"),
        (b"GIF89a" + b"\x00" * 10, "", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "", "audio/wav"),
        (PDF, "", "application/pdf"),
        (ZIP, "", "application/zip"),
        (ZIP, "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (b"OggS\x00\x02", "", "audio/ogg"),
        (b"ID3\x04\x00", "", "audio/mpeg"),
        (b"\x00\x00\x00\x18ftypmp42", "", "video/mp4"),
        (b"a,b\n1,2\n", "csv", "text/csv"),
        ("héllo wörld".encode(), "", "text/plain"),
        (b"\x00\x01\x02\x03binary", "", "application/octet-stream"),
    ],
)
def test_content_type_comes_from_the_bytes(data: bytes, ext: str, expected: str) -> None:
    assert sniff(data, ext) == expected


def test_a_claimed_image_that_is_html_is_served_as_text_not_as_an_image() -> None:
    checked = check_upload(b"<html><script>alert(1)</script></html>", "cat.png", Limits())
    assert checked.content_type == "text/plain"
    assert checked.filename == "cat.png"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\lee\\invoice.pdf", "invoice.pdf"),
        ('bad"name<>|?*.txt', "bad_name_____.txt"),
        ("  .hidden  ", "hidden"),
        ("report.exe. . ", "report.exe"),
        ("line\nbreak\r.pdf", "linebreak.pdf"),
        ("", "file"),
        ("...", "file"),
        ("re\u0301sume\u0301.pdf", "résumé.pdf"),
        ("semi;colon.txt", "semi_colon.txt"),
    ],
)
def test_file_names_are_sanitised(raw: str, clean: str) -> None:
    assert sanitise_filename(raw) == clean


def test_long_names_keep_their_extension() -> None:
    clean = sanitise_filename("a" * 500 + ".pdf")
    assert len(clean) <= 150
    assert clean.endswith(".pdf")


def test_limits_size_blocked_extension_executable_and_empty() -> None:
    limits = Limits.of(1024, ["exe", ".JS"])
    with pytest.raises(PayloadTooLarge, match="1 KB"):
        check_upload(b"x" * 1025, "big.txt", limits)
    assert check_upload(b"x" * 1024, "ok.txt", limits).size == 1024
    with pytest.raises(UnsupportedMediaType, match=r"\.js"):
        check_upload(b"alert(1)", "app.JS", limits)
    with pytest.raises(UnsupportedMediaType, match="executable"):
        check_upload(EXE, "innocent.pdf", limits)
    with pytest.raises(UnsupportedMediaType):
        check_upload(b"text", "invoice.pdf.exe", limits)
    with pytest.raises(InvalidInput, match="empty"):
        check_upload(b"", "nothing.txt", limits)


def test_a_widget_may_only_narrow_the_server_limit() -> None:
    limits = Limits(max_bytes=5000)
    assert limits.narrowed(2000).max_bytes == 2000
    assert limits.narrowed(9000).max_bytes == 5000
    assert limits.narrowed(None) is limits


def test_default_blocked_extensions_cover_scripts_and_programs() -> None:
    for ext in ("exe", "bat", "cmd", "com", "js", "msi", "scr", "vbs", "ps1", "jar", "dll", "sh"):
        with pytest.raises(UnsupportedMediaType):
            check_upload(b"echo hi", f"x.{ext}", Limits())


def _att(content_type: str, filename: str) -> Attachment:
    return Attachment(
        id="a1",
        conversation_id="c1",
        sha256="0" * 64,
        size=1,
        content_type=content_type,
        filename=filename,
        uploaded_by_kind=UploaderKind.AGENT,
        uploaded_by_id=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_only_safe_images_are_inline() -> None:
    assert content_disposition(_att("image/png", "a.png")).startswith("inline;")
    assert content_disposition(_att("image/webp", "a.webp")).startswith("inline;")
    assert content_disposition(_att("application/pdf", "a.pdf")).startswith("attachment;")
    assert content_disposition(_att("text/plain", "a.svg")).startswith("attachment;")


def test_disposition_names_are_quoted_safely() -> None:
    header = content_disposition(_att("application/pdf", "résumé 2026.pdf"))
    assert 'filename="r_sum_ 2026.pdf"' in header
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%202026.pdf" in header


NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_signed_links_verify_until_they_expire() -> None:
    key = links.link_key("secret")
    expires = int((NOW + timedelta(hours=1)).timestamp())
    sig = links.sign(key, "att-1", expires)
    assert links.verify(key, "att-1", expires, sig, NOW)
    assert links.verify(key, "att-1", expires, sig, NOW + timedelta(minutes=59))
    assert not links.verify(key, "att-1", expires, sig, NOW + timedelta(hours=1, seconds=1))


def test_signed_links_cannot_be_moved_extended_or_forged() -> None:
    key = links.link_key("secret")
    expires = int((NOW + timedelta(hours=1)).timestamp())
    sig = links.sign(key, "att-1", expires)
    assert not links.verify(key, "att-2", expires, sig, NOW)  # another file
    assert not links.verify(key, "att-1", expires + 3600, sig, NOW)  # a later expiry
    assert not links.verify(links.link_key("other secret"), "att-1", expires, sig, NOW)
    assert not links.verify(key, "att-1", expires, sig[:-1] + ("A" if sig[-1] != "A" else "B"), NOW)


def test_signed_path_shape() -> None:
    key = links.link_key("secret")
    path = links.signed_path(key, "att-1", 1_800_000_000)
    assert path.startswith("/files/att-1?exp=1800000000&sig=")
    assert path.endswith(links.sign(key, "att-1", 1_800_000_000))
