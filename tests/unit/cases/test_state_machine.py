"""The case status machine, edits, versions and who may edit: pure rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omniroute.cases import model
from omniroute.cases.model import (
    KEEP,
    Actor,
    Case,
    CaseEdit,
    CasePriority,
    CaseStatus,
    NewCase,
    ResolutionType,
    SlaPolicy,
)
from omniroute.core.errors import Conflict, InvalidInput

S = CaseStatus
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SLA = SlaPolicy.default()
ANA = Actor("ana", "Ana")


def new(status: CaseStatus = S.NEW, **fields: object) -> Case:
    case = model.open_case(
        NewCase(title="Parcel lost", customer_id="k1"),
        case_id="c1",
        number=7,
        created_by="ana",
        now=T0,
        sla=SLA,
    )
    if status is S.ACTIVE or status is S.ON_HOLD:
        case, _ = model.edit(case, CaseEdit(status=status), T0, SLA)
    elif status is S.RESOLVED:
        case = model.resolve(case, "refunded", ResolutionType.SOLVED, T0, SLA)
    elif status is S.CANCELLED:
        case = model.cancel(case, T0, SLA)
    return replace(case, **fields)  # type: ignore[arg-type]


def test_a_new_case_is_new_version_1_owned_by_its_creator_with_a_number() -> None:
    case = new()
    assert case.status is S.NEW
    assert case.version == 1
    assert case.owner_id == "ana"
    assert case.reference == "CAS-000007"
    assert case.sla_due_at == T0 + timedelta(hours=24)


def test_a_new_case_may_be_created_without_owner() -> None:
    case = model.open_case(
        NewCase(title="x", customer_id="k1", owner_id=None),
        case_id="c",
        number=1,
        created_by="ana",
        now=T0,
        sla=SLA,
    )
    assert case.owner_id is None


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (S.NEW, S.ACTIVE),
        (S.NEW, S.ON_HOLD),
        (S.ACTIVE, S.ON_HOLD),
        (S.ON_HOLD, S.ACTIVE),
    ],
)
def test_edits_move_between_open_statuses(start: CaseStatus, to: CaseStatus) -> None:
    after, changes = model.edit(new(start), CaseEdit(status=to), T0 + timedelta(minutes=1), SLA)
    assert after.status is to
    assert changes["status"] == (start.value, to.value)


def test_a_case_cannot_go_back_to_new() -> None:
    with pytest.raises(InvalidInput, match="active or on_hold"):
        model.edit(new(S.ACTIVE), CaseEdit(status=S.NEW), T0, SLA)


@pytest.mark.parametrize("to", [S.RESOLVED, S.CANCELLED])
def test_resolving_and_cancelling_are_not_edits(to: CaseStatus) -> None:
    with pytest.raises(InvalidInput, match="its own command"):
        model.edit(new(S.ACTIVE), CaseEdit(status=to), T0, SLA)


def test_a_resolved_case_is_read_only_until_reopened() -> None:
    resolved = new(S.RESOLVED)
    with pytest.raises(Conflict, match="reopen it"):
        model.edit(resolved, CaseEdit(title="new title"), T0, SLA)
    with pytest.raises(Conflict, match="reopen it first"):
        model.resolve(resolved, "again", ResolutionType.SOLVED, T0, SLA)
    with pytest.raises(Conflict):
        model.cancel(resolved, T0, SLA)
    reopened = model.reopen(resolved, T0 + timedelta(hours=1), SLA)
    assert reopened.status is S.ACTIVE
    assert reopened.resolution is None
    assert reopened.resolution_type is None
    assert reopened.resolved_at is None
    assert reopened.version == resolved.version + 1


def test_a_cancelled_case_is_final() -> None:
    cancelled = new(S.CANCELLED)
    with pytest.raises(Conflict, match="cancelled"):
        model.reopen(cancelled, T0, SLA)
    with pytest.raises(Conflict, match="cancelled"):
        model.edit(cancelled, CaseEdit(priority=CasePriority.HIGH), T0, SLA)
    with pytest.raises(Conflict, match="cancelled"):
        model.resolve(cancelled, "x", ResolutionType.SOLVED, T0, SLA)


@pytest.mark.parametrize("status", [S.NEW, S.ACTIVE, S.ON_HOLD])
def test_only_resolved_cases_reopen(status: CaseStatus) -> None:
    with pytest.raises(Conflict, match="only a resolved case"):
        model.reopen(new(status), T0, SLA)


def test_resolving_needs_a_resolution_text() -> None:
    with pytest.raises(InvalidInput, match="resolution is empty"):
        model.resolve(new(S.ACTIVE), "   ", ResolutionType.SOLVED, T0, SLA)


def test_resolving_records_resolution_time_and_type() -> None:
    at = T0 + timedelta(hours=2)
    resolved = model.resolve(new(S.ACTIVE), "  sent a new one ", ResolutionType.WORKAROUND, at, SLA)
    assert resolved.status is S.RESOLVED
    assert resolved.resolution == "sent a new one"
    assert resolved.resolution_type is ResolutionType.WORKAROUND
    assert resolved.resolved_at == at
    assert model.sla_state(resolved, at, SLA) is model.SlaState.MET


def test_an_edit_that_changes_nothing_keeps_the_version() -> None:
    case = new(S.ACTIVE)
    same, changes = model.edit(case, CaseEdit(title="  Parcel   lost ", status=S.ACTIVE), T0, SLA)
    assert changes == {}
    assert same is case


def test_an_edit_reports_exactly_the_changed_fields_and_bumps_the_version() -> None:
    case = new(S.ACTIVE)
    after, changes = model.edit(
        case, CaseEdit(owner_id=None, category="Delivery", queue_id=KEEP), T0 + timedelta(minutes=3), SLA
    )
    assert changes == {"owner_id": ("ana", None), "category": ("", "Delivery")}
    assert after.version == case.version + 1
    assert after.updated_at == T0 + timedelta(minutes=3)


def test_titles_are_trimmed_and_must_fit() -> None:
    with pytest.raises(InvalidInput, match="needs a title"):
        model.edit(new(), CaseEdit(title="   "), T0, SLA)
    with pytest.raises(InvalidInput, match="longer than 200"):
        model.edit(new(), CaseEdit(title="x" * 201), T0, SLA)


def test_stale_versions_conflict() -> None:
    case = new(S.ACTIVE)
    model.check_version(case, None)
    model.check_version(case, case.version)
    with pytest.raises(Conflict, match="changed meanwhile"):
        model.check_version(case, case.version - 1)


def test_who_may_edit() -> None:
    owned_by_ben = new(owner_id="ben")
    assert model.may_edit(new(owner_id=None), ANA, frozenset())
    assert model.may_edit(new(owner_id="ana"), ANA, frozenset())
    assert not model.may_edit(owned_by_ben, ANA, frozenset())
    assert model.may_edit(owned_by_ben, ANA, frozenset({"ana"}))  # linked to her conversation
    assert model.may_edit(owned_by_ben, Actor("sam", "Sam", supervisor=True), frozenset())


def test_linking_is_for_the_conversations_agent_or_a_supervisor() -> None:
    assert model.may_link(ANA, "ana")
    assert not model.may_link(ANA, "ben")
    assert not model.may_link(ANA, None)
    assert model.may_link(Actor("sam", "Sam", supervisor=True), None)


def test_case_numbers_format_and_parse() -> None:
    assert model.format_number(123) == "CAS-000123"
    assert model.format_number(1_234_567) == "CAS-1234567"
    assert model.parse_number("cas-000123") == 123
    assert model.parse_number(" CAS-7 ") == 7
    assert model.parse_number("0190a3f4-0000-7000-8000-000000000000") is None
    assert model.parse_number("CAS-") is None


# -- every reachable sequence of commands keeps the invariants -------------------------------------

COMMANDS = st.lists(
    st.tuples(
        st.sampled_from(["active", "on_hold", "resolve", "cancel", "reopen", "priority", "title"]),
        st.integers(min_value=0, max_value=7200),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(COMMANDS)
def test_any_command_sequence_keeps_the_invariants(commands: list[tuple[str, int]]) -> None:
    case, now = new(), T0
    for command, wait in commands:
        now += timedelta(seconds=wait)
        before = case
        try:
            if command in ("active", "on_hold"):
                case, _ = model.edit(case, CaseEdit(status=S(command)), now, SLA)
            elif command == "resolve":
                case = model.resolve(case, "done", ResolutionType.SOLVED, now, SLA)
            elif command == "cancel":
                case = model.cancel(case, now, SLA)
            elif command == "reopen":
                case = model.reopen(case, now, SLA)
            elif command == "priority":
                case, _ = model.edit(case, CaseEdit(priority=CasePriority.URGENT), now, SLA)
            else:
                case, _ = model.edit(case, CaseEdit(title=f"t{wait}"), now, SLA)
        except (Conflict, InvalidInput):
            assert case is before
            continue
        if case is not before:
            assert case.version == before.version + 1
            assert case.status is before.status or case.status in model.TRANSITIONS[before.status]
        assert (case.status is S.ON_HOLD) == (case.held_since is not None)
        assert (case.status is S.RESOLVED) == (case.resolution is not None) == (case.resolved_at is not None)
        assert case.sla_paused_seconds >= before.sla_paused_seconds
        assert case.sla_due_at == SLA.due(case.created_at, case.priority, case.sla_paused_seconds)
