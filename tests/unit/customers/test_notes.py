"""Notes about a customer: text rules, who may change one, edits that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omniroute.customers.model import MAX_NOTE, CustomerNote, clean_note_text, edit_note, may_change_note

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
NOTE = CustomerNote("n1", "c1", "ana", "Ana", "Prefers email", False, T0, T0, 1)


def test_text_is_trimmed_with_unix_line_ends_and_refused_when_empty_or_long() -> None:
    assert clean_note_text("  one\r\ntwo\rthree \n") == "one\ntwo\nthree"
    with pytest.raises(ValueError, match="needs some text"):
        clean_note_text(" \n\t ")
    assert len(clean_note_text("x" * MAX_NOTE)) == MAX_NOTE
    with pytest.raises(ValueError, match=str(MAX_NOTE)):
        clean_note_text("x" * (MAX_NOTE + 1))


def test_authors_change_their_own_and_supervisors_any() -> None:
    assert may_change_note(NOTE, "ana", supervisor=False)
    assert not may_change_note(NOTE, "ben", supervisor=False)
    assert may_change_note(NOTE, "sam", supervisor=True)
    orphan = CustomerNote("n2", "c1", None, "Gone", "x", False, T0, T0, 1)  # author deleted
    assert not may_change_note(orphan, "ana", supervisor=False)


def test_an_edit_bumps_the_version_unless_nothing_changed() -> None:
    later = T0 + timedelta(minutes=5)
    assert edit_note(NOTE, text=" Prefers email ", pinned=None, now=later) is NOTE
    assert edit_note(NOTE, text=None, pinned=False, now=later) is NOTE
    pinned = edit_note(NOTE, text=None, pinned=True, now=later)
    assert (pinned.pinned, pinned.version, pinned.updated_at, pinned.edited) == (True, 2, later, True)
    assert (pinned.created_at, pinned.author_id, pinned.text) == (T0, "ana", "Prefers email")
    with pytest.raises(ValueError, match="needs some text"):
        edit_note(NOTE, text="  ", pinned=None, now=later)
