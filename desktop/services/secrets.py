"""Secrets (API keys, OAuth tokens) live in the OS keyring and nowhere else.

The database only names an entry; this module is the one place that reads and writes them.
Where no keyring backend works (a bare Linux box), `SecretsUnavailable` says so in words; the
app never falls back to a plaintext file on its own.
"""

from __future__ import annotations

import json
import logging

log = logging.getLogger(__name__)

SERVICE = "Ledgerboard"


def _keyring():
    """The keyring package, imported when a secret is first asked for, not when the app starts
    (about 20 ms, and finding its backend 40 ms more)."""
    import keyring
    import keyring.errors

    return keyring


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
        self._session: dict[str, str] | None = None  # keys kept in memory, by the user's choice

    def available(self) -> bool:
        return self._session is not None or self.keychain_available()

    @staticmethod
    def keychain_available() -> bool:
        from keyring.backends import fail

        return not isinstance(_keyring().get_keyring(), fail.Keyring)

    def keep_for_this_session_only(self, *, demo: bool = False) -> None:
        """The user's explicit choice without a keychain (or demo mode's, whose simulator keys
        are worth nothing after it): secrets live in memory until quit."""
        if self._session is None:
            self._session = {}
            if demo:
                log.info("demo mode without a keychain: the simulator's keys stay in memory")
            else:
                log.warning("no keychain: keys are kept in memory until Ledgerboard closes")

    @property
    def session_only(self) -> bool:
        return self._session is not None

    def _check(self) -> None:
        if not self.available():
            raise SecretsUnavailable("no keyring backend")

    def put(self, entry: str, secrets: dict[str, str]) -> None:
        """Store a set of named secrets (e.g. live and test tokens) under one entry."""
        self._check()
        if self._session is not None:
            self._session[entry] = json.dumps(secrets)
            return
        keyring = _keyring()
        try:
            keyring.set_password(self.service, entry, json.dumps(secrets))
        except keyring.errors.KeyringError as exc:
            raise SecretsUnavailable(str(exc)) from exc

    def get(self, entry: str) -> dict[str, str]:
        self._check()
        if self._session is not None:
            raw = self._session.get(entry)
            return json.loads(raw) if raw else {}
        keyring = _keyring()
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
        if self._session is not None:
            self._session.pop(entry, None)
            return
        keyring = _keyring()
        try:
            keyring.delete_password(self.service, entry)
        except keyring.errors.PasswordDeleteError:
            pass  # already gone
        except keyring.errors.KeyringError as exc:
            raise SecretsUnavailable(str(exc)) from exc
