"""Connecting Stripe accounts: by browser login (OAuth) or by a restricted API key.

An account row names its keyring entry; the entry holds, as JSON, either `key` (an API key) or
`live`/`test` access tokens with their refresh tokens and expiry. This is the only code that
writes those secrets.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from desktop.catalog import DATA_TYPES
from desktop.services.secrets import SecretStore
from desktop.services.stripe.client import RetryPolicy, StaticKey, StripeApi, key_is_live
from desktop.services.stripe.errors import NeedsReconnect, NotPermitted, SyncError
from desktop.services.stripe.oauth import LoginError, OAuthClient, ProviderProfile, Tokens
from desktop.store.models import Account, AccountStatus, DataSource, DataSourceStatus
from desktop.store.writer import StoreWriter, write_with

log = logging.getLogger(__name__)

KEY_PREFIXES = ("sk_live_", "sk_test_", "rk_live_", "rk_test_")
# What each data type needs a restricted key to read (Stripe's permission names).
PERMISSIONS_NEEDED = {
    "balance_transactions": "Balance transaction sources (read)",
    "charges": "Charges (read)",
    "customers": "Customers (read)",
    "disputes": "Disputes (read)",
    "fee_details": "Balance transaction sources (read)",
    "invoice_lines": "Invoices (read)",
    "invoices": "Invoices (read)",
    "payment_intents": "PaymentIntents (read)",
    "refunds": "Refunds (read)",
}


@dataclass
class KeyCheck:
    live: bool
    readable: dict[str, bool] = field(default_factory=dict)  # data type -> can read
    reasons: dict[str, str] = field(default_factory=dict)
    business_name: str | None = None  # as Stripe's Dashboard names the account, if readable


def business_name(api) -> str | None:
    """The account's name as Stripe's Dashboard shows it (its display name, else its public
    business name), from GET /v1/account; None where the key may not read it."""
    import stripe

    try:
        account = api.get("/v1/account")
    except (NotPermitted, SyncError, stripe.StripeError) as exc:
        log.info("the account's name could not be read: %s", exc)
        return None
    dashboard = (account.get("settings") or {}).get("dashboard") or {}
    profile = account.get("business_profile") or {}
    name = dashboard.get("display_name") or profile.get("name") or account.get("email") or ""
    return str(name).strip() or None


# The names given to an account before Stripe said its own (an older version, or a key that
# could not read it then): 'Stripe acct_1Nv0…', 'Stripe (key …4fX2)'.
_STAND_IN_NAME = re.compile(r"Stripe (acct_\w+|\(key …\w+\))")


def name_from_stripe(account: Account, api, write: Callable[[Callable], object]) -> str | None:
    """An account still named by a stand-in takes the name Stripe's Dashboard shows, once
    its key or token can read it; the new name, or None (unchanged). `write` runs a change
    of the store on its writer."""
    if not _STAND_IN_NAME.fullmatch(account.name or ""):
        return None
    name = business_name(api)
    if not name:
        return None
    write(lambda: Account.update(name=name).where(Account.id == account.id).execute())
    log.info("account %s is now named as Stripe names it", account.id)
    return name


class ConnectionError_(Exception):
    """Connecting failed; the message is for the user."""


class ConnectionsService:
    def __init__(
        self,
        secrets: SecretStore,
        profiles: dict[str, ProviderProfile] | Callable[[], dict[str, ProviderProfile]] = dict,
        writer: StoreWriter | None = None,
    ) -> None:
        """`profiles`: the browser logins by name, or what makes them when first needed.
        `writer`: the store's one writer (None: scripts that own the database write here)."""
        self.secrets = secrets
        self.writer = writer
        self._profiles = profiles if callable(profiles) else (lambda: profiles)
        self._refresh_lock = threading.Lock()

    @property
    def profiles(self) -> dict[str, ProviderProfile]:
        return self._profiles()

    # --- restricted API keys ---

    @staticmethod
    def key_problem(key: str) -> str | None:
        """Why a key cannot be one, before asking Stripe; None when it looks right."""
        key = key.strip()
        if not key:
            return "Paste a restricted key (rk_live_…) or a secret key (sk_live_…)."
        if key.startswith(("pk_live_", "pk_test_")):
            return "That is a publishable key; Ledgerboard needs a restricted or secret key."
        if not key.startswith(KEY_PREFIXES) or len(key) < 16:
            return "That does not look like a Stripe key: it starts with rk_live_ or sk_live_."
        return None

    def check_key(self, key: str, api_base: str | None = None) -> KeyCheck:
        """One cheap request proves the key; one more per data type finds what it can read.

        Raises ConnectionError_ when Stripe refuses the key itself or cannot be reached.
        """
        import stripe  # the SDK, imported when first needed: the app starts without it

        key = key.strip()
        live = key_is_live(key)
        api = StripeApi(
            StaticKey(key), live, api_base=api_base, retry=RetryPolicy(attempts=3, base_delay=0.2)
        )
        try:
            api.get("/v1/balance")
        except NeedsReconnect as exc:
            raise ConnectionError_(
                "Stripe does not accept this key. Check that it was copied "
                "whole and has not been rolled or deleted."
            ) from exc
        except NotPermitted:
            pass  # a restricted key without balance access is still a good key
        except SyncError as exc:
            raise ConnectionError_(exc.message) from exc
        check = KeyCheck(live=live)
        probes = {
            "balance_transactions": "/v1/balance_transactions",
            "charges": "/v1/charges",
            "customers": "/v1/customers",
            "disputes": "/v1/disputes",
            "invoices": "/v1/invoices",
            "payment_intents": "/v1/payment_intents",
            "refunds": "/v1/refunds",
        }
        for name, path in probes.items():
            try:
                api.list_page(path, limit=1)
                check.readable[name] = True
            except NotPermitted:
                check.readable[name] = False
                check.reasons[name] = f"needs {PERMISSIONS_NEEDED[name]}"
            except (SyncError, stripe.StripeError) as exc:
                check.readable[name] = False
                check.reasons[name] = str(exc)
        for child in ("fee_details", "invoice_lines"):
            parent = DATA_TYPES[child].parent
            check.readable[child] = check.readable[parent]
            if parent in check.reasons:
                check.reasons[child] = check.reasons[parent]
        check.business_name = business_name(api)
        return check

    def token_business_name(self, profile: ProviderProfile, tokens: Tokens) -> str | None:
        """The business name of the account a login connected, read with its token."""
        api = StripeApi(
            StaticKey(tokens.access_token),
            tokens.live,
            api_base=profile.api_base,
            retry=RetryPolicy(attempts=3, base_delay=0.2),
        )
        return business_name(api)

    def connect_with_key(
        self, key: str, *, name: str, api_base: str | None = None, existing: Account | None = None
    ) -> Account:
        key = key.strip()
        if existing is not None:
            self.secrets.put(existing.keyring_entry, {"key": key})
            self.reconnected(existing)
            return Account.get_by_id(existing.id)
        entry = f"account-{uuid.uuid4()}"
        self.secrets.put(entry, {"key": key})
        return write_with(
            self.writer,
            lambda: Account.create(
                name=name,
                auth_method="api_key",
                keyring_entry=entry,
                livemode=key_is_live(key),
                api_base=api_base,
            ),
        )

    # --- OAuth ---

    def connect_with_tokens(
        self,
        profile: ProviderProfile,
        tokens: list[Tokens],
        *,
        name: str,
        existing: Account | None = None,
    ) -> Account:
        """An account from one login: one token per mode (live, and test for sample data).

        With `existing`, the login reconnects that account: its secrets are replaced."""
        if existing is not None:
            self.secrets.put(existing.keyring_entry, _token_secrets(tokens))
            self.reconnected(existing)
            return Account.get_by_id(existing.id)
        entry = f"account-{uuid.uuid4()}"
        self.secrets.put(entry, _token_secrets(tokens))
        live = any(t.live for t in tokens)
        return write_with(
            self.writer,
            lambda: Account.create(
                name=name,
                auth_method="oauth",
                provider=profile.name,
                keyring_entry=entry,
                livemode=live,
                api_base=profile.api_base,
                stripe_account_id=next(
                    (t.stripe_user_id for t in tokens if t.stripe_user_id), None
                ),
            ),
        )

    def sample_token(self, profile: ProviderProfile, live_tokens: Tokens) -> Tokens | None:
        """A test-mode token minted from the live login's refresh token, where possible."""
        if not profile.can_read_sample_data or not live_tokens.refresh_token:
            return None
        return OAuthClient(profile).refresh(live_tokens.refresh_token, live=False)

    def refresher(self, account: Account, live: bool) -> str | None:
        """For the sync: a fresh access token after a 401; None when this account cannot."""
        if account.auth_method != "oauth":
            return None
        profile = self.profiles.get(account.provider or "")
        if profile is None:
            return None
        with self._refresh_lock:
            stored = self.secrets.get(account.keyring_entry)
            refresh_token = stored.get("refresh")
            if not refresh_token:
                return None
            try:
                tokens = OAuthClient(profile).refresh(refresh_token, live=live)
            except LoginError as exc:
                log.warning("token refresh failed for account %s: %s", account.id, exc)
                return None
            stored.update(_token_secrets([tokens]))
            self.secrets.put(account.keyring_entry, stored)  # the rotated refresh token too
            return tokens.access_token

    # --- lifecycle ---

    def disconnect(self, account: Account) -> None:
        """Remove the account's secrets (and revoke its login where the provider can)."""
        if account.auth_method == "oauth" and account.stripe_account_id:
            profile = self.profiles.get(account.provider or "")
            if profile is not None:
                try:
                    with self._refresh_lock:  # a refresh would rotate the token it shows
                        refresh = self.secrets.get(account.keyring_entry).get("refresh")
                        OAuthClient(profile).deauthorize(
                            account.stripe_account_id, refresh, live=account.livemode
                        )
                except Exception as exc:  # revoking is a courtesy: the secrets go regardless
                    log.warning("could not deauthorize account %s: %s", account.id, exc)
        self.secrets.delete(account.keyring_entry)

        def write() -> None:
            Account.update(
                status=AccountStatus.DISCONNECTED,
                status_message="Disconnected: its keys were removed.",
            ).where(Account.id == account.id).execute()
            DataSource.update(
                status=DataSourceStatus.NEEDS_RECONNECT,
                status_message="The account was disconnected.",
            ).where(DataSource.account == account).execute()

        write_with(self.writer, write)

    def reconnected(self, account: Account) -> None:
        def write() -> None:
            Account.update(status=AccountStatus.CONNECTED, status_message=None).where(
                Account.id == account.id
            ).execute()
            DataSource.update(status=DataSourceStatus.NEW, status_message=None).where(
                (DataSource.account == account)
                & (DataSource.status == DataSourceStatus.NEEDS_RECONNECT)
            ).execute()

        write_with(self.writer, write)


def _token_secrets(tokens: list[Tokens]) -> dict[str, str]:
    """Access tokens per mode, and the grant's one refresh token: the newest, since using a
    refresh token (for either mode) may rotate it and invalidate the one before."""
    secrets: dict[str, str] = {}
    for token in tokens:  # oldest first
        mode = "live" if token.live else "test"
        secrets[mode] = token.access_token
        if token.refresh_token:
            secrets["refresh"] = token.refresh_token
        if token.expires_at:
            secrets[f"{mode}_expires_at"] = str(int(token.expires_at))
    return secrets
