"""A message's location: validation (ranges, numbers, text limits), how it reads, its map link,
and a message that carries only a place."""

from __future__ import annotations

import math

import pytest

from omniroute.conversations.model import (
    MAX_LOCATION_ADDRESS,
    MAX_LOCATION_NAME,
    Location,
    check_body,
    check_location,
    degrees,
)
from omniroute.core.errors import InvalidInput, PayloadTooLarge

SOL = Location(40.416775, -3.70379, "Puerta del Sol", "Plaza de la Puerta del Sol, Madrid")


def test_a_valid_place_keeps_its_values_with_blank_texts_as_none() -> None:
    assert (
        check_location(40.416775, -3.70379, "  Puerta del Sol ", "Plaza de la Puerta del Sol, Madrid") == SOL
    )
    assert check_location(0, 0, "", "   ") == Location(0.0, 0.0)
    # The edges of the globe are places too.
    assert check_location(-90, 180) == Location(-90.0, 180.0)
    assert check_location(90.0, -180.0) == Location(90.0, -180.0)


@pytest.mark.parametrize(
    ("latitude", "longitude", "reason"),
    [
        (90.000001, 0, "latitude must be between -90 and 90"),
        (-91, 0, "latitude must be between -90 and 90"),
        (0, 180.5, "longitude must be between -180 and 180"),
        (0, -181, "longitude must be between -180 and 180"),
        ("40.4", 0, "latitude must be a number"),
        (None, 0, "latitude must be a number"),
        (True, 0, "latitude must be a number"),
        (0, math.nan, "longitude must be a number"),
        (math.inf, 0, "latitude must be a number"),
    ],
)
def test_coordinates_out_of_range_or_not_numbers_are_refused(
    latitude: object, longitude: object, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_location(latitude, longitude)
    assert refused.value.reason == reason


def test_long_texts_are_refused_from_people_and_shortened_from_providers() -> None:
    name, address = "n" * (MAX_LOCATION_NAME + 1), "a" * (MAX_LOCATION_ADDRESS + 1)
    with pytest.raises(InvalidInput, match="name is longer than 200 characters"):
        check_location(1, 2, name)
    with pytest.raises(InvalidInput, match="address is longer than 500 characters"):
        check_location(1, 2, None, address)
    with pytest.raises(InvalidInput, match="name must be text"):
        check_location(1, 2, 42)
    cut = check_location(1, 2, name, address, cut=True)
    assert cut.name == "n" * (MAX_LOCATION_NAME - 1) + "…"
    assert cut.address == "a" * (MAX_LOCATION_ADDRESS - 1) + "…"
    # A name is one line, whatever arrived.
    assert check_location(1, 2, "Acme\nStore\t Sol").name == "Acme Store Sol"


def test_how_a_place_reads_and_links() -> None:
    assert SOL.line() == "📍 Puerta del Sol, Plaza de la Puerta del Sol, Madrid (40.416775, -3.70379)"
    assert SOL.line(marker="") == "Puerta del Sol, Plaza de la Puerta del Sol, Madrid (40.416775, -3.70379)"
    assert Location(51.5, -0.12, address="Trafalgar Square").line() == "📍 Trafalgar Square (51.5, -0.12)"
    assert Location(0, 0).line() == "📍 0, 0"
    assert SOL.map_url == (
        "https://www.openstreetmap.org/?mlat=40.416775&mlon=-3.70379#map=16/40.416775/-3.70379"
    )
    assert [degrees(v) for v in (40.41677512, -3.7, 10.0, -0.0000001, 0.0)] == [
        "40.416775",
        "-3.7",
        "10",
        "0",
        "0",
    ]


def test_stored_json_reads_back_and_unreadable_json_is_no_place() -> None:
    assert Location.of(SOL.as_dict()) == SOL
    assert Location.of(None) is None
    assert Location.of({"latitude": 100, "longitude": 0}) is None
    assert Location.of([1, 2]) is None


def test_a_message_may_carry_only_a_place() -> None:
    assert check_body("  ", 100, 0, located=True) == ""
    assert check_body(" Here we are ", 100, 0, located=True) == "Here we are"
    with pytest.raises(InvalidInput, match="empty"):
        check_body("  ", 100, 0)
    with pytest.raises(PayloadTooLarge):
        check_body(" " * 101, 100, 0, located=True)
