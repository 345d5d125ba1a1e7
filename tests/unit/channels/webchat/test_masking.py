"""Card numbers and custom patterns are masked before customer text is stored."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omniroute.channels.webchat.masking import MaskingRules, luhn_valid, mask_card_numbers

VISA = "4111111111111111"
AMEX = "378282246310005"
MASTERCARD_GROUPED = "5555 5555 5555 4444"


def luhn_digit(partial: str) -> str:
    """The check digit that makes ``partial + digit`` pass Luhn."""
    return next(d for d in "0123456789" if luhn_valid(partial + d))


@pytest.mark.parametrize("number", [VISA, AMEX, "5555555555554444", "6011111111111117", "3530111333300000"])
def test_known_test_card_numbers_pass_luhn(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number", ["4111111111111112", "1234567890123", "12345", "41111111111111111111", "4111a1"]
)
def test_other_numbers_fail_luhn(number: str) -> None:
    assert not luhn_valid(number)


@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_one_check_digit_in_ten_makes_a_valid_number(partial: str) -> None:
    assert sum(luhn_valid(partial + d) for d in "0123456789") == 1


def test_card_numbers_keep_only_their_last_four_digits() -> None:
    assert mask_card_numbers(f"my card is {VISA}, thanks") == "my card is ************1111, thanks"
    assert mask_card_numbers(f"amex {AMEX}.") == "amex ***********0005."


def test_grouped_card_numbers_keep_their_shape() -> None:
    assert mask_card_numbers(f"card: {MASTERCARD_GROUPED}") == "card: **** **** **** 4444"
    assert mask_card_numbers("4111-1111-1111-1111") == "****-****-****-1111"


def test_numbers_that_fail_luhn_are_left_alone() -> None:
    text = "order 4111111111111112 and phone +34 600 123 456 and ref 1234567890123"
    assert mask_card_numbers(text) == text


def test_digits_glued_to_letters_are_identifiers_not_cards() -> None:
    text = f"tracking AB{VISA} and {VISA}X"
    assert mask_card_numbers(text) == text


@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_any_luhn_valid_number_is_masked(partial: str) -> None:
    number = partial + luhn_digit(partial)
    masked = mask_card_numbers(f"pay with {number} please")
    assert number not in masked
    assert masked.endswith(f"{number[-4:]} please")


def test_custom_patterns_replace_literally_after_cards() -> None:
    rules = MaskingRules.of(
        True,
        [(r"\b[A-Z]{2}\d{2}(?: ?\d{4}){5}\b", "[iban]"), (r"(?i)password:\s*\S+", r"\g<0>\1")],
    )
    text = f"IBAN ES91 2100 0418 4502 0005 1332, card {VISA}, password: hunter2"
    assert rules.apply(text) == r"IBAN [iban], card ************1111, \g<0>\1"


def test_card_masking_can_be_turned_off() -> None:
    assert MaskingRules.of(False, []).apply(VISA) == VISA
