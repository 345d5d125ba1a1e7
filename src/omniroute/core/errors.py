"""Domain errors. The web layer maps each kind to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a rule said no. ``reason`` is safe to show to the caller."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The request is valid but the current state does not allow it."""

    status = 409


class Forbidden(DomainError):
    status = 403


class Unauthorized(DomainError):
    status = 401


class InvalidInput(DomainError):
    status = 422


class PayloadTooLarge(DomainError):
    status = 413


class UnsupportedMediaType(DomainError):
    """A file of a kind that is refused (blocked extension, executable)."""

    status = 415
