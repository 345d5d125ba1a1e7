import pytest

from omniroute.channels.webchat.model import Widget, check_origin, normalise_origin, read_prechat
from omniroute.core.errors import Forbidden, InvalidInput


def widget(*origins: str) -> Widget:
    return Widget("w", "Site", "pk_x", tuple(origins), None)


def test_origins_are_normalised() -> None:
    assert normalise_origin("HTTPS://Shop.Example.com:8443/") == "https://shop.example.com:8443"
    with pytest.raises(InvalidInput):
        normalise_origin("javascript:alert(1)")


def test_only_allowed_origins_may_use_a_widget() -> None:
    w = widget("https://shop.example.com")
    check_origin(w, "https://shop.example.com")
    for bad in ("https://evil.example.com", "http://shop.example.com", None, "null"):
        with pytest.raises(Forbidden):
            check_origin(w, bad)


def test_wildcard_widget_accepts_any_origin() -> None:
    check_origin(widget("*"), "https://anywhere.example")


def test_prechat_requires_a_name_and_a_plausible_email() -> None:
    answers = read_prechat("  Lee  ", " LEE@Example.com ", " Where is my order? ", "")
    assert (answers.name, answers.email, answers.question, answers.queue) == (
        "Lee",
        "lee@example.com",
        "Where is my order?",
        None,
    )
    with pytest.raises(InvalidInput, match="name"):
        read_prechat(" ", None, "q", None)
    with pytest.raises(InvalidInput, match="email"):
        read_prechat("Lee", "not-an-email", "q", None)
