"""Our outbound messages to the Messages API form, and Twilio's answers (golden fixtures) back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omniroute.channels.port import Attachment, Outbound, PermanentSendError, QuickReply, TransientSendError
from omniroute.channels.sms_twilio.outbound import (
    Sender,
    body_text,
    failure,
    message_form,
    messages_url,
    retry_after_seconds,
    sent_sid,
)
from tests.e2e.channels.sms_twilio.golden import ACCOUNT_SID, CUSTOMER, TWILIO_NUMBER, document

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CALLBACK = "https://omniroute.example.com/webhooks/acct-1"
NUMBER = Sender(from_number=TWILIO_NUMBER, messaging_service_sid=None)


def outbound(
    text: str = "Hello",
    *,
    attachments: tuple[Attachment, ...] = (),
    quick_replies: tuple[QuickReply, ...] = (),
) -> Outbound:
    return Outbound(
        outbound_id="o-1",
        conversation_id="c-1",
        to_address=CUSTOMER,
        text=text,
        attachments=attachments,
        quick_replies=quick_replies,
    )


def test_the_api_url() -> None:
    assert messages_url("https://api.twilio.com/", ACCOUNT_SID) == (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    )


def test_text_message_form() -> None:
    assert message_form(outbound(), NUMBER, CALLBACK) == [
        ("To", CUSTOMER),
        ("From", TWILIO_NUMBER),
        ("Body", "Hello"),
        ("StatusCallback", CALLBACK),
    ]


def test_messaging_service_instead_of_or_beside_a_number() -> None:
    service = Sender(from_number=None, messaging_service_sid="MG1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a1c")
    assert ("MessagingServiceSid", "MG1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a1c") in message_form(
        outbound(), service, CALLBACK
    )
    assert not any(name == "From" for name, _ in message_form(outbound(), service, CALLBACK))
    both = Sender(from_number=TWILIO_NUMBER, messaging_service_sid="MG1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a1c")
    names = [name for name, _ in message_form(outbound(), both, CALLBACK)]
    assert names == ["To", "MessagingServiceSid", "From", "Body", "StatusCallback"]


def test_quick_replies_become_a_numbered_list() -> None:
    replies = (QuickReply("yes", "Yes, reship it"), QuickReply("refund", "Refund me"))
    assert body_text(outbound("Shall we send a new one?", quick_replies=replies)) == (
        "Shall we send a new one?\n\n1. Yes, reship it\n2. Refund me"
    )
    assert body_text(outbound("", quick_replies=replies)) == "1. Yes, reship it\n2. Refund me"


def test_media_go_as_mms_up_to_ten_and_the_rest_as_links() -> None:
    photos = tuple(Attachment(f"https://files.example.com/{n}.jpg", "image/jpeg") for n in range(12))
    local = Attachment("omniroute://attachments/abc", "application/pdf", "label.pdf")
    fields = message_form(outbound("Photos", attachments=(*photos, local)), NUMBER, CALLBACK)
    assert [v for k, v in fields if k == "MediaUrl"] == [a.url for a in photos[:10]]
    assert dict(fields)["Body"] == (
        "Photos\n[attachment] omniroute://attachments/abc\n"
        "[attachment] https://files.example.com/10.jpg\n[attachment] https://files.example.com/11.jpg"
    )
    only_media = message_form(outbound("", attachments=photos[:1]), NUMBER, CALLBACK)
    assert [k for k, _ in only_media] == ["To", "From", "MediaUrl", "StatusCallback"]


@pytest.mark.parametrize(
    ("message", "sender", "reason"),
    [
        (outbound("x" * 1601), NUMBER, "at most 1600"),
        (outbound(""), NUMBER, "nothing to send"),
        (outbound(), Sender(None, None), "neither from_number nor messaging_service_sid"),
    ],
)
def test_what_twilio_would_refuse_fails_before_calling(
    message: Outbound, sender: Sender, reason: str
) -> None:
    with pytest.raises(PermanentSendError, match=reason):
        message_form(message, sender, CALLBACK)


def test_the_created_message_sid_is_the_provider_id() -> None:
    assert sent_sid(document("api_message_created.json")) == "SM4c6e8a0b2d4f6a8c1e3b5d7f9a0c2e4b"
    with pytest.raises(PermanentSendError, match="no sid"):
        sent_sid({"status": "queued"})


@pytest.mark.parametrize(
    ("status", "fixture", "kind", "words"),
    [
        (
            400,
            "api_error_21211.json",
            PermanentSendError,
            "Twilio error 21211: the 'To' number is not a valid",
        ),
        (400, "api_error_21610.json", PermanentSendError, "unsubscribed"),
        (401, "api_error_20003.json", PermanentSendError, "authentication failed"),
        (429, "api_error_20429.json", TransientSendError, "Twilio error 20429"),
    ],
)
def test_error_documents(status: int, fixture: str, kind: type[Exception], words: str) -> None:
    error = failure(status, document(fixture), None, NOW)
    assert isinstance(error, kind)
    assert words in str(error)
    assert str(error).startswith(f"HTTP {status}, ")


def test_outages_are_transient_and_honour_retry_after() -> None:
    html = failure(503, None, "120", NOW)
    assert isinstance(html, TransientSendError)
    assert (str(html), html.retry_after_seconds) == ("HTTP 503", 120.0)
    timeout = failure(408, None, None, NOW)
    assert isinstance(timeout, TransientSendError)
    assert timeout.retry_after_seconds is None
    rate_code = failure(400, {"code": 14107, "message": "SMS send rate limit exceeded"}, None, NOW)
    assert isinstance(rate_code, TransientSendError)


def test_retry_after_as_seconds_or_http_date() -> None:
    assert retry_after_seconds("30", NOW) == 30.0
    assert retry_after_seconds("Mon, 05 Jan 2026 09:01:30 GMT", NOW) == 90.0
    assert retry_after_seconds("Mon, 05 Jan 2026 08:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None
