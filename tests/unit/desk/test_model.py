"""Desk rules: quick replies (who writes what, search, slugs) and disposition codes (validation,
choosing, and what a queue that requires a code lets close)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniroute.desk import model
from omniroute.desk.model import Author, DispositionCode, ReplyContent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
ANA = Author("ana", supervisor=False)
SAM = Author("sam", supervisor=True)


def reply(
    title: str, text: str, *, shared: bool = True, language: str | None = None, tags: tuple[str, ...] = ()
) -> model.QuickReply:
    who = SAM if shared else ANA
    content = ReplyContent(title, text, language, tags)
    return model.new_reply(f"r-{title}", content, shared=shared, author=who, now=T0)


# -- quick replies ----------------------------------------------------------------------------------


def test_content_is_normalised() -> None:
    made = reply("  Refund   policy ", "Refunds take 5 days.\r\n", tags=("Billing", " money back "))
    assert made.content == ReplyContent(
        "Refund policy", "Refunds take 5 days.", None, ("billing", "money-back")
    )
    assert (made.shared, made.owner_id, made.version) == (True, None, 1)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (ReplyContent(" ", "x"), "title"),
        (ReplyContent("t", "  "), "text"),
        (ReplyContent("t", "x", language="fr"), "language"),
        (ReplyContent("t", "x", tags=("no spaces!",)), "tag"),
        (ReplyContent("t" * 121, "x"), "title"),
        (ReplyContent("t", "x" * 4001), "text"),
    ],
)
def test_bad_content_is_refused_with_the_reason(content: ReplyContent, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        model.check_content(content)


def test_only_supervisors_write_shared_replies_and_everybody_their_own() -> None:
    with pytest.raises(Forbidden):
        model.new_reply("r", ReplyContent("t", "x"), shared=True, author=ANA, now=T0)
    own = model.new_reply("r", ReplyContent("t", "x"), shared=False, author=ANA, now=T0)
    assert own.owner_id == "ana"
    assert model.can_see(own, "ana")
    assert not model.can_see(own, "ben")


def test_editing_checks_who_and_the_version_and_skips_no_ops() -> None:
    shared = reply("Hello", "Hi {customerName}")
    with pytest.raises(Forbidden):
        model.edit(shared, ReplyContent("Hello", "Hey"), None, ANA, T1)
    with pytest.raises(Conflict, match="changed meanwhile"):
        model.edit(shared, ReplyContent("Hello", "Hey"), 7, SAM, T1)
    assert model.edit(shared, ReplyContent("Hello", "Hi {customerName}"), 1, SAM, T1) is shared
    edited = model.edit(shared, ReplyContent("Hello", "Hey"), 1, SAM, T1)
    assert (edited.version, edited.updated_at, edited.content.text) == (2, T1, "Hey")
    # Somebody else's personal reply answers as missing, not as forbidden.
    with pytest.raises(NotFound):
        model.check_can_change(reply("Mine", "x", shared=False), Author("ben", supervisor=True))


def test_search_ranks_title_then_tags_then_text_and_needs_every_term() -> None:
    replies = [
        reply("Refund policy", "Money back in 5 days", tags=("billing",)),
        reply("Opening hours", "We are open 9 to 5; refunds at the desk"),
        reply("Card lost", "Call us to block it", tags=("refund-card",)),
        reply("Greeting", "Hello {customerName}", language="en"),
        reply("Saludo", "Hola {customerName}", language="es"),
    ]
    assert [r.content.title for r in model.search(replies, "refund", None, 10)] == [
        "Refund policy",
        "Card lost",
        "Opening hours",
    ]
    assert [r.content.title for r in model.search(replies, "refund card", None, 10)] == ["Card lost"]
    assert [r.content.title for r in model.search(replies, "OPENING", None, 10)] == ["Opening hours"]
    # A language keeps its own and the language-neutral ones; no text lists by title.
    spanish = model.search(replies, "", "es", 10)
    assert [r.content.title for r in spanish] == ["Card lost", "Opening hours", "Refund policy", "Saludo"]
    assert len(model.search(replies, "", None, 2)) == 2


def test_search_folds_accents() -> None:
    found = model.search([reply("Información de envío", "x")], "informacion envio", None, 5)
    assert [r.content.title for r in found] == ["Información de envío"]


def test_slugs_fill_from_the_conversation_and_unknown_ones_stay_for_the_agent() -> None:
    values = model.slug_values(
        customer_name="Jane Doe",
        agent_name="Ana García",
        queue="Sales",
        channel="webchat",
        prechat={"name": "Jane Doe", "email": "jane@example.com", "queue": "sales-form", "extra": {"x": 1}},
    )
    done = model.render(
        "Hi {customerName}, {agentName} from {queue} here. Mail: {email} / {prechat.queue}. Order {order}.",
        values,
    )
    assert done.text == (
        "Hi Jane Doe, Ana García from Sales here. Mail: jane@example.com / sales-form. Order {order}."
    )
    assert done.missing == ("order",)


# -- disposition codes ------------------------------------------------------------------------------


def codes(*pairs: tuple[str, str]) -> list[DispositionCode]:
    return [DispositionCode(c, label) for c, label in pairs]


def test_codes_are_validated() -> None:
    checked = model.check_codes(codes(("Resolved", " Resolved  now "), ("callback", "Callback")), True)
    assert checked == (DispositionCode("resolved", "Resolved now"), DispositionCode("callback", "Callback"))
    with pytest.raises(InvalidInput, match="twice"):
        model.check_codes(codes(("a", "A"), ("a", "B")), False)
    with pytest.raises(InvalidInput, match="lower-case"):
        model.check_codes(
            codes(
                ("no spaces", "A"),
            ),
            False,
        )
    with pytest.raises(InvalidInput, match="label"):
        model.check_codes(
            codes(
                ("a", " "),
            ),
            False,
        )
    with pytest.raises(InvalidInput, match="at least one code"):
        model.check_codes([], True)


def test_configuring_takes_the_next_version_unless_nothing_changed() -> None:
    start = model.unset("q1")
    first = model.configure(
        start, required=True, codes=codes(("resolved", "Resolved")), expected_version=0, by="sam", now=T0
    )
    assert (first.version, first.required, first.updated_by) == (1, True, "sam")
    same = model.configure(
        first, required=True, codes=codes(("resolved", "Resolved")), expected_version=None, by="x", now=T1
    )
    assert same is first
    with pytest.raises(Conflict):
        model.configure(first, required=False, codes=[], expected_version=0, by="sam", now=T1)


def test_choosing_a_code_needs_a_live_or_wrapping_up_conversation_and_a_known_code() -> None:
    config = model.configure(
        model.unset("q1"), required=True, codes=codes(("resolved", "Resolved")), expected_version=None,
        by="sam", now=T0,
    )  # fmt: skip
    chosen = model.choose(
        config, conversation_id="c1", state="wrap_up", code=" Resolved", notes=" ok ", agent_id="ana", now=T1
    )
    assert (chosen.code, chosen.label, chosen.notes, chosen.queue_id) == ("resolved", "Resolved", "ok", "q1")
    with pytest.raises(InvalidInput, match="not a disposition code"):
        model.choose(
            config, conversation_id="c1", state="active", code="nope", notes="", agent_id=None, now=T1
        )
    with pytest.raises(Conflict, match="before the conversation closes"):
        model.choose(
            config, conversation_id="c1", state="closed", code="resolved", notes="", agent_id=None, now=T1
        )


def test_a_queue_that_requires_a_code_closes_only_with_one_chosen_for_it() -> None:
    required = model.configure(
        model.unset("q1"), required=True, codes=codes(("resolved", "Resolved")), expected_version=None,
        by="sam", now=T0,
    )  # fmt: skip
    chosen = model.choose(
        required, conversation_id="c1", state="wrap_up", code="resolved", notes="", agent_id="ana", now=T1
    )
    with pytest.raises(Conflict, match="requires a disposition code"):
        model.check_can_close("wrap_up", required, None)
    model.check_can_close("wrap_up", required, chosen)
    model.check_can_close("closed", required, None)  # closing again is a no-op, not a refusal
    model.check_can_close("wrap_up", model.unset("q1"), None)  # optional: nothing to check
    # A code chosen in the queue it was transferred away from does not count.
    other = model.configure(
        model.unset("q2"), required=True, codes=codes(("resolved", "Resolved")), expected_version=None,
        by="sam", now=T0,
    )  # fmt: skip
    with pytest.raises(Conflict):
        model.check_can_close("wrap_up", other, chosen)
