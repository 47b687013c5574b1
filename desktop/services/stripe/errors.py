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


class Cancelled(Exception):
    """The sync was asked to stop; nothing uncommitted is kept."""
