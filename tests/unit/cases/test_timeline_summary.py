"""Case changes as the customer's timeline words them (``model.summarise_change``)."""

from __future__ import annotations

from omniroute.cases.model import ChangeSummary, summarise_change


def test_an_edit_names_each_changed_field_with_names_for_ids() -> None:
    payload = {
        "number": "CAS-000012",
        "changes": {
            "sla_due_at": {"from": "2026-01-01T10:00:00+00:00", "to": "2026-01-01T08:00:00+00:00"},
            "owner_id": {"from": "u-ana", "to": "u-ben"},
            "priority": {"from": "normal", "to": "high"},
            "status": {"from": "new", "to": "active"},
            "queue_id": {"from": None, "to": "q-1"},
        },
    }
    summary = summarise_change("case.updated", payload, {"u-ana": "Ana", "u-ben": "Ben", "q-1": "Billing"})
    assert summary == ChangeSummary(
        "CAS-000012: status new → active; priority normal → high; owner Ana → Ben; queue none → Billing",
        "active",
    )


def test_an_edit_without_a_status_change_leaves_no_status_and_unknown_ids_show_as_they_are() -> None:
    payload = {"number": "CAS-000003", "changes": {"owner_id": {"from": "u-x", "to": None}}}
    assert summarise_change("case.updated", payload) == ChangeSummary("CAS-000003: owner u-x → none", None)


def test_an_edit_of_only_the_sla_is_not_a_timeline_change() -> None:
    payload = {"number": "CAS-000003", "changes": {"sla_due_at": {"from": "a", "to": "b"}}}
    assert summarise_change("case.updated", payload) is None


def test_a_merge_says_the_case_moved_here() -> None:
    payload = {"number": "CAS-000004", "changes": {"customer_id": {"from": "c-old", "to": "c-new"}}}
    summary = summarise_change("case.updated", payload)
    assert summary is not None
    assert summary.text == "CAS-000004: moved here from a merged customer record"


def test_resolution_reopen_cancel_and_links() -> None:
    resolved = summarise_change(
        "case.resolved",
        {
            "number": "CAS-000001",
            "resolution": "Sent  a\nreplacement",
            "resolution_type": "information_provided",
        },
    )
    assert resolved == ChangeSummary(
        "CAS-000001: resolved (information provided) — Sent a replacement", "resolved"
    )
    assert summarise_change("case.reopened", {"number": "CAS-000001"}) == ChangeSummary(
        "CAS-000001: reopened", "active"
    )
    assert summarise_change("case.cancelled", {"number": "CAS-000001", "reason": ""}) == ChangeSummary(
        "CAS-000001: cancelled", "cancelled"
    )
    assert summarise_change(
        "case.cancelled", {"number": "CAS-000001", "reason": "duplicate"}
    ) == ChangeSummary("CAS-000001: cancelled — duplicate", "cancelled")
    assert summarise_change("case.unlinked", {"number": "CAS-000001"}) == ChangeSummary(
        "CAS-000001: unlinked from a conversation", None
    )


def test_creation_and_notes_are_not_changes() -> None:
    assert summarise_change("case.created", {"number": "CAS-000001"}) is None
    assert summarise_change("case.note_added", {"number": "CAS-000001", "text": "x"}) is None
