"""The demo's rule that a call fills an agent's capacity, as a routing configuration document."""

from __future__ import annotations

from typing import Any

from omniroute.routing.config import RoutingConfig
from omniroute.voice.capacity_rule import PROFILE_ID, calls_fill_capacity


def default_profile(doc: dict[str, Any]) -> dict[str, Any]:
    config = RoutingConfig.model_validate(doc)  # the result is a valid configuration
    profile = next(p for p in config.capacity_profiles if p.id == config.default_capacity_profile)
    return profile.model_dump(mode="json")


def test_without_a_default_profile_one_is_added_where_a_call_costs_every_unit() -> None:
    doc = RoutingConfig().model_dump(mode="json", by_alias=True)
    changed = calls_fill_capacity(doc)
    assert changed is not None
    profile = default_profile(changed)
    assert profile["id"] == PROFILE_ID
    assert profile["channel_units"]["voice"] == profile["total_units"] == 3
    assert "webchat" not in profile["channel_units"]  # a chat still costs one unit of three
    assert doc["capacity_profiles"] == []  # the input is not changed
    assert calls_fill_capacity(changed) is None  # applying it twice changes nothing


def test_an_existing_default_profile_gets_voice_equal_to_its_total() -> None:
    doc = {
        "capacity_profiles": [
            {"id": "big", "name": "Big", "total_units": 5, "channel_units": {"webchat": 2}},
            {"id": "other", "name": "Other", "total_units": 2},
        ],
        "default_capacity_profile": "big",
        "skills": [{"id": "billing", "name": "Billing"}],
    }
    changed = calls_fill_capacity(doc)
    assert changed is not None
    assert default_profile(changed)["channel_units"] == {"webchat": 2, "voice": 5}
    assert changed["skills"] == doc["skills"]
    assert [p["id"] for p in changed["capacity_profiles"]] == ["big", "other"]
    assert "voice" not in changed["capacity_profiles"][1].get("channel_units", {})


def test_a_limits_only_default_profile_is_left_alone() -> None:
    doc = {
        "capacity_profiles": [
            {"id": "limits", "name": "Limits", "channel_limits": {"voice": 1, "webchat": 2}}
        ],
        "default_capacity_profile": "limits",
    }
    assert calls_fill_capacity(doc) is None


def test_a_profile_of_that_name_that_is_not_the_default_becomes_the_default() -> None:
    doc = {"capacity_profiles": [{"id": PROFILE_ID, "name": "Mine", "total_units": 4}]}
    changed = calls_fill_capacity(doc)
    assert changed is not None
    assert default_profile(changed)["channel_units"] == {"voice": 4}
    assert len(changed["capacity_profiles"]) == 1
