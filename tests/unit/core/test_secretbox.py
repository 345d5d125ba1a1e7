"""Credentials at rest: sealed values are ciphertext, ``env:`` references resolve from the
environment, and a value that cannot be read says why."""

from __future__ import annotations

import pytest

from omniroute.core.secretbox import SecretBox, SecretUnavailable

KEY = "a-secret-key-of-at-least-thirty-two-chars"
PLAIN = "EAAJ-whatsapp-access-token-123"


def test_a_sealed_secret_is_ciphertext_that_opens_with_the_same_key() -> None:
    box = SecretBox(KEY)
    sealed = box.seal(PLAIN)
    assert PLAIN not in sealed
    assert sealed != box.seal(PLAIN), "a fresh IV each time: equal secrets do not look equal"
    assert box.open(sealed) == PLAIN
    assert SecretBox(KEY).open(sealed) == PLAIN  # a restart derives the same key


def test_another_purpose_cannot_open_it() -> None:
    sealed = SecretBox(KEY).seal(PLAIN)
    with pytest.raises(SecretUnavailable):
        SecretBox(KEY, purpose=b"something else").open(sealed)


def test_env_references_are_stored_as_they_are_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box = SecretBox(KEY)
    assert box.seal("env:H10_TEST_TOKEN") == "env:H10_TEST_TOKEN"
    monkeypatch.setenv("H10_TEST_TOKEN", "from-the-environment")
    assert box.open("env:H10_TEST_TOKEN") == "from-the-environment"
    monkeypatch.setenv("H10_TEST_TOKEN", "rotated-outside")
    assert box.open("env:H10_TEST_TOKEN") == "rotated-outside", "read at each open, not cached"


def test_a_missing_environment_variable_is_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("H10_MISSING_TOKEN", raising=False)
    with pytest.raises(SecretUnavailable, match="environment variable H10_MISSING_TOKEN is not set"):
        SecretBox(KEY).open("env:H10_MISSING_TOKEN")


def test_a_changed_secret_key_gives_the_documented_error() -> None:
    sealed = SecretBox(KEY).seal(PLAIN)
    with pytest.raises(SecretUnavailable, match=r"cannot decrypt: was OMNIROUTE_SECRET_KEY changed\?"):
        SecretBox("another-secret-key-of-thirty-two-chars!").open(sealed)
    with pytest.raises(SecretUnavailable, match="cannot decrypt"):
        SecretBox(KEY).open("not a token at all")
