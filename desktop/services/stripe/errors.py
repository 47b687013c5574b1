"""What a sync or a login can end with, in words. Kept apart from the Stripe client so that the
views, which name these, start without importing the Stripe SDK (about 70 ms)."""

from __future__ import annotations


class SyncError(Exception):
    """A failure the user hears about in words; `message` is that sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NeedsReconnect(SyncError):
    pass


class NotPermitted(SyncError):
    pass


class TransientError(SyncError):
    pass


class StripeRequestError(SyncError):
    pass


class InvalidRequest(StripeRequestError):
    """Stripe refused the request as asked (400, 404): `code` is Stripe's error code, such as
    resource_missing, and `http_status` its status."""

    def __init__(self, message: str, code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class Cancelled(Exception):
    """The sync was asked to stop; nothing uncommitted is kept."""
