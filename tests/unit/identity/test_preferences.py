"""The workspace preferences on the user record: what a client may send (known keys, the fixed
notification modes, one-line templates within their limits) and how stored values are read."""

from __future__ import annotations

import pytest

from omniroute.core.errors import InvalidInput
from omniroute.identity.model import (
    MAX_BODY_TEMPLATE,
    MAX_TITLE_TEMPLATE,
    Preferences,
    check_preferences,
    stored_preferences,
)


def test_a_full_document_is_kept_with_templates_trimmed() -> None:
    got = check_preferences(
        {
            "sound": "never",
            "desktop": "always",
            "title_template": "  {customerName} · {queue} ",
            "body_template": "{preview}",
        }
    )
    assert got == Preferences("never", "always", "{customerName} · {queue}", "{preview}")
    assert got.as_dict() == {
        "sound": "never",
        "desktop": "always",
        "title_template": "{customerName} · {queue}",
        "body_template": "{preview}",
    }


def test_keys_left_out_take_their_defaults() -> None:
    assert check_preferences({"sound": "always"}) == Preferences(sound="always")
    assert check_preferences({}) == Preferences("background", "background", "", "")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"volume": 3}, "unknown preference volume"),
        ({"sound": "loud"}, "sound must be one of never, always, background"),
        ({"desktop": "sometimes"}, "desktop must be one of never, always, background"),
        ({"desktop": None}, "desktop must be one of"),
        ({"title_template": 7}, "title_template must be text"),
        ({"title_template": "x" * (MAX_TITLE_TEMPLATE + 1)}, f"more than {MAX_TITLE_TEMPLATE} characters"),
        ({"body_template": "x" * (MAX_BODY_TEMPLATE + 1)}, f"more than {MAX_BODY_TEMPLATE} characters"),
        ({"body_template": "line one\nline two"}, "one line of text"),
        ({"title_template": "bell\x07"}, "without control characters"),
    ],
)
def test_bad_input_is_refused_with_the_reason(raw: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        check_preferences(raw)


def test_templates_at_their_limit_are_accepted() -> None:
    got = check_preferences(
        {"title_template": "t" * MAX_TITLE_TEMPLATE, "body_template": "b" * MAX_BODY_TEMPLATE}
    )
    assert (len(got.title_template), len(got.body_template)) == (MAX_TITLE_TEMPLATE, MAX_BODY_TEMPLATE)


def test_stored_values_are_read_leniently() -> None:
    assert stored_preferences(None) is None  # never saved
    assert stored_preferences({"sound": "never"}) == Preferences(sound="never")
    # A value this release does not know (written by a later one, or by hand) takes its default
    # instead of breaking the page; unknown keys are ignored.
    odd = {"sound": "chime", "desktop": "always", "title_template": 5, "theme": "dark"}
    assert stored_preferences(odd) == Preferences(desktop="always")
