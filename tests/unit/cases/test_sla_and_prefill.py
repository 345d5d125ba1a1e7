"""SLA policy, prefill from a conversation, and list cursors: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omniroute.cases import model
from omniroute.cases.model import (
    KEEP,
    CaseEdit,
    CasePriority,
    CaseSort,
    CaseStatus,
    Cursor,
    FromConversation,
    NewCase,
    ResolutionType,
    SlaPolicy,
    SlaState,
)
from omniroute.core.errors import InvalidInput

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SLA = SlaPolicy.default()
HOUR = timedelta(hours=1)


def opened(priority: CasePriority = CasePriority.NORMAL, sla: SlaPolicy = SLA) -> model.Case:
    return model.open_case(
        NewCase(title="t", customer_id="k", priority=priority),
        case_id="c",
        number=1,
        created_by="a",
        now=T0,
        sla=sla,
    )


# -- SLA -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "hours"),
    [(CasePriority.URGENT, 4), (CasePriority.HIGH, 8), (CasePriority.NORMAL, 24), (CasePriority.LOW, 72)],
)
def test_the_default_policy_sets_due_time_by_priority(priority: CasePriority, hours: int) -> None:
    assert opened(priority).sla_due_at == T0 + timedelta(hours=hours)


def test_a_custom_policy_is_used() -> None:
    policy = SlaPolicy(dict.fromkeys(CasePriority, timedelta(minutes=30)))
    assert opened(sla=policy).sla_due_at == T0 + timedelta(minutes=30)


def test_a_policy_must_cover_every_priority_with_a_positive_target() -> None:
    with pytest.raises(ValueError, match="no target"):
        SlaPolicy({CasePriority.URGENT: HOUR})
    with pytest.raises(ValueError, match="positive"):
        SlaPolicy(dict.fromkeys(CasePriority, timedelta(0)))


def test_changing_priority_recomputes_due_from_creation() -> None:
    case = opened()
    after, changes = model.edit(case, CaseEdit(priority=CasePriority.URGENT), T0 + 2 * HOUR, SLA)
    assert after.sla_due_at == T0 + 4 * HOUR
    assert changes["priority"] == ("normal", "urgent")
    assert changes["sla_due_at"] == (case.sla_due_at.isoformat(), (T0 + 4 * HOUR).isoformat())


def test_time_on_hold_pauses_the_sla_clock() -> None:
    case = opened(CasePriority.URGENT)  # due at T0 + 4h
    held, _ = model.edit(case, CaseEdit(status=CaseStatus.ON_HOLD), T0 + HOUR, SLA)
    assert model.sla_state(held, T0 + 10 * HOUR, SLA) is SlaState.PAUSED
    back, _ = model.edit(held, CaseEdit(status=CaseStatus.ACTIVE), T0 + 3 * HOUR, SLA)
    assert back.sla_paused_seconds == 2 * 3600
    assert back.sla_due_at == T0 + 6 * HOUR
    assert model.sla_state(back, T0 + 5 * HOUR, SLA) is SlaState.RUNNING
    assert model.sla_state(back, T0 + 7 * HOUR, SLA) is SlaState.BREACHED


def test_resolving_from_hold_counts_the_hold_too() -> None:
    held, _ = model.edit(opened(CasePriority.URGENT), CaseEdit(status=CaseStatus.ON_HOLD), T0, SLA)
    resolved = model.resolve(held, "ok", ResolutionType.SOLVED, T0 + 5 * HOUR, SLA)
    assert resolved.held_since is None
    assert resolved.sla_due_at == T0 + 9 * HOUR
    assert model.sla_state(resolved, T0 + 100 * HOUR, SLA) is SlaState.MET


def test_without_pausing_the_clock_runs_on_hold() -> None:
    policy = SlaPolicy(SLA.targets, pause_on_hold=False)
    held, _ = model.edit(opened(CasePriority.URGENT, policy), CaseEdit(status=CaseStatus.ON_HOLD), T0, policy)
    assert model.sla_state(held, T0 + 5 * HOUR, policy) is SlaState.BREACHED
    back, _ = model.edit(held, CaseEdit(status=CaseStatus.ACTIVE), T0 + 3 * HOUR, policy)
    assert back.sla_paused_seconds == 0
    assert back.sla_due_at == T0 + 4 * HOUR


def test_sla_states_of_closed_cases() -> None:
    late = model.resolve(opened(CasePriority.URGENT), "ok", ResolutionType.SOLVED, T0 + 5 * HOUR, SLA)
    assert model.sla_state(late, T0 + 5 * HOUR, SLA) is SlaState.BREACHED
    cancelled = model.cancel(opened(), T0, SLA)
    assert model.sla_state(cancelled, T0 + 500 * HOUR, SLA) is SlaState.CANCELLED


# -- prefill -------------------------------------------------------------------------------------


def test_prefill_takes_the_first_message_as_title_and_the_last_three_as_description() -> None:
    title, description = model.prefill(
        ["  Where is my\n order?  ", "It was due Monday", "  ", "Order 123", "Please help"],
        subject="ignored",
        channel="webchat",
    )
    assert title == "Where is my order?"
    assert description == "It was due Monday\n\nOrder 123\n\nPlease help"


def test_a_long_first_message_is_shortened_at_a_word() -> None:
    words = "word " * 100
    title, _ = model.prefill([words], subject="", channel="sms")
    assert len(title) <= model.TITLE_MAX
    assert title.endswith("word…")


def test_prefill_falls_back_to_subject_then_channel() -> None:
    assert model.prefill([], subject="  Billing  question ", channel="sms") == ("Billing question", "")
    assert model.prefill([], subject="", channel="sms") == ("Conversation via sms", "")


def test_a_long_description_keeps_the_latest_words() -> None:
    _, description = model.prefill(["a" * 15_000, "b" * 15_000], subject="", channel="email")
    assert len(description) == model.DESCRIPTION_MAX
    assert description.endswith("b" * 100)


def test_draft_from_conversation_uses_prefill_unless_the_agent_typed_over_it() -> None:
    base = {
        "customer_id": "k1",
        "queue_id": "q1",
        "subject": "",
        "channel": "webchat",
        "customer_texts": ["Hello", "My card was charged twice"],
    }
    draft = model.draft_from_conversation(FromConversation(), **base)  # type: ignore[arg-type]
    assert (draft.title, draft.description, draft.customer_id, draft.queue_id) == (
        "Hello",
        "Hello\n\nMy card was charged twice",
        "k1",
        "q1",
    )
    assert draft.owner_id is KEEP  # the creator, decided when it is opened
    typed = model.draft_from_conversation(
        FromConversation(title="Double charge", description="", queue_id=None, owner_id=None),
        **base,  # type: ignore[arg-type]
    )
    assert (typed.title, typed.description, typed.queue_id, typed.owner_id) == (
        "Double charge",
        "",
        None,
        None,
    )


# -- cursors -------------------------------------------------------------------------------------


def test_a_cursor_round_trips() -> None:
    cursor = Cursor(CaseSort.PRIORITY, True, 3, "id-1")
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("token", ["", "not base64!", "e30", "eyJzIjoiZm9vIn0"])
def test_a_forged_cursor_is_bad_input(token: str) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        Cursor.decode(token)


def test_a_cursor_only_continues_its_own_order() -> None:
    cursor = Cursor(CaseSort.CREATED_AT, True, T0.isoformat(), "id")
    cursor.check_matches(CaseSort.CREATED_AT, True)
    with pytest.raises(InvalidInput, match="another sort order"):
        cursor.check_matches(CaseSort.CREATED_AT, False)
    with pytest.raises(InvalidInput, match="another sort order"):
        cursor.check_matches(CaseSort.NUMBER, True)


def test_sort_values_are_json_friendly() -> None:
    case = opened(CasePriority.HIGH)
    assert model.sort_value(case, CaseSort.PRIORITY) == 2
    assert model.sort_value(case, CaseSort.NUMBER) == 1
    assert model.sort_value(case, CaseSort.SLA_DUE_AT) == (T0 + 8 * HOUR).isoformat()
