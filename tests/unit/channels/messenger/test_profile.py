"""Messenger's User Profile API answer (Meta's shape) and the per-PSID memory of names."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from omniroute.channels.messenger.profile import RETRY_FAILED_AFTER, ProfileCache, parse

FIXTURES = Path(__file__).resolve().parents[3] / "e2e" / "channels" / "messenger" / "fixtures"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def answer(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "user_profile.json").read_text())
    return document | changes


def test_metas_answer_gives_the_name_and_picture() -> None:
    found = parse(answer())
    assert found is not None
    assert found.name == "Peter Chang"
    assert found.picture is not None
    assert found.picture.startswith("https://platform-lookaside.fbsbx.com/platform/profilepic/")


def test_partial_and_odd_names() -> None:
    def name(**changes: Any) -> str | None:
        found = parse(answer(**changes))
        return found.name if found is not None else None

    assert name(last_name=None) == "Peter"
    assert name(first_name="", last_name="Chang") == "Chang"
    assert name(first_name="  Mary\nAnn ", last_name="O'Neil\t") == "Mary Ann O'Neil"
    odd_picture = parse(answer(profile_pic="javascript:alert(1)"))
    assert odd_picture is not None
    assert odd_picture.picture is None


def test_an_answer_without_a_name_names_nobody() -> None:
    assert parse(answer(first_name=None, last_name=None)) is None
    assert parse({"id": "6789012345678901"}) is None
    assert parse(json.loads((FIXTURES / "user_profile_unavailable.json").read_text())) is None
    assert parse(["Peter"]) is None
    assert parse(None) is None


def test_a_name_is_remembered_and_a_failure_only_for_an_hour() -> None:
    cache = ProfileCache()
    assert cache.cached("1", NOW) == (False, None)
    cache.remember("1", "Peter Chang", NOW)
    assert cache.cached("1", NOW + timedelta(days=300)) == (True, "Peter Chang")
    cache.remember("2", None, NOW)
    assert cache.cached("2", NOW + RETRY_FAILED_AFTER - timedelta(seconds=1)) == (True, None)
    assert cache.cached("2", NOW + RETRY_FAILED_AFTER) == (False, None)


def test_the_memory_is_bounded_least_recently_used_first() -> None:
    cache = ProfileCache(size=2)
    cache.remember("1", "One", NOW)
    cache.remember("2", "Two", NOW)
    assert cache.cached("1", NOW) == (True, "One")  # 1 is now the most recent
    cache.remember("3", "Three", NOW)
    assert cache.cached("2", NOW) == (False, None)
    assert cache.cached("1", NOW) == (True, "One")
    assert cache.cached("3", NOW) == (True, "Three")
