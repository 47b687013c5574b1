"""Secrets (API keys, OAuth tokens) live in the OS keyring and nowhere else.

The database only names an entry; this module is the one place that reads and writes them.
Where no keyring backend works (a bare Linux box), `SecretsUnavailable` says so in words; the
app never falls back to a plaintext file on its own.
"""

from __future__ import annotations

import json
import logging

import keyring
import keyring.errors
from keyring.backends import fail

log = logging.getLogger(__name__)

SERVICE = "Ledgerboard"


class SecretsUnavailable(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(
            "Ledgerboard keeps Stripe keys and tokens only in the system keychain, and none is "
            f"available on this computer ({detail}). Install or unlock a keychain (for example "
            "GNOME Keyring or KWallet), then try again."
        )


class SecretStore:
    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def available(self) -> bool:
        return not isinstance(keyring.get_keyring(), fail.Keyring)

    def _check(self) -> None:
        if not self.available():
            raise SecretsUnavailable("no keyring backend")

    def put(self, entry: str, secrets: dict[str, str]) -> None:
        """Store a set of named secrets (e.g. live and test tokens) under one entry."""
        self._check()
        try:
            keyring.set_password(self.service, entry, json.dumps(secrets))
        except keyring.errors.KeyringError as exc:
            raise SecretsUnavailable(str(exc)) from exc

    def get(self, entry: str) -> dict[str, str]:
        self._check()
        try:
            raw = keyring.get_password(self.service, entry)
        except keyring.errors.KeyringError as exc:
            raise SecretsUnavailable(str(exc)) from exc
        return json.loads(raw) if raw else {}

    def update(self, entry: str, **changes: str) -> None:
        secrets = self.get(entry)
        secrets.update(changes)
        self.put(entry, secrets)

    def delete(self, entry: str) -> None:
        self._check()
        try:
            keyring.delete_password(self.service, entry)
        except keyring.errors.PasswordDeleteError:
            pass  # already gone
        except keyring.errors.KeyringError as exc:
            raise SecretsUnavailable(str(exc)) from exc
